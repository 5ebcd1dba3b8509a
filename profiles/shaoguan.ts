import { COMMON_MAINTENANCE_NOTICE, COMMON_THRESHOLDS, NO_INCIDENT_TIMES } from "./common";
import type { ProfileModule } from "./types";

/** 韶关: its document sets no utilisation rules of its own; 004's apply. */
export const shaoguan = {
  name: "韶关",
  seed: { id: "002", title: "韶关市“数字政府”政务云管理办法（试行）" },
  thresholds: COMMON_THRESHOLDS,
  // 002 sets no rule of its own: 004 第十九条(二)'s.
  scaleUpBasis: "utilisation",
  periodicJobs: ["halfYearlyReview", "termReminders"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  vmFirstLoginPasswordChange: null,
  // 002 第二十五条: 业务部门 report problems to the bureau and the provider; 第三十条: 检修、故障或突发情况
  // "应提前或及时报告市政务服务数据管理部门和业务部门" — no time given.
  notices: {
    incident: { articles: ["002 第二十五条", "002 第三十条"], ...NO_INCIDENT_TIMES, responsiblePartyRequired: false },
    maintenance: { articles: ["002 第三十条"], ...COMMON_MAINTENANCE_NOTICE, verificationRequired: false },
  },
  // 002 sets no start of billing (第四十三条 only says who pays); from delivery, as 004 第四十三条.
  billingStartsAt: "delivered",
  // 002 第二十一条: "有关工作完成后，原申请的资源应予以注销回收": the new application's work is done when its system has
  // passed the security test and gone live (第三十五条, 附件2 十四; the go_live stage), not when its resources are
  // handed over, so the old system keeps running until the new one does.
  reapplication: { article: "002 第二十一条", revokeAt: "live" },
  // 002 附件1 asks for the 申请期限 and sets nothing at its end: the unit is told a month ahead (yunshen's choice).
  applicationTerm: { article: "002 附件1", noticeDays: 30 },
} as const satisfies ProfileModule;
