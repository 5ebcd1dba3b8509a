import { invalid, ServiceError } from "./errors";
import data2024 from "./calendar-data/2024.json" with { type: "json" };
import data2025 from "./calendar-data/2025.json" with { type: "json" };
import data2026 from "./calendar-data/2026.json" with { type: "json" };
import { dayOfWeek, fromEpochDay, isIsoDate, toEpochDay, type YearSchedule, yearScheduleSchema } from "./calendar-schedule";

export { missingStatutoryHolidays, STATUTORY_HOLIDAYS, type YearSchedule, yearScheduleSchema } from "./calendar-schedule";

/** A date in a year whose schedule is not loaded: guessing "weekends only" would put deadlines on holidays. */
export class CalendarRangeError extends ServiceError {
  constructor(
    readonly date: string,
    readonly loadedYears: number[],
  ) {
    super(
      "calendar_out_of_range",
      `${date} 超出已加载的工作日历（${describeYears(loadedYears)}）。` +
        "请在国务院办公厅公布该年放假安排后用 `yunshen calendar load FILE` 加载。",
      422,
    );
  }
}

// [2024, 2025, 2026, 2028] → "2024–2026、2028 年"
function describeYears(years: number[]): string {
  if (years.length === 0) return "尚未加载任何年份";
  const runs: string[] = [];
  let start = years[0]!;
  years.forEach((year, i) => {
    const next = years[i + 1];
    if (next === year + 1) return;
    runs.push(start === year ? `${year}` : `${start}–${year}`);
    if (next !== undefined) start = next;
  });
  return `${runs.join("、")} 年`;
}

function assertDate(date: string): void {
  if (typeof date !== "string" || !isIsoDate(date)) {
    throw invalid(`日期无效：${JSON.stringify(date)}，应为存在的 YYYY-MM-DD`);
  }
}

/**
 * Working days (工作日): Monday–Friday, minus the statutory holidays, plus the weekend days declared working
 * days (调休上班), for the loaded years only. Any question about a day outside them throws CalendarRangeError.
 */
export class WorkCalendar {
  private readonly schedules = new Map<number, YearSchedule>();
  private readonly offDays = new Set<string>();
  private readonly extraWorkdays = new Set<string>();

  /** A later schedule for the same year replaces an earlier one. */
  constructor(schedules: YearSchedule[]) {
    for (const schedule of schedules) this.schedules.set(schedule.year, schedule);
    for (const schedule of this.schedules.values()) {
      for (const h of schedule.holidays) {
        for (let day = toEpochDay(h.from); day <= toEpochDay(h.to); day++) this.offDays.add(fromEpochDay(day));
      }
      for (const w of schedule.workdays) this.extraWorkdays.add(w.date);
    }
  }

  years(): number[] {
    return [...this.schedules.keys()].sort((a, b) => a - b);
  }

  /** A new calendar with `schedule` added, or replacing the loaded schedule of its year. */
  withYear(schedule: YearSchedule): WorkCalendar {
    return new WorkCalendar([...this.schedules.values(), schedule]);
  }

  isWorkday(date: string): boolean {
    assertDate(date);
    return this.workdayAt(date);
  }

  /** The date `n` (integer >= 1) working days after `date`; `date` itself is not counted. */
  addWorkdays(date: string, n: number): string {
    assertDate(date);
    if (!Number.isInteger(n) || n < 1) throw invalid(`工作日数无效：${n}，应为不小于 1 的整数`);
    let day = toEpochDay(date);
    for (let remaining = n; ; ) {
      const current = fromEpochDay(++day);
      if (this.workdayAt(current) && --remaining === 0) return current;
    }
  }

  /**
   * The number of working days d with from < d <= to, so that workdaysBetween(d, addWorkdays(d, n)) = n.
   * When to is before from the count is taken the other way and negated: workdaysBetween(a, b) =
   * -workdaysBetween(b, a), and 0 when the dates are equal.
   */
  workdaysBetween(from: string, to: string): number {
    assertDate(from);
    assertDate(to);
    if (to < from) return -this.workdaysBetween(to, from);
    let count = 0;
    for (let day = toEpochDay(from) + 1; day <= toEpochDay(to); day++) {
      if (this.workdayAt(fromEpochDay(day))) count++;
    }
    return count;
  }

  /** The first working day strictly after `date`. */
  nextWorkday(date: string): string {
    return this.addWorkdays(date, 1);
  }

  /** The last working day strictly before `date`. */
  previousWorkday(date: string): string {
    assertDate(date);
    let day = toEpochDay(date);
    for (;;) {
      const current = fromEpochDay(--day);
      if (this.workdayAt(current)) return current;
    }
  }

  private workdayAt(date: string): boolean {
    if (!this.schedules.has(Number(date.slice(0, 4)))) throw new CalendarRangeError(date, this.years());
    if (this.extraWorkdays.has(date)) return true;
    if (this.offDays.has(date)) return false;
    const weekday = dayOfWeek(date);
    return weekday !== 0 && weekday !== 6;
  }
}

