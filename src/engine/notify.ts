import type { Db } from "../../db/client";
import { outbox } from "../../db/schema";
import type { Card } from "../../cards";

/**
 * Queues a card for each user in the caller's transaction (invariant 1): it leaves only if the change commits.
 * The key makes a second enqueue of the same message a no-op; it names the event that caused it.
 */
export async function enqueueCards(tx: Db, at: Date, userIds: Iterable<string>, kind: string, card: Card, key: string) {
  const rows = [...new Set(userIds)].map((userId) => ({
    dedupeKey: `${key}:${userId}`,
    userId,
    kind,
    payload: card,
    nextAttemptAt: at,
    createdAt: at,
  }));
  if (rows.length > 0) await tx.insert(outbox).values(rows).onConflictDoNothing();
}
