import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../../db/client";
import { accessCodes, users, vmAccounts } from "../../db/schema";
import type { ServiceContext } from "../core/context";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { unprocessable } from "../core/errors";
import { validUntilFrom, type Validity } from "./access-requests";
import { bindVmAccount } from "./accounts";
import { recordPortGrants, type PortSpec } from "./port-grants";

export const VM_ACCOUNT_KINDS = { new: "新开账号", renew: "续期", rebind: "更换绑定手机" } as const;

/** A 虚拟机账号申请: an account for a person on some hosts, new, renewed or moved to their new phone. */
export interface VmAccountFacts {
  kind: keyof typeof VM_ACCOUNT_KINDS;
  /** The person the account is for: who confirms the phone, and whom codes reach. */
  holderId: string;
  holderName: string;
  account: string;
  hosts: string[];
  validity: Validity | null;
  ports: PortSpec[];
  sources: string[];
  portReason: string | null;
}

/** The person's accounts of this name in use on these hosts. */
export async function activeAccounts(tx: Db, facts: Pick<VmAccountFacts, "account" | "hosts">) {
  return tx
    .select()
    .from(vmAccounts)
    .where(and(eq(vmAccounts.account, facts.account), inArray(vmAccounts.hostId, facts.hosts), eq(vmAccounts.status, "active")));
}

/** A completed 虚拟机账号申请 takes effect: accounts bound, extended, or moved to the person's new phone. */
export async function completeVmAccountRequest(step: { ctx: ServiceContext; tx: Db; j: Journal; req: LockedRequest }) {
  const { ctx, tx, j, req } = step;
  const facts = req.facts as VmAccountFacts;
  const now = ctx.clock.now();
  if (facts.kind === "new") {
    const validUntil = validUntilFrom(ctx.calendar, now, facts.validity!);
    for (const hostId of facts.hosts)
      await bindVmAccount(tx, j, { hostId, account: facts.account, userId: facts.holderId, validUntil, requestId: req.id, at: now });
    if ((facts.ports ?? []).length > 0)
      await recordPortGrants(tx, j, { ...facts, reason: facts.portReason!, requestId: req.id, validUntil, at: now });
    return;
  }
  const mine = (await activeAccounts(tx, facts)).filter((a) => a.userId === facts.holderId);
  if (mine.length !== facts.hosts.length)
    throw unprocessable("no_account", `${facts.holderName} 的账号 ${facts.account} 已不全在用（可能已被撤销），无法${facts.kind === "renew" ? "续期" : "换绑"}`);
  if (facts.kind === "renew") {
    const validUntil = validUntilFrom(ctx.calendar, now, facts.validity!);
    await tx.update(vmAccounts).set({ validUntil }).where(inArray(vmAccounts.id, mine.map((a) => a.id)));
    j.add({ action: "vm_account.renew", requestId: req.id, details: { accountIds: mine.map((a) => a.id), validUntil: validUntil.toISOString() } });
    return;
  }
  // 换绑: the phone the person has in the directory now, confirmed by them in the last stage.
  const [holder] = await tx.select({ mobile: users.mobile }).from(users).where(eq(users.id, facts.holderId));
  const ids = mine.map((a) => a.id);
  await tx.update(vmAccounts).set({ mobile: holder!.mobile, consecutiveFailures: 0 }).where(inArray(vmAccounts.id, ids));
  // A code already texted to the old phone must not work any more.
  await tx
    .update(accessCodes)
    .set({ closedAt: now, closedReason: "replaced" })
    .where(and(inArray(accessCodes.vmAccountId, ids), isNull(accessCodes.closedAt)));
  j.add({ action: "vm_account.rebind", requestId: req.id, details: { accountIds: mine.map((a) => a.id) } });
}
