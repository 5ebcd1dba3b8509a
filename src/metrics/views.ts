import { and, asc, eq, gte, inArray, lte } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { resources, vmDailyMetrics } from "../../db/schema";
import { addCalendarDays, CalendarRangeError, shanghaiDate } from "../core/calendar";
import { isIsoDate } from "../core/calendar-schedule";
import type { ServiceContext } from "../core/context";
import { forbidden, unprocessable } from "../core/errors";
import { figuresOf, type DailyFigures } from "./daily";
import { lastWorkdays, lowLoadDay, lowLoadMonth, scaleUpEvidence, storageHeadroomMonths, type ScaleKind } from "./rules";
import { PROFILES } from "../../profiles";
import type { LowLoadThresholds, ScaleUpBasis } from "../../profiles/types";
import { seesEveryUnit } from "../core/roles";

const date = z.string().refine(isIsoDate, { error: "应为日期 YYYY-MM-DD" }).meta({ format: "date", example: "2026-11-20" });
// Headroom is a growth rate: it needs the month before each day.
const HEADROOM_WINDOW_DAYS = 30;

export const utilisationQuery = z.object({ from: date, to: date }).refine((q) => q.from <= q.to, { error: "from 不能晚于 to", path: ["to"] });
export const scaleUpQuery = z.object({
  kind: z.enum(["vm_vcpu", "vm_memory", "vm_storage", "paas_compute", "paas_storage", "container_vcpu"]),
  asOf: date.optional(),
});

function requireViewer(ctx: ServiceContext) {
  const actor = ctx.actor;
  if (actor && !seesEveryUnit(actor))
    throw forbidden("利用率数据供统筹管理单位、评估实施单位和复核单位查看");
}

const figuresOfRow = (r: typeof vmDailyMetrics.$inferSelect): DailyFigures => figuresOf({ ...r, diskAt: r.diskAt?.getTime() ?? null });

/** One VM's daily figures from `from` to `to` (inclusive), oldest first. */
async function vmDailyFigures(db: Db, vm: string, from: string, to: string): Promise<DailyFigures[]> {
  const rows = await db
    .select()
    .from(vmDailyMetrics)
    .where(and(eq(vmDailyMetrics.vm, vm), gte(vmDailyMetrics.date, from), lte(vmDailyMetrics.date, to)))
    .orderBy(asc(vmDailyMetrics.date));
  return rows.map(figuresOfRow);
}

// VMs read per statement: far below PostgreSQL's 65,535 parameters, and it bounds the rows held at once.
const VMS_PER_READ = 500;

/**
 * Each item with the daily figures of its VM (`vmOf`) from `from` to `to` (inclusive), oldest first: one read
 * per VMS_PER_READ items instead of one per VM. Items are yielded in their order; a VM without figures gets [].
 */
export async function* withDailyFigures<T>(db: Db, items: T[], vmOf: (item: T) => string, from: string, to: string): AsyncGenerator<[T, DailyFigures[]]> {
  for (let i = 0; i < items.length; i += VMS_PER_READ) {
    const chunk = items.slice(i, i + VMS_PER_READ);
    const rows = await db
      .select()
      .from(vmDailyMetrics)
      .where(and(inArray(vmDailyMetrics.vm, [...new Set(chunk.map(vmOf))]), gte(vmDailyMetrics.date, from), lte(vmDailyMetrics.date, to)))
      .orderBy(asc(vmDailyMetrics.vm), asc(vmDailyMetrics.date));
    const byVm = new Map<string, DailyFigures[]>();
    for (const r of rows) {
      const days = byVm.get(r.vm);
      if (days) days.push(figuresOfRow(r));
      else byVm.set(r.vm, [figuresOfRow(r)]);
    }
    for (const item of chunk) yield [item, byVm.get(vmOf(item)) ?? []];
  }
}

/** The first date a VM's figures must start from for utilisationOfDays to judge the days from `from` on. */
export const utilisationReadFrom = (from: string) => addCalendarDays(from, -HEADROOM_WINDOW_DAYS);

/**
 * 利用率 (004 第四十八条) from one VM's daily figures (oldest first, one per date, starting at
 * utilisationReadFrom(from)): each day from `from` on with its storage headroom and low-load classification
 * (第十九条(三), by `lowLoad`) and, per month, the low-load days and whether the month is low-load (more than 15).
 */
