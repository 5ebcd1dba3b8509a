import { COMMON_MAINTENANCE_NOTICE, COMMON_THRESHOLDS, NO_INCIDENT_TIMES } from "./common";
import type { ProfileModule } from "./types";

/** 高创中心: a scale-up is decided on the supervisor's usage report (000 7.2.3.1); 004 第十九条(三)'s half-yearly review still proposes scale-downs. */
export const gaochuang = {
  name: "高创中心",
  seed: { id: "000", title: "韶关市新区高创中心双创载体采购项目公共服务云平台服务管理规范" },
  thresholds: COMMON_THRESHOLDS,
  // 000 7.2.3.1: the supervisor's usage report is the main basis of the review.
  scaleUpBasis: "usageReport",
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  vmFirstLoginPasswordChange: null,
  // 000 8.2: "发现问题及时向公共服务云平台监管部门通报" (no time); 8.4: a 重大变更 is told 书面 beforehand with
  // "安全影响分析、测试和验证", so the notice must carry the verification done.
  notices: {
    incident: { articles: ["000 8.2"], ...NO_INCIDENT_TIMES, responsiblePartyRequired: false },
    maintenance: { articles: ["000 8.4"], ...COMMON_MAINTENANCE_NOTICE, verificationRequired: true },
  },
  // 000 sets no start of billing; from delivery (资源开通), as 004 第四十三条.
  billingStartsAt: "delivered",
  reapplication: null,
} as const satisfies ProfileModule;
