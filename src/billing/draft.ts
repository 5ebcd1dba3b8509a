import { and, asc, eq, gt, gte, isNotNull, isNull, lt, lte, max, min, or, sql } from "drizzle-orm";
import { html } from "hono/html";
import { z } from "zod";
import type { Db } from "../../db/client";
import { requests, resources, stageRuns, tasks, units, users, vmDailyMetrics } from "../../db/schema";
import { endOfShanghaiDay, monthDays, shanghaiDate, shanghaiInstant } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { CsvDecimal, csvDocument } from "../core/csv";
import { forbidden, notFound } from "../core/errors";
import { monthSchema } from "../core/validation";
import { resourceSizeHistory } from "../resources";
import { listPriceTables } from "./prices";
import { statementFor } from "./statement";
import { fundingLine, fundingTable, type FundingShare } from "./funding";
import { seesEveryUnit } from "../core/roles";

/** What a 费用结算 request carries: the statement as drafted, its totals and flags, and its hash. */
export interface BillingFacts {
  month: string;
  total: number;
  units: { unitId: string; unitName: string; amount: number }[];
  lineCount: number;
  /** Lines the reviewer looks at first: counts of new, adjusted, revoked, backup, unpriced and dates not matching. */
  flagged: Record<string, number>;
  /** SHA-256 of the statement's canonical JSON as drafted: what the three parties sign. */
  sha256: string;
  /** The statement itself as drafted (lines and segments), so what is printed is what was signed. */
  statement: unknown;
}

/** The flags of a statement's lines as the reviewer reads them. */
export const BILLING_FLAG_NAMES: Record<string, string> = { new: "新增", adjusted: "调整", revoked: "撤销", backup: "备份", unpriced: "无单价", dates: "日期不符" };

export const statementQuery = z.object({
  month: monthSchema,
  format: z.enum(["json", "csv"]).default("json"),
  // "signoff": the statement as drafted into the month's sign-off (what is signed); "ledger": as it stands now.
  // Without it, the sign-off's when there is one.
  source: z.enum(["signoff", "ledger"]).optional(),
});

function requireStatementReader(ctx: ServiceContext) {
  if (ctx.actor && !seesEveryUnit(ctx.actor))
    throw forbidden("费用结算单由云服务商编制，统筹管理单位和复核单位审核");
}

/**
 * The month's statement as it stands: every resource held during the month, counted per day at its size and
 * price, with the days the monitoring saw each VM running (under its cloud id) to check the billed dates by.
 */
export async function draftStatement({ ctx, input }: { ctx: ServiceContext; input: { month: string } }) {
  requireStatementReader(ctx);
  const { first, last } = monthDays(input.month);
  const start = shanghaiInstant(first);
  // One read of the month's monitoring: the first and last day each VM (by its cloud id) was seen running.
  const ran = ctx.db
    .select({ vm: vmDailyMetrics.vm, first: min(vmDailyMetrics.date).as("first_seen"), last: max(vmDailyMetrics.date).as("last_seen") })
    .from(vmDailyMetrics)
    .where(and(gte(vmDailyMetrics.date, first), lte(vmDailyMetrics.date, last), gt(vmDailyMetrics.samples, 0)))
    .groupBy(vmDailyMetrics.vm)
    .as("ran");
  const revokedBefore = and(isNotNull(resources.revokedAt), lt(resources.revokedAt, start))!;
  const held = await ctx.db
    .select({ r: resources, unitName: units.name, seenFirst: ran.first, seenLast: ran.last })
    .from(resources)
    .innerJoin(units, eq(units.id, resources.unitId))
    .leftJoin(ran, eq(ran.vm, resources.instanceId))
    .where(
      or(
        // Billed from billedFrom (the delivery, or a 巴中 system's deployment: 003 第四十三条); none yet, not billed.
        and(lte(resources.billedFrom, endOfShanghaiDay(last)), or(isNull(resources.revokedAt), gte(resources.revokedAt, start))),
        // VMs revoked before the month that the monitoring still saw running in it: not billed, but shown for the check.
        and(revokedBefore, isNotNull(ran.vm)),
      ),
    )
    // Those revoked before the month after the rest, each part by id: the lines' order goes into the signed hash.
    .orderBy(revokedBefore, asc(resources.id));
  const sizes = await resourceSizeHistory(ctx.db, held.map((h) => h.r.id));
  const seen = new Map(held.filter((h) => h.seenFirst !== null).map((h) => [h.r.id, { first: h.seenFirst!, last: h.seenLast! }]));
  const statement = statementFor(input.month, held.map((h) => h.r), sizes, await listPriceTables(ctx.db), seen);
  const names = new Map(held.map((h) => [h.r.unitId, h.unitName]));
  return { ...statement, units: statement.units.map((u) => ({ ...u, unitName: names.get(u.unitId) ?? u.unitId })) };
}

/** A line's flags as the reviewer reads them, the same in the CSV and on the printed statement. */
function flagNames(flags: readonly string[]): string {
  return flags.map((f) => BILLING_FLAG_NAMES[f]).join("、");
}

