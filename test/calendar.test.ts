import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/client";
import { auditLog, calendarYears, outbox } from "../db/schema";
import { schedule2027 } from "./schedule-2027";
import { addCalendarDays, addCalendarMonths, builtinSchedules, CalendarRangeError, endOfShanghaiDay, calendarHealth, missingCalendarText, missingCalendarYear, missingStatutoryHolidays, shanghaiDate, shanghaiInstant, WorkCalendar, yearScheduleSchema } from "../src/core/calendar";
import { loadCalendar, loadCalendarYear } from "../src/calendar/store";
import type { Actor, ServiceContext } from "../src/core/context";
import { ServiceError } from "../src/core/errors";
import { consoleSender } from "../src/channels/console";
import { runJobsOnce } from "../src/jobs/runner";
import { createTestApp, ok } from "./app-harness";
import { createTestDatabase, everyChannel } from "./harness";

const calendar = new WorkCalendar(builtinSchedules());

// Typed in from the State Council notices (reference/security-audit-calendar.md §4), independently of the
// JSON files: [first day off, last day off] and the make-up working weekends.
const OFFICIAL: Record<number, { off: [string, string][]; makeUp: string[] }> = {
  2024: {
    off: [
      ["2024-01-01", "2024-01-01"],
      ["2024-02-10", "2024-02-17"],
      ["2024-04-04", "2024-04-06"],
      ["2024-05-01", "2024-05-05"],
      ["2024-06-10", "2024-06-10"],
      ["2024-09-15", "2024-09-17"],
      ["2024-10-01", "2024-10-07"],
    ],
    makeUp: [
      "2024-02-04",
      "2024-02-18",
      "2024-04-07",
      "2024-04-28",
      "2024-05-11",
      "2024-09-14",
      "2024-09-29",
      "2024-10-12",
    ],
  },
  2025: {
    off: [
      ["2025-01-01", "2025-01-01"],
      ["2025-01-28", "2025-02-04"],
      ["2025-04-04", "2025-04-06"],
      ["2025-05-01", "2025-05-05"],
      ["2025-05-31", "2025-06-02"],
      ["2025-10-01", "2025-10-08"],
    ],
    makeUp: ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
  },
  2026: {
    off: [
      ["2026-01-01", "2026-01-03"],
      ["2026-02-15", "2026-02-23"],
      ["2026-04-04", "2026-04-06"],
      ["2026-05-01", "2026-05-05"],
      ["2026-06-19", "2026-06-21"],
      ["2026-09-25", "2026-09-27"],
      ["2026-10-01", "2026-10-07"],
    ],
    makeUp: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
  },
};

function daysFrom(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addCalendarDays(d, 1)) days.push(d);
  return days;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

async function rejected(promise: Promise<unknown>): Promise<ServiceError> {
  const err = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceError);
  return err as ServiceError;
}


