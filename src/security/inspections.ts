import { and, asc, desc, eq, gte, lte } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { securityInspections } from "../../db/schema";
import { holdFile } from "../files";
import type { Card } from "../../cards";
import { monthDays, shanghaiDate } from "../core/calendar";
import { isIsoDate } from "../core/calendar-schedule";
import type { Actor, ServiceContext } from "../core/context";
import { conflict, forbidden, invalid, notFound } from "../core/errors";
import { mutate, refuse } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { parseInput } from "../core/validation";
import { usersWithRole } from "../directory/queries";

// 004 第三十九条: 云资源评估实施单位需接受云资源统筹管理单位的安全督查和检查. The manager records each
// inspection of the provider with its findings; a 限期整改 stays open until the provider reports 整改完成 and the
// manager confirms it (or returns it as 整改不到位).

export const INSPECTION_KINDS = { supervision: "安全督查", check: "安全检查" } as const;
export const INSPECTION_SCOPES = ["安全策略", "安全响应机制", "应急预案", "日常维护"] as const;
export const INSPECTION_RESULTS = { passed: "合格", rectify: "限期整改" } as const;
export const INSPECTION_STATUS = { passed: "合格", rectifying: "整改中", reported: "整改完成待确认", closed: "已确认整改" } as const;
export type InspectionStatus = keyof typeof INSPECTION_STATUS;

const text = (max: number, what: string) => z.string().trim().min(1, `请填写${what}`).max(max, `${what}不超过 ${max} 字`);
const fileId = z.string().trim().min(1).max(100).optional();

export const recordInput = z
  .strictObject({
    inspectedOn: z.string().refine(isIsoDate, "检查日期无效，应为存在的 YYYY-MM-DD"),
    kind: z.enum(Object.keys(INSPECTION_KINDS) as ["supervision", "check"], "检查类别应为 supervision（安全督查）或 check（安全检查）"),
    scope: z.array(z.enum(INSPECTION_SCOPES, `检查内容应为：${INSPECTION_SCOPES.join("、")}`)).min(1, "请选择检查内容").max(INSPECTION_SCOPES.length),
    inspectors: text(200, "检查人员"),
    result: z.enum(Object.keys(INSPECTION_RESULTS) as ["passed", "rectify"], "检查结论应为 passed（合格）或 rectify（限期整改）"),
    findings: z.array(z.strictObject({ text: text(1000, "问题描述") })).max(50, "问题清单不超过 50 项").default([]),
    deadlineWorkdays: z.int("整改期限（工作日）应为整数").min(1, "整改期限至少 1 个工作日").max(250, "整改期限不超过 250 个工作日").optional(),
    deadline: z.string().refine(isIsoDate, "整改期限无效，应为存在的 YYYY-MM-DD").optional(),
    documentFileId: fileId,
  })
  .superRefine((v, ctx) => {
    if (v.result !== "rectify") return;
    if (v.findings.length === 0) ctx.addIssue({ code: "custom", path: ["findings"], message: "限期整改须列明问题清单（至少一项）" });
    if ((v.deadlineWorkdays === undefined) === (v.deadline === undefined))
      ctx.addIssue({ code: "custom", path: ["deadline"], message: "限期整改须给出整改期限：工作日数或截止日期，二选一" });
  });

const reportInput = z.strictObject({ id: z.int().positive(), note: text(2000, "整改情况说明"), fileId });
const confirmInput = z.strictObject({ id: z.int().positive() });
const returnInput = z.strictObject({ id: z.int().positive(), reason: text(1000, "退回原因") });

type Row = typeof securityInspections.$inferSelect;

function isManager(actor: Actor | null): actor is Actor {
  return !!actor?.roles.includes("manager");
}

/** Managers and reviewers (监理) see every inspection; the provider's users see those of the provider (all of them). */
export function mayViewInspections(actor: Actor | null): actor is Actor {
  return !!actor?.roles.some((r) => r === "manager" || r === "reviewer" || r === "provider");
}

function assertViewer(actor: Actor | null): asserts actor is Actor {
  if (!mayViewInspections(actor)) throw forbidden("安全督查与检查记录仅统筹管理单位、复核单位与评估实施单位可查看");
}

