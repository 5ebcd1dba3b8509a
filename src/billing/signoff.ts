import type { Db } from "../../db/client";
import { billingFormSchema, type BillingFacts } from "../../flows/billing";
import { canonicalJson, sha256Hex } from "../core/audit-canonical";
import type { Actor, ServiceContext } from "../core/context";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { shanghaiDate } from "../core/calendar";
import { conflict, unprocessable } from "../core/errors";
import { parseInput } from "../core/validation";
import { billingRequestsFor, draftStatement } from "./draft";

/** Statements are drafted by yunshen, or by the provider when one is missing; the provider resubmits returned ones. */
export function billingRefusal(actor: Actor): string | null {
  return actor.roles.includes("provider") ? null : "费用结算单由云服务商编制";
}

/** The statement as it stands now, and the facts a 费用结算 request carries: totals, flags, and its hash. */
export async function prepareBilling(ctx: ServiceContext, tx: Db, rawForm: unknown, resubmitting?: { id: number }) {
  const { month } = parseInput(billingFormSchema, rawForm, "结算单有误");
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

