import { and, eq, or } from "drizzle-orm";
import { stageRuns, tasks } from "../../../db/schema";
import { flowModule } from "../../../flows";
import type { ProfileKey } from "../../../profiles";
import { recordMilestone } from "../../resources";
import { shanghaiDate } from "../../core/calendar";
import { unprocessable } from "../../core/errors";
import { REVISE_STAGE } from "../flow";
import { revokeReplaced } from "../replaced";
import { closeRun, partiesUsers } from "../stages";
import { auditedStageForm, checkedStageForm, heldStageFiles, keptStageForm } from "../stage-form";
import type { ActionOf } from "../action-input";
import { audit, result, decideTask, settleCards, decidedBy, claimStage, notifyAbout, advance, takeEffect, type Step } from "../step";

export async function approve(step: Step, input: ActionOf<"approve" | "confirm">) {
  const { ctx, tx, j, req, actor } = step;
  const { note, action: verb } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (stage.key === REVISE_STAGE.key) throw unprocessable("resubmit_required", "请使用“重新提交”并附上修改后的申请表");
  if (verb === "confirm" && !stage.parties.some((p) => p === "applicant" || p === "holder" || p === "unit"))
    throw unprocessable("wrong_action", `「${stage.name}」不是需要申请人或账号使用人确认的环节，请使用“同意”`);
  const refused = stage.approveRefusal?.(req.facts);
  if (refused) throw unprocessable("not_allowed", refused);
  const needsNote = stage.approveNeedsNote?.(req.facts);
  if (needsNote && !note) throw unprocessable("note_required", needsNote, { note: [needsNote] });
  const now = ctx.clock.now();
  if (run.earliestAt && now < run.earliestAt)
    throw unprocessable(
      "too_early",
      `「${stage.name}」不少于 ${stage.minDuration?.calendarDays} 天，最早可在 ${shanghaiDate(run.earliestAt)} 完成`,
    );
  // A stage with a form (StageDef.form) is decided with it filled in, checked by its schema (400); then the flow
  // checks what the approval needs against the database (422), before anything is written.
  const form = checkedStageForm(stage, input.form, shanghaiDate(now));
  const refusal = await flowModule(req.flow).service.checkStage?.({ tx, req, stage, form: form && stage.form ? form : null, profile: req.profile as ProfileKey });
  if (refusal) throw unprocessable("not_allowed", refusal.message, refusal.fields);
  const kept = form && stage.form ? await heldStageFiles(tx, actor, stage.form, keptStageForm(stage.form, req, form), { requestId: req.id, runId: run.id }) : null;
  const audited = kept && stage.form ? { form: auditedStageForm(stage.form, kept) } : {};

  const voted = await decideTask(tx, task.id, "approved", note ?? null, now);
  if (kept) await tx.update(stageRuns).set({ form: kept }).where(eq(stageRuns.id, run.id));
  // Other holders of the same party have nothing left to decide (或签 within the party). In a 会签 the voter's
  // tasks for other parties go too: one person holding two of the roles signs for one party only.
  const stepAside = await tx
    .update(tasks)
    .set({ status: "superseded" })
    .where(
      and(
        eq(tasks.stageRunId, run.id),
        eq(tasks.status, "pending"),
        or(eq(tasks.party, task.party), eq(tasks.userId, actor.userId)),
      ),
    )
    .returning({ id: tasks.id, userId: tasks.userId });
  const label = decidedBy(actor, stage.approveLabel);

  if (run.mode === "all") {
    // 会签: the stage completes only when every party has approved.
    const votes = await tx.select({ party: tasks.party, status: tasks.status }).from(tasks).where(eq(tasks.stageRunId, run.id));
    const signed = new Set(votes.filter((v) => v.status === "approved").map((v) => v.party));
    const waiting = stage.parties.filter((p) => !signed.has(p));
    if (waiting.length > 0) {
      audit(j, req, `request.${verb}`, stage.key, { party: task.party, note, waitingFor: waiting, ...audited });
      await settleCards(step, [...voted, ...stepAside], `${label}，待会签`);
      return result(req, `已记录您的意见，「${stage.name}」还需其他方会签`);
    }
  }

  const cancelled = await closeRun(tx, run, "approved", now);
  await settleCards(step, [...voted, ...stepAside, ...cancelled], label);
  audit(j, req, `request.${verb}`, stage.key, { party: task.party, note, ...audited });
  if (stage.marks) {
    await recordMilestone({ tx, j, req, at: now }, stage.marks);
    await revokeReplaced(step, stage.marks, now);
  }
  await takeEffect(step, stage);
  // A stage running alongside (StageDef.alongside) is decided on the side: the request has moved on without it.
  const moved = run.stage === req.currentStage ? await advance(step, stage) : `「${stage.name}」已完成`;
  if (stage.reportTo?.length) {
    const to = await partiesUsers(tx, req, stage.reportTo);
    const summary = `${actor.name}${stage.approveLabel}${note ? `：${note}` : ""}`;
    await notifyAbout(step, to, "report", { title: `${stage.name}：已完成`, summary, tone: "success" }, `report:${run.id}`);
  }
  return result(req, moved);
}
