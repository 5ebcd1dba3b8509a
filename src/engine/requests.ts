import { randomUUID } from "node:crypto";
import { and, eq, inArray, isNull, ne, or, sql } from "drizzle-orm";
import { z } from "zod";
import { rowsOf, type Db } from "../../db/client";
import { findings, inboundEvents, requests, serviceRatings, stageRuns, tasks, units, users } from "../../db/schema";
import { noticeCard, taskCard, type CardTone } from "../../cards";
import { FLOW_KEYS, FLOW_MODULES, flowModule, type FlowKey } from "../../flows";
import type { FlowStep, StageDef } from "../../flows/types";
import { recordMilestone } from "../resources";
import { shanghaiDate } from "../core/calendar";
import type { Actor, ServiceContext } from "../core/context";
import { countyOf, unitChain, usersWithRole } from "../directory/queries";
import type { Role } from "../core/roles";
import { conflict, forbidden, invalid, notFound, unprocessable } from "../core/errors";
import { stageTimesOrPending } from "./deadlines";
import { flowStages, nextStage, REVISE_STAGE, stageDef, stageFrom } from "./flow";
import { auditAppendMany } from "../core/audit-append";
import { Journal, mutate } from "../core/mutate";
import { enqueueCardSettlements, enqueueCards } from "../core/notify";
import { cardRequest, cardStage, closeRun, pendingHolders, openStage, partiesUsers, newCardToken, rescheduleRun, requestSummary, stageTimesFor, type SettledTask, type StageRunRow } from "./stages";
import { type LockedRequest } from "../core/request";

export const STATUS_NAMES: Record<string, string> = {
  in_progress: "办理中",
  returned: "已退回待修改",
  rejected: "已驳回",
  withdrawn: "已撤回",
  completed: "已办结",
};

/** 服务评价: the applicant's rating of the provider's service on a completed request. */
export const RATING_NAMES = { satisfied: "满意", basic: "基本满意", dissatisfied: "不满意" } as const;
export type ServiceRating = keyof typeof RATING_NAMES;
const ratingSchema = z.enum(Object.keys(RATING_NAMES) as [ServiceRating, ...ServiceRating[]]);

const text = (max = 2000) => z.string().trim().min(1).max(max);

// One option per flow, its form checked by the flow's schema; the vm_account form is checked in full by its
// flow service, against the directory too.
const submitOptions = FLOW_KEYS.map((flow) => z.object({ flow: z.literal(flow), form: FLOW_MODULES[flow].form }));

// A body without "flow" is a 云资源申请, as before there were other flows.
export const submitInputSchema = z.preprocess(
  (v) => (v !== null && typeof v === "object" && !Array.isArray(v) && !("flow" in v) ? { ...v, flow: "application" } : v),
  z.discriminatedUnion("flow", submitOptions as [(typeof submitOptions)[number], ...typeof submitOptions]),
);

// A decision names the stage it was read from, by its run (`stageRunId`) or its key (`stage`): a second copy
// of the same call then finds that stage decided instead of deciding the next one (invariant 3).
const stageBinding = {
  stageRunId: z.int().positive().optional(),
  stage: z.string().regex(/^[a-z_]{1,64}$/, "应为环节代码（见申请详情 currentStage.stage，如 approve）").optional(),
};
/** The actions that decide a stage, and so name it (`stage` or `stageRunId`). */
export const STAGE_DECISIONS: ReadonlySet<string> = new Set(["approve", "confirm", "reject", "return", "fail", "transfer"]);
const STAGE_REQUIRED = "请注明要办理的环节：stage（环节代码，见申请详情的 currentStage.stage）或 stageRunId";
// One of the two is required while the request is open (boundRunId): a closed request is refused as closed.
const decision = <T extends z.ZodRawShape>(shape: T) => z.object({ ...shape, ...stageBinding });
export const actionInputSchema = z.discriminatedUnion("action", [
  decision({ action: z.literal("approve"), note: text().optional() }),
  decision({ action: z.literal("confirm"), note: text().optional() }),
  decision({ action: z.literal("reject"), reason: text() }),
  decision({ action: z.literal("return"), reason: text(), toStage: z.string().max(64).optional() }),
  decision({ action: z.literal("fail"), reason: text() }),
  decision({ action: z.literal("transfer"), toUserId: z.string().min(1).max(64), reason: text().optional() }),
  z.object({ action: z.literal("comment"), text: text() }),
  z.object({ action: z.literal("withdraw"), reason: text().optional() }),
  // The edited form is checked by the request's own flow (a 云资源申请表 or a 虚拟机账号申请表).
  z.object({ action: z.literal("resubmit"), form: z.record(z.string(), z.unknown()).optional(), note: text().optional() }),
  z.object({ action: z.literal("finding"), kind: z.enum(["rectification", "warning"]), text: text() }),
  z.object({ action: z.literal("extend"), days: z.int().min(1).max(60), reason: text() }),
  z.object({ action: z.literal("nudge"), note: text(200).optional() }),
  z.object({ action: z.literal("rate"), score: ratingSchema, comment: text(500).optional() }),
]);
export type ActionInput = z.output<typeof actionInputSchema>;
type ActionOf<A extends ActionInput["action"]> = Extract<ActionInput, { action: A }>;

