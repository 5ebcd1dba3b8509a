import { and, asc, eq, gt, inArray, lte, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { outbox, tasks, userChannels, users } from "../../db/schema";
import type { Card } from "../../cards";
import { SendError, type ChannelKey, type OutboxMessage, type Sender } from "../channels/types";
import type { Clock } from "../core/context";
import type { CardSettlement } from "../core/notify";

const MAX_ATTEMPTS = 8;
// How long a message handed to the channel may stay "sending" before another dispatcher takes it as abandoned by a crash.
export const SENDING_LEASE_MS = 5 * 60_000;

/** Backoff after a failed send: 30 s, 1 min, 2 min … capped at 1 h. */
export function retryDelayMs(attempts: number) {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

/**
 * Delivers due messages. Claiming and sending are separate steps so that no transaction stays open across a
 * network call. The due rows are read (FOR UPDATE SKIP LOCKED, to apply the per-recipient limit), and then
 * each one is claimed on its own, just before it is handed to the channel: marked "sending" under a lease,
 * on condition that nobody has claimed it meanwhile. So at most one message per dispatcher is ever "sending":
 * a crash leaves that one to wait out its lease (it is taken again with `resumed` set, and the channel's
 * duplicate check sees that the person gets it once), and every other due message goes as soon as a
 * dispatcher runs again.
 */
export async function dispatchOutbox({
  db,
  clock,
  senders,
  batch = 50,
  leaseMs = SENDING_LEASE_MS,
}: {
  db: Db;
  clock: Clock;
  /** Who delivers each channel's copies (src/channels channelSenders). */
  senders: Readonly<Record<ChannelKey, Sender>>;
  batch?: number;
  /** Tests and the crash benchmark shorten it; production keeps the default. */
  leaseMs?: number;
}) {
  const now = clock.now();
  const due = await db.transaction(async (tx) => {
    const rows = await tx
      .select({ row: outbox, userName: users.name, address: userChannels.address, task: { id: tasks.id, cardToken: tasks.cardToken, status: tasks.status } })
      .from(outbox)
      .innerJoin(users, eq(users.id, outbox.userId))
      // The address as the directory has it now: a change since the message was queued is honoured.
      .leftJoin(userChannels, and(eq(userChannels.userId, outbox.userId), eq(userChannels.channel, outbox.channel)))
      .leftJoin(tasks, eq(tasks.id, outbox.taskId))
      .where(and(or(eq(outbox.status, "pending"), eq(outbox.status, "sending")), lte(outbox.nextAttemptAt, now)))
      .orderBy(asc(outbox.id))
      .limit(batch)
      .for("update", { of: outbox, skipLocked: true });
    if (rows.length === 0) return [];
    const deferred = new Map<number, Date>();
    // Each channel's own per-recipient limit, counted over that channel's messages only.
    for (const channel of new Set(rows.map((d) => d.row.channel))) {
      const limit = senderOf(senders, channel).perRecipient;
      if (!limit) continue;
      const ofChannel = rows.map((d) => d.row).filter((r) => r.channel === channel);
      for (const [id, until] of await overLimit(tx, now, channel, limit, ofChannel)) deferred.set(id, until);
    }
    for (const [id, until] of deferred) await tx.update(outbox).set({ nextAttemptAt: until }).where(eq(outbox.id, id));
    return rows.filter((d) => !deferred.has(d.row.id));
  });

  let sent = 0;
  let failed = 0;
  for (const { row, userName, address, task } of due) {
    const attempts = row.attempts + 1;
    // Claimed only now, and only if it is as it was read: not taken, sent or deferred by another dispatcher
    // in the meantime (each claim counts an attempt, so the count tells).
    const claimed = await db
      .update(outbox)
      .set({ status: "sending", attempts, nextAttemptAt: new Date(clock.now().getTime() + leaseMs) })
      .where(and(eq(outbox.id, row.id), eq(outbox.status, row.status), eq(outbox.attempts, row.attempts), lte(outbox.nextAttemptAt, clock.now())))
      .returning({ id: outbox.id });
    if (claimed.length === 0) continue;
    const message: OutboxMessage = {
      id: row.id,
      userId: row.userId,
      userName,
      channel: row.channel,
      address,
      kind: row.kind,
      card: row.kind === "card_update" ? null : (row.payload as Card),
      settlement: row.kind === "card_update" ? (row.payload as CardSettlement) : null,
      task: task ? { id: task.id, cardToken: task.cardToken, pending: task.status === "pending" } : null,
      resumed: row.status === "sending",
      attempt: attempts,
    };
    // This dispatcher's claim: a row another dispatcher has re-claimed after the lease is left to it.
    const ours = and(eq(outbox.id, row.id), eq(outbox.status, "sending"), eq(outbox.attempts, attempts));
    try {
      const outcome = await senderOf(senders, row.channel).send(message);
      await db.update(outbox).set({ status: outcome, sentAt: clock.now(), lastError: null }).where(ours);
      sent++;
    } catch (err) {
      failed++;
      const retryAfter = err instanceof SendError ? err.retryAfterMs : null;
      const giveUp = (err instanceof SendError && err.permanent) || attempts >= MAX_ATTEMPTS;
      await db
        .update(outbox)
        .set({
          status: giveUp ? "failed" : "pending",
          nextAttemptAt: new Date(clock.now().getTime() + Math.max(retryAfter ?? 0, retryDelayMs(attempts))),
          lastError: err instanceof Error ? err.message.slice(0, 500) : String(err),
        })
        .where(ours);
    }
  }
  return { sent, failed };
}

/** A copy for a channel this build no longer knows goes to the console, like one for a channel not configured. */
function senderOf(senders: Readonly<Record<ChannelKey, Sender>>, channel: string): Sender {
  return senders[channel as ChannelKey] ?? senders.console;
}

/**
 * Messages that would break the channel's per-recipient limit (WeCom drops sends over 30 a minute or 1000 an
 * hour to one member, silently), with when each may go. Settlements are card updates, not sends: they don't count.
 */
async function overLimit(
  tx: Db,
  now: Date,
  channel: string,
  limit: { perMinute: number; perHour: number },
  due: (typeof outbox.$inferSelect)[],
): Promise<Map<number, Date>> {
  const sends = due.filter((r) => r.kind !== "card_update");
  if (sends.length === 0) return new Map();
  const hourAgo = new Date(now.getTime() - 3_600_000);
  const minuteAgo = new Date(now.getTime() - 60_000);
  // Messages another dispatcher is sending right now count as sent now: the limit holds across replicas.
  const recent = await tx
    .select({ userId: outbox.userId, sentAt: outbox.sentAt })
    .from(outbox)
    .where(
      and(
        inArray(outbox.userId, [...new Set(sends.map((r) => r.userId))]),
        eq(outbox.channel, channel),
        or(and(eq(outbox.status, "sent"), gt(outbox.sentAt, hourAgo)), eq(outbox.status, "sending")),
        sql`${outbox.kind} <> 'card_update'`,
      ),
    );
  const history = new Map<string, Date[]>();
  for (const r of recent) history.set(r.userId, [...(history.get(r.userId) ?? []), r.sentAt ?? now]);
  const deferred = new Map<number, Date>();
  for (const r of sends) {
    const times = (history.get(r.userId) ?? []).sort((a, b) => a.getTime() - b.getTime());
    const inMinute = times.filter((t) => t > minuteAgo);
    if (inMinute.length >= limit.perMinute) deferred.set(r.id, new Date(inMinute[inMinute.length - limit.perMinute]!.getTime() + 60_000));
    else if (times.length >= limit.perHour) deferred.set(r.id, new Date(times[times.length - limit.perHour]!.getTime() + 3_600_000));
    // Count this one as sent for the rest of the batch.
    else history.set(r.userId, [...times, now]);
  }
  return deferred;
}
