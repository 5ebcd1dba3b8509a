import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../../db/client";
import { resources } from "../../db/schema";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { unprocessable } from "../core/errors";

/**
 * 用途变更 (001 第十五条, 002 第十五条): the VMs of a unit whose 用途 is to change, what it is now and what it is to
 * become. A VM's 用途 is the "purpose" its application row gave it (001 附件1, 004 附件2), kept in its ledger spec.
 */
export interface PurposeChangeFacts {
  resourceIds: number[];
  resourceNames: string[];
  /** The 用途 of each named VM when the change was asked for, in the order of resourceIds. */
  from: string[];
  purpose: string;
  reason: string;
  /** 002 第二十三条: a county unit's change passes its county bureau first. */
  countyApplicant: boolean;
  /** 002 第二十三条: a 下属单位's change passes its 主管单位 first (absent on older requests). */
  supervisedApplicant?: boolean;
}

export const purposeChangeTitle = (rows: { system: string }[], purpose: string) =>
  `变更 ${rows[0]!.system} 的 ${rows.length} 台虚拟机用途为「${purpose}」`;

/**
 * The provider has made the change: each VM's ledger 用途 becomes the new one, dated as changed, with one audit
 * entry in the completing transaction. A VM revoked in the meantime cannot take a new 用途.
 */
export async function recordPurposeChange(step: { tx: Db; j: Journal; req: LockedRequest; at: Date }) {
  const { tx, j, req, at } = step;
  const f = req.facts as PurposeChangeFacts;
  const rows = await tx.select().from(resources).where(inArray(resources.id, f.resourceIds)).orderBy(resources.id).for("update");
  const gone = f.resourceIds.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered"));
  if (gone.length > 0) throw unprocessable("resource_gone", `资源已撤销，不能再变更用途：${gone.join("、")}`);
  for (const row of rows)
    await tx
      .update(resources)
      .set({ spec: { ...row.spec, purpose: f.purpose }, changedAt: at })
      .where(and(eq(resources.id, row.id), eq(resources.status, "delivered")));
  j.add({
    action: "resource.purpose_changed",
    requestId: req.id,
    details: { resourceIds: f.resourceIds, from: rows.map((r) => (r.spec as { purpose?: string }).purpose ?? null), to: f.purpose },
  });
}
