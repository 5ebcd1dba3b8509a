import { and, asc, eq, gte, inArray, isNotNull, lte, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { findings, requests, resources, serviceRatings, stageRuns, tasks, units, users } from "../../db/schema";
import type { Card } from "../../cards";
import { endOfShanghaiDay, monthDays, monthJustEnded, shanghaiDate, shanghaiDateTime, shanghaiInstant } from "../core/calendar";
import { usersWithRole } from "../directory/queries";
import { mutate } from "../core/mutate";
import { onceFor, wasDone } from "../core/once";
import { enqueueCards } from "../core/notify";
import type { ServiceContext } from "../core/context";
import { stageDef, type ServiceRating } from "../engine";
import { CsvDecimal, csvDocument } from "../core/csv";
import { utilisationOfDays, utilisationReadFrom, withDailyFigures } from "../metrics/views";
import { PROFILES } from "../../profiles";
import { EMERGENCY_CATEGORIES, type EmergencyCategory } from "../../flows/application/form";
import type { ApplicationFacts } from "../../flows/application/definition";
import { seesEveryUnit } from "../core/roles";
import { monthSchema } from "../core/validation";
import { statementOfRecord } from "../billing/draft";
import { fundersOf, fundingSplit } from "../billing/funding";
import { inspectionsOfMonth } from "../security/inspections";

export const monthlyReportQuery = z.object({
  month: monthSchema,
  unit: z.string().max(64).optional(),
  format: z.enum(["json", "csv"]).default("json"),
  /** Which table the CSV holds: the per-unit table, the late stages, the low-load VMs, the provider's performance, who pays the month's costs, or the flagged applications. */
  table: z.enum(["units", "late", "lowload", "provider", "funding", "flagged", "inspections"]).default("units"),
});

function monthBounds(month: string) {
  const { first, last } = monthDays(month);
  return { first, last, start: shanghaiInstant(first), end: endOfShanghaiDay(last) };
}

/** The units a person's report covers: the city's roles (and the CLI) every unit, a county bureau its county, others their unit. */
async function unitsInScope(ctx: ServiceContext, only?: string): Promise<{ id: string; name: string }[]> {
  const actor = ctx.actor;
  const all = await ctx.db.select({ id: units.id, name: units.name, parentId: units.parentId, kind: units.kind }).from(units).orderBy(asc(units.id));
  let scope = all.filter((u) => u.kind === "unit");
  if (actor && !seesEveryUnit(actor))
    scope = actor.roles.includes("county_bureau") ? scope.filter((u) => u.parentId === actor.unitId) : scope.filter((u) => u.id === actor.unitId);
  return (only ? scope.filter((u) => u.id === only) : scope).map(({ id, name }) => ({ id, name }));
}

/**
 * 月度报告 (Oversight; 002 第三十条): per unit and for the whole scope — resources held at the month's end,
 * utilisation and low-load VMs, requests opened and closed, and the stages that ran late, with who held them.
 */
export async function monthlyReport({ ctx, input }: { ctx: ServiceContext; input: { month: string; unit?: string } }) {
  const { first, last, start, end } = monthBounds(input.month);
  const scope = await unitsInScope(ctx, input.unit);
  const ids = scope.map((u) => u.id);
  if (ids.length === 0)
    return { month: input.month, units: [], total: null, lateStages: [], lowLoadVms: [], provider: null, funding: null, emergencies: [], dedicatedPools: [], inspections: await inspectionsOfMonth(ctx, input.month) };

  const held = await ctx.db
    .select()
    .from(resources)
    .where(and(inArray(resources.unitId, ids), lte(resources.deliveredAt, end), or(eq(resources.status, "delivered"), gte(resources.revokedAt, end)) as SQL));
  const opened = await ctx.db
    .select({ unitId: requests.unitId, flow: requests.flow })
    .from(requests)
    .where(and(inArray(requests.unitId, ids), gte(requests.submittedAt, start), lte(requests.submittedAt, end)));
  const closed = await ctx.db
    .select({ unitId: requests.unitId })
    .from(requests)
    .where(and(inArray(requests.unitId, ids), isNotNull(requests.closedAt), gte(requests.closedAt, start), lte(requests.closedAt, end)));
  // A stage ran late when its deadline fell in the month and it closed after it, or was still open at the month's end.
  const lateRuns = await ctx.db
    .select({ run: stageRuns, code: requests.code, unitId: requests.unitId, flow: requests.flow, profile: requests.profile })
    .from(stageRuns)
    .innerJoin(requests, eq(requests.id, stageRuns.requestId))
    .where(and(inArray(requests.unitId, ids), gte(stageRuns.deadlineAt, start), lte(stageRuns.deadlineAt, end)));
  const late = lateRuns.filter(({ run }) => (run.closedAt ? run.closedAt > run.deadlineAt! : ctx.clock.now() > run.deadlineAt!));
  const holders = late.length
    ? await ctx.db
        .select({ runId: tasks.stageRunId, name: users.name, status: tasks.status })
        .from(tasks)
        .innerJoin(users, eq(users.id, tasks.userId))
        .where(inArray(tasks.stageRunId, late.map((l) => l.run.id)))
    : [];
  const lateStages = late.map(({ run, code, unitId, flow, profile }) => ({
    code,
    unitId,
    stage: stageDef(flow, profile, run.stage).name,
    deadlineAt: run.deadlineAt,
    closedAt: run.closedAt,
    // Whoever decided it, or, still open, whoever holds it.
    heldBy: holders.filter((h) => h.runId === run.id && h.status !== "cancelled" && h.status !== "superseded").map((h) => h.name),
  }));

  const lowLoadVms: { unitId: string; resource: string; instanceId: string; lowLoadDays: number }[] = [];
  const utilisation = new Map<string, { cpuAvgSum: number; days: number; cpuPeak: number }>();
  const vms = held.filter((r) => r.kind === "vm" && r.instanceId);
  for await (const [vm, figures] of withDailyFigures(ctx.db, vms, (v) => v.instanceId!, utilisationReadFrom(first), last)) {
    const u = utilisationOfDays(figures, first, PROFILES[ctx.profile].thresholds.lowLoad);
    const month = u.months.find((m) => m.month === input.month);
    if (month?.lowLoad) lowLoadVms.push({ unitId: vm.unitId, resource: vm.name, instanceId: vm.instanceId!, lowLoadDays: month.lowLoadDays });
    const acc = utilisation.get(vm.unitId) ?? { cpuAvgSum: 0, days: 0, cpuPeak: 0 };
    for (const d of u.days) {
      if (d.cpuAvg !== null) {
        acc.cpuAvgSum += d.cpuAvg;
        acc.days++;
      }
      acc.cpuPeak = Math.max(acc.cpuPeak, d.cpuPeak);
    }
    utilisation.set(vm.unitId, acc);
  }

  const rows = scope.map((unit) => {
    const mine = held.filter((r) => r.unitId === unit.id);
    const size = (k: "vcpu" | "memoryGb" | "diskGb") => mine.reduce((t, r) => t + (Number((r.spec as Record<string, unknown>)[k]) || 0), 0);
    const use = utilisation.get(unit.id);
    return {
      unitId: unit.id,
      unitName: unit.name,
      resources: mine.length,
      vms: mine.filter((r) => r.kind === "vm").length,
      vcpu: size("vcpu"),
      memoryGb: size("memoryGb"),
      diskGb: size("diskGb"),
      cpuAvg: use && use.days > 0 ? Math.round((use.cpuAvgSum / use.days) * 10) / 10 : null,
      cpuPeak: use ? use.cpuPeak : null,
      lowLoadVms: lowLoadVms.filter((v) => v.unitId === unit.id).length,
      requestsOpened: opened.filter((o) => o.unitId === unit.id).length,
      requestsClosed: closed.filter((o) => o.unitId === unit.id).length,
      lateStages: lateStages.filter((l) => l.unitId === unit.id).length,
    };
  });
  // The per-unit counts that add up (not the utilisation percentages), in the order the total lists them.
  const summed = ["resources", "vms", "vcpu", "memoryGb", "diskGb", "lowLoadVms", "requestsOpened", "requestsClosed", "lateStages"] as const;
  const total = Object.fromEntries(summed.map((k) => [k, rows.reduce((t, r) => t + r[k], 0)])) as Record<(typeof summed)[number], number>;
  return {
    month: input.month,
    units: rows,
    total,
    lateStages,
    lowLoadVms,
    provider: await providerPerformance(ctx, ids, start, end),
    funding: await monthFunding(ctx, input.month, input.unit),
    ...(await flaggedApplications(ctx, scope, start, end)),
    // 004 第三十九条: the manager's 安全督查和检查 of the provider in the month (the provider's, whatever unit is asked for).
    inspections: await inspectionsOfMonth(ctx, input.month),
  };
}

/**
 * 004 第四十二条: the month's statement of record (the signed one when there is one) by who pays it, for the
 * roles that read statements; for one unit, that unit's part. The split adds up to its total to the cent.
 */
async function monthFunding(ctx: ServiceContext, month: string, only?: string) {
  if (ctx.actor && !seesEveryUnit(ctx.actor)) return null;
  const { statement, signatures, source } = await statementOfRecord(ctx, month);
  const amounts = only ? statement.units.filter((u) => u.unitId === only) : statement.units;
  const total = only ? amounts.reduce((t, u) => t + Math.round(u.amount * 100), 0) / 100 : statement.total;
  return { source, signed: signatures?.status === "completed", total, split: fundingSplit(amounts, await fundersOf(ctx.db)) };
}

/** Where an emergency application's after-the-fact approval stands (004 第四十八条). */
export const POST_APPROVAL_NAMES = {
  done: "已补办审批",
  pending: "待补办审批",
  rejected: "事后审批未同意，资源撤销中",
  none: "紧急情况未确认，未开通",
} as const;
/** Where a dedicated pool's 必要性和可行性审核 stands (004 第十四条(二)2). */
export const POOL_REVIEW_NAMES = { approved: "审核通过", rejected: "未通过", pending: "待审核" } as const;

/**
 * The month's flagged applications, submitted in it by the units in scope: those on the 紧急特殊情况 fast
 * track (004 第四十八条), with whether their 事后审批 is done, and those asking for a 专属资源池 (004
 * 第十四条(二)2), with their review's outcome.
 */
async function flaggedApplications(ctx: ServiceContext, scope: { id: string; name: string }[], start: Date, end: Date) {
  const rows = await ctx.db
    .select({ id: requests.id, code: requests.code, unitId: requests.unitId, title: requests.title, status: requests.status, submittedAt: requests.submittedAt, facts: requests.facts })
    .from(requests)
    .where(
      and(
        eq(requests.flow, "application"),
        inArray(requests.unitId, scope.map((u) => u.id)),
        gte(requests.submittedAt, start),
        lte(requests.submittedAt, end),
        or(sql`${requests.facts} ? 'emergency'`, sql`${requests.facts} ? 'dedicatedPool'`),
      ),
    )
    .orderBy(asc(requests.submittedAt), asc(requests.id));
  const runs = rows.length
    ? await ctx.db
        .select({ requestId: stageRuns.requestId, stage: stageRuns.stage, status: stageRuns.status })
        .from(stageRuns)
        .where(inArray(stageRuns.requestId, rows.map((r) => r.id)))
        .orderBy(asc(stageRuns.id))
    : [];
  const unitName = new Map(scope.map((u) => [u.id, u.name]));
  const outcome = (id: number, stages: string[]) => runs.filter((r) => r.requestId === id && stages.includes(r.stage)).map((r) => r.status);
  const base = (r: (typeof rows)[number]) => ({ code: r.code, unitId: r.unitId, unitName: unitName.get(r.unitId) ?? r.unitId, system: r.title, submittedAt: r.submittedAt });
  const emergencies = rows.flatMap((r) => {
    const category = (r.facts as ApplicationFacts).emergency;
    if (!category) return [];
    const after = outcome(r.id, ["post_evaluate", "post_storage_review", "post_approve"]);
    const postApproval: keyof typeof POST_APPROVAL_NAMES = after.includes("rejected")
      ? "rejected"
      : outcome(r.id, ["post_approve"]).includes("approved")
        ? "done"
        : after.length === 0 && r.status !== "in_progress" && r.status !== "returned"
          ? "none"
          : "pending";
    return [{ ...base(r), category: category as EmergencyCategory, categoryName: EMERGENCY_CATEGORIES[category], postApproval, postApprovalName: POST_APPROVAL_NAMES[postApproval] }];
  });
  const dedicatedPools = rows.flatMap((r) => {
    const pool = (r.facts as ApplicationFacts).dedicatedPool;
    if (!pool) return [];
    const review = outcome(r.id, ["dedicated_pool_review"]);
    const state: keyof typeof POOL_REVIEW_NAMES = review.includes("approved") ? "approved" : review.includes("rejected") ? "rejected" : "pending";
    return [{ ...base(r), scale: pool.scale, review: state, reviewName: POOL_REVIEW_NAMES[state] }];
  });
  return { emergencies, dedicatedPools };
}

/**
 * The provider's performance in the month (001 第三十一条: response and quality), over the stages the provider
 * acts at, for the units in scope:
 *   - response: the provider's stages closed in the month, on time or late, and their average working days;
 *   - quality: provider stages opened again because their work came back (a failed test, a check's return),
 *     and the findings (整改通知 / 工作警示) recorded at provider stages;
 *   - satisfaction: the applicants' ratings (服务评价) given in the month, and each 不满意 with its reason.
 */
async function providerPerformance(ctx: ServiceContext, unitIds: string[], start: Date, end: Date) {
  const runs = await ctx.db
    .select({ run: stageRuns, flow: requests.flow, profile: requests.profile })
    .from(stageRuns)
    .innerJoin(requests, eq(requests.id, stageRuns.requestId))
    .where(and(inArray(requests.unitId, unitIds), or(and(gte(stageRuns.closedAt, start), lte(stageRuns.closedAt, end)), and(gte(stageRuns.openedAt, start), lte(stageRuns.openedAt, end)))));
  const isProviders = (r: (typeof runs)[number]) => stageDef(r.flow, r.profile, r.run.stage).parties.includes("provider");
  const mine = runs.filter(isProviders);
  const closedIn = mine.filter((r) => r.run.closedAt && r.run.closedAt >= start && r.run.closedAt <= end);
  const late = closedIn.filter((r) => r.run.deadlineAt && r.run.closedAt! > r.run.deadlineAt);
  const spans = closedIn.flatMap((r) => {
    try {
      return [ctx.calendar.workdaysBetween(shanghaiDate(r.run.openedAt), shanghaiDate(r.run.closedAt!))];
    } catch {
      return []; // a span outside the loaded calendar is left out of the average
    }
  });
  // Rework: a provider stage opened in the month on a request where the same stage had run before.
  const openedIn = mine.filter((r) => r.run.openedAt >= start && r.run.openedAt <= end);
  const earlier = openedIn.length
    ? await ctx.db
        .select({ id: stageRuns.id, requestId: stageRuns.requestId, stage: stageRuns.stage })
        .from(stageRuns)
        .where(inArray(stageRuns.requestId, [...new Set(openedIn.map((r) => r.run.requestId))]))
    : [];
  const reopened = openedIn.filter((r) => earlier.some((e) => e.requestId === r.run.requestId && e.stage === r.run.stage && e.id < r.run.id));
  const stageFindings = await ctx.db
    .select({ stage: findings.stage, flow: requests.flow, profile: requests.profile })
    .from(findings)
    .innerJoin(requests, eq(requests.id, findings.requestId))
    .where(and(inArray(requests.unitId, unitIds), gte(findings.createdAt, start), lte(findings.createdAt, end)));
  const atProvider = stageFindings.filter((f) => f.stage && stageDef(f.flow, f.profile, f.stage).parties.includes("provider"));
  const ratings = await ctx.db
    .select({ score: serviceRatings.score, comment: serviceRatings.comment, at: serviceRatings.createdAt, code: requests.code, unitId: requests.unitId })
    .from(serviceRatings)
    .innerJoin(requests, eq(requests.id, serviceRatings.requestId))
    .where(and(inArray(requests.unitId, unitIds), gte(serviceRatings.createdAt, start), lte(serviceRatings.createdAt, end)))
    .orderBy(asc(serviceRatings.createdAt));
  const scored = (score: ServiceRating) => ratings.filter((r) => r.score === score).length;
  return {
    stagesClosed: closedIn.length,
    onTime: closedIn.length - late.length,
    late: late.length,
    avgWorkdays: spans.length ? Math.round((spans.reduce((t, d) => t + d, 0) / spans.length) * 10) / 10 : null,
    reworked: reopened.length,
    findings: atProvider.length,
    satisfaction: {
      rated: ratings.length,
      satisfied: scored("satisfied"),
      basic: scored("basic"),
      dissatisfied: scored("dissatisfied"),
      // 满意率: rated 满意 or 基本满意, in per cent of the ratings.
      satisfiedPercent: ratings.length ? Math.round(((scored("satisfied") + scored("basic")) / ratings.length) * 1000) / 10 : null,
      complaints: ratings.filter((r) => r.score === "dissatisfied").map(({ score: _, ...r }) => r),
    },
  };
}

const CSV_COLUMNS = [
  ["unitId", "单位编号"],
  ["unitName", "单位"],
  ["resources", "资源数"],
  ["vms", "虚拟机"],
  ["vcpu", "vCPU"],
  ["memoryGb", "内存(G)"],
  ["diskGb", "磁盘(G)"],
  ["cpuAvg", "vCPU 平均利用率(%)"],
  ["cpuPeak", "vCPU 峰值(%)"],
  ["lowLoadVms", "低负载虚拟机"],
  ["requestsOpened", "新提交申请"],
  ["requestsClosed", "办结申请"],
  ["lateStages", "逾期环节"],
] as const;

type MonthlyReport = Awaited<ReturnType<typeof monthlyReport>>;
type MonthlyReportTable = z.output<typeof monthlyReportQuery>["table"];

/**
 * One of the report's tables as CSV (Excel-ready): the per-unit table with a 合计 row, the late stages with who
 * held them, the low-load VMs, or the provider's performance with each 不满意 and its reason.
 */
export function monthlyReportCsv(report: MonthlyReport, table: MonthlyReportTable = "units"): string {
  const unitName = new Map(report.units.map((u) => [u.unitId, u.unitName]));
  const rows: unknown[][] = [];
  switch (table) {
    case "units":
      rows.push(CSV_COLUMNS.map(([, title]) => title));
      for (const row of report.units) rows.push(CSV_COLUMNS.map(([key]) => row[key]));
      if (report.total) rows.push(CSV_COLUMNS.map(([key]) => (key === "unitName" ? "合计" : key in report.total! ? report.total![key as keyof typeof report.total] : "")));
      break;
    case "late":
      rows.push(["编号", "单位编号", "单位", "环节", "期限", "办结时间", "办理人"]);
      for (const l of report.lateStages)
        rows.push([l.code, l.unitId, unitName.get(l.unitId), l.stage, l.deadlineAt && shanghaiDateTime(l.deadlineAt), l.closedAt ? shanghaiDateTime(l.closedAt) : "未办结", l.heldBy.join("、")]);
      break;
    case "lowload":
      rows.push(["单位编号", "单位", "资源", "云主机编号", "低负载天数"]);
      for (const v of report.lowLoadVms) rows.push([v.unitId, unitName.get(v.unitId), v.resource, v.instanceId, v.lowLoadDays]);
      break;
    case "flagged":
      // 004 第四十八条 / 第十四条(二)2: the month's emergency applications and dedicated-pool requests.
      rows.push(["类型", "编号", "单位", "系统", "紧急情况类别 / 资源池规模", "事后审批 / 必要性和可行性审核", "提交时间"]);
      for (const e of report.emergencies) rows.push(["紧急申请", e.code, e.unitName, e.system, e.categoryName, e.postApprovalName, shanghaiDateTime(e.submittedAt)]);
      for (const d of report.dedicatedPools) rows.push(["专属资源池", d.code, d.unitName, d.system, d.scale, d.reviewName, shanghaiDateTime(d.submittedAt)]);
      break;
    case "provider": {
      const p = report.provider;
      rows.push(["指标", "数值", "说明"]);
      if (!p) break;
      const s = p.satisfaction;
      rows.push(
        ["办结环节", p.stagesClosed, ""],
        ["按期", p.onTime, ""],
        ["逾期", p.late, ""],
        ["平均工作日", p.avgWorkdays, ""],
        ["返工", p.reworked, "因测试未通过或核查退回而重新办理的环节"],
        ["整改与警示", p.findings, ""],
        ["评价数", s.rated, ""],
        ["满意", s.satisfied, ""],
        ["基本满意", s.basic, ""],
        ["不满意", s.dissatisfied, ""],
        ["满意率(%)", s.satisfiedPercent, "满意与基本满意占评价数的比例"],
      );
      for (const c of s.complaints) rows.push([`不满意：${c.code}`, unitName.get(c.unitId) ?? c.unitId, c.comment]);
      break;
    }
    case "inspections": {
      // 004 第三十九条: the month's 安全督查 / 安全检查 of the provider, each with where its rectification stands.
      const s = report.inspections;
      rows.push(["检查日期", "类别", "结论", "问题数", "整改期限", "状态", "整改完成报告时间", "按期整改"]);
      if (!s) break;
      for (const i of s.items)
        rows.push([
          i.inspectedOn,
          i.kindText,
          i.resultText,
          i.findings,
          i.deadline ?? "",
          i.overdue ? `${i.statusText}（已超期）` : i.statusText,
          i.reportedAt ? shanghaiDateTime(new Date(i.reportedAt)) : "",
          i.rectifiedOnTime === null ? "" : i.rectifiedOnTime ? "是" : "否（逾期）",
        ]);
      rows.push(["合计", `${s.recorded} 次`, `限期整改 ${s.rectify}`, s.findings, "", `未关闭 ${s.open}（已超期 ${s.overdue}）`, "", `按期 ${s.rectifiedOnTime}，逾期 ${s.rectifiedLate}`]);
      break;
    }
    case "funding": {
      const f = report.funding;
      rows.push(["资金来源", "金额(元)", "单位"]);
      if (!f) break;
      for (const share of f.split) rows.push([share.name, new CsvDecimal(share.amount, 2), share.unitIds.join(" ")]);
      rows.push(["合计", new CsvDecimal(f.total, 2), f.source === "signoff" ? (f.signed ? "三方签字的结算单" : "结算流程中的结算单") : "按资源台账计算"]);
      break;
    }
  }
  return csvDocument(rows);
}

/** 004 第三十九条: the month's inspections in one line (the card, the report page). */
export function inspectionLine(s: NonNullable<MonthlyReport["inspections"]>): string {
  return `安全督查与检查 ${s.recorded} 次（限期整改 ${s.rectify} 次，问题 ${s.findings} 项）；未关闭 ${s.open} 次（问题 ${s.findingsOpen} 项，已超期 ${s.overdue} 次）；按期整改 ${s.rectifiedOnTime} 次，逾期整改 ${s.rectifiedLate} 次`;
}

/**
 * Oversight: the monthly report reaches the managers at least once a month. From the 1st working day of a
 * month on, the previous month's report for the whole city is summarised in a card to each manager, once
 * (audited as `report.monthly_sent`); the full table is at GET /api/reports/monthly. A month with nothing
 * held or asked for is not sent. Returns the month sent.
 */
export async function sendMonthlyReport(ctx: ServiceContext): Promise<string | null> {
  const month = monthJustEnded(ctx.calendar, shanghaiDate(ctx.clock.now()));
  if (!month) return null;
  const sent = { scope: "monthly-report", key: month };
  if (await wasDone(ctx.db, sent)) return null;
  const report = await monthlyReport({ ctx: { ...ctx, actor: null }, input: { month } });
  const t = report.total;
  const p = report.provider;
  // A month with nothing held or asked for (a new installation's first) has nothing to report.
  const quiet = (!t || Object.values(t).every((n) => n === 0)) && !report.inspections?.recorded;
  const lines = [
    t ? `资源 ${t.resources} 项（虚拟机 ${t.vms} 台，${t.vcpu} 核 / ${t.memoryGb}G 内存 / ${t.diskGb}G 磁盘）` : "尚无资源",
    t ? `低负载虚拟机 ${t.lowLoadVms} 台；新提交申请 ${t.requestsOpened} 个，办结 ${t.requestsClosed} 个；逾期环节 ${t.lateStages} 个` : "",
    p ? `评估实施单位：办结环节 ${p.stagesClosed} 个（按期 ${p.onTime}，逾期 ${p.late}${p.avgWorkdays !== null ? `，平均 ${p.avgWorkdays} 个工作日` : ""}），返工 ${p.reworked} 次，整改与警示 ${p.findings} 条` : "",
    p && p.satisfaction.rated > 0
      ? `服务评价 ${p.satisfaction.rated} 个：满意 ${p.satisfaction.satisfied}，基本满意 ${p.satisfaction.basic}，不满意 ${p.satisfaction.dissatisfied}（满意率 ${p.satisfaction.satisfiedPercent}%）`
      : "",
    // 004 第四十八条 / 第十四条(二)2: flagged, so the fast track's after-the-fact approvals are not lost sight of.
    report.emergencies.length > 0
      ? `紧急申请 ${report.emergencies.length} 个（待补办审批 ${report.emergencies.filter((e) => e.postApproval === "pending").length} 个）`
      : "",
    report.dedicatedPools.length > 0 ? `专属资源池申请 ${report.dedicatedPools.length} 个` : "",
    // 004 第三十九条
    report.inspections && report.inspections.recorded > 0 ? inspectionLine(report.inspections) : "",
  ].filter(Boolean);
  const card: Card = {
    title: `${month} 月度报告`,
    tone: "info",
    summary: lines.join("\n"),
    fields: [{ label: "完整报告", value: `GET /api/reports/monthly?month=${month}` }],
    actions: [],
    link: "",
  };
  return mutate({ ...ctx, actor: null, channel: "timer" }, { action: "report.monthly_sent" }, async (tx, j) => {
    if (!(await onceFor(ctx, tx, sent)) || quiet) return null;
    const managers = (await usersWithRole(tx, "manager")).map((u) => u.id);
    await enqueueCards(tx, ctx.clock.now(), managers, "report", card, `monthly-report:${month}`);
    j.add({ action: "report.monthly_sent", details: { month, to: managers, total: t, provider: p } });
    return month;
  });
}
