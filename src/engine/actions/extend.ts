import { eq } from "drizzle-orm";
import { requests } from "../../../db/schema";
import { shanghaiDate } from "../../core/calendar";
import { conflict, forbidden, unprocessable } from "../../core/errors";
import { stageTimesOrPending } from "../deadlines";
import { stageDef } from "../flow";
import { pendingHolders, rescheduleRun } from "../stages";
import type { ActionOf } from "../action-input";
import { STATUS_NAMES, hasRole, audit, result, currentRun, notifyAbout, type Step } from "../step";

export async function extend(step: Step, input: ActionOf<"extend">) {
  const { ctx, tx, j, req, actor } = step;
  const { days: daysToAdd, reason } = input;
  if (!hasRole(actor, "manager")) throw forbidden("延长期限需经统筹管理单位同意");
  if (req.status !== "in_progress") throw conflict("request_closed", `申请 ${STATUS_NAMES[req.status]}`);
  const run = await currentRun(tx, req);
  const stage = run ? stageDef(req.flow, req.profile, run.stage) : null;
  if (!run || !stage?.extendable || !stage.deadline || !run.deadlineAt)
    throw unprocessable("not_allowed", `当前环节${stage ? `「${stage.name}」` : ""}不能延长期限`);
  const spec = "workdays" in stage.deadline ? { workdays: daysToAdd } : { calendarDays: daysToAdd };
  // The extension counts from the current deadline day.
  const times = stageTimesOrPending(ctx.calendar, run.openedAt, spec, run.deadlineAt);
  if (times.pending) throw unprocessable("calendar_out_of_range", "延长后的期限超出已加载的工作日历，请先加载下一年的放假安排");
  await rescheduleRun(tx, run, times, stage);
  // A deadline on a date the facts name (整改期限) moves with that date, so the request shows it and a stage reopened
  // later (a rectification returned as 不到位) is due by the extended date, not the first one.
  if ("onDateOf" in stage.deadline) {
    req.facts = { ...(req.facts as object), [stage.deadline.onDateOf]: shanghaiDate(times.deadlineAt!) };
    await tx.update(requests).set({ facts: req.facts }).where(eq(requests.id, req.id));
  }
  audit(j, req, "request.extend", stage.key, {
    days: daysToAdd,
    reason,
    from: run.deadlineAt.toISOString(),
    to: times.deadlineAt!.toISOString(),
  });
  await notifyAbout(step, await pendingHolders(tx, run.id), "extend", {
    title: "期限已延长",
    summary: `「${stage.name}」期限延至 ${shanghaiDate(times.deadlineAt!)}：${reason}`,
  });
  return result(req, `「${stage.name}」期限已延至 ${shanghaiDate(times.deadlineAt!)}`);
}
