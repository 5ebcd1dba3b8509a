import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../../db/client";
import { inboundEvents } from "../../db/schema";
import type { ServiceContext } from "./context";

// Work done once per period (a month's statement, a quarter's review of a VM, a notice per VM and month) is
// remembered as a marker row in inbound_events under the job's scope, keyed by what it was done for.

/** One piece of once-only work: the job's scope and the key of what it was done for (a month, `vmId:period`). */
export interface OnceMarker {
  scope: string;
  key: string;
  /** What the marker row stores besides its key (default: the key). */
  fingerprint?: string;
}

/**
 * Claims the marker in `db` and says whether this was the first time. Called in the work's own transaction, the
 * claim commits or rolls back with the work and is what keeps two racing rounds to one; called on ctx.db, it
 * records on its own that the work needs no doing again.
 */
export async function onceFor(ctx: Pick<ServiceContext, "clock">, db: Db, marker: OnceMarker): Promise<boolean> {
  const [fresh] = await db
    .insert(inboundEvents)
    .values({ scope: marker.scope, key: marker.key, fingerprint: marker.fingerprint ?? marker.key, createdAt: ctx.clock.now() })
    .onConflictDoNothing()
    .returning({ key: inboundEvents.key });
  return Boolean(fresh);
}

/** Whether the marker was claimed: a plain read that spares a job running every round a transaction once done. */
export async function wasDone(db: Db, marker: Pick<OnceMarker, "scope" | "key">): Promise<boolean> {
  return (await doneAmong(db, marker.scope, [marker.key])).has(marker.key);
}

/** Which of `keys` were claimed under `scope`. */
export async function doneAmong(db: Db, scope: string, keys: readonly string[]): Promise<Set<string>> {
  const done = new Set<string>();
  // A review keys every VM: in slices far below PostgreSQL's 65,535 parameters per statement.
  for (let i = 0; i < keys.length; i += 10_000) {
    const rows = await db
      .select({ key: inboundEvents.key })
      .from(inboundEvents)
      .where(and(eq(inboundEvents.scope, scope), inArray(inboundEvents.key, keys.slice(i, i + 10_000))));
    for (const r of rows) done.add(r.key);
  }
  return done;
}
