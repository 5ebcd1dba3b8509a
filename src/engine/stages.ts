import { randomBytes } from "node:crypto";
import { and, asc, desc, eq, isNotNull, sql } from "drizzle-orm";
import { rowsOf, type Db } from "../../db/client";
import { requests, stageRuns, tasks, timers } from "../../db/schema";
import { noticeCard, taskCard, type CardRequest, type CardStage } from "../../cards";
import { anchoredOn, PARTY_NAMES, type DeadlineSpec, type Party, type StageDef } from "../../flows/types";
import { addCalendarDays, shanghaiDate, shanghaiInstant } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { countyOf, supervisorOf, usersWithRole } from "../directory/queries";
import { unprocessable } from "../core/errors";
import { concreteDeadline, stageTimesOrPending, type StageTimes } from "./deadlines";
import { flowDef, REVISE_STAGE, stageDef } from "./flow";
import { enqueueCards } from "../core/notify";
import type { LockedRequest, RequestRow } from "../core/request";

export type StageRunRow = typeof stageRuns.$inferSelect;

export function cardRequest(req: LockedRequest): CardRequest {
  return { id: req.id, code: req.code, title: req.title, unitName: req.unitName, summary: requestSummary(req) };
}

/** The flow's summary of a request: what cards and pages show after 编号 and 单位. */
export function requestSummary(req: Pick<RequestRow, "flow" | "facts" | "title">) {
  return flowDef(req.flow).summary(req.facts, req.title);
}

/** The users who act for a party on this request. Nobody decides on their own request (invariant 4). */
export async function partyUsers(tx: Db, req: Pick<RequestRow, "applicantId" | "unitId" | "facts">, party: Party): Promise<string[]> {
  if (party === "applicant") return [req.applicantId];
  // The person the request is for confirms for themselves, even when they also asked for it.
  if (party === "holder") return [(req.facts as { holderId: string }).holderId];
  // An order to the unit: each of its applicants, the one it is filed under too.
  if (party === "unit") return (await usersWithRole(tx, "applicant", { unitId: req.unitId })).map((u) => u.id);
  let users;
  if (party === "county_bureau") {
    const county = await countyOf(tx, req.unitId);
    users = county ? await usersWithRole(tx, "county_bureau", { unitId: county.id }) : [];
  } else if (party === "unit_supervisor") {
    // 002 第二十三条: the 主管单位审核人 of the request's unit's 主管单位.
    const supervisor = await supervisorOf(tx, req.unitId);
    users = supervisor ? await usersWithRole(tx, "unit_supervisor", { unitId: supervisor.id }) : [];
  } else {
    users = await usersWithRole(tx, party);
  }
  return users.map((u) => u.id).filter((id) => id !== req.applicantId);
}

/** Everyone acting for any of these parties on the request, each once. */
export async function partiesUsers(tx: Db, req: RequestRow, parties: readonly Party[]): Promise<string[]> {
  return [...new Set((await Promise.all(parties.map((p) => partyUsers(tx, req, p)))).flat())];
}

export function deadlineSpan(spec: DeadlineSpec): string {
  if ("workdays" in spec) return `${spec.workdays} 个工作日`;
  if ("calendarDays" in spec) return spec.calendarDays === 0 ? "当天" : `${spec.calendarDays} 个日历天`;
  if ("calendarMonths" in spec) return `${spec.calendarMonths} 个月`;
  if ("onDateOf" in spec) return "限期";
  return `每月 ${spec.dayOfMonth} 日`;
}

function deadlineText(stage: StageDef, deadlineAt: Date | null, pending: boolean): string | null {
  if (!stage.deadline) return null;
  if (pending) return "工作日历尚未覆盖期限所在年份，期限待加载后计算";
  return `${shanghaiDate(deadlineAt!)} ${stage.elapses ? "届满" : "前"}（${deadlineSpan(stage.deadline)}）`;
}

export function cardStage(stage: StageDef, run: Pick<StageRunRow, "deadlineAt">, facts: unknown, pending = false): CardStage {
  return {
    name: stage.name,
    approveLabel: stage.approveLabel,
    canApprove: !stage.approveRefusal?.(facts),
    canReject: stage.canReject ?? false,
    canReturn: stage.canReturn ?? false,
    canFail: Boolean(stage.onFail),
    deadlineText: deadlineText(stage, run.deadlineAt, pending),
    onForm: stage.key === REVISE_STAGE.key,
    ...(stage.form ? { form: stage.form.name } : {}),
  };
}

/** A decision the holder of a stage may take, and what it asks of them first in plain words (null: nothing). */
export interface HolderDecision {
  action: "approve" | "reject" | "return" | "fail" | "resubmit";
  label: string;
  asks: string | null;
}

