import { unprocessable } from "../../core/errors";
import { closeRun } from "../stages";
import { revokeDelivered } from "../revoke-on-reject";
import type { ActionOf } from "../action-input";
import { audit, result, decideTask, settleCards, decidedBy, claimStage, closeRequest, initiators, notifyAbout, type Step } from "../step";

export async function reject(step: Step, input: ActionOf<"reject">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (!stage.canReject) throw unprocessable("not_allowed", `「${stage.name}」不能驳回${stage.canReturn ? "，可以退回" : ""}`);
  const now = ctx.clock.now();
  const decided = await decideTask(tx, task.id, "rejected", reason, now);
  await settleCards(step, [...decided, ...(await closeRun(tx, run, "rejected", now))], decidedBy(actor, "驳回"));
  await closeRequest(step, "rejected");
  audit(j, req, "request.reject", stage.key, { reason });
  // 004 第四十八条: refused afterwards, what the fast track delivered is revoked, and the unit is told so.
  const revoking = stage.revokeOnReject ? await revokeDelivered(step, stage.revokeOnReject, stage.name, reason) : null;
  // 004 第十四条: a rejected ticket is cancelled and the applicant told.
  await notifyAbout(step, [req.applicantId], "result", {
    title: revoking ? "事后审批未同意，资源将被撤销" : "申请已驳回",
    summary: `${actor.name}在「${stage.name}」驳回：${reason}${revoking ? `。${revoking}` : ""}`,
    tone: "danger",
  });
  // 004 第二十条(一), 第二十五条(一): "对于审批不同意的工单，及时向需求发起方反馈" — a request the provider (or yunshen
  // for it) started for a unit is fed back to the provider too, with the reason, not only to the unit.
  await notifyAbout(step, await initiators(tx, req), "result", {
    title: "发起的申请未获同意",
    summary: `${actor.name}在「${stage.name}」驳回您方为${req.unitName}发起的申请：${reason}。工单已取消`,
    tone: "danger",
  });
  return result(req, `已驳回，申请 ${req.code} 结束${revoking ? `；${revoking}` : ""}`);
}
