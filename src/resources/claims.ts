import { and, asc, eq, inArray, ne, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, resources } from "../../db/schema";
import type { AdjustmentFacts, RevocationFacts } from "./catalog";

/**
 * The resources' rows, locked for the rest of the transaction (in id order, so two requests never wait on
 * each other crosswise): a revocation and an adjustment of the same resource cannot both get past their checks.
 */
export async function lockResources(tx: Db, ids: number[]) {
  return tx.select().from(resources).where(inArray(resources.id, ids)).orderBy(asc(resources.id)).for("update");
}

/**
 * Which of the resources a revocation or an adjustment still under way already names (other than `except`,
 * the request being resubmitted): one change at a time per resource.
 */
export async function busyResources(tx: Db, ids: number[], except?: number): Promise<Map<number, string>> {
  const open = await tx
    .select({ id: requests.id, flow: requests.flow, code: requests.code, facts: requests.facts })
    .from(requests)
    .where(
      and(
        inArray(requests.flow, ["revocation", "adjustment"]),
        or(eq(requests.status, "in_progress"), eq(requests.status, "returned")),
        except !== undefined ? ne(requests.id, except) : undefined,
      ),
    );
  const busy = new Map<number, string>();
  for (const r of open) {
    const named = r.flow === "revocation" ? (r.facts as RevocationFacts).resourceIds : [(r.facts as AdjustmentFacts).resourceId];
    for (const id of named) if (ids.includes(id)) busy.set(id, `${r.code}（${r.flow === "revocation" ? "撤销" : "调整"}）`);
  }
  return busy;
}
