import { and, eq, lt, lte } from "drizzle-orm";
import { requests, vmAccounts } from "../../db/schema";
import type { Card } from "../../cards";
import { CalendarRangeError, shanghaiDate } from "../calendar";
import type { ServiceContext } from "../context";
import { mutate } from "../engine/mutate";
import { enqueueCards } from "../engine/notify";

/** Reminders go this many working days before an account's last day. */
export const EXPIRY_REMINDER_WORKDAYS = 3;
// Nothing ending later than this needs looking at yet (3 working days never span more than a long holiday).
const LOOKAHEAD_MS = 15 * 86_400_000;

/**
 * Background upkeep of VM accounts: those past their validity become "expired" (audited), and the person and
 * the requester are reminded 3 working days before the end, once per validity (a renewal brings a new one).
 */
export async function runAccountExpiry(ctx: ServiceContext): Promise<{ expired: number }> {
  const now = ctx.clock.now();
  const ending = await ctx.db
    .select({ account: vmAccounts, requesterId: requests.applicantId })
    .from(vmAccounts)
    .leftJoin(requests, eq(requests.id, vmAccounts.requestId))
    .where(and(eq(vmAccounts.status, "active"), lt(vmAccounts.validUntil, new Date(now.getTime() + LOOKAHEAD_MS))));
  let expired = 0;
  for (const { account: a, requesterId } of ending) {
    if (a.validUntil <= now) {
      const done = await mutate(ctx, { action: "vm_account.expire", requestId: a.requestId }, async (tx, j) => {
        const changed = await tx
          .update(vmAccounts)
          .set({ status: "expired", endedAt: now })
          .where(and(eq(vmAccounts.id, a.id), eq(vmAccounts.status, "active"), lte(vmAccounts.validUntil, now)))
          .returning({ id: vmAccounts.id });
        if (changed.length === 0) return false;
        j.add({ action: "vm_account.expire", requestId: a.requestId, details: { accountId: a.id, host: a.hostId, account: a.account } });
        return true;
      });
      if (done) expired++;
      continue;
    }
    const lastDay = shanghaiDate(new Date(a.validUntil.getTime() - 1));
    let remindFrom: string;
    try {
      remindFrom = lastDay;
      for (let i = 0; i < EXPIRY_REMINDER_WORKDAYS; i++) remindFrom = ctx.calendar.previousWorkday(remindFrom);
    } catch (err) {
      if (err instanceof CalendarRangeError) continue;
      throw err;
    }
    if (shanghaiDate(now) < remindFrom) continue;
    const card: Card = {
      title: "虚拟机账号即将到期",
      tone: "warning",
      summary: `主机 ${a.hostId} 上的账号 ${a.account} 将于 ${lastDay} 到期；如需继续使用，请申请续期`,
      fields: [
        { label: "主机", value: a.hostId },
        { label: "账号", value: a.account },
        { label: "到期", value: lastDay },
      ],
      actions: [],
      link: "",
    };
    const to = [a.userId, ...(requesterId ? [requesterId] : [])];
    // Keyed by the validity it warns about: queued once per validity, however often this runs.
    await enqueueCards(ctx.db, now, to, "account_expiry", card, `expiry:${a.id}:${a.validUntil.toISOString()}`);
  }
  return { expired };
}
