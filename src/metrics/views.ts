import { and, asc, eq, gte, lte } from "drizzle-orm";
import { z } from "zod";
import { resources, vmDailyMetrics } from "../../db/schema";
import { addCalendarDays, CalendarRangeError, shanghaiDate } from "../calendar";
import { isIsoDate } from "../calendar/schedule";
import type { ServiceContext } from "../context";
import { forbidden, unprocessable } from "../errors";
import { figuresOf, type DailyFigures } from "./daily";
import { lastWorkdays, lowLoadDay, lowLoadMonth, scaleUpEvidence, SCALE_UP_WORKDAYS, storageHeadroomMonths, type ScaleKind } from "./rules";

const date = z.string().refine(isIsoDate, { error: "应为日期 YYYY-MM-DD" });
// Headroom is a growth rate: it needs the month before each day.
const HEADROOM_WINDOW_DAYS = 30;

export const utilisationQuery = z.object({ from: date, to: date }).refine((q) => q.from <= q.to, { error: "from 不能晚于 to", path: ["to"] });
export const scaleUpQuery = z.object({
  kind: z.enum(["vm_vcpu", "vm_memory", "vm_storage", "paas_compute", "paas_storage", "container_vcpu"]),
  asOf: date.optional(),
});

function requireViewer(ctx: ServiceContext) {
  const actor = ctx.actor;
  if (actor && !actor.roles.some((r) => r === "manager" || r === "provider" || r === "reviewer"))
    throw forbidden("利用率数据供统筹管理单位、评估实施单位和复核单位查看");
}

/** One VM's daily figures from `from` to `to` (inclusive), oldest first. */
export async function vmDailyFigures(ctx: ServiceContext, vm: string, from: string, to: string): Promise<DailyFigures[]> {
  const rows = await ctx.db
    .select()
    .from(vmDailyMetrics)
    .where(and(eq(vmDailyMetrics.vm, vm), gte(vmDailyMetrics.date, from), lte(vmDailyMetrics.date, to)))
    .orderBy(asc(vmDailyMetrics.date));
  return rows.map((r) => figuresOf({ ...r, diskAt: r.diskAt?.getTime() ?? null }));
}

/**
 * 利用率 (004 第四十八条) of one VM, day by day, with each day's low-load classification (第十九条(三)) and, per
 * month, the low-load days and whether the month is low-load (more than 15).
 */
export async function vmUtilisation({ ctx, input }: { ctx: ServiceContext; input: { vm: string } & z.output<typeof utilisationQuery> }) {
  requireViewer(ctx);
  const all = await vmDailyFigures(ctx, input.vm, addCalendarDays(input.from, -HEADROOM_WINDOW_DAYS), input.to);
  const days = all
    .filter((d) => d.date >= input.from)
    .map((d) => {
      const window = all.filter((w) => w.date <= d.date && w.date > addCalendarDays(d.date, -HEADROOM_WINDOW_DAYS));
      const headroom = storageHeadroomMonths(window);
      return { ...d, storageHeadroomMonths: headroom === Infinity ? null : headroom, lowLoad: lowLoadDay(d, headroom) };
    });
  const months = new Map<string, number>();
  for (const d of days) months.set(d.date.slice(0, 7), (months.get(d.date.slice(0, 7)) ?? 0) + (d.lowLoad.low ? 1 : 0));
  // The ledger's resource behind the monitoring's id, where the provider has recorded it.
  const [resource] = await ctx.db
    .select({ id: resources.id, name: resources.name, system: resources.system, unitId: resources.unitId })
    .from(resources)
    .where(eq(resources.instanceId, input.vm));
  return {
    vm: input.vm,
    resource: resource ?? null,
    days,
    months: [...months].map(([month, lowDays]) => ({ month, lowLoadDays: lowDays, lowLoad: lowLoadMonth(lowDays) })),
  };
}

/** Whether a scale-up is justified (第十九条(二)), with the evidence of the last 5 working days before asOf. */
export async function scaleUpCheck({ ctx, input }: { ctx: ServiceContext; input: { vm: string } & z.output<typeof scaleUpQuery> }) {
  requireViewer(ctx);
  const asOf = input.asOf ?? shanghaiDate(ctx.clock.now());
  let workdays: string[];
  try {
    workdays = lastWorkdays(ctx.calendar, asOf, SCALE_UP_WORKDAYS);
  } catch (err) {
    if (err instanceof CalendarRangeError) throw unprocessable("calendar_out_of_range", "所需的工作日超出已加载的工作日历");
    throw err;
  }
  const figures = await vmDailyFigures(ctx, input.vm, workdays.at(-1)!, workdays[0]!);
  const byDate = new Map(figures.map((f) => [f.date, f]));
  return { vm: input.vm, asOf, workdays, ...scaleUpEvidence(input.kind as ScaleKind, workdays.map((d) => byDate.get(d) ?? null)) };
}
