import { COMMON_MAINTENANCE_NOTICE, COMMON_THRESHOLDS, NO_INCIDENT_TIMES } from "./common";
import type { ProfileModule } from "./types";

/** 高创中心: a scale-up is decided on the supervisor's usage report (000 7.2.3.1); 004 第十九条(三)'s half-yearly review still proposes scale-downs. */
export const gaochuang = {
  name: "高创中心",
  seed: { id: "000", title: "韶关市新区高创中心双创载体采购项目公共服务云平台服务管理规范" },
  thresholds: COMMON_THRESHOLDS,
  // 000 7.2.3.1: the supervisor's usage report is the main basis of the review.
  scaleUpBasis: "usageReport",
  // 000 6.2: 等保 and 密评 are the unit's, reminded monthly while the register lacks them.
  periodicJobs: ["halfYearlyReview", "mlpsReminders"],
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
  // 000 6.2: "使用单位应…开展网络安全等级保护定级备案及测评工作，开展密码应用安全性评估". No time is given: from
  // go-live (the system runs on the cloud, 7.2.1 "应用系统正式运行"), no date, complete with the 测评 and its report
  // and a 密评 not concluding 不符合.
  mlps: { article: "000 6.2", from: "live", withinMonths: null, complete: "tested", crypto: true },
  reapplication: null,
} as const satisfies ProfileModule;
