import { z } from "zod";

// One year's working-day schedule as published by the State Council (国务院办公厅 放假安排通知).

const DAY_MS = 86_400_000;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const WEEKDAY_NAMES = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];

/** Days since 1970-01-01 of a "YYYY-MM-DD" date (assumed valid). */
export function toEpochDay(date: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

export function fromEpochDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** True for "YYYY-MM-DD" strings naming a day that exists (rejects 2026-02-30). */
export function isIsoDate(value: string): boolean {
  // The round trip also rejects years below 100, which Date.UTC would read as 19xx.
  return DATE_PATTERN.test(value) && fromEpochDay(toEpochDay(value)) === value;
}

/** 0 = Sunday … 6 = Saturday. */
export function dayOfWeek(date: string): number {
  return new Date(toEpochDay(date) * DAY_MS).getUTCDay();
}

// Four digits, like the year part of every date in the file.
const yearInRange = (year: unknown) => Number.isInteger(year) && (year as number) >= 1000 && (year as number) <= 9999;

const isWeekend = (date: string) => dayOfWeek(date) === 0 || dayOfWeek(date) === 6;

const expected = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? "缺少此字段" : `应为${what}`),
});

const nameSchema = z.string(expected("文字")).trim().min(1, "不能为空");

// Not `abort: true`: that would also stop the schedule-wide checks below from reporting other entries. Checks
// that look at a date therefore skip it when it is malformed, which was reported here already.
const dateSchema = z.string(expected("日期（YYYY-MM-DD）")).refine(isIsoDate, {
  error: (issue) => `${JSON.stringify(issue.input)} 不是有效日期（应为存在的 YYYY-MM-DD）`,
});

const objectError = {
  error: (issue: { code?: string; input?: unknown; keys?: string[] }) =>
    issue.code === "unrecognized_keys"
      ? `不认识的字段：${(issue.keys ?? []).join("、")}`
      : issue.input === undefined
        ? "缺少此字段"
        : "应为对象",
};

const holidaySchema = z
  .strictObject({ name: nameSchema, from: dateSchema, to: dateSchema }, objectError)
  .refine((h) => !isIsoDate(h.from) || !isIsoDate(h.to) || h.from <= h.to, {
    error: "结束日期不能早于开始日期",
    path: ["to"],
  });

const workdaySchema = z.strictObject(
  {
    date: dateSchema.refine((date) => !isIsoDate(date) || isWeekend(date), {
      error: (issue) =>
        `${issue.input as string} 是${WEEKDAY_NAMES[dayOfWeek(issue.input as string)]}；调休上班日只能是星期六或星期日`,
    }),
    name: nameSchema,
  },
  objectError,
);

export const yearScheduleSchema = z
  .strictObject(
    {
      year: z.int(expected("整数年份")).refine(yearInRange, "年份应为四位数"),
      source: nameSchema,
      url: z.url({ protocol: /^https?$/, ...expected("网址（http 或 https）") }),
      holidays: z.array(holidaySchema, expected("数组")).min(1, "至少应有一项放假安排"),
      workdays: z.array(workdaySchema, expected("数组")),
    },
    objectError,
  )
  .superRefine(
    (schedule, ctx) => {
      // Runs even when some entries failed their own checks (see `when`), so that one run reports every
      // problem; entries whose dates are not valid were already reported and are skipped here.
      const { year } = schedule;
      const valid = (value: unknown): value is string => typeof value === "string" && isIsoDate(value);
      const inYear = (date: string, path: (string | number)[]) => {
        if (!date.startsWith(`${year}-`)) ctx.addIssue({ code: "custom", message: `${date} 不在 ${year} 年内`, path });
      };
      const ranges: { name: string; from: string; to: string }[] = [];
      schedule.holidays.forEach((h, i) => {
        if (valid(h?.from)) inYear(h.from, ["holidays", i, "from"]);
        if (valid(h?.to)) inYear(h.to, ["holidays", i, "to"]);
        if (valid(h?.from) && valid(h?.to)) ranges.push(h);
      });
      const seen = new Map<string, number>();
      schedule.workdays.forEach((w, i) => {
        if (!valid(w?.date)) return;
        const path = ["workdays", i, "date"];
        inYear(w.date, path);
        const clash = ranges.find((r) => r.from <= w.date && w.date <= r.to);
        if (clash) {
          ctx.addIssue({
            code: "custom",
            message: `${w.date} 同时在放假安排“${clash.name}”（${clash.from} 至 ${clash.to}）之内`,
            path,
          });
        }
        const first = seen.get(w.date);
        if (first === undefined) seen.set(w.date, i);
        else ctx.addIssue({ code: "custom", message: `${w.date} 与 workdays.${first} 重复`, path });
      });
    },
    {
      when: (payload) => {
        const v = payload.value as { year?: unknown; holidays?: unknown; workdays?: unknown } | null;
        return (
          typeof v === "object" &&
          v !== null &&
          yearInRange(v.year) &&
          Array.isArray(v.holidays) &&
          Array.isArray(v.workdays)
        );
      },
    },
  );

export type YearSchedule = z.infer<typeof yearScheduleSchema>;

/**
 * The holidays every State Council notice (国务院办公厅关于某年部分节假日安排的通知) has set since 2008, each with
 * the part of its name that a schedule's entry must contain: the notices write 劳动节, but a file may say 五一劳动节,
 * and one entry may cover two of them (2025: "国庆节、中秋节").
 */
export const STATUTORY_HOLIDAYS = [
  { name: "元旦", stem: "元旦" },
  { name: "春节", stem: "春节" },
  { name: "清明节", stem: "清明" },
  { name: "劳动节", stem: "劳动" },
  { name: "端午节", stem: "端午" },
  { name: "中秋节", stem: "中秋" },
  { name: "国庆节", stem: "国庆" },
] as const;

/** The statutory holidays a schedule has no entry for, by name, in the order of the year. */
export function missingStatutoryHolidays(schedule: Pick<YearSchedule, "holidays">): string[] {
  return STATUTORY_HOLIDAYS.filter((h) => !schedule.holidays.some((entry) => entry.name.includes(h.stem))).map((h) => h.name);
}