type Progress = FlowStep;

/** What every action on a locked request works with. */
interface Step extends Progress {
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

function requireActor(ctx: ServiceContext): Actor {
  if (!ctx.actor) throw forbidden("此操作需要以具体用户身份进行");
  return ctx.actor;
}

const hasRole = (actor: Actor, role: Role) => actor.roles.includes(role);

function audit(j: Journal, req: { id: number }, action: string, stage: string | null, details: Record<string, unknown>) {
  j.add({ action, requestId: req.id, stage, details });
}

function result(req: LockedRequest, message: string): ActionResult {
  return {
    id: req.id,
    code: req.code,
    status: req.status,
    statusName: STATUS_NAMES[req.status] ?? req.status,
    currentStage: req.currentStage,
    message,
  };
}

/** 提交申请: a form for the submitter's own unit; the first applicable stage opens. */
export async function submitRequest({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof submitInputSchema> }) {
  return mutate(ctx, { action: "request.submit" }, async (tx, j) => {
    const actor = requireActor(ctx);
    const { service } = FLOW_MODULES[input.flow];
    const refusal = service.refusal(actor);
    if (refusal) throw forbidden(refusal);
    const chain = await unitChain(tx, actor.unitId);
    const countyUnit = chain.some((u) => u.kind === "county");
    const prepared = await service.prepare({ ctx, tx, actor, form: input.form, profile: ctx.profile, countyUnit });
    // A request made for a unit (a revocation the provider starts) belongs to that unit's applicant.
    const owner = prepared.owner ?? { unitId: actor.unitId, unitName: chain[0]?.name ?? actor.unitId, applicantId: actor.userId };
    return openRequest({ ctx, tx, j }, { flow: input.flow, ...prepared, ...owner }, {});
  });
}

/** A new request in the caller's transaction: its code, its row, and its first applicable stage opened. */
export async function openRequest(
  step: { ctx: ServiceContext; tx: Db; j: Journal },
  r: { flow: FlowKey; unitId: string; unitName: string; applicantId: string; title: string; form: unknown; facts: object },
  auditDetails: Record<string, unknown>,
): Promise<ActionResult> {
  const { ctx, tx, j } = step;
  const profile = ctx.profile;
  const now = ctx.clock.now();
  const [{ id } = { id: 0 }] = rowsOf<{ id: number }>(await tx.execute(sql`select nextval('requests_id_seq')::int as id`));
  const code = `YS-${shanghaiDate(now).slice(0, 4)}-${String(id).padStart(5, "0")}`;
  const [row] = await tx
    .insert(requests)
    .values({
      id,
      code,
      flow: r.flow,
      profile,
      unitId: r.unitId,
      applicantId: r.applicantId,
      title: r.title,
      form: r.form,
      facts: r.facts,
      status: "in_progress",
      submittedAt: now,
      updatedAt: now,
    })
    .returning();
  const req: LockedRequest = { ...row!, unitName: r.unitName };
  const first = stageFrom(flowStages(req.flow, profile), 0, r.facts);
  if (!first) throw new Error(`flow ${req.flow}/${profile} has no applicable stage`);
  audit(j, req, "request.submit", first.key, { code, profile, summary: requestSummary(req), ...auditDetails });
  await openStage(ctx, tx, req, first);
  return result(req, `申请 ${code} 已提交，进入「${first.name}」`);
}

/** The request row, locked for the rest of the transaction: every action on one request runs one at a time. */
async function lockRequest(tx: Db, id: number): Promise<LockedRequest> {
  const [row] = await tx
    .select({ request: requests, unitName: units.name })
    .from(requests)
    .innerJoin(units, eq(units.id, requests.unitId))
    .where(eq(requests.id, id))
    .for("update", { of: requests });
  if (!row) throw notFound(`申请 ${id} 不存在`);
  return { ...row.request, unitName: row.unitName };
}

async function currentRun(tx: Db, req: LockedRequest): Promise<StageRunRow | null> {
  const [run] = await tx
    .select()
    .from(stageRuns)
    .where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.status, "open")));
  return run ?? null;
}