describe("built-in schedules", () => {
  it("cover 2024, 2025 and 2026 and pass the schema", () => {
    const schedules = builtinSchedules();
    expect(schedules.map((s) => s.year)).toEqual([2024, 2025, 2026]);
    for (const s of schedules) {
      expect(yearScheduleSchema.safeParse(s).success).toBe(true);
      expect(s.url).toMatch(/^https:\/\/www\.gov\.cn\//);
      expect(s.source).toContain(`${s.year}年部分节假日安排的通知`);
    }
    expect(calendar.years()).toEqual([2024, 2025, 2026]);
  });

  for (const [year, { off, makeUp }] of Object.entries(OFFICIAL)) {
    it(`${year}: every day of every break is off, and the days around it are as the notice says`, () => {
      for (const [from, to] of off) {
        for (const day of daysFrom(from, to)) expect(calendar.isWorkday(day), day).toBe(false);
      }
    });

    it(`${year}: every make-up weekend is a working day`, () => {
      for (const day of makeUp) {
        expect([0, 6]).toContain(new Date(`${day}T00:00:00Z`).getUTCDay());
        expect(calendar.isWorkday(day), day).toBe(true);
      }
    });

    it(`${year}: the JSON file lists exactly the notice's breaks and make-up days`, () => {
      const schedule = builtinSchedules().find((s) => s.year === Number(year))!;
      expect(schedule.holidays.map((h) => [h.from, h.to])).toEqual(off);
      expect(schedule.workdays.map((w) => w.date)).toEqual(makeUp);
    });
  }

  it("counts the working days of each year as published (251, 248, 248)", () => {
    // Weekdays minus weekday holidays plus make-up days: 2024 262−19+8, 2025 261−18+5, 2026 261−19+6.
    expect(calendar.workdaysBetween("2023-12-31", "2024-12-31")).toBe(251);
    expect(calendar.workdaysBetween("2024-12-31", "2025-12-31")).toBe(248);
    expect(calendar.workdaysBetween("2025-12-31", "2026-12-31")).toBe(248);
  });

  it("spot checks", () => {
    expect(calendar.isWorkday("2026-02-14")).toBe(true); // Saturday, 春节调休上班
    expect(calendar.isWorkday("2026-02-15")).toBe(false);
    expect(calendar.isWorkday("2026-02-23")).toBe(false); // Monday, 正月初七
    expect(calendar.isWorkday("2026-02-24")).toBe(true);
    expect(calendar.isWorkday("2026-02-28")).toBe(true); // Saturday
    expect(calendar.isWorkday("2026-01-04")).toBe(true); // Sunday
    expect(calendar.isWorkday("2025-01-26")).toBe(true); // Sunday
    expect(calendar.isWorkday("2025-01-27")).toBe(true); // Monday before 除夕
    expect(calendar.isWorkday("2025-01-28")).toBe(false); // 除夕 is a statutory holiday from 2025
    expect(calendar.isWorkday("2024-02-09")).toBe(true); // 除夕 2024 was a working day
    expect(calendar.isWorkday("2024-10-12")).toBe(true); // Saturday
    expect(calendar.isWorkday("2024-12-31")).toBe(true);
    expect(calendar.isWorkday("2025-10-08")).toBe(false); // 国庆节、中秋节 merged: 8 days
    expect(calendar.isWorkday("2025-10-09")).toBe(true);
  });

  it("ordinary weekends are off and ordinary weekdays are working days", () => {
    for (const day of ["2024-03-02", "2024-03-03", "2025-07-19", "2025-07-20", "2026-11-21", "2026-11-22"]) {
      expect(calendar.isWorkday(day), day).toBe(false);
    }
    for (const day of ["2024-03-04", "2025-07-18", "2026-11-20", "2026-12-31"]) {
      expect(calendar.isWorkday(day), day).toBe(true);
    }
  });
});

describe("WorkCalendar arithmetic", () => {
  it("addWorkdays skips the Spring Festival break and counts the make-up Saturday", () => {
    expect(calendar.addWorkdays("2026-02-13", 1)).toBe("2026-02-14");
    expect(calendar.addWorkdays("2026-02-13", 2)).toBe("2026-02-24");
    expect(calendar.addWorkdays("2026-02-13", 6)).toBe("2026-02-28");
    expect(calendar.addWorkdays("2024-02-08", 1)).toBe("2024-02-09");
    expect(calendar.addWorkdays("2024-02-09", 1)).toBe("2024-02-18");
    expect(calendar.addWorkdays("2025-09-30", 1)).toBe("2025-10-09");
  });

  it("does not count the start date, even when it is a working day or a holiday", () => {
    expect(calendar.addWorkdays("2026-11-20", 1)).toBe("2026-11-23"); // Friday → Monday
    expect(calendar.addWorkdays("2026-10-03", 1)).toBe("2026-10-08");
    expect(calendar.addWorkdays("2026-11-16", 5)).toBe("2026-11-23");
  });

  it("crosses year boundaries: 2026-01-01..03 are off and Sunday 2026-01-04 is a make-up working day", () => {
    expect(calendar.addWorkdays("2025-12-31", 1)).toBe("2026-01-04");
    expect(calendar.addWorkdays("2025-12-31", 2)).toBe("2026-01-05");
    expect(calendar.addWorkdays("2024-12-31", 1)).toBe("2025-01-02");
    expect(calendar.nextWorkday("2024-12-31")).toBe("2025-01-02");
    expect(calendar.previousWorkday("2026-01-04")).toBe("2025-12-31");
  });

  it("nextWorkday and previousWorkday are strictly after and before", () => {
    expect(calendar.nextWorkday("2026-02-14")).toBe("2026-02-24");
    expect(calendar.previousWorkday("2026-02-24")).toBe("2026-02-14");
    expect(calendar.previousWorkday("2026-02-14")).toBe("2026-02-13");
    expect(calendar.previousWorkday("2025-10-12")).toBe("2025-10-11"); // Saturday make-up day
    expect(calendar.previousWorkday("2025-10-09")).toBe("2025-09-30");
  });

  it("workdaysBetween counts from < d <= to, negates when reversed and is 0 for the same date", () => {
    expect(calendar.workdaysBetween("2026-02-13", "2026-02-14")).toBe(1);
    expect(calendar.workdaysBetween("2026-02-13", "2026-02-23")).toBe(1);
    expect(calendar.workdaysBetween("2026-02-13", "2026-02-27")).toBe(5);
    expect(calendar.workdaysBetween("2026-02-13", "2026-02-28")).toBe(6);
    expect(calendar.workdaysBetween("2026-02-28", "2026-02-13")).toBe(-6);
    expect(calendar.workdaysBetween("2026-02-20", "2026-02-20")).toBe(0);
    expect(calendar.workdaysBetween("2026-02-15", "2026-02-23")).toBe(0);
    expect(calendar.workdaysBetween("2025-09-30", "2025-10-09")).toBe(1);
    for (const [start, n] of [["2026-02-13", 7], ["2025-12-30", 4], ["2024-09-13", 10]] as const) {
      expect(calendar.workdaysBetween(start, calendar.addWorkdays(start, n))).toBe(n);
    }
  });
});

describe("dates outside the loaded years", () => {
  it("throw CalendarRangeError naming the date and the loaded years, never a weekends-only guess", () => {
    const err = thrown(() => calendar.addWorkdays("2026-12-31", 1));
    expect(err).toBeInstanceOf(CalendarRangeError);
    const range = err as CalendarRangeError;
    expect(range.code).toBe("calendar_out_of_range");
    expect(range.status).toBe(422);
    expect(range.date).toBe("2027-01-01");
    expect(range.loadedYears).toEqual([2024, 2025, 2026]);
    expect(range.message).toBe(
      "2027-01-01 超出已加载的工作日历（2024–2026 年）。请在国务院办公厅公布该年放假安排后用 `yunshen calendar load FILE` 加载。",
    );
  });

  it("refuse every operation that looks at such a day", () => {
    expect(() => calendar.isWorkday("2023-06-01")).toThrow(CalendarRangeError);
    expect(() => calendar.isWorkday("2027-01-04")).toThrow("2027-01-04 超出已加载的工作日历（2024–2026 年）");
    expect(() => calendar.previousWorkday("2024-01-02")).toThrow(CalendarRangeError); // 2024-01-01 off → 2023
    expect(() => calendar.nextWorkday("2026-12-31")).toThrow(CalendarRangeError);
    expect(() => calendar.workdaysBetween("2026-12-01", "2027-01-10")).toThrow(CalendarRangeError);
    expect(() => calendar.workdaysBetween("2027-01-10", "2026-12-01")).toThrow(CalendarRangeError);
  });

  it("withYear adds a year, leaving the original calendar unchanged", () => {
    const extended = calendar.withYear(schedule2027);
    expect(extended.years()).toEqual([2024, 2025, 2026, 2027]);
    expect(extended.addWorkdays("2026-12-31", 1)).toBe("2027-01-04");
    expect(extended.isWorkday("2027-01-01")).toBe(false);
    expect(extended.workdaysBetween("2026-12-31", "2027-01-08")).toBe(5);
    expect(() => calendar.isWorkday("2027-01-04")).toThrow(CalendarRangeError);
  });

  it("withYear replaces a loaded year", () => {
    const base = builtinSchedules().find((s) => s.year === 2026)!;
    const without = calendar.withYear({ ...base, workdays: base.workdays.filter((w) => w.date !== "2026-02-14") });
    expect(without.years()).toEqual([2024, 2025, 2026]);
    expect(without.isWorkday("2026-02-14")).toBe(false);
    expect(without.addWorkdays("2026-02-13", 1)).toBe("2026-02-24");
    expect(calendar.isWorkday("2026-02-14")).toBe(true);
  });

  it("a gap between loaded years is still out of range, and the message lists the runs", () => {
    const gappy = calendar.withYear({
      ...schedule2027,
      year: 2028,
      holidays: [{ name: "元旦", from: "2028-01-01", to: "2028-01-01" }],
    });
    expect(() => gappy.isWorkday("2027-06-01")).toThrow("2027-06-01 超出已加载的工作日历（2024–2026、2028 年）");
    expect(gappy.isWorkday("2028-01-03")).toBe(true);
  });
});

describe("input validation", () => {
  it("malformed or non-existent dates are invalid_input, not range errors", () => {
    for (const bad of ["2026-2-14", "2026-02-30", "2025-02-29", "20260214", "2026-13-01", "", "0099-01-01"]) {
      const err = thrown(() => calendar.isWorkday(bad));
      expect(err, bad).toBeInstanceOf(ServiceError);
      expect(err, bad).not.toBeInstanceOf(CalendarRangeError);
      expect((err as ServiceError).code).toBe("invalid_input");
      expect((err as ServiceError).status).toBe(400);
    }
    expect(calendar.isWorkday("2024-02-29")).toBe(true); // leap day exists
  });

  it("addWorkdays needs an integer n >= 1", () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      expect(() => calendar.addWorkdays("2026-02-13", n)).toThrow(ServiceError);
    }
    expect(() => calendar.workdaysBetween("2026-02-13", "2026-02-31")).toThrow("日期无效");
  });
});