/** Who may record an inspection and confirm or return its rectification (the page shows them the forms). */
export const mayRecordInspections = (actor: Actor | null): boolean => isManager(actor);
/** Who may report 整改完成. */
export function mayReportRectification(actor: Actor | null): actor is Actor {
  return !!actor?.roles.includes("provider");
}

/** A file the inspection names: uploaded by the actor's unit, named by no request, kept from now on by the inspection. */
async function keepFile(tx: Db, actor: Actor, id: string | undefined, inspectionId: number, field: string): Promise<void> {
  if (id !== undefined) await holdFile(tx, actor, id, { holder: `inspection:${inspectionId}`, field });
}

function view(row: Row, today: string) {
  const open = row.status === "rectifying" || row.status === "reported";
  return {
    id: row.id,
    inspectedOn: row.inspectedOn,
    kind: row.kind,
    kindText: INSPECTION_KINDS[row.kind as keyof typeof INSPECTION_KINDS],
    scope: row.scope,
    inspectors: row.inspectors,
    result: row.result,
    resultText: INSPECTION_RESULTS[row.result as keyof typeof INSPECTION_RESULTS],
    findings: row.findings,
    deadline: row.deadline,
    documentFileId: row.documentFileId,
    status: row.status as InspectionStatus,
    statusText: INSPECTION_STATUS[row.status as InspectionStatus],
    overdue: row.status === "rectifying" && row.deadline !== null && today > row.deadline,
    open,
    rectificationNote: row.rectificationNote,
    rectificationFileId: row.rectificationFileId,
    returnReason: row.returnReason,
    reportedAt: row.reportedAt?.toISOString() ?? null,
    recordedBy: row.recordedBy,
    recordedAt: row.recordedAt.toISOString(),
  };
}
export type InspectionView = ReturnType<typeof view>;

function card(row: Row, title: string, summary: string, tone: Card["tone"]): Card {
  return {
    title,
    tone,
    summary,
    fields: [
      { label: "检查日期", value: row.inspectedOn },
      { label: "类别", value: INSPECTION_KINDS[row.kind as keyof typeof INSPECTION_KINDS] },
      { label: "结论", value: INSPECTION_RESULTS[row.result as keyof typeof INSPECTION_RESULTS] },
      ...(row.deadline ? [{ label: "整改期限", value: row.deadline }] : []),
      ...row.findings.map((f, i) => ({ label: `问题 ${i + 1}`, value: f.text })),
    ],
    actions: [],
    link: `/api/inspections/${row.id}`,
    open: { label: "查看安全督查与检查", path: "/inspections" },
  };
}

/** 004 第三十九条: the manager records a 安全督查 / 安全检查 of the provider; the provider's users are told at once. */
export async function recordInspection({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!isManager(actor)) throw await refuse(ctx, "inspection.record", "安全督查与检查由统筹管理单位记录");
  const d = parseInput(recordInput, input, "检查记录有误");
  const today = shanghaiDate(ctx.clock.now());
  if (d.inspectedOn > today) throw invalid("检查日期不能晚于今天", { inspectedOn: [`检查日期不能晚于今天（${today}）`] });
  let deadline: string | null = null;
  if (d.result === "rectify") {
    // The working days count from the day the finding is recorded; a date past the loaded calendar is refused by it.
    deadline = d.deadlineWorkdays !== undefined ? ctx.calendar.addWorkdays(today, d.deadlineWorkdays) : d.deadline!;
    if (deadline <= today) throw invalid("整改期限应晚于今天", { deadline: [`整改期限应晚于今天（${today}）`] });
    if (d.deadline !== undefined) ctx.calendar.isWorkday(d.deadline);
  }
  return mutate(ctx, { action: "inspection.record" }, async (tx, j) => {
    const now = ctx.clock.now();
    const [inserted] = await tx
      .insert(securityInspections)
      .values({
        inspectedOn: d.inspectedOn,
        kind: d.kind,
        scope: d.scope,
        inspectors: d.inspectors,
        result: d.result,
        findings: d.findings,
        deadline,
        // Named once the file is checked and kept below: a file that is not the unit's is refused, not a broken reference.
        documentFileId: null,
        status: d.result === "rectify" ? "rectifying" : "passed",
        recordedBy: actor.userId,
        recordedAt: now,
        updatedAt: now,
      })
      .returning();
    await keepFile(tx, actor, d.documentFileId, inserted!.id, "documentFileId");
    const [row] = d.documentFileId
      ? await tx.update(securityInspections).set({ documentFileId: d.documentFileId }).where(eq(securityInspections.id, inserted!.id)).returning()
      : [inserted];
    j.add({ action: "inspection.record", details: { id: row!.id, inspectedOn: d.inspectedOn, kind: d.kind, result: d.result, findings: d.findings.length, deadline } });
    const providers = await usersWithRole(tx, "provider");
    const summary = d.result === "rectify" ? `限期整改，请于 ${deadline} 前整改完成并报告` : "检查结论：合格";
    await enqueueCards(tx, now, providers.map((u) => u.id), "inspection", card(row!, `${INSPECTION_KINDS[d.kind]}结果`, summary, d.result === "rectify" ? "warning" : "info"), `inspection:${row!.id}:recorded`);
    return view(row!, today);
  });
}

