import { and, count, eq, notExists, sql } from "drizzle-orm";
import { inboundEvents, requests, resources, units } from "../../db/schema";
import type { Card } from "../../cards";
import type { TermRule } from "../../profiles";
import { addCalendarDays, shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { onceFor } from "../core/once";
import { usersWithRole } from "../directory/queries";

const SCOPE = "term-reminder";

/**
 * 申请期限 (002 附件1): an application "至指定日期" whose resources are still in use when the day draws near. The
 * document asks for the 期限 on the form and says nothing of what happens when it runs out, so yunshen tells and
 * does nothing else: the unit's applicants `rule.noticeDays` calendar days before (to ask for what they need, or to
 * 注销 under 第二十二条), then the unit's applicants and the managers once the day has passed with the resources
 * still delivered. Each is sent once per application; audited as `request.term_reminder`.
 */
export async function termReminders(ctx: ServiceContext, rule: TermRule): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const horizon = addCalendarDays(today, rule.noticeDays);
  const timer = { ...ctx, actor: null, channel: "timer" as const };
  const until = sql<string>`${requests.form} -> 'term' ->> 'until'`;
  // "至 2029-12-31" includes that day: the term has run out from the next.
  const phase = sql<"expired" | "soon">`case when ${until} < ${today} then 'expired' else 'soon' end`;
  const markerKey = sql`${requests.id}::text || ':' || ${phase}`;
  const due = await ctx.db
    .select({ id: requests.id, code: requests.code, title: requests.title, unitId: requests.unitId, unitName: units.name, until, phase, inUse: count(resources.id) })
    .from(requests)
    .innerJoin(units, eq(units.id, requests.unitId))
    .innerJoin(resources, and(eq(resources.requestId, requests.id), eq(resources.status, "delivered")))
    .where(
      and(
        eq(requests.flow, "application"),
        sql`${requests.form} -> 'term' ->> 'kind' = 'until'`,
        sql`${until} <= ${horizon}`,
        // Told already: not looked at again every job round (the marker inside the transaction settles races).
        notExists(ctx.db.select({ key: inboundEvents.key }).from(inboundEvents).where(and(eq(inboundEvents.scope, SCOPE), eq(inboundEvents.key, markerKey)))),
      ),
    )
    .groupBy(requests.id, units.name);
  let told = 0;
  for (const app of due) {
    const expired = app.phase === "expired";
    const sent = await mutate(timer, { action: "request.term_reminder", requestId: app.id }, async (tx, j) => {
      if (!(await onceFor(ctx, tx, { scope: SCOPE, key: `${app.id}:${app.phase}` }))) return false;
      const applicants = await usersWithRole(tx, "applicant", { unitId: app.unitId });
      const managers = expired ? await usersWithRole(tx, "manager") : [];
      const card: Card = {
        title: expired ? "申请期限已届满，资源仍在使用" : "申请期限即将届满",
        tone: "warning",
        summary: expired
          ? `「${app.title}」（${app.code}）的申请期限已于 ${app.until} 届满，仍有 ${app.inUse} 项资源在用。需继续使用的请与统筹管理单位确认，不再使用的请申请注销（${rule.article}、002 第二十二条）`
          : `「${app.title}」（${app.code}）的申请期限至 ${app.until}，届时仍有 ${app.inUse} 项资源在用。需继续使用的请提前与统筹管理单位确认，不再使用的请申请注销（${rule.article}、002 第二十二条）`,
        fields: [
          { label: "单位", value: app.unitName },
          { label: "申请", value: app.code },
          { label: "申请期限", value: `至 ${app.until}` },
          { label: "在用资源", value: `${app.inUse} 项` },
        ],
        actions: [],
        link: `/api/requests/${app.id}`,
        open: { label: "打开申请", path: `/requests/${app.code}` },
      };
      await enqueueCards(tx, ctx.clock.now(), [...applicants, ...managers].map((u) => u.id), "term", card, `term:${app.id}:${app.phase}`);
      j.add({ action: "request.term_reminder", requestId: app.id, details: { until: app.until, expired, inUse: app.inUse, article: rule.article } });
      return true;
    });
    if (sent) told++;
  }
  return told;
}
