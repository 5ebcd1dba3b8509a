import { and, asc, eq, gte, isNull, lte, or } from "drizzle-orm";
import { z } from "zod";
import { resources, units } from "../../db/schema";
import { endOfShanghaiDay, shanghaiInstant } from "../calendar";
import type { ServiceContext } from "../context";
import { BOM, csvRow } from "../csv";
import { forbidden } from "../errors";
import { resourceSizeHistory } from "../resources";
import { listPriceTables } from "./prices";
import { monthDays, statementFor } from "./statement";

export const statementQuery = z.object({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "应为月份 YYYY-MM"),
  format: z.enum(["json", "csv"]).default("json"),
});

/**
 * The month's statement as it stands: every resource held during the month, counted per day at its size and
 * price. (The monthly sign-off flow around it — export, check, submit, approve, three signatures — is next.)
 */
export async function draftStatement({ ctx, input }: { ctx: ServiceContext; input: { month: string } }) {
  if (ctx.actor && !ctx.actor.roles.some((r) => r === "provider" || r === "manager" || r === "reviewer"))
    throw forbidden("费用结算单由云服务商编制，统筹管理单位和复核单位审核");
  const { first, last } = monthDays(input.month);
  const held = await ctx.db
    .select({ r: resources, unitName: units.name })
    .from(resources)
    .innerJoin(units, eq(units.id, resources.unitId))
    .where(and(lte(resources.deliveredAt, endOfShanghaiDay(last)), or(isNull(resources.revokedAt), gte(resources.revokedAt, shanghaiInstant(first)))))
    .orderBy(asc(resources.id));
  const sizes = await resourceSizeHistory(ctx.db, held.map((h) => h.r.id));
  const statement = statementFor(input.month, held.map((h) => h.r), sizes, await listPriceTables(ctx.db));
  const names = new Map(held.map((h) => [h.r.unitId, h.unitName]));
  return { ...statement, units: statement.units.map((u) => ({ ...u, unitName: names.get(u.unitId) ?? u.unitId })) };
}

const FLAG_NAMES: Record<string, string> = { new: "新增", adjusted: "调整", revoked: "撤销", backup: "备份", unpriced: "无单价" };

/** The statement's lines as CSV for Excel (a BOM, and a 合计 row). */
export function statementCsv(s: Awaited<ReturnType<typeof draftStatement>>): string {
  const lines = [BOM + csvRow(["资源", "单位", "系统", "类型", "计费天数", "金额(元)", "标记", "明细"])];
  for (const l of s.lines)
    lines.push(
      csvRow([
        l.name,
        l.unitId,
        l.system,
        l.kind,
        l.days,
        l.amount.toFixed(2),
        l.flags.map((f) => FLAG_NAMES[f]).join("、"),
        l.segments.map((g) => `${g.from}~${g.to} ${g.days}天×${g.dayPrice ?? "无单价"}`).join("；"),
      ]),
    );
  lines.push(csvRow(["合计", "", "", "", "", s.total.toFixed(2), "", ""]));
  return lines.join("");
}