/** Locks the inspection and checks it is in `from`; the rest of the state machine is the callers'. */
async function lockIn(tx: Db, id: number, from: InspectionStatus, message: string): Promise<Row> {
  const [row] = await tx.select().from(securityInspections).where(eq(securityInspections.id, id)).for("update");
  if (!row) throw notFound(`没有编号为 ${id} 的检查记录`);
  if (row.status !== from) throw conflict("invalid_stage", `${message}（当前状态：${INSPECTION_STATUS[row.status as InspectionStatus]}）`);
  return row;
}

/** The provider reports 整改完成 on a 限期整改 inspection: rectifying → reported; the managers are told. */
export async function reportRectification({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!mayReportRectification(actor)) throw await refuse(ctx, "inspection.report", "整改完成由评估实施单位报告");
  const d = parseInput(reportInput, input, "整改情况有误");
  return mutate(ctx, { action: "inspection.report" }, async (tx, j) => {
    const row = await lockIn(tx, d.id, "rectifying", "只有整改中的检查可以报告整改完成");
    await keepFile(tx, actor, d.fileId, row.id, "fileId");
    const now = ctx.clock.now();
    const [next] = await tx
      .update(securityInspections)
      .set({ status: "reported", rectificationNote: d.note, rectificationFileId: d.fileId ?? null, reportedAt: now, updatedAt: now })
      .where(eq(securityInspections.id, row.id))
      .returning();
    j.add({ action: "inspection.report", details: { id: row.id, fileId: d.fileId ?? null } });
    const managers = await usersWithRole(tx, "manager");
    await enqueueCards(tx, now, managers.map((u) => u.id), "inspection", card(next!, "整改完成，待确认", d.note, "info"), `inspection:${row.id}:reported:${now.getTime()}`);
    return view(next!, shanghaiDate(now));
  });
}

/** The manager 确认整改 (reported → closed) or returns it as 整改不到位 (reported → rectifying, same deadline). */
/** Called once the caller is known to be a manager. */
async function decide(ctx: ServiceContext, id: number, confirm: boolean, reason: string | null) {
  const action = confirm ? "inspection.confirm" : "inspection.return";
  return mutate(ctx, { action }, async (tx, j) => {
    const row = await lockIn(tx, id, "reported", confirm ? "只有已报告整改完成的检查可以确认" : "只有已报告整改完成的检查可以退回");
    const now = ctx.clock.now();
    const [next] = await tx
      .update(securityInspections)
      .set(confirm ? { status: "closed", returnReason: null, updatedAt: now } : { status: "rectifying", returnReason: reason, updatedAt: now })
      .where(eq(securityInspections.id, row.id))
      .returning();
    j.add({ action, details: { id: row.id, ...(reason ? { reason } : {}) } });
    const providers = await usersWithRole(tx, "provider");
    const c = confirm ? card(next!, "整改已确认", "统筹管理单位已确认整改", "success") : card(next!, "整改不到位，已退回", reason!, "danger");
    await enqueueCards(tx, now, providers.map((u) => u.id), "inspection", c, `inspection:${row.id}:${confirm ? "confirmed" : "returned"}:${now.getTime()}`);
    return view(next!, shanghaiDate(now));
  });
}