/**
 * What the holder of a stage may decide on this request, the way cards and pages offer it: 同意 (by the stage's
 * own label) decides at once unless the stage wants a note on these facts; 驳回, 退回 and 未通过 want a reason;
 * after 退回 to the applicant the turn is the form itself.
 */
export function holderDecisions(stage: StageDef, facts: unknown): HolderDecision[] {
  if (stage.key === REVISE_STAGE.key) return [{ action: "resubmit", label: stage.approveLabel, asks: "修改后的申请表" }];
  // A stage that cannot be approved on these facts offers only what it can do instead (退回).
  // A stage with a form asks for it (StageDef.form): never a decision that needs nothing more.
  const asks = [stage.form?.name, stage.approveNeedsNote?.(facts)].filter((a): a is string => Boolean(a)).join("；") || null;
  const decisions: HolderDecision[] = stage.approveRefusal?.(facts) ? [] : [{ action: "approve", label: stage.approveLabel, asks }];
  if (stage.canReject) decisions.push({ action: "reject", label: "驳回", asks: "驳回理由" });
  if (stage.canReturn) decisions.push({ action: "return", label: "退回", asks: "退回理由" });
  if (stage.onFail) decisions.push({ action: "fail", label: "未通过", asks: "未通过的原因" });
  return decisions;
}

/**
 * A stage's deadline and reminder as of its opening. A stage that reopens (a retest) may count from when an
 * earlier stage first opened; only such stages need to look at the request's earlier runs.
 */
export async function stageTimesFor(
  ctx: ServiceContext,
  tx: Db,
  req: RequestRow,
  stage: StageDef,
  openedAt: Date,
  runId?: number,
): Promise<StageTimes & { pending: boolean }> {
  if (!stage.deadline) return { deadlineAt: null, remindAt: null, pending: false };
  let spec = concreteDeadline(stage.deadline, req.facts, openedAt);
  if (stage.redoDeadline || spec.from) {
    const earlier = (
      await tx
        .select({ id: stageRuns.id, stage: stageRuns.stage, openedAt: stageRuns.openedAt, closedAt: stageRuns.closedAt })
        .from(stageRuns)
        .where(eq(stageRuns.requestId, req.id))
        .orderBy(asc(stageRuns.id))
    ).filter((r) => r.id !== runId);
    if (stage.redoDeadline && earlier.some((r) => r.stage === stage.key)) spec = stage.redoDeadline;
    const from = spec.from;
    const anchor = !from
      ? undefined
      : "firstOpenOf" in from
        ? earlier.find((r) => r.stage === from.firstOpenOf)?.openedAt
        : (earlier.find((r) => anchoredOn(from.firstDoneOf, r.stage) && r.closedAt !== null)?.closedAt ?? undefined);
    return stageTimesOrPending(ctx.calendar, openedAt, spec, anchor);
  }
  return stageTimesOrPending(ctx.calendar, openedAt, spec);
}

/**
 * Opens a stage: a run, one task per assignee, its timers (催办 and overdue), and a card to each assignee,
 * all in the caller's transaction. A period (StageDef.elapses) has no tasks: its parties get a notice, and its
 * end is a timer that opens the next stage.
 */
export async function openStage(ctx: ServiceContext, tx: Db, req: LockedRequest, stage: StageDef, note?: string) {
  note ??= stage.quotes ? await quotedNote(tx, req, stage.quotes, stage.quoteLead) : undefined;
  const now = ctx.clock.now();
  const times = await stageTimesFor(ctx, tx, req, stage, now);
  const earliestAt = stage.minDuration
    ? shanghaiInstant(addCalendarDays(shanghaiDate(now), stage.minDuration.calendarDays))
    : null;

  const assignees: { party: Party; userId: string }[] = [];
  for (const party of stage.parties) {
    const ids = await partyUsers(tx, req, party);
    if (ids.length === 0)
      throw unprocessable(
        "no_assignee",
        `通讯录中没有可以处理「${stage.name}」的${PARTY_NAMES[party]}，请管理员先导入通讯录`,
      );
    for (const userId of ids) assignees.push({ party, userId });
  }

  const [run] = await tx
    .insert(stageRuns)
    .values({
      requestId: req.id,
      stage: stage.key,
      mode: stage.parties.length > 1 ? "all" : "any",
      status: "open",
      openedAt: now,
      deadlineAt: times.deadlineAt,
      earliestAt,
    })
    .returning();
  await tx.update(requests).set({ currentStage: stage.key, updatedAt: now }).where(eq(requests.id, req.id));
  req.currentStage = stage.key;
  await scheduleTimers(tx, run!, times.remindAt, stage);
  if (stage.elapses) {
    const recipients = [...new Set(assignees.map((a) => a.userId))];
    const card = noticeCard(cardRequest(req), `${stage.name}开始`, `${deadlineText(stage, run!.deadlineAt, times.pending)}，期满后自动进入下一环节`);
    await enqueueCards(tx, now, recipients, "period", card, `period:${run!.id}`);
    return;
  }
  const created = await tx
    .insert(tasks)
    .values(
      assignees.map((a) => ({
        stageRunId: run!.id,
        requestId: req.id,
        party: a.party,
        userId: a.userId,
        status: "pending",
        cardToken: newCardToken(),
      })),
    )
    .returning({ id: tasks.id, userId: tasks.userId });
  await enqueueCards(
    tx,
    now,
    assignees.map((a) => a.userId),
    "task",
    taskCard(cardRequest(req), cardStage(stage, run!, req.facts, times.pending), note),
    `task:${run!.id}`,
    // One person holding two parties of a 会签 gets one card; it decides their first task.
    new Map(created.toReversed().map((t) => [t.userId, t.id])),
  );
}

