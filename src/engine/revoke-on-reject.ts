import { and, asc, eq, ne } from "drizzle-orm";
import { resources } from "../../db/schema";
import { REVOCATION_TRIGGERS, revocationTitle, type RevocationFacts, type RevocationTrigger } from "../resources/catalog";
import { busyResources, lockResources } from "../resources/claims";
import { describeResource, ownerOf } from "../resources/revocation";
import { partyUsers } from "./stages";
import { notifyAbout, type Step } from "./step";
import { openRequest } from "./submit";

/**
 * A rejection after delivery (an emergency request's 事后审批, 004 第四十八条; StageDef.revokeOnReject): what the
 * request delivered is revoked the ordinary way (004 第二十三—二十七条), so a revocation request opens for it in
 * the same transaction, under the trigger and with the rejection's reason. Resources already being changed or
 * revoked are left out; when none is left, the managers are told to see to it. Returns the words for the unit.
 */
export async function revokeDelivered(step: Step, trigger: RevocationTrigger, stageName: string, reason: string): Promise<string> {
  const { ctx, tx, j, req } = step;
  const delivered = await tx
    .select({ id: resources.id })
    .from(resources)
    // A VM's backup policies go with it (recordMilestone "revoked"), so only what they back up is named.
    .where(and(eq(resources.requestId, req.id), eq(resources.status, "delivered"), ne(resources.kind, "backup")))
    .orderBy(asc(resources.id));
  const locked = await lockResources(tx, delivered.map((r) => r.id));
  const busy = await busyResources(tx, locked.map((r) => r.id));
  const rows = locked.filter((r) => r.status === "delivered" && !busy.has(r.id));
  if (rows.length === 0) {
    const managers = await partyUsers(tx, req, "manager");
    await notifyAbout(step, managers, "report", {
      title: "事后审批未同意，请安排撤销",
      summary: `「${req.title}」在「${stageName}」未获同意，已开通的云资源没有可自动发起撤销的（已在其他流程中或已撤销），请核实后处理`,
      tone: "warning",
    });
    return "已开通的云资源将被撤销，统筹管理单位将另行安排";
  }
  const facts: RevocationFacts = {
    resourceIds: rows.map((r) => r.id),
    resourceNames: rows.map(describeResource),
    trigger,
    evidence: null,
    reason: `${REVOCATION_TRIGGERS[trigger]}：${reason}（004 第四十八条）`,
  };
  const opened = await openRequest(
    { ctx, tx, j },
    { flow: "revocation", title: revocationTitle(rows), form: { resources: facts.resourceIds, reason: facts.reason }, facts, ...(await ownerOf(tx, rows)) },
    { trigger, origin: req.code },
  );
  return `已开通的云资源将被撤销（撤销申请 ${opened.code}），请做好数据备份和应用转移`;
}