async function userName(tx: Db, id: string) {
  const [u] = await tx.select({ name: users.name }).from(users).where(eq(users.id, id));
  return u?.name ?? id;
}

/**
 * The actor's pending task on the current stage, or the reason they have none: the stage was already decided
 * (by whom), the request is closed, or they are not an assignee at all.
 */
async function claimTask(tx: Db, req: LockedRequest, actor: Actor, expectedRunId?: number) {
  if (req.status !== "in_progress" && req.status !== "returned")
    throw conflict("request_closed", `申请 ${req.code} ${STATUS_NAMES[req.status] ?? req.status}，不能再操作`);
  const [open] = await tx
    .select({ run: stageRuns, task: tasks })
    .from(stageRuns)
    .leftJoin(tasks, and(eq(tasks.stageRunId, stageRuns.id), eq(tasks.userId, actor.userId), eq(tasks.status, "pending")))
    .where(and(eq(stageRuns.requestId, req.id), eq(stageRuns.status, "open")))
    .limit(1);
  if (open?.task && (expectedRunId === undefined || expectedRunId === open.run.id)) return { run: open.run, task: open.task };

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
async function decideTask(tx: Db, taskId: number, status: string, note: string | null, at: Date): Promise<SettledTask[]> {
  return tx
    .update(tasks)
    .set({ status, note, decidedAt: at })
    .where(eq(tasks.id, taskId))
    .returning({ id: tasks.id, userId: tasks.userId });
}

/** Greys out the buttons of every card whose task has just been decided, with who decided it. */
function settleCards(step: Step, settled: SettledTask[], label: string) {
  return enqueueCardSettlements(step.tx, step.ctx.clock.now(), settled, label);
}

/** "已由张三同意": short enough for a greyed-out button; a label that says 已 itself ("已上线") is not said twice. */
function decidedBy(actor: Actor, verb: string) {
  const done = verb.replace(/^已/, "");
  return `已由${actor.name}${done.length <= 4 ? done : "办理"}`;
}

/**
 * The stage run a decision is bound to: the one it names, or the latest run of the stage it names by key. A
 * stage the request has not reached is refused here; one already decided is refused by claimTask, naming who.
 */
async function boundRunId(step: Step, binding: { stageRunId?: number; stage?: string }): Promise<number | undefined> {
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
async function claimStage(step: Step, binding: { stageRunId?: number; stage?: string }) {
  const expectedRunId = await boundRunId(step, binding);
  const { run, task } = await claimTask(step.tx, step.req, step.actor, expectedRunId);
  return { run, task, stage: stageDef(step.req.flow, step.req.profile, run.stage) };
}

/** 办理: every action on a request after submission. */
export async function actOnRequest({ ctx, input }: { ctx: ServiceContext; input: { requestId: number } & ActionInput }) {
  const actor = requireActor(ctx);
  return mutate(ctx, { action: `request.${input.action}`, requestId: input.requestId }, async (tx, j) => {
    const step: Step = { ctx, tx, j, req: await lockRequest(tx, input.requestId), actor };
    switch (input.action) {
      case "approve":
      case "confirm":
        return approve(step, input);
      case "reject":
        return reject(step, input);
      case "return":
        return returnRequest(step, input);
      case "fail":
        return fail(step, input);
      case "transfer":
        return transfer(step, input);
      case "comment":
        return comment(step, input);
      case "withdraw":
        return withdraw(step, input);
      case "resubmit":
        return resubmit(step, input);
      case "finding":
        return finding(step, input);
      case "extend":
        return extend(step, input);
      case "nudge":
        return nudge(step, input);
      case "rate":
        return rate(step, input);
    }
  });
}

async function approve(step: Step, input: ActionOf<"approve" | "confirm">) {
  const { ctx, tx, j, req, actor } = step;
  const { note, action: verb } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (stage.key === REVISE_STAGE.key) throw unprocessable("resubmit_required", "请使用“重新提交”并附上修改后的申请表");
  if (verb === "confirm" && !stage.parties.some((p) => p === "applicant" || p === "holder"))
    throw unprocessable("wrong_action", `「${stage.name}」不是需要申请人或账号使用人确认的环节，请使用“同意”`);
  const needsNote = stage.approveNeedsNote?.(req.facts);
  if (needsNote && !note) throw unprocessable("note_required", needsNote, { note: [needsNote] });
  const now = ctx.clock.now();
  if (run.earliestAt && now < run.earliestAt)
    throw unprocessable(
      "too_early",
      `「${stage.name}」不少于 ${stage.minDuration?.calendarDays} 天，最早可在 ${shanghaiDate(run.earliestAt)} 完成`,
    );

  const voted = await decideTask(tx, task.id, "approved", note ?? null, now);
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
      audit(j, req, `request.${verb}`, stage.key, { party: task.party, note, waitingFor: waiting });
      await settleCards(step, [...voted, ...stepAside], `${label}，待会签`);
      return result(req, `已记录您的意见，「${stage.name}」还需其他方会签`);
    }
  }

  const cancelled = await closeRun(tx, run, "approved", now);
  await settleCards(step, [...voted, ...stepAside, ...cancelled], label);
  audit(j, req, `request.${verb}`, stage.key, { party: task.party, note });
  if (stage.marks) await recordMilestone({ tx, j, req, at: now }, stage.marks);
  const moved = await advance(step, stage);
  if (stage.reportTo?.length) {
    const to = await partiesUsers(tx, req, stage.reportTo);
    const summary = `${actor.name}${stage.approveLabel}${note ? `：${note}` : ""}`;
    await notifyAbout(step, to, "report", { title: `${stage.name}：已完成`, summary, tone: "success" }, `report:${run.id}`);
  }
  return result(req, moved);
}