export function utilisationOfDays(all: DailyFigures[], from: string, lowLoad: LowLoadThresholds) {
  const days = [];
  // The headroom window (the 30 days up to each day) moves forward with the day over the sorted figures.
  let windowStart = 0;
  for (let i = 0; i < all.length; i++) {
    const d = all[i]!;
    if (d.date < from) continue;
    const before = addCalendarDays(d.date, -HEADROOM_WINDOW_DAYS);
    while (all[windowStart]!.date <= before) windowStart++;
    const headroom = storageHeadroomMonths(all.slice(windowStart, i + 1));
    days.push({ ...d, storageHeadroomMonths: headroom === Infinity ? null : headroom, lowLoad: lowLoadDay(d, headroom, lowLoad) });
  }
  const months = new Map<string, number>();
  for (const d of days) months.set(d.date.slice(0, 7), (months.get(d.date.slice(0, 7)) ?? 0) + (d.lowLoad.low ? 1 : 0));
  return { days, months: [...months].map(([month, lowDays]) => ({ month, lowLoadDays: lowDays, lowLoad: lowLoadMonth(lowDays, lowLoad) })) };
}

/** 利用率 of one VM from `from` to `to` (see utilisationOfDays), with the ledger's resource behind it. */
export async function vmUtilisation({ ctx, input }: { ctx: ServiceContext; input: { vm: string } & z.output<typeof utilisationQuery> }) {
  requireViewer(ctx);
  const figures = await vmDailyFigures(ctx.db, input.vm, utilisationReadFrom(input.from), input.to);
  const { days, months } = utilisationOfDays(figures, input.from, PROFILES[ctx.profile].thresholds.lowLoad);
  // The ledger's resource behind the monitoring's id, where the provider has recorded it.
  const [resource] = await ctx.db
    .select({ id: resources.id, name: resources.name, system: resources.system, unitId: resources.unitId })
    .from(resources)
    .where(eq(resources.instanceId, input.vm));
  return { vm: input.vm, resource: resource ?? null, days, months };
}

/**
 * The profile's last working days before asOf (004: 5; newest first) and the VM's figures on each (null where
 * there are none), as scaleUpEvidence takes them. A working day outside the loaded calendar is refused as calendar_out_of_range.
 */
export async function scaleUpDays(ctx: ServiceContext, vm: string, asOf: string): Promise<{ workdays: string[]; days: (DailyFigures | null)[] }> {
  let workdays: string[];
  try {
    workdays = lastWorkdays(ctx.calendar, asOf, PROFILES[ctx.profile].thresholds.scaleUp.workdays);
  } catch (err) {
    if (err instanceof CalendarRangeError) throw unprocessable("calendar_out_of_range", "所需的工作日超出已加载的工作日历");
    throw err;
  }
  const figures = await vmDailyFigures(ctx.db, vm, workdays.at(-1)!, workdays[0]!);
  const byDate = new Map(figures.map((f) => [f.date, f]));
  return { workdays, days: workdays.map((d) => byDate.get(d) ?? null) };
}

/** Whether a scale-up is justified (第十九条(二)), with the evidence of the last working days before asOf. */
/**
 * What the profile's scale-ups are decided on (ProfileModule.scaleUpBasis), as the answer states it: only under
 * `utilisation` is the check below the decision; elsewhere its figures are for reference.
 */
const SCALE_UP_BASIS: Record<ScaleUpBasis, string> = {
  utilisation: "按前若干个工作日的利用率判定（004 第十九条(二)），本结论即扩容条件",
  providerReport: "以云服务商报告资源使用率超过阈值为前提（003 第二十四条(一)），以下利用率仅供参考",
  usageReport: "以监管部门的云资源使用情况报告为审核的主要依据（000 7.2.3.1），以下利用率仅供参考",
};

export async function scaleUpCheck({ ctx, input }: { ctx: ServiceContext; input: { vm: string } & z.output<typeof scaleUpQuery> }) {
  requireViewer(ctx);
  const asOf = input.asOf ?? shanghaiDate(ctx.clock.now());
  const { workdays, days } = await scaleUpDays(ctx, input.vm, asOf);
  const { scaleUpBasis, thresholds } = PROFILES[ctx.profile];
  return {
    vm: input.vm,
    asOf,
    basis: { key: scaleUpBasis, text: SCALE_UP_BASIS[scaleUpBasis] },
    workdays,
    ...scaleUpEvidence(input.kind as ScaleKind, days, thresholds.scaleUp),
  };
}
