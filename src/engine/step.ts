import { randomUUID } from "node:crypto";
import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditLog, requests, stageRuns, tasks, units, users } from "../../db/schema";
import { noticeCard, type CardTone } from "../../cards";
import { flowModule } from "../../flows";
import type { FlowStep, StageDef } from "../../flows/types";
import type { Actor, ServiceContext } from "../core/context";
import type { Role } from "../core/roles";
import { conflict, forbidden, invalid, notFound, unprocessable } from "../core/errors";
import { flowStages, nextStage, REVISE_STAGE, stageDef } from "./flow";
import type { Journal } from "../core/mutate";
import { enqueueCardSettlements, enqueueCards } from "../core/notify";
import { cardRequest, closeRun, openStage, partyUsers, type SettledTask, type StageRunRow } from "./stages";
import type { LockedRequest } from "../core/request";

// What the actions on a request share: the locked request, its current task and stage, and moving it on.

export const STATUS_NAMES: Record<string, string> = {
  in_progress: "办理中",
  returned: "已退回待修改",
  rejected: "已驳回",
  withdrawn: "已撤回",
  completed: "已办结",
};

const STAGE_REQUIRED = "请注明要办理的环节：stage（环节代码，见申请详情的 currentStage.stage）或 stageRunId";

type Progress = FlowStep;

/** What every action on a locked request works with. */
export interface Step extends Progress {
  actor: Actor;
}

export interface ActionResult {
  id: number;
  code: string;
  status: string;
  statusName: string;
  currentStage: string | null;
  message: string;
}

export function requireActor(ctx: ServiceContext): Actor {
  if (!ctx.actor) throw forbidden("此操作需要以具体用户身份进行");
  return ctx.actor;
}

export const hasRole = (actor: Actor, role: Role) => actor.roles.includes(role);

export function audit(j: Journal, req: { id: number }, action: string, stage: string | null, details: Record<string, unknown>) {
  j.add({ action, requestId: req.id, stage, details });
}

export function result(req: LockedRequest, message: string): ActionResult {
  return {
    id: req.id,
    code: req.code,
    status: req.status,
    statusName: STATUS_NAMES[req.status] ?? req.status,
    currentStage: req.currentStage,
    message,
  };
}

/** The request row, locked for the rest of the transaction: every action on one request runs one at a time. */
export async function lockRequest(tx: Db, id: number): Promise<LockedRequest> {
  const [row] = await tx
    .select({ request: requests, unitName: units.name })
    .from(requests)
    .innerJoin(units, eq(units.id, requests.unitId))
    .where(eq(requests.id, id))
    .for("update", { of: requests });
  if (!row) throw notFound(`申请 ${id} 不存在`);
  return { ...row.request, unitName: row.unitName };
}

/** The open run of the request's current stage (a stage running alongside it has its own run). */
export async function currentRun(tx: Db, req: LockedRequest): Promise<StageRunRow | null> {
  if (!req.currentStage) return null;
  const [run] = await tx
    .select()
    .from(stageRuns)
    .where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.status, "open"), eq(stageRuns.stage, req.currentStage)));
  return run ?? null;
}

/** Runs still open besides the current stage's: stages running alongside (StageDef.alongside). */
async function openRunsBeside(tx: Db, req: LockedRequest): Promise<StageRunRow[]> {
  return tx.select().from(stageRuns).where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.status, "open"))).orderBy(asc(stageRuns.id));
}

async function userName(tx: Db, id: string) {
  const [u] = await tx.select({ name: users.name }).from(users).where(eq(users.id, id));
  return u?.name ?? id;
}

/**
 * The actor's pending task on the current stage, or the reason they have none: the stage was already decided
 * (by whom), the request is closed, or they are not an assignee at all.
 */
