import { shanghaiDate } from "../../core/calendar";
import { conflict, forbidden } from "../../core/errors";
import { onceFor } from "../../core/once";
import { stageDef } from "../flow";
import { pendingHolders } from "../stages";
import type { ActionOf } from "../action-input";
import { STATUS_NAMES, hasRole, audit, result, currentRun, notifyAbout, type Step } from "../step";

/** 催办: the applicant's side (or the manager, or the reviewer) reminds the current holders; once per working day. */
export async function nudge(step: Step, input: ActionOf<"nudge">) {
  const { ctx, tx, j, req, actor } = step;
  const ownUnit = hasRole(actor, "applicant") && actor.unitId === req.unitId;
  if (!ownUnit && actor.userId !== req.applicantId && !hasRole(actor, "manager") && !hasRole(actor, "reviewer"))
    throw forbidden("只有申请单位、统筹管理单位和复核单位可以催办");
  if (req.status !== "in_progress") throw conflict("request_closed", `申请 ${req.code} ${STATUS_NAMES[req.status] ?? req.status}，无需催办`);
  const run = await currentRun(tx, req);
  const holders = run ? await pendingHolders(tx, run.id) : [];
  if (!run || holders.length === 0) throw conflict("nobody_to_nudge", "当前环节没有待处理人");
  // The working day a nudge counts for: today, or the next working day when today is a holiday.
  const today = shanghaiDate(ctx.clock.now());
  const workday = ctx.calendar.isWorkday(today) ? today : ctx.calendar.nextWorkday(today);
  const fresh = await onceFor(ctx, tx, { scope: "nudge", key: `${req.id}:${workday}`, fingerprint: actor.userId });
  if (!fresh) throw conflict("nudge_throttled", `申请 ${req.code} 今天已催办过，每个工作日最多催办一次`);
  const stage = stageDef(req.flow, req.profile, run.stage);
  audit(j, req, "request.nudge", stage.key, { to: holders, note: input.note });
  await notifyAbout(step, holders, "nudge", {
    title: "催办",
    summary: `${actor.name}催办「${stage.name}」${input.note ? `：${input.note}` : "，请尽快处理"}`,
    tone: "warning",
  });
  return result(req, `已催办「${stage.name}」的处理人`);
}
