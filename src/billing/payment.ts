import { and, desc, eq, inArray, notInArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { requests, stageRuns, tasks } from "../../db/schema";
import type { ServiceContext } from "../core/context";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { conflict, forbidden, invalid, unprocessable } from "../core/errors";
import { seesEveryUnit } from "../core/roles";
import { billingRequestsFor, statementOfRecord } from "./draft";
import { fundersOf, fundingLine, fundingSplit, type FundingShare } from "./funding";

// 费用支付 (004 第四十七条): "由云资源统筹管理单位发起费用支付流程，汇总统计支付周期内的清单及费用，三方…确认后由
// 云资源统筹管理单位发起报账支付流程". A payment covers a period of months whose statements the three parties have
// signed (第四十六条, the billing flow), each month once; the totals are the signed statements' own.

/** One month of a payment: the signed statement it pays, by its sign-off's code and hash. */
export interface PaymentMonth {
  month: string;
  total: number;
  code: string;
  sha256: string;
}

/** What a 费用支付 request carries: the period, each month's signed total, the total and who pays it (第四十二条). */
export interface PaymentFacts {
  from: string;
  to: string;
  months: PaymentMonth[];
  total: number;
  funding: FundingShare[];
}

/** The stage at which the manager records 发起报账, with the 报账单号 as its note. */
export const REIMBURSE_STAGE = "reimburse";

const REFERENCE_MAX = 64;

// Serialises the starting of payments, so two managers cannot both take the same month.
const PAYMENT_LOCK_KEY = 7_216_551_047;

// Requests that no longer hold their months.
const ENDED = ["rejected", "withdrawn"];

export const paymentTitle = (f: Pick<PaymentFacts, "from" | "to">) => (f.from === f.to ? `${f.from} 云资源费用支付` : `${f.from} 至 ${f.to} 云资源费用支付`);

/** The payment's key facts as cards and pages show them. */
export function paymentSummary(f: PaymentFacts) {
  return [
    { label: "支付周期", value: `${f.from === f.to ? f.from : `${f.from} 至 ${f.to}`}（${f.months.length} 个月）` },
    { label: "各月金额", value: f.months.map((m) => `${m.month} ${m.total.toFixed(2)} 元`).join("；") },
    { label: "合计", value: `${f.total.toFixed(2)} 元` },
    { label: "资金来源", value: fundingLine(f.funding) },
  ];
}

/**
 * The facts of a payment over `months`: refused when another payment holds one of them (409), or when a
 * month's statement is not signed by the three parties yet (422), naming the months.
 */
export async function preparePayment(ctx: ServiceContext, tx: Db, period: { from: string; to: string; months: string[] }, resubmitting?: { id: number }) {
  await tx.execute(sql`select pg_advisory_xact_lock(${PAYMENT_LOCK_KEY})`);
  const held = await tx
    .select({ id: requests.id, code: requests.code, from: sql<string>`${requests.facts}->>'from'`, to: sql<string>`${requests.facts}->>'to'` })
    .from(requests)
    .where(and(eq(requests.flow, "payment"), notInArray(requests.status, ENDED)));
  const taken = held.filter((p) => p.id !== resubmitting?.id && p.from <= period.to && period.from <= p.to);
  if (taken.length > 0)
    throw conflict(
      "period_overlaps",
      `支付周期与已有的费用支付重叠：${taken.map((p) => `${p.code}（${p.from === p.to ? p.from : `${p.from} 至 ${p.to}`}）`).join("、")}；同一月份只支付一次`,
    );

  const reader = { ...ctx, db: tx, actor: null };
  const unsigned: string[] = [];
  const months: PaymentMonth[] = [];
  const amounts: { unitId: string; amount: number }[] = [];
  for (const month of period.months) {
    const signoff = (await billingRequestsFor(tx, month)).find((r) => r.status === "completed");
    if (!signoff) {
      unsigned.push(month);
      continue;
    }
    // The statement of record: the one the three signed, never the ledger's figure of today.
    const { statement, signatures } = await statementOfRecord(reader, month, "signoff");
    const [row] = await tx.select({ code: requests.code }).from(requests).where(eq(requests.id, signoff.id));
    months.push({ month, total: statement.total, code: row!.code, sha256: signatures!.sha256 });
    amounts.push(...statement.units);
  }
  if (unsigned.length > 0)
    throw unprocessable("statement_unsigned", `以下月份的结算单尚未经三方签字确认（004 第四十六条）：${unsigned.join("、")}；签字后才能发起费用支付`, {
      form: unsigned.map((m) => `${m} 未签字`),
    });
  const total = months.reduce((t, m) => t + Math.round(m.total * 100), 0) / 100;
  const facts: PaymentFacts = { from: period.from, to: period.to, months, total, funding: fundingSplit(amounts, await fundersOf(tx)) };
  return { form: { from: period.from, to: period.to }, facts, title: paymentTitle(facts) };
}

/** The 报账单号 the manager recorded at 发起报账: the note of its latest approval. */
async function reimbursement(db: Db, requestIds: number[]): Promise<Map<number, { reference: string; at: Date | null }>> {
  if (requestIds.length === 0) return new Map();
  const rows = await db
    .select({ requestId: tasks.requestId, note: tasks.note, at: tasks.decidedAt })
    .from(tasks)
    .innerJoin(stageRuns, eq(stageRuns.id, tasks.stageRunId))
    .where(and(inArray(tasks.requestId, requestIds), eq(stageRuns.stage, REIMBURSE_STAGE), eq(tasks.status, "approved")))
    .orderBy(desc(tasks.decidedAt));
  const found = new Map<number, { reference: string; at: Date | null }>();
  for (const r of rows) if (!found.has(r.requestId) && r.note) found.set(r.requestId, { reference: r.note, at: r.at });
  return found;
}

/** 发起报账 recorded: the period is paid. The 报账单号 and the amounts go into the audit log. */
export async function completePayment(step: { tx: Db; j: Journal; req: LockedRequest }) {
  const f = step.req.facts as PaymentFacts;
  const reference = (await reimbursement(step.tx, [step.req.id])).get(step.req.id)?.reference ?? "";
  if (reference.length > REFERENCE_MAX) throw invalid(`报账单号不超过 ${REFERENCE_MAX} 个字符`, { note: [`报账单号不超过 ${REFERENCE_MAX} 个字符`] });
  step.j.add({
    action: "payment.paid",
    requestId: step.req.id,
    details: { from: f.from, to: f.to, months: f.months.map((m) => m.month), total: f.total, reference, funding: f.funding.map(({ source, amount }) => ({ source, amount })) },
  });
}

export const paymentListQuery = z.object({
  status: z.enum(["in_progress", "returned", "completed", "rejected", "withdrawn"]).optional(),
});

/** 费用支付 requests, newest first, with their period, totals, funding split and, once paid, the 报账单号. */
export async function listPayments({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof paymentListQuery> }) {
  if (ctx.actor && !seesEveryUnit(ctx.actor)) throw forbidden("费用支付由统筹管理单位发起，评估实施单位和复核单位确认");
  const rows = await ctx.db
    .select({ id: requests.id, code: requests.code, status: requests.status, currentStage: requests.currentStage, facts: requests.facts, submittedAt: requests.submittedAt, closedAt: requests.closedAt })
    .from(requests)
    .where(and(eq(requests.flow, "payment"), input.status ? eq(requests.status, input.status) : undefined))
    .orderBy(desc(requests.id))
    .limit(500);
  const paid = await reimbursement(ctx.db, rows.filter((r) => r.status === "completed").map((r) => r.id));
  return rows.map((r) => {
    const f = r.facts as PaymentFacts;
    return {
      id: r.id,
      code: r.code,
      status: r.status,
      currentStage: r.currentStage,
      from: f.from,
      to: f.to,
      months: f.months,
      total: f.total,
      funding: f.funding,
      submittedAt: r.submittedAt,
      paid: r.status === "completed" ? { reference: paid.get(r.id)?.reference ?? "", at: r.closedAt } : null,
    };
  });
}

/** The payment that holds a month (paid, or on its way), if any: what the month's statement page says of it. */
export async function paymentOfMonth(db: Db, month: string) {
  const [row] = await db
    .select({ id: requests.id, code: requests.code, status: requests.status, closedAt: requests.closedAt })
    .from(requests)
    .where(and(eq(requests.flow, "payment"), notInArray(requests.status, ENDED), sql`${requests.facts}->>'from' <= ${month}`, sql`${requests.facts}->>'to' >= ${month}`));
  if (!row) return null;
  const paid = row.status === "completed" ? (await reimbursement(db, [row.id])).get(row.id) : undefined;
  return { code: row.code, status: row.status, reference: paid?.reference ?? null, paidAt: row.status === "completed" ? row.closedAt : null };
}
