import { and, asc, eq, gte, inArray, isNotNull, lte, or, type SQL } from "drizzle-orm";
import { z } from "zod";
import { requests, resources, stageRuns, tasks, units, users } from "../../db/schema";
import { addCalendarDays, endOfShanghaiDay, shanghaiInstant } from "../calendar";
import type { ServiceContext } from "../context";
import { stageDef } from "../engine/flow";
import { BOM, csvRow } from "../csv";
import { vmUtilisation } from "../metrics/views";

export const monthlyReportQuery = z.object({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "应为月份 YYYY-MM"),
  unit: z.string().max(64).optional(),
  format: z.enum(["json", "csv"]).default("json"),
});

function monthBounds(month: string) {
  const first = `${month}-01`;
  const next = addCalendarDays(`${month}-28`, 4).slice(0, 7);
  const last = addCalendarDays(`${next}-01`, -1);
  return { first, last, start: shanghaiInstant(first), end: endOfShanghaiDay(last) };
}

/** The units a person's report covers: the city's roles (and the CLI) every unit, a county bureau its county, others their unit. */
async function unitsInScope(ctx: ServiceContext, only?: string): Promise<{ id: string; name: string }[]> {
  const actor = ctx.actor;
  const all = await ctx.db.select({ id: units.id, name: units.name, parentId: units.parentId, kind: units.kind }).from(units).orderBy(asc(units.id));
  let scope = all.filter((u) => u.kind === "unit");
  if (actor && !actor.roles.some((r) => r === "manager" || r === "provider" || r === "reviewer"))
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
  if (ids.length === 0) return { month: input.month, units: [], total: null, lateStages: [], lowLoadVms: [] };

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
  for (const vm of held.filter((r) => r.kind === "vm" && r.instanceId)) {
    const u = await vmUtilisation({ ctx: { ...ctx, actor: null }, input: { vm: vm.instanceId!, from: first, to: last } });
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
  const sum = (k: "resources" | "vms" | "vcpu" | "memoryGb" | "diskGb" | "lowLoadVms" | "requestsOpened" | "requestsClosed" | "lateStages") => rows.reduce((t, r) => t + r[k], 0);
  const total = {
    resources: sum("resources"),
    vms: sum("vms"),
    vcpu: sum("vcpu"),
    memoryGb: sum("memoryGb"),
    diskGb: sum("diskGb"),
    lowLoadVms: sum("lowLoadVms"),
    requestsOpened: sum("requestsOpened"),
    requestsClosed: sum("requestsClosed"),
    lateStages: sum("lateStages"),
  };
  return { month: input.month, units: rows, total, lateStages, lowLoadVms };
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

/** The per-unit table as CSV (Excel-ready), with a 合计 row. */
export function monthlyReportCsv(report: Awaited<ReturnType<typeof monthlyReport>>): string {
  const lines = [BOM + csvRow(CSV_COLUMNS.map(([, title]) => title))];
  for (const row of report.units) lines.push(csvRow(CSV_COLUMNS.map(([key]) => row[key])));
  if (report.total) lines.push(csvRow(CSV_COLUMNS.map(([key]) => (key === "unitName" ? "合计" : key in report.total! ? report.total![key as keyof typeof report.total] : ""))));
  return lines.join("");
}
