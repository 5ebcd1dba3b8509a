import type { Db } from "../../db/client";
import { canonicalJson, sha256Hex } from "../core/audit-canonical";
import type { ServiceContext } from "../core/context";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { shanghaiDate } from "../core/calendar";
import { conflict, unprocessable } from "../core/errors";
import { billingRequestsFor, draftStatement, type BillingFacts } from "./draft";

/** The statement as it stands now, and the facts a 费用结算 request carries: totals, flags, and its hash. */
export async function draftSignoff(ctx: ServiceContext, tx: Db, month: string, resubmitting?: { id: number }) {
  // A month is billed once it is over: a statement drafted earlier would bill days not yet lived.
  if (month >= shanghaiDate(ctx.clock.now()).slice(0, 7)) throw unprocessable("month_not_over", `${month} 尚未结束，只能编制已结束月份的结算单`, { month: ["月份尚未结束"] });
  const open = await billingRequestsFor(tx, month);
  if (open.some((r) => r.id !== resubmitting?.id && r.status !== "rejected" && r.status !== "withdrawn"))
    throw conflict("statement_exists", `${month} 的结算单已在流程中`);
  const statement = await draftStatement({ ctx: { ...ctx, db: tx, actor: null }, input: { month } });
  const flagged: Record<string, number> = {};
  for (const l of statement.lines) for (const f of l.flags) flagged[f] = (flagged[f] ?? 0) + 1;
  const facts: BillingFacts = {
    month,
    total: statement.total,
    units: statement.units,
    lineCount: statement.lines.length,
    flagged,
    sha256: sha256Hex(canonicalJson(statement)),
    statement,
  };
  return { form: { month }, facts, title: `${month} 费用结算单` };
}

/** Signed by all three: the statement's hash goes into the audit log, where nobody can change it. */
export async function completeBilling(step: { j: Journal; req: LockedRequest }) {
  const f = step.req.facts as BillingFacts;
  step.j.add({ action: "billing.signed", requestId: step.req.id, details: { month: f.month, total: f.total, sha256: f.sha256 } });
}

