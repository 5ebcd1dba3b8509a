import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../../db/client";
import { accessCodes, users, vmAccounts } from "../../db/schema";
import { vmAccountFacts, vmAccountFormSchema, vmAccountTitle, type VmAccountFacts } from "../../flows/vm-account";
import type { Actor, ServiceContext } from "../core/context";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { forbidden, unprocessable } from "../core/errors";
import { requireRegisteredHosts, validUntilFrom } from "./access-requests";
import { parseInput } from "../core/validation";
import { bindVmAccount } from "./accounts";
import { recordPortGrants } from "./port-grants";

async function activeAccounts(tx: Db, facts: Pick<VmAccountFacts, "account" | "hosts">) {
  return tx
    .select()
    .from(vmAccounts)
    .where(and(eq(vmAccounts.account, facts.account), inArray(vmAccounts.hostId, facts.hosts), eq(vmAccounts.status, "active")));
}

/**
 * Checks a 虚拟机账号申请 against the directory and the accounts in use, so that what the manager approves
 * can be carried out: the person exists and has a phone, the hosts are registered, and the account name is
 * free (new) or already the person's (renewal, new phone). The same checks run again at completion.
 */
export async function prepareVmAccountRequest(tx: Db, actor: Actor, rawForm: unknown) {
  const form = parseInput(vmAccountFormSchema, rawForm, "虚拟机账号申请表有误");
  const [holder] = await tx.select().from(users).where(eq(users.id, form.holder));
  if (!holder || !holder.active) throw unprocessable("unknown_user", `通讯录中没有在职用户 ${form.holder}`, { "form.holder": ["用户不存在或已停用"] });
  if (actor.roles.includes("applicant") && !actor.roles.includes("security_officer") && holder.unitId !== actor.unitId)
    throw forbidden("申请人只能为本单位人员申请虚拟机账号");
  if (!/^1[3-9]\d{9}$/.test(holder.mobile))
    throw unprocessable("no_mobile", `${holder.name} 在通讯录中没有可接收短信的手机号，请先更新通讯录`, { "form.holder": ["没有手机号"] });
  await requireRegisteredHosts(tx, form.hosts);
  const facts = vmAccountFacts(form, holder.name);
  const inUse = await activeAccounts(tx, facts);
  if (form.kind === "new") {
    const others = inUse.filter((a) => a.userId !== holder.id);
    if (others.length > 0)
      throw unprocessable("account_taken", `账号 ${form.account} 在 ${others.map((a) => a.hostId).join("、")} 上已属于他人，账号不得共用`, {
        "form.account": ["已被他人使用"],
      });
    if (inUse.length > 0)
      throw unprocessable("account_exists", `${holder.name} 在 ${inUse.map((a) => a.hostId).join("、")} 上已有账号 ${form.account}，请申请续期`, {
        "form.kind": ["已有账号，请选择续期"],
      });
  } else {
    const without = form.hosts.filter((h) => !inUse.some((a) => a.hostId === h && a.userId === holder.id));
    if (without.length > 0)
      throw unprocessable("no_account", `${holder.name} 在 ${without.join("、")} 上没有在用的账号 ${form.account}`, { "form.hosts": without });
  }
  return { form, facts, title: vmAccountTitle(facts) };
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
