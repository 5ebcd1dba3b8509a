import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { outbox, userChannels } from "../../db/schema";
import type { Card } from "../../cards";

/** The channel every message falls back to: a person without an address on any other channel is told there. */
export const FALLBACK_CHANNEL = "console";

interface Addressed {
  userId: string;
  dedupeKey: string;
  taskId: number | null;
}

/**
 * Queues one copy of a message per channel each person has (user_channels), the console's for a person with
 * none, in one statement. The key is unique per channel, so a second enqueue of the same message adds nothing.
 */
async function enqueue(tx: Db, at: Date, kind: string, payload: unknown, recipients: Addressed[]) {
  if (recipients.length === 0) return;
  // One JSON parameter, so the statement's text is the same whatever the number of recipients. Parameters are
  // text: postgres.js does not serialize a Date whose type only a cast names.
  const rows = JSON.stringify(recipients.map((r, i) => ({ i, user_id: r.userId, dedupe_key: r.dedupeKey, task_id: r.taskId })));
  await tx.execute(sql`
    insert into ${outbox} (dedupe_key, user_id, channel, kind, payload, task_id, next_attempt_at, created_at)
    select r.dedupe_key, r.user_id, coalesce(c.channel, ${FALLBACK_CHANNEL}::text), ${kind}::text, ${JSON.stringify(payload)}::jsonb,
           r.task_id, ${at.toISOString()}::timestamptz, ${at.toISOString()}::timestamptz
    from jsonb_to_recordset(${rows}::jsonb) as r(i int, user_id text, dedupe_key text, task_id bigint)
    left join ${userChannels} c on c.user_id = r.user_id
    order by r.i, c.channel
    on conflict do nothing`);
}

/**
 * Queues a card for each user, on each of their channels, in the caller's transaction (invariant 1): it leaves only if the change commits.
 * The key makes a second enqueue of the same message a no-op; it names the event that caused it.
 * `taskIds` names, per user, the task the card asks them to decide, so a channel can put its token on the buttons.
 */
export async function enqueueCards(
  tx: Db,
  at: Date,
  userIds: Iterable<string>,
  kind: string,
  card: Card,
  key: string,
  taskIds?: ReadonlyMap<string, number>,
) {
  const recipients = [...new Set(userIds)].map((userId) => ({ userId, dedupeKey: `${key}:${userId}`, taskId: taskIds?.get(userId) ?? null }));
  await enqueue(tx, at, kind, card, recipients);
}

/** What a channel shows on a decided task's card in place of its buttons ("已由张三同意"). */
export interface CardSettlement {
  label: string;
}

/**
 * Queues, for each task that has just left "pending", the update that greys out the buttons on its card
 * for its holder. Once per task: a task is decided once.
 */
export async function enqueueCardSettlements(tx: Db, at: Date, settled: { id: number; userId: string }[], label: string) {
  const recipients = settled.map((t) => ({ userId: t.userId, dedupeKey: `settle:${t.id}`, taskId: t.id }));
  await enqueue(tx, at, "card_update", { label } satisfies CardSettlement, recipients);
}