export async function claimTask(tx: Db, req: LockedRequest, actor: Actor, expectedRunId?: number) {
  if (req.status !== "in_progress" && req.status !== "returned")
    throw conflict("request_closed", `申请 ${req.code} ${STATUS_NAMES[req.status] ?? req.status}，不能再操作`);
  // The actor's pending task on an open run (the one the decision is bound to): a stage running alongside the
  // current one is open too, and its holders decide it there.
  const [open] = await tx
    .select({ run: stageRuns, task: tasks })
    .from(stageRuns)
    .innerJoin(tasks, and(eq(tasks.stageRunId, stageRuns.id), eq(tasks.userId, actor.userId), eq(tasks.status, "pending")))
    .where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.status, "open"), expectedRunId === undefined ? undefined : eq(stageRuns.id, expectedRunId)))
    .orderBy(asc(tasks.id))
    .limit(1);
  if (open) return { run: open.run, task: open.task };

  // Already decided: the actor held a task on the expected run, or else on an earlier run of a stage now closed
  // (a command repeated after its stage moved on is told what became of the first one).
  const heldOn = (where: ReturnType<typeof eq>) =>
    tx
      .select({ stageRunId: tasks.stageRunId })
      .from(tasks)
      .where(and(eq(tasks.requestId, req.id), eq(tasks.userId, actor.userId), where))
      .orderBy(sql`${tasks.id} desc`)
      .limit(1);
  let [held] = expectedRunId !== undefined ? await heldOn(eq(tasks.stageRunId, expectedRunId)) : [];
  if (!held) [held] = await heldOn(ne(tasks.status, "pending"));
  if (held) {
    const [decided] = await tx
      .select({ userId: tasks.userId, status: tasks.status })
      .from(tasks)
      .where(and(eq(tasks.stageRunId, held.stageRunId), inArray(tasks.status, ["approved", "rejected", "returned", "failed"])))
      .limit(1);
    const [heldRun] = await tx.select().from(stageRuns).where(eq(stageRuns.id, held.stageRunId));
    const name = heldRun ? stageDef(req.flow, req.profile, heldRun.stage).name : "该环节";
    const by = decided ? `已由${await userName(tx, decided.userId)}处理` : "已结束";
    throw conflict("already_decided", `「${name}」${by}`);
  }
  throw forbidden("您不是该申请当前环节的处理人");
}

/** Marks the actor's task decided; the row comes back for its card to be settled. */
export async function decideTask(tx: Db, taskId: number, status: string, note: string | null, at: Date): Promise<SettledTask[]> {
  return tx
    .update(tasks)
    .set({ status, note, decidedAt: at })
    .where(eq(tasks.id, taskId))
    .returning({ id: tasks.id, userId: tasks.userId });
}

/** Greys out the buttons of every card whose task has just been decided, with who decided it. */
export function settleCards(step: Step, settled: SettledTask[], label: string) {
  return enqueueCardSettlements(step.tx, step.ctx.clock.now(), settled, label);
}

/** "已由张三同意": short enough for a greyed-out button; a label that says 已 itself ("已上线") is not said twice. */
export function decidedBy(actor: Actor, verb: string) {
  const done = verb.replace(/^已/, "");
  return `已由${actor.name}${done.length <= 4 ? done : "办理"}`;
}

/**
 * The stage run a decision is bound to: the one it names, or the latest run of the stage it names by key. A
 * stage the request has not reached is refused here; one already decided is refused by claimTask, naming who.
 */
export async function boundRunId(step: Step, binding: { stageRunId?: number; stage?: string }): Promise<number | undefined> {
  const { tx, req } = step;
  if (binding.stageRunId !== undefined) return binding.stageRunId;
  if (binding.stage === undefined) {
    if (req.status !== "in_progress" && req.status !== "returned") return undefined;
    throw invalid(STAGE_REQUIRED, { stage: [STAGE_REQUIRED] });
  }
  const [run] = await tx
    .select({ id: stageRuns.id })
    .from(stageRuns)
    .where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.stage, binding.stage)))
    .orderBy(sql`${stageRuns.id} desc`)
    .limit(1);
  if (run) return run.id;
  const known = flowStages(req.flow, req.profile).find((s) => s.key === binding.stage) ?? (binding.stage === REVISE_STAGE.key ? REVISE_STAGE : null);
  if (!known) throw unprocessable("invalid_stage", `申请 ${req.code} 的流程中没有「${binding.stage}」环节`, { stage: ["不是本申请流程的环节"] });
  const current = req.currentStage ? stageDef(req.flow, req.profile, req.currentStage).name : STATUS_NAMES[req.status] ?? req.status;
  throw conflict("stage_not_open", `申请 ${req.code} 当前在「${current}」，还未到「${known.name}」`);
}

/** The actor's task on the stage the decision is bound to, and that stage's definition (see claimTask for the refusals). */
export async function claimStage(step: Step, binding: { stageRunId?: number; stage?: string }) {
  const expectedRunId = await boundRunId(step, binding);
  const { run, task } = await claimTask(step.tx, step.req, step.actor, expectedRunId);
  return { run, task, stage: stageDef(step.req.flow, step.req.profile, run.stage) };
}

