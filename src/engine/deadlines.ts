import { addCalendarDays, addCalendarMonths, calendarDaysBetween, CalendarRangeError, endOfShanghaiDay, shanghaiDate, shanghaiInstant, type WorkCalendar } from "../core/calendar";
import type { DeadlineSpec } from "../../flows/types";

export interface StageTimes {
  deadlineAt: Date | null;
  /** 催办: 09:00 on the working day before the deadline day (or on the deadline day when the stage opened later). */
  remindAt: Date | null;
}

const REMIND_AT = "09:00";

/**
 * A deadline on a day the request's facts name ({ onDateOf }), as calendar days from the day `openedAt` falls on
 * (negative when that day has passed: a stage reopened after its date is due at once); any other spec as it is.
 */
export function concreteDeadline(spec: DeadlineSpec, facts: unknown, openedAt: Date): DeadlineSpec {
  if (!("onDateOf" in spec)) return spec;
  const day = (facts as Record<string, unknown> | null)?.[spec.onDateOf];
  if (typeof day !== "string") throw new Error(`deadline names fact ${spec.onDateOf}, which the request does not have`);
  return { calendarDays: calendarDaysBetween(shanghaiDate(openedAt), day) };
}

/** The given day of `date`'s month, or the month's last day when it is shorter. */
function dayOfMonth(date: string, day: number): string {
  const lastDay = Number(addCalendarDays(addCalendarMonths(`${date.slice(0, 8)}01`, 1), -1).slice(8));
  return `${date.slice(0, 8)}${String(Math.min(day, lastDay)).padStart(2, "0")}`;
}

/**
 * A stage's deadline: the end (Asia/Shanghai) of the Nth working day after the day it opened, the opening
 * day not counted; or the end of the Nth calendar day, month, or the given day of the month. Throws
 * CalendarRangeError past the loaded years for working days only: a calendar deadline stands without the
 * calendar, and only its 催办 day, the working day before, falls back to the calendar day before.
 */
function stageTimes(calendar: WorkCalendar, openedAt: Date, spec: DeadlineSpec, anchorAt?: Date): StageTimes {
  const start = shanghaiDate(anchorAt ?? openedAt);
  const deadlineDay =
    "workdays" in spec
      ? calendar.addWorkdays(start, spec.workdays)
      : "calendarDays" in spec
        ? addCalendarDays(start, spec.calendarDays)
        : "calendarMonths" in spec
          ? addCalendarMonths(start, spec.calendarMonths)
          : "dayOfMonth" in spec
            ? dayOfMonth(start, spec.dayOfMonth)
            : (() => {
                throw new Error(`deadline on the day of ${spec.onDateOf} must be made concrete first (concreteDeadline)`);
              })();
  const deadlineAt = endOfShanghaiDay(deadlineDay);
  let remindAt: Date | null = shanghaiInstant(remindDay(calendar, deadlineDay, spec), REMIND_AT);
  if (remindAt <= openedAt) remindAt = shanghaiInstant(deadlineDay, REMIND_AT);
  if (remindAt <= openedAt || remindAt >= deadlineAt) remindAt = null;
  return { deadlineAt, remindAt };
}

function remindDay(calendar: WorkCalendar, deadlineDay: string, spec: DeadlineSpec): string {
  try {
    return calendar.previousWorkday(deadlineDay);
  } catch (err) {
    if (err instanceof CalendarRangeError && !("workdays" in spec)) return addCalendarDays(deadlineDay, -1);
    throw err;
  }
}

/**
 * Like stageTimes, but a deadline past the loaded calendar leaves the stage without one rather than blocking
 * the action that opens it; `recomputePendingDeadlines` fills it in once the next year is loaded.
 */
export function stageTimesOrPending(
  calendar: WorkCalendar,
  openedAt: Date,
  spec: DeadlineSpec,
  anchorAt?: Date,
): StageTimes & { pending: boolean } {
  try {
    return { ...stageTimes(calendar, openedAt, spec, anchorAt), pending: false };
  } catch (err) {
    if (err instanceof CalendarRangeError) return { deadlineAt: null, remindAt: null, pending: true };
    throw err;
  }
}

/** Working days from the stage's opening day to today, and left until the deadline day (negative when late). */
export function workdaysUsedAndLeft(calendar: WorkCalendar, openedAt: Date, deadlineAt: Date | null, now: Date) {
  try {
    const today = shanghaiDate(now);
    const used = calendar.workdaysBetween(shanghaiDate(openedAt), today);
    const left = deadlineAt ? calendar.workdaysBetween(today, shanghaiDate(deadlineAt)) : null;
    return { used, left };
  } catch (err) {
    if (err instanceof CalendarRangeError) return { used: null, left: null };
    throw err;
  }
}