describe("Asia/Shanghai helpers", () => {
  it("shanghaiDate switches at 16:00 UTC", () => {
    expect(shanghaiDate(new Date("2026-02-13T15:59:59.999Z"))).toBe("2026-02-13");
    expect(shanghaiDate(new Date("2026-02-13T16:00:00Z"))).toBe("2026-02-14");
    expect(shanghaiDate(new Date("2026-02-13T16:30:00Z"))).toBe("2026-02-14");
    expect(shanghaiDate(new Date("2025-12-31T16:00:00Z"))).toBe("2026-01-01");
    expect(() => shanghaiDate(new Date("nope"))).toThrow(ServiceError);
  });

  it("shanghaiInstant and endOfShanghaiDay are +08:00", () => {
    expect(shanghaiInstant("2026-02-14").toISOString()).toBe("2026-02-13T16:00:00.000Z");
    expect(shanghaiInstant("2026-02-14", "09:30").toISOString()).toBe("2026-02-14T01:30:00.000Z");
    expect(shanghaiInstant("2026-01-01", "07:59").toISOString()).toBe("2025-12-31T23:59:00.000Z");
    expect(endOfShanghaiDay("2026-02-14").toISOString()).toBe("2026-02-14T15:59:59.999Z");
    expect(endOfShanghaiDay("2024-02-28").toISOString()).toBe("2024-02-28T15:59:59.999Z");
    expect(shanghaiDate(endOfShanghaiDay("2026-12-31"))).toBe("2026-12-31");
    expect(shanghaiDate(new Date(endOfShanghaiDay("2026-12-31").getTime() + 1))).toBe("2027-01-01");
    for (const time of ["24:00", "9:30", "09:60", "09:30:00"]) {
      expect(() => shanghaiInstant("2026-02-14", time), time).toThrow(ServiceError);
    }
  });

  it("addCalendarDays handles month ends, leap years and years without a schedule", () => {
    expect(addCalendarDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addCalendarDays("2025-02-28", 1)).toBe("2025-03-01");
    expect(addCalendarDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addCalendarDays("2026-12-17", 15)).toBe("2027-01-01");
    expect(addCalendarDays("2026-05-20", 0)).toBe("2026-05-20");
    expect(() => addCalendarDays("2026-05-20", 0.5)).toThrow(ServiceError);
  });

  it("addCalendarMonths ends on the same day, or the month's last day when it has none (民法典 第二百零一条)", () => {
    expect(addCalendarMonths("2026-11-21", 3)).toBe("2027-02-21");
    expect(addCalendarMonths("2026-11-30", 3)).toBe("2027-02-28");
    expect(addCalendarMonths("2027-11-30", 3)).toBe("2028-02-29");
    expect(addCalendarMonths("2026-01-31", 1)).toBe("2026-02-28");
    expect(addCalendarMonths("2026-03-31", 1)).toBe("2026-04-30");
    expect(addCalendarMonths("2026-12-15", 1)).toBe("2027-01-15");
    expect(addCalendarMonths("2026-03-31", -1)).toBe("2026-02-28");
    expect(addCalendarMonths("2026-05-20", 0)).toBe("2026-05-20");
    expect(addCalendarMonths("2026-05-20", 24)).toBe("2028-05-20");
    expect(() => addCalendarMonths("2026-05-20", 1.5)).toThrow(ServiceError);
    expect(() => addCalendarMonths("2026-02-30", 1)).toThrow(ServiceError);
  });
});