/** "请按「调整方案」的要求办理：…": the note of the latest approval of `stageKey` on this request, if it had one. */
async function quotedNote(tx: Db, req: LockedRequest, stageKey: string, lead?: string): Promise<string | undefined> {
  const [row] = await tx
    .select({ note: tasks.note })
    .from(tasks)
    .innerJoin(stageRuns, eq(stageRuns.id, tasks.stageRunId))
    .where(and(eq(tasks.requestId, req.id), eq(stageRuns.stage, stageKey), eq(tasks.status, "approved"), isNotNull(tasks.note)))
    .orderBy(desc(tasks.id))
    .limit(1);
  if (!row?.note) return undefined;
  return `${lead ?? `请按「${stageDef(req.flow, req.profile, stageKey).name}」的要求办理`}：${row.note}`;
}

/** 96 random bits, URL-safe: unguessable, and short enough for a button key. */
export function newCardToken(): string {
  return randomBytes(12).toString("base64url");
}

/** Who still holds a stage run: the users of its pending tasks. */
export async function pendingHolders(tx: Db, runId: number): Promise<string[]> {
  const rows = await tx
    .select({ userId: tasks.userId })
    .from(tasks)
    .where(and(eq(tasks.stageRunId, runId), eq(tasks.status, "pending")));
  return rows.map((r) => r.userId);
}

export async function scheduleTimers(tx: Db, run: StageRunRow, remindAt: Date | null, stage: Pick<StageDef, "elapses" | "revokeOnLapse">) {
  const rows: (typeof timers.$inferInsert)[] = [];
  if (remindAt) rows.push({ kind: "remind", requestId: run.requestId, stageRunId: run.id, runAt: remindAt });
  // A stage that lapses (StageDef.revokeOnLapse) ends at its deadline as a period does, with its consequence.
  if (run.deadlineAt)
    rows.push({ kind: stage.elapses || stage.revokeOnLapse ? "elapse" : "overdue", requestId: run.requestId, stageRunId: run.id, runAt: run.deadlineAt });
  if (rows.length > 0) await tx.insert(timers).values(rows);
}

/** A new deadline for an open run (extended, or filled in once the calendar covers it): timers follow it. */
export async function rescheduleRun(tx: Db, run: StageRunRow, times: StageTimes, stage: Pick<StageDef, "elapses" | "revokeOnLapse">) {
  await tx.update(stageRuns).set({ deadlineAt: times.deadlineAt, overdue: false }).where(eq(stageRuns.id, run.id));
  await tx
    .update(timers)
    .set({ status: "cancelled" })
    .where(and(eq(timers.stageRunId, run.id), eq(timers.status, "pending")));
  await scheduleTimers(tx, { ...run, deadlineAt: times.deadlineAt }, times.remindAt, stage);
}

/** Ends a run: its status, its still-pending tasks cancelled (returned), its timers cancelled. */
export async function closeRun(tx: Db, run: StageRunRow, status: string, at: Date): Promise<SettledTask[]> {
  // One statement: this runs on every decision, and each round trip counts on the embedded database.
  const res = await tx.execute(sql`
    with closed as (
      update ${stageRuns} set status = ${status}, closed_at = ${at.toISOString()}::timestamptz where id = ${run.id}
    ), stopped as (
      update ${timers} set status = 'cancelled' where stage_run_id = ${run.id} and status = 'pending'
    )
    update ${tasks} set status = 'cancelled' where stage_run_id = ${run.id} and status = 'pending'
    returning id::int as id, user_id as "userId"`);
  return rowsOf<SettledTask>(res);
}

/** A task that has just left "pending", whose card now needs its buttons greyed out. */
export interface SettledTask {
  id: number;
  userId: string;
}