/** The statement's lines as CSV for Excel (a BOM, a 合计 row, then who pays how much of it: 004 第四十二条). */
export function statementCsv(s: Awaited<ReturnType<typeof draftStatement>>, split: readonly FundingShare[]): string {
  return csvDocument([
    ["资源", "单位", "系统", "类型", "计费天数", "金额(元)", "标记", "明细", "日期核对"],
    ...s.lines.map((l) => [
      l.name,
      l.unitId,
      l.system,
      l.kind,
      l.days,
      new CsvDecimal(l.amount, 2),
      flagNames(l.flags),
      l.segments.map((g) => `${g.from}~${g.to} ${g.days}天×${g.dayPrice ?? "无单价"}`).join("；"),
      (l.mismatch ?? []).join("；"),
    ]),
    ["合计", "", "", "", "", new CsvDecimal(s.total, 2), "", "", ""],
    ...split.map((f) => [`资金来源：${f.name}`, f.unitIds.join(" "), "", "", "", new CsvDecimal(f.amount, 2), "", "", ""]),
  ]);
}

/**
 * The month's 费用结算 requests, whatever their status; each caller decides which count. Filtered in SQL and
 * without their facts, which hold the whole statement.
 */
export async function billingRequestsFor(db: Db, month: string): Promise<{ id: number; status: string }[]> {
  return db
    .select({ id: requests.id, status: requests.status })
    .from(requests)
    .where(and(eq(requests.flow, "billing"), sql`${requests.facts}->>'month' = ${month}`));
}

/** Who signed the month's statement and when (the 三方签字 stage), and the hash they signed. */
async function statementSignatures(ctx: ServiceContext, month: string) {
  requireStatementReader(ctx);
  const req = (await billingRequestsFor(ctx.db, month)).find((r) => r.status !== "rejected" && r.status !== "withdrawn");
  if (!req) return null;
  const [signed] = await ctx.db.select({ facts: requests.facts }).from(requests).where(eq(requests.id, req.id));
  const votes = await ctx.db
    .select({ party: tasks.party, name: users.name, decidedAt: tasks.decidedAt })
    .from(tasks)
    .innerJoin(stageRuns, eq(stageRuns.id, tasks.stageRunId))
    .innerJoin(users, eq(users.id, tasks.userId))
    .where(and(eq(tasks.requestId, req.id), eq(stageRuns.stage, "sign"), eq(tasks.status, "approved")));
  const facts = signed!.facts as BillingFacts;
  return { status: req.status, sha256: facts.sha256, statement: facts.statement as Awaited<ReturnType<typeof draftStatement>>, votes };
}

/**
 * The month's statement of record: the one drafted into its sign-off (what the three parties check and sign),
 * unless the ledger's is asked for or there is no sign-off yet; with the sign-off's status and hash.
 */
export async function statementOfRecord(ctx: ServiceContext, month: string, source?: "signoff" | "ledger") {
  const signatures = source === "ledger" ? null : await statementSignatures(ctx, month);
  if (signatures) return { statement: signatures.statement, signatures, source: "signoff" as const };
  if (source === "signoff") throw notFound(`${month} 还没有进入结算流程的结算单`);
  return { statement: await draftStatement({ ctx, input: { month } }), signatures: null, source: "ledger" as const };
}

export const PARTY_TITLE: Record<string, string> = { manager: "统筹管理单位", applicant: "评估实施单位（云服务商）", reviewer: "复核单位（监理）" };

/** 附件13's layout: the statement's table, then the three parties' signatures. */
export function statementPage(
  s: Awaited<ReturnType<typeof draftStatement>>,
  signatures: Awaited<ReturnType<typeof statementSignatures>>,
  split: readonly FundingShare[],
) {
  const rows = s.lines.map(
    (l) => html`<tr><td>${l.name}</td><td>${l.system}</td><td>${l.kind}</td><td>${l.days}</td><td style="text-align:right">${l.amount.toFixed(2)}</td><td>${flagNames(l.flags)}${l.mismatch?.length ? html`<br><small>${l.mismatch.join("；")}</small>` : ""}</td></tr>`,
  );
  const signed = ["manager", "applicant", "reviewer"].map((party) => {
    const vote = signatures?.votes.find((v) => v.party === party);
    return html`<td>${PARTY_TITLE[party]}<br>${vote ? html`${vote.name}<br>${vote.decidedAt ? shanghaiDate(vote.decidedAt) : ""}` : "（未签）"}</td>`;
  });
  return html`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${s.month} 政务云费用结算单</title>
<style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:4px 6px;font-size:13px}h1{font-size:18px;text-align:center}</style></head>
<body><h1>${s.month} 政务云资源费用结算单</h1>
<table><tr><th>资源</th><th>系统</th><th>类型</th><th>计费天数</th><th>金额（元）</th><th>标记</th></tr>${rows}
<tr><td colspan="4">合计</td><td style="text-align:right">${s.total.toFixed(2)}</td><td></td></tr></table>
<p>各单位：${s.units.map((u) => `${u.unitName} ${u.amount.toFixed(2)} 元`).join("；")}</p>
<p>资金来源：${fundingLine(split)}</p>
${fundingTable(split, s.total)}
<table><tr>${signed}</tr></table>
${signatures?.status === "completed" ? html`<p>三方签字后的结算单摘要（SHA-256）：${signatures.sha256}</p>` : ""}
</body></html>`;
}