/** Ends the request (已办结, 已驳回, 已撤回): no current stage from now on. */
async function closeRequest(step: Progress, status: "completed" | "rejected" | "withdrawn") {
  const now = step.ctx.clock.now();
  await step.tx
    .update(requests)
    .set({ status, currentStage: null, closedAt: now, updatedAt: now })
    .where(eq(requests.id, step.req.id));
  step.req.status = status;
  step.req.currentStage = null;
}

/** Queues a notice card about this request; `key` makes it once-only where the event has a natural id. */
async function notifyAbout(
  step: Progress,
  userIds: string[],
  kind: string,
  notice: { title: string; summary: string; tone?: CardTone },
  key = `${kind}:${randomUUID()}`,
) {
  const card = noticeCard(cardRequest(step.req), notice.title, notice.summary, notice.tone);
  await enqueueCards(step.tx, step.ctx.clock.now(), userIds, kind, card, key);
}

/** Opens the stage after `from`, or completes the request when there is none. */
async function advance(step: Progress, from: StageDef): Promise<string> {
  const { ctx, tx, j, req } = step;
  const next = nextStage(flowStages(req.flow, req.profile), from, req.facts);
  if (next) {
    await openStage(ctx, tx, req, next);
    return `「${from.name}」已完成，进入「${next.name}」`;
  }
  await closeRequest(step, "completed");
  audit(j, req, "request.complete", from.key, {});
  const { definition, service } = flowModule(req.flow);
  await service.complete?.(step);
  const invite = definition.ratedService ? `。请评价本次服务：回复“评价 ${req.code} 满意”（或 基本满意 / 不满意，可附意见）` : "";
  await notifyAbout(step, [req.applicantId], "result", { title: "申请已办结", summary: `「${req.title}」全部环节已完成${invite}`, tone: "success" });
  return `「${from.name}」已完成，申请已办结`;
}

