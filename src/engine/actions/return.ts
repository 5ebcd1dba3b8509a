import { and, eq } from "drizzle-orm";
import { requests, stageRuns } from "../../../db/schema";
import type { StageDef } from "../../../flows/types";
import { unprocessable } from "../../core/errors";
import { flowStages, REVISE_STAGE, sequencePosition } from "../flow";
import { closeRun, openStage } from "../stages";
import type { ActionOf } from "../action-input";
import { audit, result, decideTask, settleCards, decidedBy, claimStage, notifyAbout, type Step } from "../step";

export async function returnRequest(step: Step, input: ActionOf<"return">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (!stage.canReturn) throw unprocessable("not_allowed", `「${stage.name}」不能退回`);
  const toStage = input.toStage ?? stage.returnTo;
  const now = ctx.clock.now();
  let target: StageDef | null = null;
  if (toStage && toStage !== "applicant") {
    const stages = flowStages(req.flow, req.profile);
    const here = sequencePosition(req.flow, stages, stage.key);
    const there = stages.findIndex((s) => s.key === toStage);
    const passed = await tx
      .select({ id: stageRuns.id })
      .from(stageRuns)
      .where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.stage, toStage), eq(stageRuns.status, "approved")))
      .limit(1);
    if (there < 0 || there >= here || passed.length === 0)
      throw unprocessable("invalid_target", `只能退回到本申请已经过的前序环节，「${toStage}」不是`, {
        toStage: ["不是已经过的前序环节"],
      });
    target = stages[there]!;
  }
  const decided = await decideTask(tx, task.id, "returned", reason, now);
  await settleCards(step, [...decided, ...(await closeRun(tx, run, "returned", now))], decidedBy(actor, "退回"));
  audit(j, req, "request.return", stage.key, { reason, toStage: target?.key ?? "applicant" });
  if (target) {
    await openStage(ctx, tx, req, target, `${actor.name}从「${stage.name}」退回：${reason}`);
    return result(req, `已退回到「${target.name}」`);
  }
  await tx
    .update(requests)
    .set({ status: "returned", resumeStage: stage.resumeAt ?? stage.key, updatedAt: now })
    .where(eq(requests.id, req.id));
  req.status = "returned";
  await openStage(ctx, tx, req, REVISE_STAGE, `${actor.name}在「${stage.name}」退回：${reason}`);
  await notifyAbout(step, [req.applicantId], "result", {
    title: "申请被退回",
    summary: `${actor.name}在「${stage.name}」退回：${reason}。请修改后重新提交。`,
    tone: "warning",
  });
  return result(req, "已退回申请人修改");
}