describe("yearScheduleSchema", () => {
  const base = builtinSchedules().find((s) => s.year === 2026)!;
  const problems = (input: unknown) => {
    const result = yearScheduleSchema.safeParse(input);
    expect(result.success).toBe(false);
    return result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("refuses a make-up working day on a Wednesday", () => {
    expect(problems({ ...base, workdays: [{ date: "2026-03-04", name: "春节调休上班" }] })).toEqual([
      "workdays.0.date: 2026-03-04 是星期三；调休上班日只能是星期六或星期日",
    ]);
  });

  it("refuses dates outside the schedule's year", () => {
    expect(problems({ ...base, year: 2027 })).toContain("holidays.0.from: 2026-01-01 不在 2027 年内");
    expect(problems({ ...base, holidays: [{ name: "元旦", from: "2025-12-31", to: "2026-01-03" }] })).toEqual([
      "holidays.0.from: 2025-12-31 不在 2026 年内",
    ]);
  });

  it("refuses a date that does not exist", () => {
    expect(problems({ ...base, holidays: [{ name: "春节", from: "2026-02-15", to: "2026-02-30" }] })).toEqual([
      'holidays.0.to: "2026-02-30" 不是有效日期（应为存在的 YYYY-MM-DD）',
    ]);
  });

  it("refuses from after to, a day both off and on, duplicates, empty holidays and unknown keys", () => {
    expect(problems({ ...base, holidays: [{ name: "春节", from: "2026-02-23", to: "2026-02-15" }] })).toEqual([
      "holidays.0.to: 结束日期不能早于开始日期",
    ]);
    expect(problems({ ...base, workdays: [{ date: "2026-02-21", name: "冲突" }] })).toEqual([
      "workdays.0.date: 2026-02-21 同时在放假安排“春节”（2026-02-15 至 2026-02-23）之内",
    ]);
    expect(
      problems({ ...base, workdays: [{ date: "2026-02-14", name: "a" }, { date: "2026-02-14", name: "b" }] }),
    ).toEqual(["workdays.1.date: 2026-02-14 与 workdays.0 重复"]);
    expect(problems({ ...base, holidays: [] })).toEqual(["holidays: 至少应有一项放假安排"]);
    expect(problems({ ...base, note: "x" })).toEqual([": 不认识的字段：note"]);
    expect(problems({ ...base, year: 26 })).toEqual(["year: 年份应为四位数"]);
    expect(problems("2026")).toEqual([": 应为对象"]);
  });
});

describe("loadCalendarYear and loadCalendar (database)", () => {
  let database: Database;
  let ctx: ServiceContext;
  const clock = { now: () => new Date("2026-11-21T02:00:00Z") };
  const manager: Actor = { userId: "u-manager", name: "统筹管理员", unitId: "city", roles: ["manager"] };
  const applicant: Actor = { userId: "u-applicant", name: "申请人", unitId: "unit-1", roles: ["applicant"] };

  beforeAll(async () => {
    database = await createTestDatabase();
    ctx = {
      db: database.db,
      clock,
      calendar: new WorkCalendar(builtinSchedules()),
      profile: "meizhou",
      actor: null,
      channel: "cli",
    };
  });

  afterAll(async () => {
    await database?.close();
  });

  const rowCounts = async () => {
    const [years] = await database.db.select({ n: count() }).from(calendarYears);
    const [audit] = await database.db.select({ n: count() }).from(auditLog);
    return { years: years!.n, audit: audit!.n };
  };

  const loads = () =>
    database.db.select().from(auditLog).where(eq(auditLog.action, "calendar.load")).orderBy(auditLog.seq);

  it("with nothing loaded, the calendar is the built-in years", async () => {
    const loaded = await loadCalendar(database.db);
    expect(loaded.years()).toEqual([2024, 2025, 2026]);
    expect(() => loaded.isWorkday("2027-01-04")).toThrow(CalendarRangeError);
  });

  it("stores a new year, audits it, and loadCalendar then sees it", async () => {
    const before = await rowCounts();
    await expect(loadCalendarYear({ ctx, input: schedule2027 })).resolves.toEqual({ year: 2027, replaced: false, missing: [] });
    expect(await rowCounts()).toEqual({ years: before.years + 1, audit: before.audit + 1 });

    const loaded = await loadCalendar(database.db);
    expect(loaded.years()).toEqual([2024, 2025, 2026, 2027]);
    expect(loaded.addWorkdays("2026-12-31", 1)).toBe("2027-01-04");

    const [entry] = await loads();
    expect(entry).toMatchObject({
      action: "calendar.load",
      channel: "cli",
      actorId: null,
      outcome: "ok",
      at: clock.now(),
      details: { year: 2027, holidays: 7, workdays: 0, replaced: false },
    });
    const [row] = await database.db.select().from(calendarYears).where(eq(calendarYears.year, 2027));
    expect(row!.loadedAt).toEqual(clock.now());
    expect(row!.schedule).toEqual(schedule2027);
  });

  it("loading the same year again replaces it", async () => {
    const revised = { ...schedule2027, workdays: [{ date: "2027-01-09", name: "元旦调休上班" }] };
    const asManager = { ...ctx, actor: manager, channel: "api" as const };
    await expect(loadCalendarYear({ ctx: asManager, input: revised })).resolves.toEqual({ year: 2027, replaced: true, missing: [] });
    const loaded = await loadCalendar(database.db);
    expect(loaded.isWorkday("2027-01-09")).toBe(true);
    const entries = await loads();
    expect(entries.at(-1)).toMatchObject({
      actorId: "u-manager",
      actorRole: "manager",
      channel: "api",
      details: { year: 2027, holidays: 7, workdays: 1, replaced: true },
    });
  });

  it("a loaded year replaces the built-in one", async () => {
    const base = builtinSchedules().find((s) => s.year === 2024)!;
    // Suppose the notice had made 除夕 a holiday.
    const revised = {
      ...base,
      holidays: base.holidays.map((h) => (h.name === "春节" ? { ...h, from: "2024-02-09" } : h)),
    };
    await expect(loadCalendarYear({ ctx, input: revised })).resolves.toEqual({ year: 2024, replaced: true, missing: [] });
    const loaded = await loadCalendar(database.db);
    expect(loaded.years()).toEqual([2024, 2025, 2026, 2027]);
    expect(loaded.isWorkday("2024-02-09")).toBe(false);
    expect(new WorkCalendar(builtinSchedules()).isWorkday("2024-02-09")).toBe(true);
  });

  it("an invalid file writes nothing and lists every bad field", async () => {
    const before = await rowCounts();
    const err = await rejected(
      loadCalendarYear({
        ctx,
        input: {
          year: 2027,
          source: "测试",
          url: "not a url",
          extra: true,
          holidays: [
            { name: "元旦", from: "2027-01-01", to: "2027-01-03" },
            { name: "春节", from: "2027-02-10", to: "2027-02-06" },
            { name: "", from: "2027-02-30", to: "2028-01-01" },
          ],
          workdays: [
            { date: "2027-01-06", name: "周三" },
            { date: "2027-01-02", name: "与元旦冲突" },
            { date: "2026-12-26", name: "去年" },
          ],
        },
      }),
    );
    expect(err.code).toBe("invalid_input");
    expect(err.status).toBe(400);
    expect(err.message).toBe("工作日历文件无效");
    expect(Object.keys(err.fields!).sort()).toEqual(
      [
        "url",
        "extra",
        "holidays[1].to",
        "holidays[2].name",
        "holidays[2].from",
        "holidays[2].to",
        "workdays[0].date",
        "workdays[1].date",
        "workdays[2].date",
      ].sort(),
    );
    expect(err.fields!.extra).toEqual(["不认识的字段「extra」"]);
    expect(err.fields!["holidays[2].to"]).toEqual(["2028-01-01 不在 2027 年内"]);
    expect(err.fields!["workdays[1].date"]).toEqual(["2027-01-02 同时在放假安排“元旦”（2027-01-01 至 2027-01-03）之内"]);
    expect(await rowCounts()).toEqual(before);
    expect((await loadCalendar(database.db)).isWorkday("2027-01-09")).toBe(true); // the earlier 2027 stands
  });

  it("a file that is not an object is reported against the whole file", async () => {
    const err = await rejected(loadCalendarYear({ ctx, input: "2027" }));
    expect(err.fields).toEqual({ "(根)": ["应为对象"] });
  });

  it("only a manager or the CLI operator may load; a refusal changes nothing but is audited", async () => {
    const before = await rowCounts();
    const asApplicant = { ...ctx, actor: applicant, channel: "api" as const };
    const err = await rejected(loadCalendarYear({ ctx: asApplicant, input: schedule2027 }));
    expect(err.code).toBe("forbidden");
    expect(err.status).toBe(403);
    // Authorisation comes before validation: a non-manager learns nothing about the file.
    const err2 = await rejected(loadCalendarYear({ ctx: asApplicant, input: { year: "x" } }));
    expect(err2.code).toBe("forbidden");
    expect(await rowCounts()).toEqual({ years: before.years, audit: before.audit + 2 });
  });

  it("a year without every statutory holiday is refused; --override with a reason loads it, and the audit says so", async () => {
    const onlyNewYear = { ...schedule2027, year: 2028, holidays: [{ name: "元旦", from: "2028-01-01", to: "2028-01-03" }] };
    const before = await rowCounts();
    const err = await rejected(loadCalendarYear({ ctx, input: onlyNewYear }));
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      "2028 年工作日历缺少法定节假日：春节、清明节、劳动节、端午节、中秋节、国庆节。国务院办公厅的放假通知每年都安排这七个节日，请按通知补全；" +
        '如确需先加载不完整的安排，请加 --override "原因"',
    );
    expect(err.fields).toEqual({ holidays: ["缺少春节", "缺少清明节", "缺少劳动节", "缺少端午节", "缺少中秋节", "缺少国庆节"] });
    for (const override of ["", "   "]) {
      const empty = await rejected(loadCalendarYear({ ctx, input: onlyNewYear, override }));
      expect(empty.fields).toEqual({ override: ["--override 需要写明原因"] });
    }
    expect(await rowCounts()).toEqual(before);

    const reason = "通知尚未公布，先按元旦加载以便计算 1 月的期限";
    const loaded = await loadCalendarYear({ ctx, input: onlyNewYear, override: reason });
    expect(loaded).toEqual({ year: 2028, replaced: false, missing: ["春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"] });
    expect((await loads()).at(-1)!.details).toEqual({
      year: 2028,
      holidays: 1,
      workdays: 0,
      replaced: false,
      override: reason,
      missing: loaded.missing,
    });
    expect((await loadCalendar(database.db)).years()).toContain(2028);
  });
});

