import type { ProfileKey } from "../../profiles";
import { REVOCATION_TRIGGERS, type RevocationFacts, type RevocationTrigger } from "../../src/resources/catalog";
import { COUNTY_PRE_REVIEW, type FlowDef, MANAGER_APPROVAL, months, type ProfileDef, SUPERVISOR_PRE_REVIEW, wd } from "../types";
import { HANDOVER_RECORD } from "./form";

// Flow 3 of flows.md: 撤销 / 注销 / 退出 (004 第二十三—二十七条). Started by the applicant's unit, by the provider,
// or by yunshen itself when a time rule of 第二十四条(二) holds, with the evidence.

/** The triggers the manager may start a revocation for. */
export type ManagerRevocationTrigger = Extract<RevocationTrigger, "ordered_exit" | "under_use" | "undertaking_breach">;

/**
 * Which of them a jurisdiction's document gives its manager, and the article. 梅州 (004 第二十三、二十四条) and 高创中心
 * (000 7.2.3) have the unit or the provider ask, never the manager.
 */
export const MANAGER_REVOCATIONS: Partial<Record<ProfileKey, Partial<Record<ManagerRevocationTrigger, string>>>> = {
  // 003 第二十四条(四): 责令使用单位整改或退出.
  bazhong: { ordered_exit: "003 第二十四条(四)" },
  // 002 附件2 十六: 主管单位有权停止有关服务，收回资源.
  shaoguan: { undertaking_breach: "002 附件2 十六" },
  // 001 第三十条: 对业务资源使用率不足的应用系统，组织…确定资源降配或回收方案; 第二十五条: 不予整改或整改不到位的…强制处理.
  huizhou: { under_use: "001 第三十条", ordered_exit: "001 第二十五条" },
};

/** Whether the unit declared on its form that the system is offline and its data migrated and backed up. */
const unitDeclaredDone = (f: RevocationFacts) => f.unitDone?.offline === true && f.unitDone.dataMigrated === true;

/**
 * 韶关 002 第二十二条 and 徽州 001 第十六条: the unit takes its system offline and migrates and backs up its data, then
 * asks (附件4 注销申请表 / 终止申请); the manager reviews within 5 working days; once approved, the provider reclaims
 * the resources within 3. None of 梅州's plan, plan review, confirmation or preparation after the approval, and no
 * check after the reclaim.
 */
function doneBeforeAsking(name: string, article: string, sequence: string[]): ProfileDef<RevocationFacts> {
  const declaration = (field: "offline" | "dataMigrated", what: string) => (f: RevocationFacts) =>
    f.unitDone && !f.unitDone[field] ? { field: `form.${field}`, message: `请先${what}再申请撤销（${article}）` } : null;
  return {
    name,
    sequence,
    overrides: {
      // What the unit has not declared done (a request the provider started for it) is its first stage, before
      // anyone reviews: the request is then as the unit's own would have been.
      prepare: { name: "系统下线与数据迁移备份", when: (f) => !unitDeclaredDone(f), quotes: undefined },
      approve: { deadline: wd(5) },
      revoke: { name: "回收资源" },
    },
    attachments: [],
    submissionRules: [declaration("offline", "完成政务信息系统下线"), declaration("dataMigrated", "完成数据迁移备份")],
  };
}

