import { unprocessable } from "../../core/errors";
import { stageDef } from "../flow";
import { closeRun, openStage } from "../stages";
import type { ActionOf } from "../action-input";
import { audit, result, decideTask, settleCards, decidedBy, claimStage, type Step } from "../step";

export async function fail(step: Step, input: ActionOf<"fail">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (!stage.onFail) throw unprocessable("not_allowed", `「${stage.name}」没有“未通过”这一结果`);
  const now = ctx.clock.now();
  const decided = await decideTask(tx, task.id, "failed", reason, now);
  await settleCards(step, [...decided, ...(await closeRun(tx, run, "failed", now))], decidedBy(actor, "判未通过"));
  audit(j, req, "request.fail", stage.key, { reason });
  const target = stageDef(req.flow, req.profile, stage.onFail);
  await openStage(ctx, tx, req, target, `「${stage.name}」未通过：${reason}`);
  return result(req, `「${stage.name}」未通过，进入「${target.name}」`);
}
