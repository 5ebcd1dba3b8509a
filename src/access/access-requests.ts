import { inArray } from "drizzle-orm";
import type { Db } from "../../db/client";
import { hosts } from "../../db/schema";
import { CalendarRangeError, endOfShanghaiDay, shanghaiDate, type WorkCalendar } from "../core/calendar";
import type { Actor } from "../core/context";
import { unprocessable } from "../core/errors";

// What 虚拟机账号申请 and 端口开放申请 share: who may ask, on which hosts, and how a validity becomes an end date.

/** Access requests (accounts, ports): security staff, or an applicant (for their own unit, checked per flow). */
export function accessRequestRefusal(actor: Actor): string | null {
  return actor.roles.includes("security_officer") || actor.roles.includes("applicant")
    ? null
    : "虚拟机账号和端口开放由安全管理员或使用单位申请人申请";
}

/** How long an account or a grant holds: N working days from the approval's completion, or until a date. */
export type Validity = { workdays: number } | { until: string };

/** The end of a validity, Shanghai time. */
export function validUntilFrom(calendar: WorkCalendar, completedAt: Date, validity: Validity): Date {
  try {
    const day = "workdays" in validity ? calendar.addWorkdays(shanghaiDate(completedAt), validity.workdays) : validity.until;
    const end = endOfShanghaiDay(day);
    if (end <= completedAt) throw unprocessable("validity_past", `有效期 ${day} 已过，请退回申请人修改`);
    return end;
  } catch (err) {
    if (err instanceof CalendarRangeError)
      throw unprocessable("calendar_out_of_range", "有效期超出已加载的工作日历，请先加载下一年的放假安排（yunshen calendar load）");
    throw err;
  }
}


/** Refuses a request naming hosts that are not registered, or whose registration was revoked. */
export async function requireRegisteredHosts(tx: Db, hostIds: string[]): Promise<void> {
  const known = await tx.select().from(hosts).where(inArray(hosts.id, hostIds));
  const missing = hostIds.filter((h) => !known.some((k) => k.id === h && !k.revokedAt));
  if (missing.length > 0)
    throw unprocessable("unknown_host", `主机未登记或已吊销：${missing.join("、")}`, { "form.hosts": missing.map((h) => `${h} 未登记`) });
}
