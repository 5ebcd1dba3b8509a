import { and, eq, isNotNull, isNull, min, sql } from "drizzle-orm";
import { requests, resources, systems, units } from "../../db/schema";
import type { Card } from "../../cards";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { onceFor } from "../core/once";
import { usersWithRole } from "../directory/queries";

const SCOPE = "mlps-reminder";

/**
 * 004 第三十八条: "系统上线运行后，云资源使用单位需及时对该系统进行信息安全等级保护…定级、备案…等级测评". Once a
 * registered system's resources are live (the 系统上线 of its application) and its register has no 等保 备案, the
 * unit's applicants are reminded, and again each month while it is missing. "及时" sets no number of days, so the
 * first reminder comes in the round after go-live and the month is the cadence an operator would expect; the
 * reminder stops once the unit records the 备案 on the register (PATCH /api/systems/{id}). Audited as
 * `system.mlps_reminder`.
 */
export async function mlpsReminders(ctx: ServiceContext): Promise<number> {
  const month = shanghaiDate(ctx.clock.now()).slice(0, 7);
  const timer = { ...ctx, actor: null, channel: "timer" as const };
  const due = await ctx.db
    .select({ id: systems.id, name: systems.name, unitId: systems.unitId, unitName: units.name, liveAt: min(resources.liveAt) })
    .from(systems)
    .innerJoin(units, eq(units.id, systems.unitId))
    .innerJoin(requests, and(eq(requests.unitId, systems.unitId), sql`(${requests.facts} -> 'system' ->> 'id') = ${systems.id}::text`))
    .innerJoin(resources, and(eq(resources.requestId, requests.id), isNotNull(resources.liveAt)))
    .where(isNull(systems.mlpsLevel))
    .groupBy(systems.id, units.name);
  let told = 0;
  for (const system of due) {
    const sent = await mutate(timer, { action: "system.mlps_reminder" }, async (tx, j) => {
      if (!(await onceFor(ctx, tx, { scope: SCOPE, key: `${system.id}:${month}` }))) return false;
      const applicants = await usersWithRole(tx, "applicant", { unitId: system.unitId });
      const liveOn = shanghaiDate(system.liveAt!);
      const card: Card = {
        title: "请及时开展信息安全等级保护",
        tone: "warning",
        summary: `「${system.name}」已于 ${liveOn} 上线运行，系统登记中尚无等级保护备案。请及时完成定级、备案、等级测评，并在系统登记中录入（004 第三十八条）`,
        fields: [
          { label: "单位", value: system.unitName },
          { label: "系统", value: system.name },
          { label: "上线日期", value: liveOn },
        ],
        actions: [],
        link: `/api/systems/${system.id}`,
        open: { label: "打开系统登记", path: "/systems" },
      };
      await enqueueCards(tx, ctx.clock.now(), applicants.map((u) => u.id), "system", card, `mlps:${system.id}:${month}`);
      j.add({ action: "system.mlps_reminder", details: { systemId: system.id, month, liveOn } });
      return true;
    });
    if (sent) told++;
  }
  return told;
}