/**
 * The end of a period stage (StageDef.elapses), fired by its timer in the timer's transaction: the run closes
 * as elapsed, the moment it marks is recorded, and the next stage opens (or the request completes).
 */
export async function elapseStage(ctx: ServiceContext, tx: Db, req: LockedRequest, run: StageRunRow, timerId: number) {
  const j = new Journal({ ...ctx, actor: null, channel: "timer" });
  const stage = stageDef(req.flow, req.profile, run.stage);
  const now = ctx.clock.now();
  await closeRun(tx, run, "elapsed", now);
  audit(j, req, "stage.elapse", stage.key, { timerId, deadlineAt: run.deadlineAt?.toISOString() ?? null });
  if (stage.marks) await recordMilestone({ tx, j, req, at: now }, stage.marks);
  await advance({ ctx, tx, j, req }, stage);
  await auditAppendMany(tx, j.entries);
}

async function reject(step: Step, input: ActionOf<"reject">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (!stage.canReject) throw unprocessable("not_allowed", `「${stage.name}」不能驳回${stage.canReturn ? "，可以退回" : ""}`);
  const now = ctx.clock.now();
  const decided = await decideTask(tx, task.id, "rejected", reason, now);
  await settleCards(step, [...decided, ...(await closeRun(tx, run, "rejected", now))], decidedBy(actor, "驳回"));
  await closeRequest(step, "rejected");
  audit(j, req, "request.reject", stage.key, { reason });
  // 004 第十四条: a rejected ticket is cancelled and the applicant told.
  await notifyAbout(step, [req.applicantId], "result", {
    title: "申请已驳回",
    summary: `${actor.name}在「${stage.name}」驳回：${reason}`,
    tone: "danger",
  });
  return result(req, `已驳回，申请 ${req.code} 结束`);
}

