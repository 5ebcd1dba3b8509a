import { monthJustEnded, shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { getUnit, usersWithRole } from "../directory/queries";
import { mutate } from "../core/mutate";
import { onceFor, wasDone } from "../core/once";
import { openRequest } from "../engine";
import { billingRequestsFor } from "../billing/draft";
import { draftSignoff } from "../billing/signoff";

/**
 * On the 1st working day of a month (or later, if missed), the previous month's statement is drafted, once;
 * not when nothing was held that month.
 */
export async function draftMonthlyStatement(ctx: ServiceContext): Promise<boolean> {
  const month = monthJustEnded(ctx.calendar, shanghaiDate(ctx.clock.now()));
  if (!month) return false;
  const drafted = { scope: "billing-draft", key: month };
  // The job runs every round until the month's end: a plain read spares a transaction per round once drafted.
  // The insert in the transaction stays the guard against two rounds racing.
  if (await wasDone(ctx.db, drafted)) return false;
  const [provider] = await usersWithRole(ctx.db, "provider");
  if (!provider) return false;
  return mutate({ ...ctx, actor: null, channel: "timer" }, { action: "billing.draft" }, async (tx, j) => {
    if (!(await onceFor(ctx, tx, drafted))) return false;
    if ((await billingRequestsFor(tx, month)).length > 0) return false;
    const prepared = await draftSignoff(ctx, tx, month);
    // A month in which nothing was held has nothing to settle (a new installation's first month, for one).
    if (prepared.facts.lineCount === 0) return false;
    const unit = await getUnit(tx, provider.unitId);
    // The statement is the provider's to export and submit: it belongs to a provider's account.
    await openRequest({ ctx, tx, j }, { flow: "billing", ...prepared, unitId: provider.unitId, unitName: unit?.name ?? provider.unitId, applicantId: provider.id }, { month });
    return true;
  });
}
