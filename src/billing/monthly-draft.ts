import { eq } from "drizzle-orm";
import { inboundEvents, requests, units } from "../../db/schema";
import type { BillingFacts } from "../../flows/billing";
import { monthJustEnded, shanghaiDate } from "../calendar";
import type { ServiceContext } from "../context";
import { usersWithRole } from "../directory/queries";
import { mutate } from "../engine/mutate";
import { openRequest } from "../engine/requests";
import { prepareBilling } from "./signoff";

/**
 * On the 1st working day of a month (or later, if missed), the previous month's statement is drafted, once;
 * not when nothing was held that month.
 */
export async function draftMonthlyStatement(ctx: ServiceContext): Promise<boolean> {
  const month = monthJustEnded(ctx.calendar, shanghaiDate(ctx.clock.now()));
  if (!month) return false;
  const [provider] = await usersWithRole(ctx.db, "provider");
  if (!provider) return false;
  return mutate({ ...ctx, actor: null, channel: "timer" }, { action: "billing.draft" }, async (tx, j) => {
    const [fresh] = await tx
      .insert(inboundEvents)
      .values({ scope: "billing-draft", key: month, fingerprint: month, createdAt: ctx.clock.now() })
      .onConflictDoNothing()
      .returning({ key: inboundEvents.key });
    if (!fresh) return false;
    const existing = await tx.select({ facts: requests.facts }).from(requests).where(eq(requests.flow, "billing"));
    if (existing.some((r) => (r.facts as BillingFacts).month === month)) return false;
    const prepared = await prepareBilling(ctx, tx, { month });
    // A month in which nothing was held has nothing to settle (a new installation's first month, for one).
    if (prepared.facts.lineCount === 0) return false;
    const [unit] = await tx.select({ name: units.name }).from(units).where(eq(units.id, provider.unitId));
    // The statement is the provider's to export and submit: it belongs to a provider's account.
    await openRequest({ ctx, tx, j }, { flow: "billing", ...prepared, unitId: provider.unitId, unitName: unit?.name ?? provider.unitId, applicantId: provider.id }, { month });
    return true;
  });
}