async function returnRequest(step: Step, input: ActionOf<"return">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  if (!stage.canReturn) throw unprocessable("not_allowed", `「${stage.name}」不能退回`);
  const toStage = input.toStage ?? stage.returnTo;
  const now = ctx.clock.now();
  let target: StageDef | null = null;
  if (toStage && toStage !== "applicant") {
    const stages = flowStages(req.flow, req.profile);
    const here = stages.findIndex((s) => s.key === stage.key);
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

async function fail(step: Step, input: ActionOf<"fail">) {
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

async function transfer(step: Step, input: ActionOf<"transfer">) {
  const { ctx, tx, j, req, actor } = step;
  const { toUserId, reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  const [target] = await tx.select().from(users).where(eq(users.id, toUserId));
  const party = task.party as StageDef["parties"][number];
  if (!target || !target.active) throw unprocessable("invalid_target", `用户 ${toUserId} 不存在或已停用`, { toUserId: ["用户不存在或已停用"] });
  // The applicant's side goes to someone who could have filed this kind of request (a provider, for the
  // provider's own statement); any other party to a user with that party's role.
  const qualifies =
    party === "applicant"
      ? flowModule(req.flow).service.refusal({ userId: target.id, name: target.name, unitId: target.unitId, roles: target.roles as Role[] }) === null
      : target.roles.includes(party);
  if (!qualifies) throw unprocessable("invalid_target", `只能转交给同一角色的用户，${target.name}没有该角色`, { toUserId: ["角色不符"] });
  if (party === "applicant" ? target.unitId !== req.unitId : target.id === req.applicantId)
    throw unprocessable("invalid_target", party === "applicant" ? "只能转交给本单位的申请人" : "不能转交给申请人本人", {
      toUserId: ["不能转交给该用户"],
    });
  if (party === "county_bureau") {
    const county = await countyOf(tx, req.unitId);
    if (target.unitId !== county?.id)
      throw unprocessable("invalid_target", "只能转交给本县（市、区）数据管理局的用户", { toUserId: ["不属于该县级数据局"] });
  }
  if (target.id === actor.userId) throw unprocessable("invalid_target", "不能转交给自己", { toUserId: ["不能转交给自己"] });

  // 转交 hands the party's decision to one named person: the other holders of the party step aside.
  const now = ctx.clock.now();
  const handedOver = await decideTask(tx, task.id, "transferred", reason ?? null, now);
  const stepAside = await tx
    .update(tasks)
    .set({ status: "superseded" })
    .where(and(eq(tasks.stageRunId, run.id), eq(tasks.party, task.party), eq(tasks.status, "pending"), ne(tasks.userId, target.id)))
    .returning({ id: tasks.id, userId: tasks.userId });
  await settleCards(step, [...handedOver, ...stepAside], `已由${actor.name}转交${target.name}`);
  const [kept] = await tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.stageRunId, run.id), eq(tasks.userId, target.id), eq(tasks.status, "pending")));
  const [created] = kept
    ? [kept]
    : await tx
        .insert(tasks)
        .values({ stageRunId: run.id, requestId: req.id, party: task.party, userId: target.id, status: "pending", cardToken: newCardToken() })
        .returning({ id: tasks.id });
  audit(j, req, "request.transfer", stage.key, { to: target.id, reason });
  await enqueueCards(
    tx,
    now,
    [target.id],
    "task",
    taskCard(cardRequest(req), cardStage(stage, run), `${actor.name}转交给您：${reason ?? "请处理"}`),
    `task:${run.id}:transfer:${created!.id}`,
    new Map([[target.id, created!.id]]),
  );
  return result(req, `已转交给${target.name}`);
}

async function participants(tx: Db, req: LockedRequest) {
  const rows = await tx.select({ userId: tasks.userId }).from(tasks).where(eq(tasks.requestId, req.id));
  return new Set([req.applicantId, ...rows.map((r) => r.userId)]);
}

async function comment(step: Step, input: ActionOf<"comment">) {
  const { tx, j, req, actor } = step;
  const body = input.text;
  const involved = await participants(tx, req);
  if (!involved.has(actor.userId) && !hasRole(actor, "manager") && !hasRole(actor, "reviewer"))
    throw forbidden("只有该申请的参与人、统筹管理单位和复核单位可以评论");
  audit(j, req, "request.comment", req.currentStage, { text: body });
  const run = await currentRun(tx, req);
  const pending = run ? await pendingHolders(tx, run.id) : [];
  const to = [req.applicantId, ...pending].filter((id) => id !== actor.userId);
  await notifyAbout(step, to, "comment", { title: "新评论", summary: `${actor.name}：${body}` });
  return result(req, "评论已记录");
}

async function withdraw(step: Step, input: ActionOf<"withdraw">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  if (actor.userId !== req.applicantId) throw forbidden("只有申请人本人可以撤回申请");
  if (req.status !== "in_progress" && req.status !== "returned")
    throw conflict("request_closed", `申请 ${req.code} ${STATUS_NAMES[req.status]}，不能撤回`);
  // Before the first decision only; a request returned for revision may also be abandoned.
  const decided = await tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.requestId, req.id), ne(tasks.userId, req.applicantId), inArray(tasks.status, ["approved", "rejected", "failed"])))
    .limit(1);
  if (req.status === "in_progress" && decided.length > 0)
    throw conflict("already_decided", "已有审批意见，不能再撤回；如不再需要，请联系当前处理人退回");
  const run = await currentRun(tx, req);
  const pending = run ? await pendingHolders(tx, run.id) : [];
  if (run) await settleCards(step, await closeRun(tx, run, "withdrawn", ctx.clock.now()), "申请人已撤回");
  await closeRequest(step, "withdrawn");
  audit(j, req, "request.withdraw", run?.stage ?? null, { reason });
  await notifyAbout(step, pending.filter((id) => id !== actor.userId), "result", {
    title: "申请已撤回",
    summary: `${actor.name}撤回了申请${reason ? `：${reason}` : ""}，无需再处理`,
    tone: "warning",
  });
  return result(req, `申请 ${req.code} 已撤回`);
}

