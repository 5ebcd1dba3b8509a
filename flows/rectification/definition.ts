import type { ProfileKey } from "../../profiles";
import { RECTIFICATION_GROUNDS, type RectificationFacts, type RectificationGround } from "../../src/resources/catalog";
import { days, type FlowDef, wd } from "../types";

// 整改通知 (责令整改或退出): the manager orders a unit to rectify what it found about some of the unit's resources by
// a date; the unit's applicants are told at once, one of them reports 整改完成 with what was done, the manager
// confirms it or returns it (整改不到位). When the date passes unrectified, the resources are stopped and reclaimed:
// a revocation opens for them, owned by the unit (StageDef.revokeOnLapse). 退出 directly is a revocation the
// manager starts itself (trigger ordered_exit, flows/revocation).

/** A ground a jurisdiction's document names, the article it is in, and whether it suspends the system at once. */
interface GroundRule {
  article: string;
  suspend?: true;
}

/**
 * Who issues the order and confirms the rectification, where a document gives the seat to another than the manager
 * (高创中心 000 6.1: the 监管部门, the reviewer's seat, as its usage report in 7.2.3.1), with the words its refusal uses.
 */
export const RECTIFICATION_ISSUERS: Partial<Record<ProfileKey, { role: "manager" | "reviewer"; name: string }>> = {
  gaochuang: { role: "reviewer", name: "公共服务云平台监管部门（复核单位）" },
};
export const rectificationIssuer = (profile: ProfileKey) => RECTIFICATION_ISSUERS[profile] ?? { role: "manager" as const, name: "统筹管理单位（政务云主管部门）" };

/**
 * The grounds each jurisdiction's document lets its manager order a rectification on. 梅州 (004) has none: its
 * 第三十九条 inspections are of the provider (the 安全督查与检查 records, src/security/inspections.ts).
 */
export const RECTIFICATION_RULES: Partial<Record<ProfileKey, Partial<Record<RectificationGround, GroundRule>>>> = {
  // 003 第二十四条(四): 对虚报政务云资源、使用效率长期较低、“僵尸系统”、资源长期闲置等情况，…责令使用单位整改或退出，拒不整改的，
  // 停止政务云资源使用并回收.
  bazhong: {
    false_declaration: { article: "003 第二十四条(四)" },
    low_efficiency: { article: "003 第二十四条(四)" },
    zombie: { article: "003 第二十四条(四)" },
    idle: { article: "003 第二十四条(四)" },
  },
  // 002 附件2 十六: 对于违反上述规定的资源使用单位，主管单位有权停止有关服务，收回资源.
  shaoguan: { undertaking_breach: { article: "002 附件2 十六" } },
  // 001 第二十五条: 风险等级较高的，暂停系统运行直至整改完成；较低的，督促限期整改；不予整改或整改不到位的…强制处理.
  // 001 第三十条: 对业务资源使用率不足的应用系统，组织…确定资源降配或回收方案.
  huizhou: {
    security_risk_high: { article: "001 第二十五条", suspend: true },
    security_risk_low: { article: "001 第二十五条" },
    under_use: { article: "001 第三十条" },
  },
  // 000 6.1: 发现安全风险、隐患和安全事件，督促…使用单位进行整改 (no reclaim: see the profile below).
  gaochuang: { security_risk: { article: "000 6.1" } },
};

/** The grounds the profile's document names, with their words: what the 发起 form offers. */
export function rectificationGrounds(profile: ProfileKey): { value: RectificationGround; label: string; article: string }[] {
  return Object.entries(RECTIFICATION_RULES[profile] ?? {}).map(([value, rule]) => ({
    value: value as RectificationGround,
    label: RECTIFICATION_GROUNDS[value as RectificationGround],
    article: rule!.article,
  }));
}

const ORDERED = { sequence: ["rectify", "confirm"], attachments: [] };

export const rectificationFlow: FlowDef<RectificationFacts, "rectification"> = {
  key: "rectification",
  name: "整改通知",
  summary: (f) => [
    { label: "事由", value: `${RECTIFICATION_GROUNDS[f.ground]}（${f.article}）` },
    { label: "问题与要求", value: f.description },
    { label: "资源", value: f.resourceNames.join("、") },
    { label: "整改期限", value: `${f.rectifyBy} 前` },
    ...(f.suspend ? [{ label: "系统运行", value: "暂停运行，直至整改完成（001 第二十五条）" }] : []),
    ...(f.lapsed
      ? [{ label: "结果", value: f.lapsed.revocation ? `逾期未整改，已停止使用并发起回收（撤销申请 ${f.lapsed.revocation}）` : "逾期未整改，由统筹管理单位另行安排回收" }]
      : []),
  ],
  badge: (f) => (f.suspend ? "暂停运行" : null),
  stages: {
    // 001 第二十五条: a higher risk pauses the system at once, while the unit rectifies (alongside); the provider (运维
    // 单位) does it the same day. Recorded on the order (who, when), not on the ledger, which has no such status.
    suspend: {
      key: "suspend",
      name: "暂停系统运行",
      parties: ["provider"],
      deadline: days(0),
      when: (f) => f.suspend,
      alongside: true,
      approveLabel: "已暂停运行",
    },
    // Every applicant of the unit gets the order at once; any of them reports what was done. The manager may
    // extend the date. Unrectified by the date: the resources are stopped and reclaimed (revokeOnLapse).
    rectify: {
      key: "rectify",
      name: "整改",
      parties: ["unit"],
      deadline: { onDateOf: "rectifyBy" },
      approveLabel: "整改完成",
      approveNeedsNote: () => "请说明整改情况：做了哪些整改",
      extendable: true,
      revokeOnLapse: "rectification_refused",
      reportTo: ["manager"],
    },
    // The documents set no time for the confirmation: 5 working days, as 001's and 002's reviews. A return is 整改
    // 不到位: the unit rectifies again by the same date, so one returned after the date lapses at once.
    confirm: { key: "confirm", name: "整改确认", parties: ["manager"], deadline: wd(5), approveLabel: "确认整改", canReturn: true, returnTo: "rectify" },
    // 直至整改完成: once the rectification is confirmed the system runs again.
    resume: { key: "resume", name: "恢复系统运行", parties: ["provider"], deadline: days(0), when: (f) => f.suspend, approveLabel: "已恢复运行" },
  },
  profiles: {
    // 梅州 (004) names no order to a unit; the flow refuses there (service.prepare) before any stage.
    default: { name: "（本地区管理办法未规定）", ...ORDERED },
    bazhong: { name: "巴中 003 第二十四条(四)", ...ORDERED },
    shaoguan: { name: "韶关 002 附件2 十六", ...ORDERED },
    huizhou: { name: "徽州 001 第二十五、三十条", sequence: ["suspend", "rectify", "confirm", "resume"], attachments: [] },
    // 000 6.1: the 监管部门 (the reviewer's seat) finds and 督促整改 — it confirms the rectification too; only 督促: a
    // date passed is a warning to the unit, the managers and the reviewers, not a reclaim.
    gaochuang: {
      name: "高创中心 000 6.1",
      ...ORDERED,
      overrides: { rectify: { revokeOnLapse: undefined, reportTo: ["reviewer"] }, confirm: { parties: ["reviewer"] } },
    },
  },
};