describe("statutory holidays and the missing year", () => {
  it("every built-in year has all seven; a name may hold two (2025: 国庆节、中秋节) or a longer form (五一劳动节)", () => {
    for (const schedule of builtinSchedules()) expect(missingStatutoryHolidays(schedule), String(schedule.year)).toEqual([]);
    expect(builtinSchedules().find((s) => s.year === 2025)!.holidays.map((h) => h.name)).toContain("国庆节、中秋节");
    const renamed = schedule2027.holidays.map((h) => (h.name === "劳动节" ? { ...h, name: "五一劳动节" } : h));
    expect(missingStatutoryHolidays({ holidays: renamed })).toEqual([]);
    expect(missingStatutoryHolidays({ holidays: renamed.filter((h) => h.name !== "中秋节") })).toEqual(["中秋节"]);
  });

  it("from 1 December (Beijing time) the next year is missing until it is loaded; the current year always is", () => {
    const builtIn = new WorkCalendar(builtinSchedules());
    expect(missingCalendarYear(builtIn, new Date("2026-11-30T15:59:59Z"))).toBeNull(); // 23:59:59 on 30 November
    expect(missingCalendarYear(builtIn, new Date("2026-11-30T16:00:00Z"))).toBe(2027); // 00:00 on 1 December
    expect(missingCalendarYear(builtIn, new Date("2026-12-31T12:00:00Z"))).toBe(2027);
    expect(missingCalendarYear(builtIn.withYear(schedule2027), new Date("2026-12-31T12:00:00Z"))).toBeNull();
    expect(missingCalendarYear(builtIn, new Date("2027-03-01T00:00:00Z"))).toBe(2027);
    expect(calendarHealth(builtIn, new Date("2026-11-30T00:00:00Z"))).toEqual({});
    expect(calendarHealth(builtIn, new Date("2026-12-01T00:00:00Z"))).toEqual({
      calendar: {
        missingYear: 2027,
        message: "尚未加载 2027 年工作日历：落在 2027 年的工作日期限将无法计算。请在国务院办公厅公布 2027 年放假安排后，用 yunshen calendar load FILE 加载",
      },
    });
  });
});

