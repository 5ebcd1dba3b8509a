import { and, asc, eq, ne } from "drizzle-orm";
import { resources } from "../../db/schema";
import { REVOCATION_TRIGGERS, revocationTitle, type RevocationFacts, type RevocationTrigger } from "../resources/catalog";
import { busyResources, lockResources } from "../resources/claims";
import { describeResource, ownerOf } from "../resources/revocation";
import { partyUsers } from "./stages";
import { notifyAbout, type Step } from "./step";
import type { FlowStep } from "../../flows/types";
import { openRequest } from "./submit";

/**
 * A rejection after delivery (an emergency request's 事后审批, 004 第四十八条; StageDef.revokeOnReject): what the
 * request delivered is revoked the ordinary way (004 第二十三—二十七条), so a revocation request opens for it in
 * the same transaction, under the trigger and with the rejection's reason. Resources already being changed or
 * revoked are left out; when none is left, the managers are told to see to it. Returns the words for the unit.
 */
export async function revokeDelivered(step: Step, trigger: RevocationTrigger, stageName: string, reason: string): Promise<string> {
  const { tx, req } = step;
  const delivered = await tx
    .select({ id: resources.id })
    .from(resources)
    // A VM's backup policies go with it (recordMilestone "revoked"), so only what they back up is named.
    .where(and(eq(resources.requestId, req.id), eq(resources.status, "delivered"), ne(resources.kind, "backup")))
    .orderBy(asc(resources.id));
  const opened = await openRevocation(step, {
    resourceIds: delivered.map((r) => r.id),
    trigger,
    reason: `${REVOCATION_TRIGGERS[trigger]}：${reason}（004 第四十八条）`,
    unrevocable: { title: "事后审批未同意，请安排撤销", summary: `「${req.title}」在「${stageName}」未获同意，已开通的云资源没有可自动发起撤销的（已在其他流程中或已撤销），请核实后处理` },
  });
  return opened ? `已开通的云资源将被撤销（撤销申请 ${opened}），请做好数据备份和应用转移` : "已开通的云资源将被撤销，统筹管理单位将另行安排";
}

/**
 * A revocation that one request sets off for resources (its own, or the ones it names), in its transaction: owned
 * by their unit, under the trigger, the request's code as its origin. Resources already revoked or being changed
 * are left out; when none is left, the managers are told (`unrevocable`) and null comes back; else its code.
 */
export async function openRevocation(
  step: FlowStep,
  r: { resourceIds: number[]; trigger: RevocationTrigger; reason: string; facts?: Partial<RevocationFacts>; unrevocable: { title: string; summary: string } },
): Promise<string | null> {
  const { ctx, tx, j, req } = step;
  const locked = await lockResources(tx, r.resourceIds);
  const busy = await busyResources(tx, locked.map((l) => l.id));
  const rows = locked.filter((l) => l.status === "delivered" && !busy.has(l.id));
  if (rows.length === 0) {
    const managers = await partyUsers(tx, req, "manager");
    await notifyAbout(step, managers, "report", { ...r.unrevocable, tone: "warning" });
    return null;
  }
  const facts: RevocationFacts = {
    resourceIds: rows.map((l) => l.id),
    resourceNames: rows.map(describeResource),
    trigger: r.trigger,
    evidence: null,
    reason: r.reason,
    ...r.facts,
  };
  const opened = await openRequest(
    { ctx, tx, j },
    { flow: "revocation", title: revocationTitle(rows), form: { resources: facts.resourceIds, reason: facts.reason }, facts, ...(await ownerOf(tx, rows)) },
    { trigger: r.trigger, origin: req.code },
  );
  return opened.code;
}
