import type { Db } from "../../db/client";
import { outbox } from "../../db/schema";
import type { Card } from "../../cards";

/**
 * Queues a card for each user in the caller's transaction (invariant 1): it leaves only if the change commits.
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
  const rows = [...new Set(userIds)].map((userId) => ({
    dedupeKey: `${key}:${userId}`,
    userId,
    kind,
    payload: card,
    taskId: taskIds?.get(userId) ?? null,
    nextAttemptAt: at,
    createdAt: at,
  }));
  if (rows.length > 0) await tx.insert(outbox).values(rows).onConflictDoNothing();
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
  const rows = settled.map((t) => ({
    dedupeKey: `settle:${t.id}`,
    userId: t.userId,
    kind: "card_update",
    payload: { label } satisfies CardSettlement,
    taskId: t.id,
    nextAttemptAt: at,
    createdAt: at,
  }));
  if (rows.length > 0) await tx.insert(outbox).values(rows).onConflictDoNothing();
}
