import { and, eq, lt, lte } from "drizzle-orm";
import { portGrants, requests, vmAccounts } from "../../db/schema";
import type { Card } from "../../cards";
import { CalendarRangeError, shanghaiDate, type WorkCalendar } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { askToClose } from "./port-grants";

/** Reminders go this many working days before an account's last day. */
export const EXPIRY_REMINDER_WORKDAYS = 3;
// Nothing ending later than this needs looking at yet (3 working days never span more than a long holiday).
const LOOKAHEAD_MS = 15 * 86_400_000;

/** The first day to remind about something ending at `validUntil`, or null past the loaded calendar. */
function reminderDay(calendar: WorkCalendar, validUntil: Date): { lastDay: string; from: string } | null {
  const lastDay = shanghaiDate(new Date(validUntil.getTime() - 1));
  try {
    let from = lastDay;
    for (let i = 0; i < EXPIRY_REMINDER_WORKDAYS; i++) from = calendar.previousWorkday(from);
    return { lastDay, from };
  } catch (err) {
    if (err instanceof CalendarRangeError) return null;
    throw err;
  }
}

/** Both kinds of access that run out: VM accounts and opened ports. */
export async function runAccessExpiry(ctx: ServiceContext): Promise<{ accounts: number; ports: number }> {
  return { accounts: (await runAccountExpiry(ctx)).expired, ports: (await runPortGrantExpiry(ctx)).expired };
}

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
    const due = reminderDay(ctx.calendar, a.validUntil);
    if (!due || shanghaiDate(now) < due.from) continue;
    const { lastDay } = due;
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

/**
 * Opened ports past their end are marked expired and the providers asked to close them; the requester is
 * reminded 3 working days before, to ask again if the port is still needed.
 */
export async function runPortGrantExpiry(ctx: ServiceContext): Promise<{ expired: number }> {
  const now = ctx.clock.now();
  const ending = await ctx.db
    .select({ grant: portGrants, requesterId: requests.applicantId })
    .from(portGrants)
    .innerJoin(requests, eq(requests.id, portGrants.requestId))
    .where(and(eq(portGrants.status, "active"), lt(portGrants.validUntil, new Date(now.getTime() + LOOKAHEAD_MS))));
  let expired = 0;
  for (const { grant: g, requesterId } of ending) {
    if (g.validUntil <= now) {
      const done = await mutate(ctx, { action: "port_grant.expire", requestId: g.requestId }, async (tx, j) => {
        const changed = await tx
          .update(portGrants)
          .set({ status: "expired", endedAt: now })
          .where(and(eq(portGrants.id, g.id), eq(portGrants.status, "active"), lte(portGrants.validUntil, now)))
          .returning({ id: portGrants.id });
        if (changed.length === 0) return false;
        j.add({ action: "port_grant.expire", requestId: g.requestId, details: { grantId: g.id, host: g.hostId, port: g.port } });
        await askToClose(tx, now, g, requesterId, "已到期");
        return true;
      });
      if (done) expired++;
      continue;
    }
    const due = reminderDay(ctx.calendar, g.validUntil);
    if (!due || shanghaiDate(now) < due.from) continue;
    const card: Card = {
      title: "端口开放即将到期",
      tone: "warning",
      summary: `主机 ${g.hostId} 的 ${g.port}/${g.protocol} 将于 ${due.lastDay} 到期后关闭；如仍需要，请重新申请`,
      fields: [
        { label: "主机", value: g.hostId },
        { label: "端口", value: `${g.port}/${g.protocol}` },
        { label: "到期", value: due.lastDay },
      ],
      actions: [],
      link: "",
    };
    await enqueueCards(ctx.db, now, [requesterId], "port_expiry", card, `port-expiry:${g.id}:${g.validUntil.toISOString()}`);
  }
  return { expired };
}
