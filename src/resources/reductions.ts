import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests } from "../../db/schema";
import type { AdjustmentFacts, RectificationFacts, RevocationFacts } from "./catalog";

const WORDS: Record<string, string> = { adjustment: "缩容", revocation: "撤销", rectification: "整改通知" };

/**
 * A reduction for under-use still pending for the unit (001 第三十条): an open scale-down the low-load review
 * proposed or the manager started, an open revocation or 整改通知 opened for under-use. The oldest, or null.
 */
export async function pendingUnderUseReduction(tx: Db, unitId: string): Promise<{ code: string; what: string; title: string } | null> {
  const open = await tx
    .select({ code: requests.code, flow: requests.flow, title: requests.title, facts: requests.facts })
    .from(requests)
    .where(
      and(
        eq(requests.unitId, unitId),
        inArray(requests.flow, ["adjustment", "revocation", "rectification"]),
        inArray(requests.status, ["in_progress", "returned"]),
      ),
    )
    .orderBy(requests.id);
  const pending = open.find((r) => {
    if (r.flow === "adjustment") {
      const f = r.facts as AdjustmentFacts;
      return f.direction === "down" && (f.origin === "review" || f.underUse === true);
    }
    return (r.facts as RevocationFacts | RectificationFacts).underUse === true;
  });
  return pending ? { code: pending.code, what: WORDS[pending.flow] ?? pending.flow, title: pending.title } : null;
}