/** Ends the request (已办结, 已驳回, 已撤回): no current stage from now on, and no stage left open beside it. */
export async function closeRequest(step: Progress, status: "completed" | "rejected" | "withdrawn") {
  const now = step.ctx.clock.now();
  for (const run of await openRunsBeside(step.tx, step.req))
    await enqueueCardSettlements(step.tx, now, await closeRun(step.tx, run, "cancelled", now), `申请${STATUS_NAMES[status]}`);
  await step.tx
    .update(requests)
    .set({ status, currentStage: null, closedAt: now, updatedAt: now })
    .where(eq(requests.id, step.req.id));
  step.req.status = status;
  step.req.currentStage = null;
}

/** Queues a notice card about this request; `key` makes it once-only where the event has a natural id. */
export async function notifyAbout(
  step: Progress,
  userIds: string[],
  kind: string,
  notice: { title: string; summary: string; tone?: CardTone },
  key = `${kind}:${randomUUID()}`,
) {
  const card = noticeCard(cardRequest(step.req), notice.title, notice.summary, notice.tone);
  await enqueueCards(step.tx, step.ctx.clock.now(), userIds, kind, card, key);
}

/**
 * 需求发起方 where it is not the applicant: the person who submitted the request for the unit (a provider's
 * revocation or adjustment), or, for a proposal a job opened, the users of the party the flow proposes for.
 * Read from the submission's audit entry, which names who submitted; empty when the applicant asked themselves.
 */
export async function initiators(tx: Db, req: LockedRequest): Promise<string[]> {
  const [submitted] = await tx
    .select({ actorId: auditLog.actorId })
    .from(auditLog)
    .where(and(eq(auditLog.requestId, req.id), eq(auditLog.action, "request.submit")))
    .orderBy(asc(auditLog.seq))
    .limit(1);
  if (!submitted) return [];
  if (submitted.actorId) return submitted.actorId === req.applicantId ? [] : [submitted.actorId];
  const { proposer } = flowModule(req.flow).definition;
  return proposer ? partyUsers(tx, req, proposer) : [];
}

/**
 * A stage that puts its request into effect (StageDef.takesEffect) runs the flow's `complete` hook when it is
 * done, in the same transaction; completion then does not run it again (see tookEffect).
 */
export async function takeEffect(step: Progress, stage: StageDef) {
  if (stage.takesEffect) await flowModule(step.req.flow).service.complete?.(step);
}

/** Whether a stage of this request that takes effect is done: its effect happened then, not at completion. */
async function tookEffect(tx: Db, req: LockedRequest, stages: StageDef[]): Promise<boolean> {
  const keys = stages.filter((s) => s.takesEffect).map((s) => s.key);
  if (keys.length === 0) return false;
  const [done] = await tx
    .select({ id: stageRuns.id })
    .from(stageRuns)
    .where(and(eq(stageRuns.requestId, req.id), inArray(stageRuns.stage, keys), inArray(stageRuns.status, ["approved", "elapsed"])))
    .limit(1);
  return done !== undefined;
}

/** Opens the stage after `from`, or completes the request when there is none. */
export async function advance(step: Progress, from: StageDef): Promise<string> {
  const { ctx, tx, j, req } = step;
  const stages = flowStages(req.flow, req.profile);
  const next = nextStage(req.flow, stages, from, req.facts);
  if (next) {
    await openStage(ctx, tx, req, next);
    const after = next.alongside ? nextStage(req.flow, stages, next, req.facts) : null;
    if (!after) return `「${from.name}」已完成，进入「${next.name}」`;
    await openStage(ctx, tx, req, after);
    return `「${from.name}」已完成，进入「${after.name}」，「${next.name}」同时进行`;
  }
  const beside = await openRunsBeside(tx, req);
  if (beside.length > 0)
    throw conflict("not_completed", `「${stageDef(req.flow, req.profile, beside[0]!.stage).name}」尚未完成，完成后申请才能办结`);
  await closeRequest(step, "completed");
  audit(j, req, "request.complete", from.key, {});
  const { definition, service } = flowModule(req.flow);
  if (!(await tookEffect(tx, req, stages))) await service.complete?.(step);
  const invite = definition.ratedService ? `。请评价本次服务：回复“评价 ${req.code} 满意”（或 基本满意 / 不满意，可附意见）` : "";
  await notifyAbout(step, [req.applicantId], "result", { title: "申请已办结", summary: `「${req.title}」全部环节已完成${invite}`, tone: "success" });
  return `「${from.name}」已完成，申请已办结`;
}
