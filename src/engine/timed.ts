import { and, eq, isNull } from "drizzle-orm";
import { loadCalendar, loadCalendarYear } from "../calendar/store";
import type { Db } from "../../db/client";
import { requests, stageRuns } from "../../db/schema";
import { recordMilestone } from "../resources";
import type { ServiceContext } from "../core/context";
import { stageDef } from "./flow";
import { revokeReplaced } from "./replaced";
import { auditAppendMany } from "../core/audit-append";
import { Journal, mutate } from "../core/mutate";
import { closeRun, rescheduleRun, stageTimesFor, type StageRunRow } from "./stages";
import type { LockedRequest } from "../core/request";
import { audit, lockRequest, advance, takeEffect, closeRequest, notifyAbout } from "./step";
import { openRevocation } from "./revoke-on-reject";
import { partiesUsers } from "./stages";
import { enqueueCardSettlements } from "../core/notify";
import { shanghaiDate } from "../core/calendar";
import { REVOCATION_TRIGGERS, type RevocationTrigger } from "../resources/catalog";
import type { FlowStep, StageDef } from "../../flows/types";

// What the clock sets off: a period that ends by itself, and deadlines filled in once the calendar covers them.

/**
 * The end of a period stage (StageDef.elapses), fired by its timer in the timer's transaction: the run closes
 * as elapsed, the moment it marks is recorded, and the next stage opens (or the request completes).
 */
export async function elapseStage(ctx: ServiceContext, tx: Db, req: LockedRequest, run: StageRunRow, timerId: number) {
  const j = new Journal({ ...ctx, actor: null, channel: "timer" });
  const stage = stageDef(req.flow, req.profile, run.stage);
  const now = ctx.clock.now();
  if (stage.revokeOnLapse) {
    await lapseStage({ ctx, tx, j, req }, run, stage, stage.revokeOnLapse, timerId);
    await auditAppendMany(tx, j.entries);
    return;
  }
  await closeRun(tx, run, "elapsed", now);
  audit(j, req, "stage.elapse", stage.key, { timerId, deadlineAt: run.deadlineAt?.toISOString() ?? null });
  if (stage.marks) {
    await recordMilestone({ tx, j, req, at: now }, stage.marks);
    await revokeReplaced({ ctx, tx, j, req }, stage.marks, now);
  }
  await takeEffect({ ctx, tx, j, req }, stage);
  await advance({ ctx, tx, j, req }, stage);
  await auditAppendMany(tx, j.entries);
}

/**
 * A stage whose holders let its deadline pass (StageDef.revokeOnLapse): its tasks are cancelled, a revocation of the
 * resources the request names opens (owned by their unit), the request ends as 已办结 with `lapsed` in its facts, and
 * the unit's applicants and the managers are told. 003 第二十四条(四): 拒不整改的，停止政务云资源使用并回收.
 */
async function lapseStage(step: FlowStep, run: StageRunRow, stage: StageDef, trigger: RevocationTrigger, timerId: number) {
  const { ctx, tx, j, req } = step;
  const now = ctx.clock.now();
  await enqueueCardSettlements(tx, now, await closeRun(tx, run, "elapsed", now), "已逾期");
  audit(j, req, "stage.lapse", stage.key, { timerId, deadlineAt: run.deadlineAt?.toISOString() ?? null, trigger });
  const facts = req.facts as { resourceIds?: number[]; underUse?: boolean; article?: string };
  const day = shanghaiDate(run.deadlineAt ?? now);
  const revocation = await openRevocation(step, {
    resourceIds: facts.resourceIds ?? [],
    trigger,
    reason: `${REVOCATION_TRIGGERS[trigger]}：「${req.title}」（${req.code}）至 ${day} 未完成「${stage.name}」${facts.article ? `（${facts.article}）` : ""}`,
    facts: facts.underUse ? { underUse: true } : {},
    unrevocable: { title: `逾期未完成「${stage.name}」，请安排回收`, summary: `「${req.title}」所列资源没有可自动发起撤销的（已在其他流程中或已撤销），请核实后处理` },
  });
  const lapsed = { on: day, revocation };
  req.facts = { ...(req.facts as object), lapsed };
  await tx.update(requests).set({ facts: req.facts }).where(eq(requests.id, req.id));
  await closeRequest(step, "completed");
  audit(j, req, "request.complete", stage.key, { lapsed });
  const to = await partiesUsers(tx, req, ["unit", "manager"]);
  await notifyAbout(step, to, "result", {
    title: `逾期未完成「${stage.name}」`,
    summary: revocation
      ? `「${req.title}」至 ${day} 未完成「${stage.name}」，已停止使用并发起回收（撤销申请 ${revocation}）`
      : `「${req.title}」至 ${day} 未完成「${stage.name}」，所列资源由统筹管理单位另行安排回收`,
    tone: "danger",
  });
}

/**
 * Stages opened while their deadline lay past the loaded calendar have none; once the year is loaded
 * (`calendar load`, or the service noticing it), each gets its deadline and timers.
 */
export async function recomputePendingDeadlines({ ctx }: { ctx: ServiceContext }): Promise<number> {
  const open = await ctx.db
    .select({ id: stageRuns.id, requestId: stageRuns.requestId, stage: stageRuns.stage, flow: requests.flow, profile: requests.profile })
    .from(stageRuns)
    .innerJoin(requests, eq(requests.id, stageRuns.requestId))
    .where(and(eq(stageRuns.status, "open"), isNull(stageRuns.deadlineAt)));
  // Stages without a deadline (试运行, 修改后重新提交) are never pending one.
  const pending = open.filter((r) => stageDef(r.flow, r.profile, r.stage).deadline);
  let filled = 0;
  for (const { id, requestId } of pending) {
    const done = await mutate(ctx, { action: "stage.deadline_set", requestId }, async (tx, j) => {
      const req = await lockRequest(tx, requestId);
      const [run] = await tx.select().from(stageRuns).where(eq(stageRuns.id, id));
      if (!run || run.status !== "open" || run.deadlineAt) return false;
      const stage = stageDef(req.flow, req.profile, run.stage);
      const times = await stageTimesFor(ctx, tx, req, stage, run.openedAt, run.id);
      if (!times.deadlineAt) return false;
      await rescheduleRun(tx, run, times, stage);
      audit(j, req, "stage.deadline_set", stage.key, { deadlineAt: times.deadlineAt.toISOString() });
      return true;
    });
    if (done) filled++;
  }
  return filled;
}

/**
 * `calendar load` wherever it is asked for (the CLI, the API, the portal): the year's schedule stored by the
 * calendar's own verb, then the deadlines that waited for that year. `recomputed` counts those filled in.
 */
export async function loadCalendarYearWithDeadlines({ ctx, input, override }: { ctx: ServiceContext; input: unknown; override?: string }) {
  const loaded = await loadCalendarYear({ ctx, input, override });
  const recomputed = await recomputePendingDeadlines({ ctx: { ...ctx, calendar: await loadCalendar(ctx.db) } });
  return { ...loaded, recomputed };
}
