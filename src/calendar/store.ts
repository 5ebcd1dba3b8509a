import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { calendarYears } from "../../db/schema";
import { builtinSchedules, missingStatutoryHolidays, WorkCalendar, type YearSchedule, yearScheduleSchema } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { invalid } from "../core/errors";
import { requireOperator } from "../core/roles";
import { mutate } from "../core/mutate";
import { fieldErrors } from "../core/validation";

/** The built-in years plus those loaded with `yunshen calendar load`; a loaded year replaces a built-in one. */
export async function loadCalendar(db: Db): Promise<WorkCalendar> {
  const rows = await db.select().from(calendarYears).orderBy(calendarYears.year);
  const loaded = rows.map((row) => {
    const parsed = yearScheduleSchema.safeParse(row.schedule);
    if (!parsed.success || parsed.data.year !== row.year) {
      throw new Error(`数据库中 ${row.year} 年的工作日历无效，请重新加载该年的文件`);
    }
    return parsed.data;
  });
  return new WorkCalendar([...builtinSchedules(), ...loaded]);
}

const overrideSchema = z
  .string({ error: "--override 需要写明原因" })
  .trim()
  .min(1, { error: "--override 需要写明原因" })
  .max(500, { error: "原因不能超过 500 个字符" })
  .optional();

/**
 * `yunshen calendar load FILE [--override 原因]`: stores one year's schedule, replacing any earlier one for that
 * year. A schedule must have every statutory holiday (STATUTORY_HOLIDAYS): a file with only 元旦 would make
 * every other holiday of the year a working day. `override` loads one that lacks some anyway, with the reason,
 * which the audit entry records. `replaced` is true when the year already had a schedule (built in or loaded
 * before). Callers holding a WorkCalendar must rebuild it with loadCalendar (or withYear) to see the new year.
 */
export async function loadCalendarYear({
  ctx,
  input,
  override,
}: {
  ctx: ServiceContext;
  input: unknown;
  override?: string;
}): Promise<{ year: number; replaced: boolean; missing: string[] }> {
  // Inside mutate, so a refusal is audited like any other (a malformed file, a 400, writes nothing).
  return mutate(ctx, { action: "calendar.load" }, async (tx, j) => {
    requireOperator(ctx.actor, "calendar");
    const reason = overrideSchema.safeParse(override);
    if (!reason.success) throw invalid(reason.error.issues[0]!.message, { override: reason.error.issues.map((i) => i.message) });
    const parsed = yearScheduleSchema.safeParse(input);
    if (!parsed.success) throw invalid("工作日历文件无效", fieldErrors(parsed.error.issues));
    const schedule = parsed.data;
    const missing = missingStatutoryHolidays(schedule);
    if (missing.length > 0 && reason.data === undefined)
      throw invalid(
        `${schedule.year} 年工作日历缺少法定节假日：${missing.join("、")}。国务院办公厅的放假通知每年都安排这七个节日，请按通知补全；` +
          `如确需先加载不完整的安排，请加 --override "原因"`,
        { holidays: missing.map((name) => `缺少${name}`) },
      );
    const now = ctx.clock.now();
    const [row] = await tx
      .insert(calendarYears)
      .values({ year: schedule.year, schedule, loadedAt: now })
      .onConflictDoUpdate({ target: calendarYears.year, set: { schedule, loadedAt: now } })
      // xmax is 0 only on a freshly inserted row version: tells insert from update in the same statement.
      .returning({ inserted: sql<boolean>`xmax = 0` });
    const replaced = row?.inserted === false || builtinSchedules().some((s) => s.year === schedule.year);
    j.add({
      action: "calendar.load",
      details: {
        year: schedule.year,
        holidays: schedule.holidays.length,
        workdays: schedule.workdays.length,
        replaced,
        ...(reason.data === undefined ? {} : { override: reason.data, missing }),
      },
    });
    return { year: schedule.year, replaced, missing };
  });
}


/** One year the service knows: shipped with this release or loaded since (a loaded one replaces the built-in one). */
export interface CalendarYearInfo {
  year: number;
  source: string;
  url: string;
  holidays: number;
  workdays: number;
  builtIn: boolean;
  loadedAt: Date | null;
  /** Statutory holidays the schedule lacks (loaded with an override reason). */
  missing: string[];
}

/** Every year the calendar covers, oldest first, and where each came from. */
export async function listCalendarYears(db: Db): Promise<CalendarYearInfo[]> {
  const rows = await db.select().from(calendarYears);
  const byYear = new Map<number, CalendarYearInfo>();
  const info = (schedule: YearSchedule, loadedAt: Date | null): CalendarYearInfo => ({
    year: schedule.year,
    source: schedule.source,
    url: schedule.url,
    holidays: schedule.holidays.length,
    workdays: schedule.workdays.length,
    builtIn: loadedAt === null,
    loadedAt,
    missing: missingStatutoryHolidays(schedule),
  });
  for (const schedule of builtinSchedules()) byYear.set(schedule.year, info(schedule, null));
  for (const row of rows) {
    const parsed = yearScheduleSchema.safeParse(row.schedule);
    if (parsed.success) byYear.set(row.year, info(parsed.data, row.loadedAt));
  }
  return [...byYear.values()].sort((a, b) => a.year - b.year);
}
