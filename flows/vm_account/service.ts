import { eq } from "drizzle-orm";
import { users } from "../../db/schema";
import { accessRequestRefusal, requireRegisteredHosts } from "../../src/access/access-requests";
import { activeAccounts, completeVmAccountRequest, VM_ACCOUNT_KINDS, type VmAccountFacts } from "../../src/access/vm-account-service";
import { forbidden, unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import type { FlowService, PrepareArgs } from "../types";
import { vmAccountFormSchema, type VmAccountForm } from "./form";

export function vmAccountFacts(form: VmAccountForm, holderName: string): VmAccountFacts {
  return {
    kind: form.kind,
    holderId: form.holder,
    holderName,
    account: form.account,
    hosts: form.hosts,
    validity: form.validity ?? null,
    ports: form.ports,
    sources: form.sources,
    portReason: form.portReason ?? null,
  };
}

export function vmAccountTitle(f: VmAccountFacts): string {
  return `虚拟机账号${VM_ACCOUNT_KINDS[f.kind]}：${f.account}（${f.holderName}）`;
}

/**
 * Checks a 虚拟机账号申请 against the directory and the accounts in use, so that what the manager approves
 * can be carried out: the person exists and has a phone, the hosts are registered, and the account name is
 * free (new) or already the person's (renewal, new phone). The same checks run again at completion.
 */
async function prepare({ tx, actor, form: rawForm }: PrepareArgs) {
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

export const vmAccountService: FlowService<VmAccountFacts> = {
  refusal: accessRequestRefusal,
  prepare,
  complete: completeVmAccountRequest,
};