describe("a service without next year's calendar from 1 December", () => {
  it("says so on /healthz (status ok) and tells each manager once, through the outbox, until the year is loaded", async () => {
    // 23:00 on 30 November, Beijing time.
    const t = await createTestApp({ now: "2026-11-30T15:00:00Z" });
    try {
      const sent: string[] = [];
      const calendars = { current: () => t.ctx().calendar, refresh: async () => false };
      const round = () => runJobsOnce({ db: t.db, clock: t.clock, calendars, profile: "meizhou", senders: everyChannel(consoleSender((l) => sent.push(l))) });
      const calendarCards = () => t.db.select().from(outbox).where(eq(outbox.kind, "calendar"));

      expect(ok(await t.call(null, "GET", "/healthz"))).toEqual({ status: "ok" });
      await round();
      expect(await calendarCards()).toEqual([]);

      t.clock.set("2026-11-30T16:00:00Z"); // 00:00 on 1 December
      const health = ok(await t.call(null, "GET", "/healthz"));
      expect(health).toEqual({ status: "ok", calendar: { missingYear: 2027, message: missingCalendarText(2027) } });
      await round();
      t.clock.set("2026-12-02T01:00:00Z");
      await round();
      const cards = await calendarCards();
      expect(cards.map((c) => c.userId).sort()).toEqual(["chenjing", "zhangwei"]);
      expect(cards.every((c) => c.status === "sent")).toBe(true);
      const told = sent.filter((l) => l.includes("请加载 2027 年工作日历"));
      expect(told).toHaveLength(2);
      expect(told[0]).toContain("yunshen calendar load FILE");

      await loadCalendarYear({ ctx: t.ctx(), input: schedule2027 });
      t.setCalendar(await loadCalendar(t.db));
      expect(ok(await t.call(null, "GET", "/healthz"))).toEqual({ status: "ok" });
      await round();
      expect(await calendarCards()).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});