// Asia/Shanghai has had no daylight saving time since 1991: a fixed UTC+8 offset is exact for every date
// this service handles.
export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const TIME_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** An instant as Asia/Shanghai wall-clock time, in ISO form ("YYYY-MM-DDTHH:MM:SS.sssZ", the Z not meant). */
function shanghaiWallClock(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw invalid("时间无效");
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS).toISOString();
}

/** The Asia/Shanghai calendar date ("YYYY-MM-DD") of an instant. */
export function shanghaiDate(instant: Date): string {
  return shanghaiWallClock(instant).slice(0, 10);
}

/** The Asia/Shanghai date and minute ("YYYY-MM-DD HH:MM") of an instant, as people read it in a table. */
export function shanghaiDateTime(instant: Date): string {
  return shanghaiWallClock(instant).slice(0, 16).replace("T", " ");
}

/** The instant of `date` at `time` ("HH:MM") Asia/Shanghai time. */
export function shanghaiInstant(date: string, time = "00:00"): Date {
  assertDate(date);
  const match = TIME_PATTERN.exec(time);
  if (!match) throw invalid(`时刻无效：${JSON.stringify(time)}，应为 HH:MM（00:00–23:59）`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return new Date(toEpochDay(date) * DAY_MS + minutes * 60_000 - SHANGHAI_OFFSET_MS);
}

/** 23:59:59.999 of `date` in Asia/Shanghai. */
export function endOfShanghaiDay(date: string): Date {
  return new Date(shanghaiInstant(date).getTime() + DAY_MS - 1);
}

/** `date` moved by `n` calendar days (n may be negative or 0). */
export function addCalendarDays(date: string, n: number): string {
  assertDate(date);
  if (!Number.isInteger(n)) throw invalid(`天数无效：${n}，应为整数`);
  return fromEpochDay(toEpochDay(date) + n);
}

/**
 * From the 1st working day of a month on, the month before it (what monthly work such as the statement and the
 * report is about); null before that day, or when `today`'s month is not in the loaded calendar.
 */
export function monthJustEnded(calendar: WorkCalendar, today: string): string | null {
  const first = `${today.slice(0, 8)}01`;
  let firstWorkday: string;
  try {
    firstWorkday = calendar.isWorkday(first) ? first : calendar.nextWorkday(first);
  } catch (err) {
    if (err instanceof CalendarRangeError) return null;
    throw err;
  }
  return today < firstWorkday ? null : addCalendarDays(first, -1).slice(0, 7);
}

/** The first and last day of a month ("YYYY-MM"). */
export function monthDays(month: string): { first: string; last: string } {
  const first = `${month}-01`;
  return { first, last: addCalendarDays(addCalendarMonths(first, 1), -1) };
}

/** Calendar days from `from` to `to` (negative when `to` is earlier). */
export function calendarDaysBetween(from: string, to: string): number {
  assertDate(from);
  assertDate(to);
  return toEpochDay(to) - toEpochDay(from);
}

/**
 * `date` moved by `n` calendar months to the same day of the month, or to the month's last day when it has no
 * such day (民法典 第二百零一条: "没有对应日的，月末日为期间的最后一日"): 2026-11-30 + 3 → 2027-02-28.
 */
export function addCalendarMonths(date: string, n: number): string {
  assertDate(date);
  if (!Number.isInteger(n)) throw invalid(`月数无效：${n}，应为整数`);
  const months = Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1 + n;
  const year = Math.floor(months / 12);
  const month = (months % 12) + 1;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(Number(date.slice(8, 10)), lastDay);
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

// Parsed once at import, so a bad edit to the data files fails at start-up rather than at a deadline.
const BUILTIN: readonly YearSchedule[] = [data2024, data2025, data2026].map((s) => yearScheduleSchema.parse(s));

/** The schedules shipped with this release (2024–2026). */
export function builtinSchedules(): YearSchedule[] {
  return [...BUILTIN];
}

/**
 * The year whose schedule the service is missing and will soon need, or null: the current year (Asia/Shanghai),
 * or from 1 December on the next one. The State Council usually publishes the next year's notice in November.
 */
export function missingCalendarYear(calendar: WorkCalendar, now: Date): number | null {
  const today = shanghaiDate(now);
  const year = Number(today.slice(0, 4));
  const loaded = calendar.years();
  if (!loaded.includes(year)) return year;
  if (today.slice(5) >= "12-01" && !loaded.includes(year + 1)) return year + 1;
  return null;
}

/** What the operator and the managers are told about a missing year: what goes wrong and what to do. */
export function missingCalendarText(year: number): string {
  return (
    `尚未加载 ${year} 年工作日历：落在 ${year} 年的工作日期限将无法计算。` +
    `请在国务院办公厅公布 ${year} 年放假安排后，用 yunshen calendar load FILE 加载`
  );
}

/** /healthz's calendar field: present only while a year is missing (the status stays "ok"). */
export function calendarHealth(calendar: WorkCalendar, now: Date): { calendar?: { missingYear: number; message: string } } {
  const year = missingCalendarYear(calendar, now);
  return year === null ? {} : { calendar: { missingYear: year, message: missingCalendarText(year) } };
}
