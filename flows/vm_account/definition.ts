import { VM_ACCOUNT_KINDS, type VmAccountFacts } from "../../src/access/vm-account-service";
import { type FlowDef, MANAGER_APPROVAL, wd } from "../types";

// Flow 5 of flows.md: 虚拟机账号申请 (004 第三十六—三十七条). One set of stages for every policy profile:
// the documents that describe it (004) do so once. The requester (security staff or an applicant) names the
// person, the VMs and the account; the manager approves; the provider creates it; the person confirms the
// phone their codes will go to. A renewal is one approval; a new phone is an approval and the person's confirmation.
// 徽州 adds the holder's confirmation that the initial password was changed at the first login (001 附件1 注2).

const validityText = (v: VmAccountFacts["validity"]) =>
  v === null ? "不变" : "workdays" in v ? `批准后 ${v.workdays} 个工作日` : `至 ${v.until}`;

export const vmAccountFlow: FlowDef<VmAccountFacts, "vm_account"> = {
  key: "vm_account",
  ratedService: true,
  name: "虚拟机账号申请",
  summary: (f) => [
    { label: "事项", value: VM_ACCOUNT_KINDS[f.kind] },
    { label: "账号", value: f.account },
    { label: "使用人", value: f.holderName },
    { label: "主机", value: f.hosts.join("、") },
    { label: "有效期", value: validityText(f.validity) },
    // Facts stored before ports could be asked for have none.
    ...((f.ports ?? []).length > 0
      ? [{ label: "开放端口", value: `${f.ports.map((p) => `${p.port}/${p.protocol}`).join("、")}（来源 ${f.sources.join("、")}）` }]
      : []),
  ],
  stages: {
    approve: MANAGER_APPROVAL,
    create: {
      key: "create",
      name: "创建账号",
      parties: ["provider"],
      deadline: wd(2),
      approveLabel: "已创建",
      canReturn: true,
      when: (f) => f.kind === "new",
    },
    enrol: {
      key: "enrol",
      name: "使用人确认手机号",
      parties: ["holder"],
      deadline: wd(3),
      approveLabel: "确认",
      when: (f) => f.kind !== "renew",
    },
    // 001 附件1 注2 (徽州): "虚拟机首次登录后应及时修改密码". The provider creates the account with an initial
    // password; the holder logs in (the /access answer to that first login says the password must be changed,
    // see src/access/login-codes.ts), changes it, and confirms here. The request is complete only then. 001
    // says 及时 and sets no days: 3 working days, as the phone's confirmation before it.
    first_login: {
      key: "first_login",
      name: "首次登录修改初始密码并确认",
      parties: ["holder"],
      deadline: wd(3),
      approveLabel: "已修改初始密码",
      when: (f) => f.kind === "new",
    },
  },
  profiles: {
    default: { name: "004 第三十七条", sequence: ["approve", "create", "enrol"], attachments: [] },
    // 徽州 001 附件1 注2: the account must exist in yunshen before its first login, so it is bound when the
    // holder confirms the phone (enrol takes effect), and the request waits for the changed initial password.
    huizhou: {
      name: "徽州 001 附件1 注2",
      sequence: ["approve", "create", "enrol", "first_login"],
      overrides: { enrol: { takesEffect: true } },
      attachments: [],
    },
  },
};
