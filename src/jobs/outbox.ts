import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { outbox, users } from "../../db/schema";
import { cardText, type Card } from "../../cards";
import type { Clock } from "../context";
import { maskMobile } from "../directory/queries";

export interface OutboxMessage {
  id: number;
  userId: string;
  userName: string;
  wecomUserId: string;
  kind: string;
  card: Card;
}

/** A channel that delivers messages to people. WeCom arrives with issue 3; until then the console logs. */
export interface Sender {
  readonly name: string;
  send(message: OutboxMessage): Promise<void>;
}

export function consoleSender(log: (line: string) => void = (line) => console.log(line)): Sender {
  return {
    name: "console",
    async send(m) {
      // Phone numbers never reach a log line (invariant 8); cards carry none, but mask anything that looks like one.
      const body = cardText(m.card).replace(/1[3-9]\d{9}/g, (n) => maskMobile(n));
      log(`[通知 → ${m.userName}(${m.userId})] ${body}`);
    },
  };
}

const MAX_ATTEMPTS = 8;

/** Backoff after a failed send: 30 s, 1 min, 2 min … capped at 1 h. */
export function retryDelayMs(attempts: number) {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

/**
 * Delivers due messages. Rows are claimed with FOR UPDATE SKIP LOCKED and marked in the same transaction,
 * so two dispatchers never take the same row.
 */
export async function dispatchOutbox({ db, clock, sender, batch = 50 }: { db: Db; clock: Clock; sender: Sender; batch?: number }) {
  return db.transaction(async (tx) => {
    const now = clock.now();
    const due = await tx
      .select({ row: outbox, userName: users.name, wecomUserId: users.wecomUserId })
      .from(outbox)
      .innerJoin(users, eq(users.id, outbox.userId))
      .where(and(eq(outbox.status, "pending"), lte(outbox.nextAttemptAt, now)))
      .orderBy(asc(outbox.id))
      .limit(batch)
      .for("update", { of: outbox, skipLocked: true });
    const sent: number[] = [];
    let failed = 0;
    for (const { row, userName, wecomUserId } of due) {
      try {
        await sender.send({ id: row.id, userId: row.userId, userName, wecomUserId, kind: row.kind, card: row.payload as Card });
        sent.push(row.id);
      } catch (err) {
        failed++;
        const attempts = row.attempts + 1;
        await tx
          .update(outbox)
          .set({
            attempts,
            status: attempts >= MAX_ATTEMPTS ? "failed" : "pending",
            nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts)),
            lastError: err instanceof Error ? err.message.slice(0, 500) : String(err),
          })
          .where(eq(outbox.id, row.id));
      }
    }
    if (sent.length > 0)
      await tx
        .update(outbox)
        .set({ status: "sent", sentAt: now, attempts: sql`${outbox.attempts} + 1` })
        .where(inArray(outbox.id, sent));
    return { sent: sent.length, failed };
  });
}
