import { and, asc, desc, eq, inArray, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { incidentReports, incidents } from "../../db/schema";
import type { Card, CardTone } from "../../cards";
import { PROFILES } from "../../profiles";
import { shanghaiDateTime } from "../core/calendar";
import type { Actor, ServiceContext } from "../core/context";
import { conflict, forbidden, invalid, notFound } from "../core/errors";
import { mutate, refuse } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { parseInput } from "../core/validation";
import { affectedInput, instant, namesOf, recipients, resolveAffected, seesAll, text } from "./common";

// 故障与突发事件通报. The provider reports a fault or incident that affects systems or resources (000 8.2;
// 001 第十九、二十九条; 002 第三十条; 003 第三十、三十九条), and so may a manager or a unit that finds one (002 第二十五条;
// 001 第二十条: 使用单位 "及时发现问题并向运维单位反映"). The units affected, the managers, the reviewer and the
// provider are told at once; the provider's 续报 and 处置结果 (003 第三十条: "反馈故障处理进度、结果") are told to
// the same people, and the result closes the incident. The times each profile sets are in profiles/ (none does).

export const INCIDENT_KINDS = { fault: "故障", emergency: "突发事件", security: "安全事件" } as const;
export const SEVERITIES = { general: "一般", serious: "较大", major: "重大", critical: "特别重大" } as const;
export const INCIDENT_STATUS = { open: "处置中", resolved: "已处置" } as const;
export const REPORT_KINDS = { initial: "首报", progress: "续报", result: "处置结果" } as const;
type Kind = keyof typeof INCIDENT_KINDS;
type Severity = keyof typeof SEVERITIES;
type Status = keyof typeof INCIDENT_STATUS;
type ReportKind = keyof typeof REPORT_KINDS;

const keys = <T extends object>(o: T) => Object.keys(o) as [keyof T & string, ...(keyof T & string)[]];

export const reportInput = z.strictObject({
  kind: z.enum(keys(INCIDENT_KINDS), "类别应为 fault（故障）、emergency（突发事件）或 security（安全事件）"),
  severity: z.enum(keys(SEVERITIES), "级别应为 general（一般）、serious（较大）、major（重大）或 critical（特别重大）"),
  title: text(200, "事件名称"),
  startedAt: instant("发生时间"),
  description: text(4000, "情况说明"),
  ...affectedInput,
  responsibleParty: text(200, "初判故障处理责任单位").optional(),
});
const followUpInput = z.strictObject({ id: z.int().positive(), text: text(4000, "报告内容") });

/** Who may open an incident: the provider, a manager, or a unit (its applicants) for its own systems. */
const REPORTERS = ["provider", "manager", "applicant"] as const;

type Row = typeof incidents.$inferSelect;
type ReportRow = typeof incidentReports.$inferSelect;

function rules(ctx: ServiceContext) {
  return PROFILES[ctx.profile].notices.incident;
}

function mayView(actor: Actor, row: Row): boolean {
  return seesAll(actor) || row.reporterUnitId === actor.unitId || row.affectedUnits.includes(actor.unitId);
}

async function view(db: Db, ctx: ServiceContext, row: Row, reports?: ReportRow[]) {
  const r = rules(ctx);
  const all = reports ?? (await db.select().from(incidentReports).where(eq(incidentReports.incidentId, row.id)).orderBy(asc(incidentReports.id)));
  const { unitNames, resourceNames } = await namesOf(db, row.affectedUnits, row.affectedResources);
  const reportDueBy = r.reportWithinMinutes === null ? null : new Date(row.startedAt.getTime() + r.reportWithinMinutes * 60_000);
  const resultDueBy = r.resultWithinDays === null ? null : new Date(row.reportedAt.getTime() + r.resultWithinDays * 86_400_000);
  return {
    id: row.id,
    kind: row.kind,
    kindText: INCIDENT_KINDS[row.kind as Kind],
    severity: row.severity,
    severityText: SEVERITIES[row.severity as Severity],
    title: row.title,
    startedAt: row.startedAt.toISOString(),
    affectedUnits: row.affectedUnits.map((id, i) => ({ id, name: unitNames[i]! })),
    affectedResources: row.affectedResources.map((id, i) => ({ id, name: resourceNames[i]! })),
    responsibleParty: row.responsibleParty,
    status: row.status as Status,
    statusText: INCIDENT_STATUS[row.status as Status],
    reportedBy: row.reportedBy,
    reporterUnitId: row.reporterUnitId,
    reportedAt: row.reportedAt.toISOString(),
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    articles: [...r.articles],
    // Null where the profile's document sets no time (none of the five does: "及时").
    reportDueBy: reportDueBy?.toISOString() ?? null,
    reportedLate: reportDueBy !== null && row.reportedAt > reportDueBy,
    resultDueBy: resultDueBy?.toISOString() ?? null,
    reports: all.map((x) => ({
      id: x.id,
      kind: x.kind as ReportKind,
      kindText: REPORT_KINDS[x.kind as ReportKind],
      text: x.text,
      reportedBy: x.reportedBy,
      reportedAt: x.reportedAt.toISOString(),
    })),
  };
}
export type IncidentView = Awaited<ReturnType<typeof view>>;

const TONES: Record<Severity, CardTone> = { general: "info", serious: "warning", major: "danger", critical: "danger" };

function card(ctx: ServiceContext, row: Row, names: { unitNames: string[]; resourceNames: string[] }, report: ReportRow): Card {
  const kindText = INCIDENT_KINDS[row.kind as Kind];
  const title = report.kind === "initial" ? `${kindText}通报：${row.title}` : `${kindText}${REPORT_KINDS[report.kind as ReportKind]}：${row.title}`;
  const articles = rules(ctx).articles;
  return {
    title,
    tone: report.kind === "result" ? "success" : TONES[row.severity as Severity],
    summary: report.text,
    fields: [
      { label: "类别", value: kindText },
      { label: "级别", value: SEVERITIES[row.severity as Severity] },
      { label: "发生时间", value: shanghaiDateTime(row.startedAt) },
      ...(names.unitNames.length ? [{ label: "受影响单位", value: names.unitNames.join("、") }] : []),
      ...(names.resourceNames.length ? [{ label: "受影响资源", value: names.resourceNames.join("、") }] : []),
      ...(row.responsibleParty ? [{ label: "初判责任单位", value: row.responsibleParty }] : []),
      { label: "状态", value: INCIDENT_STATUS[row.status as Status] },
      ...(articles.length ? [{ label: "依据", value: articles.join("；") }] : []),
    ],
    actions: [],
    link: `/api/incidents/${row.id}`,
  };
}

/** 000 8.2; 001 第十九、二十九条; 002 第二十五、三十条; 003 第三十、三十九条: a fault or incident is reported and everyone concerned told at once. */
export async function reportIncident({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!actor?.roles.some((r) => (REPORTERS as readonly string[]).includes(r))) throw await refuse(ctx, "incident.report", "故障与突发事件由云服务商、统筹管理单位或使用单位报告");
  const d = parseInput(reportInput, input, "故障通报有误");
  const r = rules(ctx);
  const now = ctx.clock.now();
  if (d.startedAt > now) throw invalid("发生时间不能晚于现在", { startedAt: [`发生时间不能晚于现在（${shanghaiDateTime(now)}）`] });
  // 003 第三十条: the provider "初判故障处理责任单位" in its report.
  if (r.responsiblePartyRequired && !d.responsibleParty)
    throw invalid("须初判故障处理责任单位", { responsibleParty: [`${r.articles[0]}：报告时须初判故障处理责任单位`] });
  // A unit reports on its own systems: nothing named is its own unit.
  const unitIds = !seesAll(actor) && d.affectedUnits.length === 0 && d.affectedResources.length === 0 ? [actor.unitId] : d.affectedUnits;
  if (unitIds.length === 0 && d.affectedResources.length === 0)
    throw invalid("请列出受影响的单位或资源", { affectedUnits: ["请列出受影响的单位（affectedUnits）或台账中的资源（affectedResources）"] });
  return mutate(ctx, { action: "incident.report" }, async (tx, j) => {
    const affected = await resolveAffected(tx, actor, unitIds, d.affectedResources);
    const [row] = await tx
      .insert(incidents)
      .values({
        kind: d.kind,
        severity: d.severity,
        title: d.title,
        startedAt: d.startedAt,
        affectedUnits: affected.unitIds,
        affectedResources: affected.resourceIds,
        responsibleParty: d.responsibleParty ?? null,
        status: "open",
        reportedBy: actor.userId,
        reporterUnitId: actor.unitId,
        reportedAt: now,
        updatedAt: now,
      })
      .returning();
    const [report] = await tx
      .insert(incidentReports)
      .values({ incidentId: row!.id, kind: "initial", text: d.description, reportedBy: actor.userId, reportedAt: now })
      .returning();
    j.add({
      action: "incident.report",
      details: { id: row!.id, kind: d.kind, severity: d.severity, units: affected.unitIds, resources: affected.resourceIds, articles: [...r.articles] },
    });
    const told = await recipients(tx, affected.unitIds, actor.userId);
    await enqueueCards(tx, now, told, "incident", card(ctx, row!, affected, report!), `incident:${row!.id}:report:${report!.id}`);
    return view(tx, ctx, row!, [report!]);
  });
}

/** The provider's 续报 (progress) or 处置结果 (result, which closes the incident), told to the same people (003 第三十条). */
async function followUp(ctx: ServiceContext, input: unknown, kind: "progress" | "result") {
  const actor = ctx.actor;
  const action = kind === "result" ? "incident.resolve" : "incident.progress";
  if (!actor?.roles.includes("provider")) throw await refuse(ctx, action, "续报与处置结果由云服务商报告");
  const d = parseInput(followUpInput, input, kind === "result" ? "处置结果有误" : "续报内容有误");
  return mutate(ctx, { action }, async (tx, j) => {
    const [row] = await tx.select().from(incidents).where(eq(incidents.id, d.id)).for("update");
    if (!row) throw notFound(`没有编号为 ${d.id} 的故障通报`);
    if (row.status !== "open") throw conflict("invalid_stage", `该事件已处置完毕，不能再${kind === "result" ? "报告处置结果" : "续报"}（当前状态：${INCIDENT_STATUS[row.status as Status]}）`);
    const now = ctx.clock.now();
    const [report] = await tx.insert(incidentReports).values({ incidentId: row.id, kind, text: d.text, reportedBy: actor.userId, reportedAt: now }).returning();
    const [next] = await tx
      .update(incidents)
      .set(kind === "result" ? { status: "resolved", resolvedAt: now, updatedAt: now } : { updatedAt: now })
      .where(eq(incidents.id, row.id))
      .returning();
    j.add({ action, details: { id: row.id, report: report!.id } });
    const names = await namesOf(tx, next!.affectedUnits, next!.affectedResources);
    const told = await recipients(tx, next!.affectedUnits, actor.userId);
    await enqueueCards(tx, now, told, "incident", card(ctx, next!, names, report!), `incident:${row.id}:report:${report!.id}`);
    return view(tx, ctx, next!);
  });
}

export const reportProgress = ({ ctx, input }: { ctx: ServiceContext; input: unknown }) => followUp(ctx, input, "progress");
export const reportResult = ({ ctx, input }: { ctx: ServiceContext; input: unknown }) => followUp(ctx, input, "result");

function assertSignedIn(actor: Actor | null): asserts actor is Actor {
  if (!actor) throw forbidden("请先登录");
}

/** The incidents the actor may see, newest first: all for the city's roles, those of their unit for anyone else. */
export async function listIncidents({ ctx, input = {} }: { ctx: ServiceContext; input?: { status?: Status } }) {
  const actor = ctx.actor;
  assertSignedIn(actor);
  const where = [
    ...(seesAll(actor) ? [] : [or(sql`${incidents.affectedUnits} @> ${JSON.stringify([actor.unitId])}::jsonb`, eq(incidents.reporterUnitId, actor.unitId))!]),
    ...(input.status ? [eq(incidents.status, input.status)] : []),
  ];
  const rows = await ctx.db
    .select()
    .from(incidents)
    .where(and(...where))
    .orderBy(desc(incidents.reportedAt), desc(incidents.id));
  const reports = rows.length
    ? await ctx.db.select().from(incidentReports).where(inArray(incidentReports.incidentId, rows.map((r) => r.id))).orderBy(asc(incidentReports.id))
    : [];
  return Promise.all(rows.map((r) => view(ctx.db, ctx, r, reports.filter((x) => x.incidentId === r.id))));
}

export async function getIncident({ ctx, input }: { ctx: ServiceContext; input: { id: number } }) {
  const actor = ctx.actor;
  assertSignedIn(actor);
  const [row] = await ctx.db.select().from(incidents).where(eq(incidents.id, input.id));
  if (!row || !mayView(actor, row)) throw notFound(`没有编号为 ${input.id} 的故障通报`);
  return view(ctx.db, ctx, row);
}