export async function confirmRectification({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  if (!isManager(ctx.actor)) throw await refuse(ctx, "inspection.confirm", "整改由统筹管理单位确认或退回");
  const d = parseInput(confirmInput, input, "参数有误");
  return decide(ctx, d.id, true, null);
}

export async function returnRectification({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  if (!isManager(ctx.actor)) throw await refuse(ctx, "inspection.return", "整改由统筹管理单位确认或退回");
  const d = parseInput(returnInput, input, "退回原因有误");
  return decide(ctx, d.id, false, d.reason);
}

/** Every inspection, newest first, for who may see them. */
export async function listInspections({ ctx }: { ctx: ServiceContext }) {
  assertViewer(ctx.actor);
  const rows = await ctx.db.select().from(securityInspections).orderBy(desc(securityInspections.inspectedOn), desc(securityInspections.id));
  const today = shanghaiDate(ctx.clock.now());
  return rows.map((r) => view(r, today));
}

export async function getInspection({ ctx, input }: { ctx: ServiceContext; input: { id: number } }) {
  assertViewer(ctx.actor);
  const [row] = await ctx.db.select().from(securityInspections).where(eq(securityInspections.id, input.id));
  if (!row) throw notFound(`没有编号为 ${input.id} 的检查记录`);
  return view(row, shanghaiDate(ctx.clock.now()));
}

/**
 * 004 第三十九条, for the monthly report: the inspections carried out in `month` (by 检查日期), each as it stands
 * now, and their counts. A rectification is 按期 when the 整改完成 report the manager confirmed was made by the
 * end of the deadline day (the provider's part; the confirmation's own date is the manager's); 已超期 is an
 * open one past its deadline and not yet reported (the view's `overdue`). Null for anyone who may not see
 * inspections; the CLI operator (no actor) and the monthly job see them.
 */
export async function inspectionsOfMonth(ctx: ServiceContext, month: string) {
  if (ctx.actor && !mayViewInspections(ctx.actor)) return null;
  const { first, last } = monthDays(month);
  const rows = await ctx.db
    .select()
    .from(securityInspections)
    .where(and(gte(securityInspections.inspectedOn, first), lte(securityInspections.inspectedOn, last)))
    .orderBy(asc(securityInspections.inspectedOn), asc(securityInspections.id));
  const today = shanghaiDate(ctx.clock.now());
  const items = rows.map((r) => {
    const v = view(r, today);
    const onTime = r.status === "closed" && r.reportedAt !== null && r.deadline !== null ? shanghaiDate(r.reportedAt) <= r.deadline : null;
    return {
      id: v.id,
      inspectedOn: v.inspectedOn,
      kind: v.kind,
      kindText: v.kindText,
      result: v.result,
      resultText: v.resultText,
      findings: v.findings.length,
      deadline: v.deadline,
      status: v.status,
      statusText: v.statusText,
      overdue: v.overdue,
      reportedAt: v.reportedAt,
      /** Closed: whether the confirmed 整改完成 came by the deadline; null while open or without a rectification. */
      rectifiedOnTime: onTime,
    };
  });
  const n = (p: (i: (typeof items)[number]) => boolean) => items.filter(p).length;
  return {
    recorded: items.length,
    supervision: n((i) => i.kind === "supervision"),
    check: n((i) => i.kind === "check"),
    passed: n((i) => i.result === "passed"),
    rectify: n((i) => i.result === "rectify"),
    findings: items.reduce((t, i) => t + i.findings, 0),
    open: n((i) => i.status === "rectifying" || i.status === "reported"),
    /** The findings (问题) of the inspections still open. */
    findingsOpen: items.filter((i) => i.status === "rectifying" || i.status === "reported").reduce((t, i) => t + i.findings, 0),
    awaitingConfirmation: n((i) => i.status === "reported"),
    rectifiedOnTime: n((i) => i.rectifiedOnTime === true),
    rectifiedLate: n((i) => i.rectifiedOnTime === false),
    overdue: n((i) => i.overdue),
    items,
  };
}
export type InspectionMonth = NonNullable<Awaited<ReturnType<typeof inspectionsOfMonth>>>;
