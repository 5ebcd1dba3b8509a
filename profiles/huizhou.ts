import { COMMON_MAINTENANCE_NOTICE, COMMON_THRESHOLDS, NO_INCIDENT_TIMES } from "./common";
import type { ProfileModule } from "./types";

/** 徽州: 001 第十九条 requires a warning near 70% of the cloud's capacity, which needs that capacity configured. */
export const huizhou = {
  name: "徽州",
  seed: { id: "001", title: "徽州区政务云平台管理暂行办法" },
  thresholds: COMMON_THRESHOLDS,
  // 001 sets no rule of its own: 004 第十九条(二)'s.
  scaleUpBasis: "utilisation",
  // 001 第二十八条: 等保 within 6 months of the system's deployment on the cloud.
  periodicJobs: ["halfYearlyReview", "mlpsReminders"],
  cloudCapacityRequiredBy: "001 第十九条",
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  // 001 附件1 注2: "虚拟机首次登录后应及时修改密码".
  vmFirstLoginPasswordChange: "001 附件1 注2",
  // 001 第十九条 (故障 "应及时告知云管理机构和相关单位") and 第二十九条 (重大突发事件 "及时上报…并告知相关使用单位");
  // 第二十条: 使用单位 report problems to 运维单位. No time given; 001 has no maintenance article.
  notices: {
    incident: { articles: ["001 第十九条", "001 第二十九条"], ...NO_INCIDENT_TIMES, responsiblePartyRequired: false },
    maintenance: { articles: [], ...COMMON_MAINTENANCE_NOTICE, verificationRequired: false },
  },
  // 001 sets no start of billing (第三十二条: the 区财政 budget); from delivery, as 004 第四十三条.
  billingStartsAt: "delivered",
  reapplication: null,
  // 001 第二十八条: "原则上系统上云部署 6 个月内，使用单位要完成…定级、备案及测评工作，并…提交…备案证明及测评报告".
  // 徽州's application has no deployment stage of its own: the unit deploys its system on the test resources it is
  // given (001 第十三条), so the 6 months count from their delivery.
  mlps: { article: "001 第二十八条", from: "delivered", withinMonths: 6, complete: "tested" },
} as const satisfies ProfileModule;