export const revocationFlow: FlowDef<RevocationFacts, "revocation"> = {
  key: "revocation",
  ratedService: true,
  name: "云资源撤销",
  // The time rules of 004 第二十四条(二) are read as the provider's to apply (第二十四条(一): the provider asks "根据
  // 已上线系统运行实际情况"; a unit does not ask to lose its own resources): yunshen's proposals are the provider's.
  proposer: "provider",
  summary: (f) => [
    { label: "资源", value: f.resourceNames.join("、") },
    { label: "理由", value: `${REVOCATION_TRIGGERS[f.trigger]}${f.article ? `（${f.article}）` : ""}` },
  ],
  stages: {
    supervisor_review: SUPERVISOR_PRE_REVIEW,
    county_review: COUNTY_PRE_REVIEW,
    approve: MANAGER_APPROVAL,
    plan: { key: "plan", name: "撤销方案", parties: ["provider"], deadline: wd(3), approveLabel: "提交方案" },
    plan_review: { key: "plan_review", name: "审核撤销方案", parties: ["manager"], deadline: wd(2), approveLabel: "同意", canReturn: true },
    confirm: { key: "confirm", name: "使用单位确认", parties: ["applicant"], deadline: wd(2), approveLabel: "确认撤销", canReturn: true },
    // 004 第二十六条: the provider leads, the unit assists; 1 准备 is the unit's, "按照云资源评估实施单位要求",
    // which the provider wrote into its plan and the card quotes. 004 sets no deadline for it.
    prepare: { key: "prepare", name: "数据备份与应用转移", parties: ["applicant"], approveLabel: "已完成", quotes: "plan" },
    // 巴中 003 第二十二条: the unit has a 3-month 过渡期 to take the system down and migrate and back up its data;
    // only when it has run out do the unit and the provider purge the data together, and the resources are reclaimed.
    transition: { key: "transition", name: "过渡期（系统下线与数据迁移备份）", parties: ["applicant"], deadline: months(3), elapses: true, approveLabel: "届满" },
    // 高创中心 000 6.3: "应用系统迁出或撤除时，公共服务云平台服务商要做好数据和文档等资源的移交和清除工作": the
    // provider hands the unit its data and documents and records what, how, where, when and to whom (移交记录);
    // then the unit and the provider both sign it (会签) before anything is purged. What the unit finds missing
    // goes back to the provider's handover. 000 sets no time for either: 5 wd for the handover, as the purge, and
    // 2 wd to sign, as the other confirmations.
    handover: { key: "handover", name: "数据和文档移交", parties: ["provider"], deadline: wd(5), approveLabel: "已移交", form: HANDOVER_RECORD },
    handover_confirm: {
      key: "handover_confirm",
      name: "移交确认（会签）",
      parties: ["applicant", "provider"],
      deadline: wd(2),
      approveLabel: "确认移交",
      canReturn: true,
      returnTo: "handover",
    },
    // 共同做好数据清除: a 会签 of the unit and the provider. 003 sets no deadline; 5 wd, like its other steps.
    purge: { key: "purge", name: "数据清除", parties: ["applicant", "provider"], deadline: wd(5), approveLabel: "已清除" },
    revoke: { key: "revoke", name: "执行撤销", parties: ["provider"], deadline: wd(3), approveLabel: "已撤销", marks: "revoked" },
    // The resources are revoked by now: what the reviewer finds wrong goes back to the provider's revocation.
    verify: { key: "verify", name: "复核", parties: ["reviewer"], deadline: wd(2), approveLabel: "核查通过", canReturn: true, returnTo: "revoke" },
  },
  profiles: {
    default: {
      name: "004 第二十三—二十七条",
      sequence: ["approve", "plan", "plan_review", "confirm", "prepare", "revoke", "verify"],
      // 004 第二十六条3 提交: the revocation done, the result goes to the reviewer (复核) and, for a county unit, is
      // filed with the county bureau (同步…备案) at once.
      overrides: { revoke: { reportTo: ["county_bureau"] } },
      attachments: [],
    },
    // 002 第二十二条; a 下属单位's passes its 主管单位 and a county unit's its county bureau first (第二十三条).
    shaoguan: doneBeforeAsking("韶关 002 第二十二、二十三条", "002 第二十二条", ["prepare", "supervisor_review", "county_review", "approve", "revoke"]),
    // 高创中心 000 7.2.3: once approved, the unit and the provider together stop the application, back up and
    // purge the data, and reclaim the resources; 000 6.3: the provider hands the data and documents over before
    // they are purged (移交和清除), both sides signing the record.
    gaochuang: {
      name: "高创中心 000 6.3、7.2.3",
      sequence: ["approve", "prepare", "handover", "handover_confirm", "purge", "revoke", "verify"],
      overrides: { prepare: { name: "应用停止与数据备份" }, purge: { name: "数据消除" }, revoke: { name: "资源回收" } },
      attachments: [],
    },
    // No 移交 in 巴中: 003 第二十二条 gives the unit itself the 过渡期 to take its system down and migrate and back
    // up its data (完成系统下线和数据迁移备份); the provider's part begins only at the purge and the reclaim.
    bazhong: {
      name: "巴中 003 第二十二条",
      sequence: ["approve", "transition", "purge", "revoke", "verify"],
      overrides: { revoke: { name: "资源回收" } },
      attachments: [],
    },
    // 001 第十六条.
    huizhou: doneBeforeAsking("徽州 001 第十六条", "001 第十六条", ["prepare", "approve", "revoke"]),
  },
};
