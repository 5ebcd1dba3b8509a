import { eq } from "drizzle-orm";
import { requests } from "../../../db/schema";
import { supervisorOf, unitChain } from "../../directory/queries";
import { flowModule } from "../../../flows";
import { conflict, forbidden } from "../../core/errors";
import { bindFiles } from "../../files";
import { flowStages, REVISE_STAGE, sequencePosition, stageFrom } from "../flow";
import { attachmentDigests } from "../submit";
import { closeRun, openStage, requestSummary } from "../stages";
import type { ActionOf } from "../action-input";
import { audit, result, claimTask, decideTask, settleCards, type Step } from "../step";

export async function resubmit(step: Step, input: ActionOf<"resubmit">) {
  const { ctx, tx, j, req, actor } = step;
  const { form, note } = input;
  if (actor.userId !== req.applicantId) throw forbidden("只有申请人本人可以重新提交");
  if (req.status !== "returned") throw conflict("not_returned", "申请未被退回，无需重新提交");
  const { run, task } = await claimTask(tx, req, actor);
  const now = ctx.clock.now();
  // Checked again as at submission, with the unit's place in the directory as it is now: under a county, and
  // whether it is a 下属单位 (002 第二十三条). Read from the directory, for not every flow's facts keep countyUnit.
  const countyUnit = (await unitChain(tx, req.unitId)).some((u) => u.kind === "county");
  const supervisedUnit = (await supervisorOf(tx, req.unitId)) !== null;
  const prepared = await flowModule(req.flow).service.prepare({
    ctx,
    tx,
    actor,
    form: form ?? req.form,
    profile: req.profile,
    countyUnit,
    supervisedUnit,
    resubmitting: { id: req.id, facts: req.facts },
  });
  const { facts, title } = prepared;
  const decided = await decideTask(tx, task.id, "approved", note ?? null, now);
  await settleCards(step, [...decided, ...(await closeRun(tx, run, "approved", now))], "已重新提交");
  await tx
    .update(requests)
    .set({ status: "in_progress", form: prepared.form, facts, title, resumeStage: null, updatedAt: now })
    .where(eq(requests.id, req.id));
  Object.assign(req, { status: "in_progress", form: prepared.form, facts, title });
  await bindFiles(tx, prepared.files ?? [], req.id);
  audit(j, req, "request.resubmit", REVISE_STAGE.key, { formChanged: form !== undefined, note, summary: requestSummary(req), ...attachmentDigests(prepared.files) });
  // Back to the stage that returned it; if the edited form no longer needs that stage, the next one that applies.
  const stages = flowStages(req.flow, req.profile);
  const index = Math.max(0, Math.ceil(sequencePosition(req.flow, stages, req.resumeStage ?? "")));
  const target = stageFrom(stages, index, facts) ?? stageFrom(stages, 0, facts)!;
  await openStage(ctx, tx, req, target, `${actor.name}已修改并重新提交${note ? `：${note}` : ""}`);
  return result(req, `已重新提交，进入「${target.name}」`);
}
