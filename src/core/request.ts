import { and, eq, exists, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, tasks, units } from "../../db/schema";
import type { Actor } from "./context";
import { seesEveryUnit } from "./roles";

export type RequestRow = typeof requests.$inferSelect;
/** A request row read under its row lock, with its unit's name: what every step on one request works with. */
export type LockedRequest = RequestRow & { unitName: string };

/**
 * Which requests a person sees, as a condition on `requests` (undefined: all of them). The one rule for a request's
 * page, the lists and its attachments: the city's manager, provider and reviewer see all; a county bureau sees its
 * county's units; an applicant sees their own unit's; anyone who holds or held a task on it sees it.
 */
export async function requestVisibility(db: Db, actor: Actor): Promise<SQL | undefined> {
  if (seesEveryUnit(actor)) return undefined;
  const mine: SQL[] = [
    eq(requests.applicantId, actor.userId),
    exists(db.select({ one: sql`1` }).from(tasks).where(and(eq(tasks.requestId, requests.id), eq(tasks.userId, actor.userId)))),
  ];
  if (actor.roles.includes("applicant")) mine.push(eq(requests.unitId, actor.unitId));
  if (actor.roles.includes("county_bureau")) {
    const inCounty = db.select({ id: units.id }).from(units).where(eq(units.parentId, actor.unitId));
    mine.push(inArray(requests.unitId, inCounty), eq(requests.unitId, actor.unitId));
  }
  // 002 第二十三条: a 主管单位审核人 sees the requests of the 主管单位's 下属单位.
  if (actor.roles.includes("unit_supervisor")) {
    const subordinates = db.select({ id: units.id }).from(units).where(eq(units.supervisorId, actor.unitId));
    mine.push(inArray(requests.unitId, subordinates));
  }
  return or(...mine);
}
