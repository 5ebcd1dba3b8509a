import type { Card } from "../../cards";
import type { ServiceContext } from "../core/context";
import { usersWithRole } from "../directory/queries";
import { enqueueCards } from "../core/notify";
import { missingCalendarText, missingCalendarYear } from "../core/calendar";

/**
 * Tells the managers (统筹管理单位), once per missing year, that the service lacks a year it needs: the current one,
 * or from 1 December the next. The outbox key is per year and manager, so every job round may ask again and
 * each manager gets it once.
 */
export async function remindMissingCalendar(ctx: ServiceContext): Promise<number | null> {
  const year = missingCalendarYear(ctx.calendar, ctx.clock.now());
  if (year === null) return null;
  const managers = (await usersWithRole(ctx.db, "manager")).map((u) => u.id);
  const card: Card = {
    title: `请加载 ${year} 年工作日历`,
    tone: "warning",
    summary: missingCalendarText(year),
    fields: [{ label: "年度", value: String(year) }],
    actions: [],
    link: "",
  };
  await enqueueCards(ctx.db, ctx.clock.now(), managers, "calendar", card, `calendar-missing:${year}`);
  return year;
}
