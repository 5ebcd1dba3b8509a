import { and, asc, eq, inArray, ne, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, resources } from "../../db/schema";
import type { AdjustmentFacts, RevocationFacts } from "./catalog";
import type { PurposeChangeFacts } from "./purpose";

/**
 * The resources' rows, locked for the rest of the transaction (in id order, so two requests never wait on
 * each other crosswise): a revocation and an adjustment of the same resource cannot both get past their checks.
 */
export async function lockResources(tx: Db, ids: number[]) {
  return tx.select().from(resources).where(inArray(resources.id, ids)).orderBy(asc(resources.id)).for("update");
}

const FLOW_WORDS: Record<string, string> = { revocation: "撤销", adjustment: "调整", purpose_change: "用途变更" };

/**
 * Which of the resources a revocation, an adjustment or a 用途变更 still under way already names (other than
 * `except`, the request being resubmitted): one change at a time per resource.
 */
export async function busyResources(tx: Db, ids: number[], except?: number): Promise<Map<number, string>> {
  const open = await tx
    .select({ id: requests.id, flow: requests.flow, code: requests.code, facts: requests.facts })
    .from(requests)
    .where(
      and(
        inArray(requests.flow, ["revocation", "adjustment", "purpose_change"]),
        or(eq(requests.status, "in_progress"), eq(requests.status, "returned")),
        except !== undefined ? ne(requests.id, except) : undefined,
      ),
    );
  const busy = new Map<number, string>();
  for (const r of open) {
    const named =
      r.flow === "adjustment" ? [(r.facts as AdjustmentFacts).resourceId] : (r.facts as RevocationFacts | PurposeChangeFacts).resourceIds;
    for (const id of named) if (ids.includes(id)) busy.set(id, `${r.code}（${FLOW_WORDS[r.flow] ?? r.flow}）`);
  }
  return busy;
}
