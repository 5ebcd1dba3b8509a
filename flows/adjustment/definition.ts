import type { ProfileKey } from "../../profiles";
import type { AdjustmentFacts } from "../../src/resources/catalog";
import { COUNTY_PRE_REVIEW, type FlowDef, MANAGER_APPROVAL, SUPERVISOR_PRE_REVIEW, wd } from "../types";

// Flow 2 of flows.md: 扩容 / 缩容 (004 第十八—二十二条). What a scale-up is decided on is the profile's
// (ProfileModule.scaleUpBasis, src/resources/adjustment.ts): under 梅州, 韶关 and 徽州 the utilisation of the last
// 5 working days meets 004 第十九条(二) — the evidence is computed and attached, never typed; under 巴中 the provider
// has reported it above 70% (003 第二十四条(一)); under 高创中心 the supervisor's usage report is the basis of the
// review (000 7.2.3.1). A scale-down comes from the unit, or from the provider's periodic review of low-load VMs.

const sizeText = (s: AdjustmentFacts["from"]) =>
  [s.vcpu !== undefined ? `${s.vcpu} 核` : null, s.memoryGb !== undefined ? `${s.memoryGb}G 内存` : null, s.diskGb !== undefined ? `${s.diskGb}G 磁盘` : null]
    .filter(Boolean)
    .join(" / ");

/**
 * Where the manager itself starts a scale-down (资源降配) of a unit's resource, and the article. 梅州's reviews are the
 * provider's (004 第十九条); 高创中心's 调整建议 are the supervisor's (000 7.2.3.2); 韶关's 002 第十六条 "适时调整资源" is
 * read as the manager's too.
 */
export const MANAGER_SCALE_DOWNS: Partial<Record<ProfileKey, string>> = {
  // 001 第三十条: 对业务资源使用率不足的应用系统，组织使用单位和运维单位确定资源降配或回收方案.
  huizhou: "001 第三十条（业务资源使用率不足，资源降配）",
  // 003 第二十四条(二)(三): 调减资源配置.
  bazhong: "003 第二十四条(二)(三)（调减资源配置）",
  // 002 第十六条: 市政务服务数据管理部门可根据资源实际使用情况，适时调整资源.
  shaoguan: "002 第十六条（根据资源实际使用情况适时调整资源）",
};

// 巴中's and 高创中心's sequence: no separate review of the plan, no separate preparation.
const SHORTER = { sequence: ["approve", "plan", "confirm", "adjust", "verify"], attachments: [] };

// 002 第二十一条, 001 第十五条: the manager reviews within 5 working days; once approved, the provider makes the
// change within 3. Neither document has a plan, a confirmation, a preparation or a check between or after them.
const REVIEW_THEN_CHANGE = {
  approve: { deadline: wd(5) },
  adjust: { name: "实施变更" },
};

// 002 第二十一条: "涉及重大变更的，须按本办法第十九条规定重新申请，有关工作完成后，原申请的资源应予以注销回收". 002
// does not say what is 重大, and its 变更申请表 (附件3) is named but not reproduced. Our reading: a 变更 adjusts the
// 配置 of a resource already approved (this flow's sizes); a change of what 附件1 asks per host besides its size
// (服务器类型, 网络区域, 操作系统) cannot be asked for on a 变更 at all, so it is a new application already. What
// makes a size change 重大 is its scale: raising vCPU, memory or disk to more than twice what the resource has
// (the 附件1 总计 reviewed under 第十九、二十条 no longer describes the system). Shrinking is never 重大: resources are
// given back, and the periodic reviews propose halving.
const MAJOR_FACTOR = 2;
const SIZE_PARTS = [
  ["vcpu", "vCPU", "核"],
  ["memoryGb", "内存", "G"],
  ["diskGb", "磁盘", "G"],
] as const;
function majorChange(f: AdjustmentFacts) {
  if (f.direction !== "up") return null;
  const over = SIZE_PARTS.filter(([k]) => f.to[k] !== undefined && f.from[k] !== undefined && f.to[k]! > MAJOR_FACTOR * f.from[k]!);
  if (over.length === 0) return null;
  const told = over.map(([k, name, unit]) => `${name}由 ${f.from[k]}${unit} 调整为 ${f.to[k]}${unit}`).join("、");
  return {
    field: `form.to.${over[0]![0]}`,
    message:
      `${told}，超过原配置的 ${MAJOR_FACTOR} 倍，属重大变更，不能通过变更申请办理：请按第十九条重新填报《韶关市“数字政府”政务云资源申请表》（附件1）提出云资源申请，` +
      `并在申请表“重大变更重新申请”栏勾选被替换的原资源（接口字段 replaces），新系统上线后原申请的资源注销回收（002 第二十一条）`,
  };
}

