import { and, eq, isNotNull, isNull, min, or, sql } from "drizzle-orm";
import { requests, resources, systems, units } from "../../db/schema";
import type { Card } from "../../cards";
import type { MlpsRule } from "../../profiles";
import { addCalendarMonths, shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { onceFor } from "../core/once";
import { usersWithRole } from "../directory/queries";

const SCOPE = "mlps-reminder";

const MILESTONE = { delivered: resources.deliveredAt, deployed: resources.deployedAt, live: resources.liveAt } as const;
const MILESTONE_NAMES = { delivered: "上云部署", deployed: "部署", live: "上线运行" } as const;

/**
 * 等保 after the system reaches the cloud, as the profile's document has it (MlpsRule): 梅州 004 第三十八条 "系统上线
 * 运行后…及时…定级、备案"; 徽州 001 第二十八条 "系统上云部署 6 个月内…完成…定级、备案及测评…提交…备案证明及测评报告".
 * 高创中心 000 6.2 and 巴中 003 第三十三条 ask the unit for the 测评 and the 密码应用安全性评估 alike (`rule.crypto`).
 * Once a registered system's resources reach `rule.from` and its register lacks what completes its 等保, the unit's
 * applicants are reminded in the next job round and again each month; past a due date the managers (云主管部门) are
 * warned with them. "及时" sets no number of days, so the month is the cadence an operator would expect. The
 * reminders stop once the unit records it on the register (PATCH /api/systems/{id}). Audited as
 * `system.mlps_reminder`.
 */
export async function mlpsReminders(ctx: ServiceContext, rule: MlpsRule): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const month = today.slice(0, 7);
  const timer = { ...ctx, actor: null, channel: "timer" as const };
  const reached = MILESTONE[rule.from];
  const mlpsIncomplete =
    rule.complete === "filed" ? isNull(systems.mlpsLevel) : or(isNull(systems.mlpsLevel), isNull(systems.mlpsTestedOn), isNull(systems.mlpsFileId));
  // 000 6.2, 003 第三十三条: the 密评 too, and a conclusion of 不符合 does not complete it.
  const cryptoIncomplete = or(isNull(systems.cryptoAssessedOn), eq(systems.cryptoResult, "fail"));
  const incomplete = rule.crypto ? or(mlpsIncomplete, cryptoIncomplete) : mlpsIncomplete;
  const due = await ctx.db
    .select({
      id: systems.id,
      name: systems.name,
      unitId: systems.unitId,
      unitName: units.name,
      since: min(reached),
      mlpsDone: sql<boolean>`bool_and(not (${mlpsIncomplete}))`,
      cryptoResult: sql<string | null>`min(${systems.cryptoResult})`,
    })
    .from(systems)
    .innerJoin(units, eq(units.id, systems.unitId))
    .innerJoin(requests, and(eq(requests.unitId, systems.unitId), sql`(${requests.facts} -> 'system' ->> 'id') = ${systems.id}::text`))
    .innerJoin(resources, and(eq(resources.requestId, requests.id), isNotNull(reached)))
    .where(incomplete)
    .groupBy(systems.id, units.name);
  let told = 0;
  for (const system of due) {
    const since = shanghaiDate(system.since!);
    const dueOn = rule.withinMonths === null ? null : addCalendarMonths(since, rule.withinMonths);
    const overdue = dueOn !== null && today > dueOn;
    const sent = await mutate(timer, { action: "system.mlps_reminder" }, async (tx, j) => {
      if (!(await onceFor(ctx, tx, { scope: SCOPE, key: `${system.id}:${month}` }))) return false;
      const applicants = await usersWithRole(tx, "applicant", { unitId: system.unitId });
      const managers = overdue ? await usersWithRole(tx, "manager") : [];
      const mlpsNeeded = rule.complete === "filed" ? "定级、备案" : "定级、备案及测评，并在系统登记中上传备案证明及测评报告";
      // Where the article asks for the 密评 too, the card says which of the two is missing.
      const cryptoMissing = rule.crypto === true && (system.cryptoResult === null || system.cryptoResult === "fail");
      const mlpsMissing = !rule.crypto || !system.mlpsDone;
      const needed = !rule.crypto
        ? mlpsNeeded
        : [
            ...(mlpsMissing ? [`等级保护${mlpsNeeded}`] : []),
            ...(cryptoMissing
              ? [system.cryptoResult === "fail" ? "商用密码应用改造并重新开展密码应用安全性评估（现有结论为“不符合”）" : "密码应用安全性评估，并在系统登记中录入密评日期和结论"]
              : []),
          ].join("；");
      const record = rule.crypto ? [...(mlpsMissing ? ["等级保护"] : []), ...(cryptoMissing ? ["密码应用安全性评估"] : [])].join("和") : "等级保护";
      const card: Card = {
        title: overdue ? "等级保护工作已超期" : rule.crypto ? "请及时开展等级保护测评和密码应用安全性评估" : "请及时开展信息安全等级保护",
        tone: "warning",
        summary:
          `「${system.name}」已于 ${since} ${MILESTONE_NAMES[rule.from]}，系统登记中${record}记录尚不完整。` +
          `请${dueOn ? `于 ${dueOn} 前` : "及时"}完成${needed}（${rule.article}）` +
          (overdue ? `，已超过期限` : ""),
        fields: [
          { label: "单位", value: system.unitName },
          { label: "系统", value: system.name },
          { label: MILESTONE_NAMES[rule.from], value: since },
          ...(dueOn ? [{ label: "期限", value: dueOn }] : []),
        ],
        actions: [],
        link: `/api/systems/${system.id}`,
        open: { label: "打开系统登记", path: "/systems" },
      };
      await enqueueCards(tx, ctx.clock.now(), [...applicants, ...managers].map((u) => u.id), "system", card, `mlps:${system.id}:${month}`);
      j.add({
        action: "system.mlps_reminder",
        details: { systemId: system.id, month, since, due: dueOn, overdue, article: rule.article, ...(rule.crypto ? { missing: { mlps: mlpsMissing, crypto: cryptoMissing } } : {}) },
      });
      return true;
    });
    if (sent) told++;
  }
  return told;
}
