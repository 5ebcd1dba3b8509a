import { and, asc, desc, eq, exists, gte, ilike, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { auditLog, findings, requests, serviceRatings, stageRuns, tasks, units, users } from "../../db/schema";
import type { Totals } from "../resources/catalog";
import type { ServiceContext } from "../core/context";
import { supervisorOf, unitChain } from "../directory/queries";
import { notFound } from "../core/errors";
import { addCalendarDays, shanghaiDateTime, shanghaiInstant } from "../core/calendar";
import { csvDocument } from "../core/csv";
import { isoDateSchema } from "../core/validation";
import { FLOW_KEYS } from "../../flows";
import { workdaysUsedAndLeft } from "./deadlines";
import { flowDef, stageDef } from "./flow";
import { holderDecisions, requestSummary } from "./stages";
import { stageFormSpec } from "./stage-form";
import { RATING_NAMES } from "./action-input";
import { STATUS_NAMES } from "./step";
import { requestVisibility } from "../core/request";

const STATUSES = ["in_progress", "returned", "rejected", "withdrawn", "completed"] as const;

/** The search of a list (编号, 系统名称, 单位, 流程, 状态, 提交日期), applied inside the same visibility rule. */
export const searchQuerySchema = z
  .object({
    view: z.enum(["mine", "todo", "all"]).default("all"),
    status: z.enum(STATUSES).optional(),
    code: z.string().trim().max(40).optional().meta({ description: "申请编号或其一部分（如 00012）" }),
    title: z.string().trim().max(100).optional().meta({ description: "系统名称（申请标题）中的文字" }),
    unit: z.string().trim().min(1).max(64).optional().meta({ description: "单位 id；县级数据局的 id 包含其辖区各单位" }),
    flow: z.enum(FLOW_KEYS).optional().meta({ description: "流程" }),
    from: isoDateSchema.optional().meta({ description: "提交日期自（含，北京时间）" }),
    to: isoDateSchema.optional().meta({ description: "提交日期至（含，北京时间）" }),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { error: "结束日期不能早于开始日期", path: ["to"] });

export const listQuerySchema = searchQuerySchema
  .safeExtend({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.coerce.number().int().positive().optional(),
    order: z
      .enum(["newest", "deadline"])
      .default("newest")
      .meta({ description: "newest：最新提交在前（可用 before 翻页）；deadline：期限最近（最紧急）在前，仅用于待办，不翻页" }),
  })
  .refine((q) => q.order === "newest" || (q.view === "todo" && q.before === undefined), {
    error: "按期限排序只用于待办（view=todo），且不能与 before 同用",
    path: ["order"],
  });

type ListQuery = z.output<typeof searchQuerySchema> & { limit: number; before?: number; order?: "newest" | "deadline" };

/**
 * 我的申请 / 待办 / 全部: newest first, paged with `before` (the last id of the previous page). One snapshot,
 * so a row's deadline is that of the stage the row shows.
 */
export async function listRequests({ ctx, input }: { ctx: ServiceContext; input: ListQuery }) {
  return ctx.db.transaction((db) => readList(ctx, db, input), SNAPSHOT);
}

/** At most this many rows in one export: a year of a city's requests, well within what Excel opens. */
export const EXPORT_MAX_ROWS = 10_000;

const EXPORT_HEADERS = ["编号", "系统名称", "单位", "流程", "状态", "当前环节", "是否逾期", "提交时间", "更新时间", "当前环节期限"];

/**
 * The rows of a search as an Excel-ready CSV (BOM, formula-defused cells), with the same visibility as the list:
 * names in Chinese, times in Beijing time. Returns the document and how many rows it holds.
 */
export async function exportRequestsCsv({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof searchQuerySchema> }) {
  const { items } = await ctx.db.transaction((db) => readList(ctx, db, { ...input, limit: EXPORT_MAX_ROWS }), SNAPSHOT);
  const when = (at: Date | null) => (at ? shanghaiDateTime(at) : "");
  const rows = items.map((r) => [
    r.code,
    r.title,
    r.unitName,
    r.flowName,
    r.statusName,
    r.currentStageName ?? "",
    r.overdue ? "是" : "否",
    when(r.submittedAt),
    when(r.updatedAt),
    when(r.deadlineAt),
  ]);
  return { csv: csvDocument([EXPORT_HEADERS, ...rows]), count: items.length };
}

// Every statement of a view sees the same committed state, and nothing in it can write.
const SNAPSHOT = { isolationLevel: "repeatable read", accessMode: "read only" } as const;

/** `%` and `_` typed into a search box are looked for as such, not as wildcards. */
const contains = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function searchFilters(db: Db, input: ListQuery): (SQL | undefined)[] {
  const where: (SQL | undefined)[] = [];
  if (input.status) where.push(eq(requests.status, input.status));
  if (input.before) where.push(lt(requests.id, input.before));
  if (input.code) where.push(ilike(requests.code, contains(input.code)));
  if (input.title) where.push(ilike(requests.title, contains(input.title)));
  if (input.flow) where.push(eq(requests.flow, input.flow));
  if (input.unit) {
    const named = db.select({ id: units.id }).from(units).where(or(eq(units.id, input.unit), eq(units.parentId, input.unit)));
    where.push(inArray(requests.unitId, named));
  }
  if (input.from) where.push(gte(requests.submittedAt, shanghaiInstant(input.from)));
  if (input.to) where.push(lt(requests.submittedAt, shanghaiInstant(addCalendarDays(input.to, 1))));
  return where;
}

type ListItem = Awaited<ReturnType<typeof listItems>>[number];

/** A page of a list; `total` (how many in all) only where the page cannot be turned (待办 by deadline). */
interface ListPage {
  items: ListItem[];
  next: number | null;
  total?: number;
}

async function readList(ctx: ServiceContext, db: Db, input: ListQuery): Promise<ListPage> {
  const actor = ctx.actor!;
  const where = searchFilters(db, input);
  if (input.view === "mine") where.push(eq(requests.applicantId, actor.userId));
  else if (input.view === "todo") {
    const mineToDo = and(eq(tasks.userId, actor.userId), eq(tasks.status, "pending"), ...where);
    if (input.order === "deadline") return readTodoByDeadline(db, mineToDo, input.limit, actor.userId);
    // The page is found from the person's pending tasks, newest request first, along tasks_user_status_idx:
    // it reads one page of them however many requests are open (issue 10), where a filter on requests read all.
    const page = await db
      .selectDistinct({ id: tasks.requestId })
      .from(tasks)
      .innerJoin(requests, eq(requests.id, tasks.requestId))
      .where(mineToDo)
      .orderBy(desc(tasks.requestId))
      .limit(input.limit);
    if (page.length === 0) return { items: [], next: null };
    where.push(inArray(requests.id, page.map((p) => p.id)));
  } else where.push(await requestVisibility(db, actor));
  const items = await listItems(db, where, input.limit, input.view === "todo" ? actor.userId : undefined);
  return { items, next: items.length === input.limit ? items[items.length - 1]!.id : null };
}

/**
 * 待办, the most urgent first: the person's pending tasks by their stage's deadline (the most overdue first,
 * those without a deadline last), with how many there are in all, so that a page showing the first ones
 * can say how many wait. Only the person's pending tasks are read (tasks_user_status_idx), however many
 * requests are open.
 */
async function readTodoByDeadline(db: Db, mineToDo: SQL | undefined, limit: number, holder: string): Promise<ListPage> {
  const deadline = sql<Date | null>`min(${stageRuns.deadlineAt})`;
  const pending = db
    .select({ id: tasks.requestId, deadline: deadline.as("deadline") })
    .from(tasks)
    .innerJoin(requests, eq(requests.id, tasks.requestId))
    .innerJoin(stageRuns, eq(stageRuns.id, tasks.stageRunId))
    .where(mineToDo)
    .groupBy(tasks.requestId)
    .as("pending");
  const [page, [counted]] = await Promise.all([
    db.select({ id: pending.id }).from(pending).orderBy(sql`${pending.deadline} asc nulls last`, asc(pending.id)).limit(limit),
    db.select({ total: sql<number>`count(*)::int` }).from(pending),
  ]);
  if (page.length === 0) return { items: [], next: null, total: 0 };
  const rank = new Map(page.map((p, i) => [p.id, i]));
  const items = (await listItems(db, [inArray(requests.id, page.map((p) => p.id))], limit, holder)).sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
  return { items, next: null, total: counted?.total ?? 0 };
}

/**
 * The rows of a list, newest first, with each one's open stage and its deadline. In 待办 (`held`: the reader
 * holds each row's open stage) a row also says which run that is and what the holder may decide on it, so the
 * list can offer the decisions that need nothing more, bound to the run as read (invariant 3).
 */
async function listItems(db: Db, where: (SQL | undefined)[], limit: number, heldBy?: string) {
  const rows = await db
    .select({
      id: requests.id,
      code: requests.code,
      title: requests.title,
      unitId: requests.unitId,
      unitName: units.name,
      applicantId: requests.applicantId,
      status: requests.status,
      currentStage: requests.currentStage,
      overdue: requests.overdue,
      flow: requests.flow,
      profile: requests.profile,
      facts: requests.facts,
      submittedAt: requests.submittedAt,
      updatedAt: requests.updatedAt,
    })
    .from(requests)
    .innerJoin(units, eq(units.id, requests.unitId))
    .where(and(...where))
    .orderBy(desc(requests.id))
    .limit(limit);
  const runs = rows.length
    ? await db
        .select({ id: stageRuns.id, requestId: stageRuns.requestId, stage: stageRuns.stage, deadlineAt: stageRuns.deadlineAt, openedAt: stageRuns.openedAt })
        .from(stageRuns)
        .where(
          and(
            inArray(stageRuns.requestId, rows.map((r) => r.id)),
            eq(stageRuns.status, "open"),
            // In 待办, the run the reader holds (a stage running alongside the current one has its own holders).
            heldBy === undefined
              ? undefined
              : exists(db.select({ one: sql`1` }).from(tasks).where(and(eq(tasks.stageRunId, stageRuns.id), eq(tasks.userId, heldBy), eq(tasks.status, "pending")))),
          ),
        )
        .orderBy(asc(stageRuns.id))
    : [];
  const currentOf = new Map(rows.map((r) => [r.id, r.currentStage]));
  const runOf = new Map<number, (typeof runs)[number]>();
  for (const run of runs) {
    // Elsewhere, the current stage's run; a held row, the first run the reader holds.
    if (heldBy !== undefined ? !runOf.has(run.requestId) : run.stage === currentOf.get(run.requestId)) runOf.set(run.requestId, run);
  }
  const held = heldBy !== undefined;
  return rows.map(({ facts, flow, profile, ...r }) => {
    const run = runOf.get(r.id);
    const stageKey = held && run ? run.stage : r.currentStage;
    const stage = stageKey ? stageDef(flow, profile, stageKey) : null;
    return {
      ...r,
      flow,
      flowName: flowDef(flow).name,
      statusName: STATUS_NAMES[r.status] ?? r.status,
      currentStageName: stage?.name ?? null,
      deadlineAt: run?.deadlineAt ?? null,
      totals: (facts as { totals?: Totals }).totals,
      summary: requestSummary({ flow, facts, title: r.title }),
      badge: flowDef(flow).badge?.(facts) ?? null,
      ...(held && run && stage ? { stageRunId: run.id, decisions: holderDecisions(stage, facts) } : {}),
    };
  });
}

/** The id of the request with this code, or null; visibility is checked by whoever reads it. */
export async function requestIdByCode(db: Db, code: string): Promise<number | null> {
  const [row] = await db.select({ id: requests.id }).from(requests).where(eq(requests.code, code));
  return row?.id ?? null;
}

/**
 * One request with its stages, who holds the current one, deadlines in working days, findings and history.
 * Read in one snapshot: read statement by statement, a decision committing in between showed a stage still open
 * whose tasks were already decided, with nobody to act on it.
 */
export async function getRequest({ ctx, input }: { ctx: ServiceContext; input: { id: number } }) {
  return ctx.db.transaction((db) => readRequest(ctx, db, input.id), SNAPSHOT);
}

async function readRequest(ctx: ServiceContext, db: Db, id: number) {
  const actor = ctx.actor!;
  const visible = await requestVisibility(db, actor);
  const [req] = await db
    .select()
    .from(requests)
    .where(and(eq(requests.id, id), visible));
  // Not visible and not there look the same, so ids reveal nothing.
  if (!req) throw notFound(`申请 ${id} 不存在或您无权查看`);
  const chain = await unitChain(db, req.unitId);
  const unit = chain[0];
  const county = chain.find((u) => u.kind === "county");
  const supervisor = await supervisorOf(db, req.unitId);
  const runs = await db.select().from(stageRuns).where(eq(stageRuns.requestId, req.id)).orderBy(asc(stageRuns.id));
  const taskRows = await db
    .select({
      id: tasks.id,
      stageRunId: tasks.stageRunId,
      party: tasks.party,
      userId: tasks.userId,
      userName: users.name,
      status: tasks.status,
      note: tasks.note,
      decidedAt: tasks.decidedAt,
    })
    .from(tasks)
    .innerJoin(users, eq(users.id, tasks.userId))
    .where(eq(tasks.requestId, req.id))
    .orderBy(asc(tasks.id));
  const [applicant] = await db.select({ id: users.id, name: users.name }).from(users).where(eq(users.id, req.applicantId));
  const now = ctx.clock.now();
  const stages = runs.map((run) => {
    const def = stageDef(req.flow, req.profile, run.stage);
    const open = run.status === "open";
    return {
      runId: run.id,
      stage: run.stage,
      name: def.name,
      mode: run.mode,
      // A period: nobody holds it, it ends by itself at deadlineAt.
      elapses: def.elapses ?? false,
      status: run.status,
      openedAt: run.openedAt,
      closedAt: run.closedAt,
      deadlineAt: run.deadlineAt,
      deadlinePending: Boolean(def.deadline) && run.deadlineAt === null,
      earliestAt: run.earliestAt,
      overdue: run.overdue,
      ...(open ? { workdays: workdaysUsedAndLeft(ctx.calendar, run.openedAt, run.deadlineAt, now) } : {}),
      // What its holders may decide on it, as cards and the 待办 list offer it (a period has no holder).
      ...(open && !def.elapses ? { decisions: holderDecisions(def, req.facts) } : {}),
      // What approving it asks to be filled in (StageDef.form), so that an API client can fill in the form too.
      ...(open && def.form ? { formSpec: stageFormSpec(def.form) } : {}),
      // The stage's form as its approver filled it in (StageDef.form: 梅州's 附件6), with the form's name.
      form: run.form ? { name: def.form?.name ?? null, values: run.form } : null,
      tasks: taskRows.filter((t) => t.stageRunId === run.id).map(({ stageRunId: _, ...t }) => t),
    };
  });
  const findingRows = await db.select().from(findings).where(eq(findings.requestId, req.id)).orderBy(asc(findings.id));
  const [rated] = await db.select().from(serviceRatings).where(eq(serviceRatings.requestId, req.id));
  const history = await db
    .select({
      seq: auditLog.seq,
      at: auditLog.at,
      actorId: auditLog.actorId,
      action: auditLog.action,
      stage: auditLog.stage,
      outcome: auditLog.outcome,
      channel: auditLog.channel,
      details: auditLog.details,
    })
    .from(auditLog)
    .where(eq(auditLog.requestId, req.id))
    .orderBy(asc(auditLog.seq));
  const current = stages.find((s) => s.status === "open" && s.stage === req.currentStage) ?? null;
  return {
    id: req.id,
    code: req.code,
    flow: req.flow,
    profile: req.profile,
    title: req.title,
    status: req.status,
    statusName: STATUS_NAMES[req.status] ?? req.status,
    overdue: req.overdue,
    unit: {
      id: unit!.id,
      name: unit!.name,
      county: county ? { id: county.id, name: county.name } : null,
      supervisor: supervisor ? { id: supervisor.id, name: supervisor.name } : null,
    },
    applicant,
    submittedAt: req.submittedAt,
    closedAt: req.closedAt,
    totals: (req.facts as { totals?: Totals }).totals,
    summary: requestSummary(req),
    form: req.form,
    currentStage: current,
    stages,
    findings: findingRows,
    rating: rated ? { score: rated.score, scoreName: RATING_NAMES[rated.score], comment: rated.comment, at: rated.createdAt } : null,
    history,
  };
}
