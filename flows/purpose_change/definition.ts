import type { PurposeChangeFacts } from "../../src/resources/purpose";
import { COUNTY_PRE_REVIEW, type FlowDef, MANAGER_APPROVAL, type ProfileDef, SUPERVISOR_PRE_REVIEW, wd } from "../types";

// 用途变更 (issue 14). 001 第十五条: "严禁使用单位擅自变更云资源用途" — a unit asks (变更申请), the 云主管部门 reviews
// within 5 working days, and once approved the 运维单位 makes the change within 3. 002 第十五条: "需要变更资源用途时，
// 应当向本级政务服务数据管理部门提出申请" (附件2 七: 不可随意变更用途或提供给其他单位使用); it sets no time of its own,
// so its 变更 article (第二十一条: 5 wd review, 3 wd to make the change) is read as applying, and a county unit's
// change passes its county bureau first (第二十三条: "申请、变更或停止使用…报本级…初审后，提交市…审核").
// The ledger's 用途 of each VM becomes the new one when the provider's stage completes (src/resources/purpose.ts).

const REVIEW_THEN_CHANGE = { approve: { deadline: wd(5) } };

const reviewThenChange = (name: string, sequence: string[]): ProfileDef<PurposeChangeFacts> => ({
  name,
  sequence,
  overrides: REVIEW_THEN_CHANGE,
  attachments: [],
});

export const purposeChangeFlow: FlowDef<PurposeChangeFacts, "purpose_change"> = {
  key: "purpose_change",
  ratedService: true,
  name: "用途变更",
  summary: (f) => [
    { label: "资源", value: f.resourceNames.join("、") },
    { label: "用途", value: `${[...new Set(f.from)].join("、")} → ${f.purpose}` },
    { label: "理由", value: f.reason },
  ],
  stages: {
    supervisor_review: SUPERVISOR_PRE_REVIEW,
    county_review: COUNTY_PRE_REVIEW,
    // 001 第十五条, 002 第二十一条: 变更审核 within 5 working days (the profiles set it).
    approve: { ...MANAGER_APPROVAL, name: "变更审核" },
    // 001 第十五条: "审核通过的，运维单位应在 3 个工作日内完成变更"; 002 第二十一条 likewise.
    change: { key: "change", name: "实施变更", parties: ["provider"], deadline: wd(3), approveLabel: "已变更" },
  },
  profiles: {
    // 梅州 (004), 巴中 (003) and 高创中心 (000) say nothing of changing a resource's 用途 (004 第十四条(二)1 only asks
    // that the 用途 asked for fits the 数字政府 deployment; 000 7.2.3.1 and 003 第二十四条 are about sizes): the
    // 徽州/韶关 reading is kept — reviewed within 5 working days, changed within 3 once approved.
    default: reviewThenChange("001 第十五条、002 第十五条（本地区办法未规定，参照）", ["approve", "change"]),
    // 002 第十五条, 第二十一条; a county unit's through its county bureau first (第二十三条).
    shaoguan: reviewThenChange("韶关 002 第十五、二十一、二十三条", ["supervisor_review", "county_review", "approve", "change"]),
    // 001 第十五条; 001 has no county pre-review.
    huizhou: reviewThenChange("徽州 001 第十五条", ["approve", "change"]),
  },
};