async function resubmit(step: Step, input: ActionOf<"resubmit">) {
  const { ctx, tx, j, req, actor } = step;
  const { form, note } = input;
  if (actor.userId !== req.applicantId) throw forbidden("只有申请人本人可以重新提交");
  if (req.status !== "returned") throw conflict("not_returned", "申请未被退回，无需重新提交");
  const { run, task } = await claimTask(tx, req, actor);
  const now = ctx.clock.now();
  // Checked again as at submission. The unit does not change, so neither does whether it sits under a county.
  const countyUnit = Boolean((req.facts as { countyUnit?: boolean }).countyUnit);
  const prepared = await flowModule(req.flow).service.prepare({
    ctx,
    tx,
    actor,
    form: form ?? req.form,
    profile: req.profile,
    countyUnit,
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
  audit(j, req, "request.resubmit", REVISE_STAGE.key, { formChanged: form !== undefined, note, summary: requestSummary(req) });
  // Back to the stage that returned it; if the edited form no longer needs that stage, the next one that applies.
  const stages = flowStages(req.flow, req.profile);
  const index = Math.max(0, stages.findIndex((s) => s.key === req.resumeStage));
  const target = stageFrom(stages, index, facts) ?? stageFrom(stages, 0, facts)!;
  await openStage(ctx, tx, req, target, `${actor.name}已修改并重新提交${note ? `：${note}` : ""}`);
  return result(req, `已重新提交，进入「${target.name}」`);
}

async function finding(step: Step, input: ActionOf<"finding">) {
  const { ctx, tx, j, req, actor } = step;
  const { kind, text: body } = input;
  if (!hasRole(actor, "reviewer")) throw forbidden("整改通知和工作警示由复核单位发出");
  if (req.status === "withdrawn") throw conflict("request_closed", "申请已撤回");
  const now = ctx.clock.now();
  await tx.insert(findings).values({ requestId: req.id, stage: req.currentStage, kind, text: body, byUserId: actor.userId, createdAt: now });
  audit(j, req, "request.finding", req.currentStage, { kind, text: body });
  const title = kind === "rectification" ? "整改通知" : "工作警示";
  const managers = (await usersWithRole(tx, "manager")).map((u) => u.id);
  const providers = (await usersWithRole(tx, "provider")).map((u) => u.id);
  await notifyAbout(step, [req.applicantId, ...managers, ...providers], "finding", {
    title,
    summary: `${actor.name}：${body}`,
    tone: "warning",
  });
  return result(req, `${title}已发出`);
}

async function extend(step: Step, input: ActionOf<"extend">) {
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

/** 催办: the applicant's side (or the manager, or the reviewer) reminds the current holders; once per working day. */
async function nudge(step: Step, input: ActionOf<"nudge">) {
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
  const [fresh] = await tx
    .insert(inboundEvents)
    .values({ scope: "nudge", key: `${req.id}:${workday}`, fingerprint: actor.userId, createdAt: ctx.clock.now() })
    .onConflictDoNothing()
    .returning({ key: inboundEvents.key });
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

/**
 * 服务评价: the applicant rates the provider's service once the request is completed, once. A 不满意 needs its
 * reason and reaches the providers and managers at once, so it can be put right rather than only counted.
 */
async function rate(step: Step, input: ActionOf<"rate">) {
  const { ctx, tx, j, req, actor } = step;
  if (actor.userId !== req.applicantId) throw forbidden("只有申请人本人可以评价");
  const flow = flowModule(req.flow).definition;
  if (!flow.ratedService) throw unprocessable("not_rated", `${flow.name}无需服务评价`);
  if (req.status !== "completed") throw conflict("not_completed", `申请 ${req.code} ${STATUS_NAMES[req.status] ?? req.status}，办结后才能评价`);
  const { score, comment } = input;
  if (score === "dissatisfied" && !comment)
    throw unprocessable("comment_required", "不满意请写明原因，便于实施单位整改", { comment: ["不满意请写明原因"] });
  const [rated] = await tx
    .insert(serviceRatings)
    .values({ requestId: req.id, userId: actor.userId, score, comment: comment ?? null, createdAt: ctx.clock.now() })
    .onConflictDoNothing()
    .returning({ requestId: serviceRatings.requestId });
  if (!rated) throw conflict("already_rated", `申请 ${req.code} 已经评价过`);
  audit(j, req, "request.rate", null, { score, comment });
  if (score === "dissatisfied") {
    const to = await partiesUsers(tx, req, ["provider", "manager"]);
    await notifyAbout(step, to, "rating", { title: "服务评价：不满意", summary: `${actor.name}：${comment}`, tone: "danger" });
  }
  return result(req, `感谢您的评价：${RATING_NAMES[score]}`);
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