export const adjustmentFlow: FlowDef<AdjustmentFacts, "adjustment"> = {
  key: "adjustment",
  ratedService: true,
  name: "云资源调整",
  // The half-yearly review is the provider's (004 第十九条(一)): a proposal it opens is the provider's to be told of.
  proposer: "provider",
  summary: (f) => [
    { label: "调整", value: f.direction === "up" ? "扩容" : "缩容" },
    { label: "资源", value: f.resourceName },
    { label: "配置", value: `${sizeText(f.from)} → ${sizeText({ ...f.from, ...f.to })}` },
    ...(f.evidence.length > 0 ? [{ label: "依据", value: f.evidence.map((e) => e.reason).join("；") }] : []),
  ],
  stages: {
    supervisor_review: SUPERVISOR_PRE_REVIEW,
    county_review: COUNTY_PRE_REVIEW,
    // 000 7.2.3.1: "公共服务云平台监管部门提供的云资源使用情况报告为审核的主要依据". The supervisor (监管部门, the
    // reviewer's seat) writes its report of the resource's use; the review quotes it. 000 sets no time; 2 wd, as the
    // reviewer's other steps. A proposal of the periodic review carries its own figures and needs none.
    usage_report: {
      key: "usage_report",
      name: "云资源使用情况报告",
      parties: ["reviewer"],
      deadline: wd(2),
      when: (f) => f.origin === "unit",
      approveLabel: "提交报告",
      approveNeedsNote: () => "请填写该资源的云资源使用情况报告（000 7.2.3.1），作为审核的主要依据",
    },
    approve: MANAGER_APPROVAL,
    plan: { key: "plan", name: "调整方案", parties: ["provider"], deadline: wd(3), approveLabel: "提交方案" },
    plan_review: { key: "plan_review", name: "审核调整方案", parties: ["manager"], deadline: wd(2), approveLabel: "同意", canReturn: true },
    // Disagreeing is a return with a written reason (第二十条).
    confirm: { key: "confirm", name: "使用单位确认", parties: ["applicant"], deadline: wd(2), approveLabel: "确认方案", canReturn: true },
    // 004 第二十一条(一): the provider leads the implementation and the unit assists; 1 准备 is the unit's, "按照云资源
    // 评估实施单位的要求" — the requirements the provider wrote into its plan, which its card quotes. 004 sets no
    // deadline for it; the provider's 调整 counts from its end.
    prepare: { key: "prepare", name: "数据备份与停机告知", parties: ["applicant"], approveLabel: "已完成", quotes: "plan" },
    adjust: { key: "adjust", name: "实施调整", parties: ["provider"], deadline: wd(3), approveLabel: "已调整", marks: "changed" },
    // The new size is in place by now: a failed test or check goes back to the provider's adjustment.
    // 004 第二十一条(一)4 提交: once the test passes the provider hands the result to the reviewer (复核) and, for a
    // county unit, files it with the county bureau (同步…备案): the bureau is told and finds it among its units' requests.
    test: { key: "test", name: "测试确认", parties: ["applicant"], approveLabel: "测试通过", canReturn: true, returnTo: "adjust", reportTo: ["county_bureau"] },
    verify: { key: "verify", name: "复核", parties: ["reviewer"], deadline: wd(2), approveLabel: "核查通过", canReturn: true, returnTo: "adjust" },
  },
  profiles: {
    default: { name: "004 第十八—二十二条", sequence: ["approve", "plan", "plan_review", "confirm", "prepare", "adjust", "test", "verify"], attachments: [] },
    // 韶关: a county unit's change passes its county bureau first (002 第二十三条); reviewed in 5 working days, the
    // change done in 3 (002 第二十一条).
    // A 重大变更 is refused: it is applied for anew (002 第二十一条, majorChange above).
    shaoguan: {
      name: "韶关 002 第二十一、二十三条",
      sequence: ["supervisor_review", "county_review", "approve", "adjust"],
      overrides: REVIEW_THEN_CHANGE,
      attachments: [],
      submissionRules: [majorChange],
    },
    // 徽州: reviewed in 5 working days, the change done in 3 (001 第十五条).
    huizhou: { name: "徽州 001 第十五条", sequence: ["approve", "adjust"], overrides: REVIEW_THEN_CHANGE, attachments: [] },
    // 巴中 003 第二十四条 and 高创中心 000 7.2.3.1: applied for, reviewed, then adjusted; neither sets deadlines, so
    // 梅州's are kept. The unit still confirms the plan (or a proposal made to it) before the change.
    bazhong: { name: "巴中 003 第二十四条", ...SHORTER },
    // 000 7.2.3.1: the review rests on the supervisor's usage report, which its card quotes.
    gaochuang: {
      name: "高创中心 000 7.2.3",
      ...SHORTER,
      sequence: ["usage_report", ...SHORTER.sequence],
      overrides: { approve: { quotes: "usage_report", quoteLead: "监管部门的云资源使用情况报告（000 7.2.3.1，审核的主要依据）" } },
    },
  },
};
