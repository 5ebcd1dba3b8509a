import { COMMON_MAINTENANCE_NOTICE, COMMON_THRESHOLDS, NO_INCIDENT_TIMES } from "./common";
import type { ProfileModule } from "./types";

/**
 * 巴中: 003 第二十四条 replaces the half-yearly review with a quarterly one (peaks "未超过 30%", 30 qualifies)
 * and a yearly one of the data disk ("剩余空间大于500GB", strictly), and has the provider report a resource
 * "超过规定阈值 70%后" (strictly above) at once.
 */
export const bazhong = {
  name: "巴中",
  seed: { id: "003", title: "“智慧巴中”云平台管理办法（送审稿）" },
  thresholds: {
    ...COMMON_THRESHOLDS,
    periodShrink: { peakAtMost: 30, dataDiskFreeGbAbove: 500 },
    expansionNoticeAbove: 70,
  },
  // 003 第二十四条(一): the provider's report of utilisation above 70%, not 004's 5 working days.
  scaleUpBasis: "providerReport",
  // 003 第三十三条's 等保测评 and 密评 are asked before the cutover or go-live (the application flow), so there is
  // nothing left to remind of afterwards.
  periodicJobs: ["quarterlyReview", "expansionNotices"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  vmFirstLoginPasswordChange: null,
  // 003 第三十条: the provider "及时报告…并初判故障处理责任单位", and feeds back 进度、结果; 第三十九条: 安全事件
  // "应及时…报告". No time given; 003 has no maintenance article.
  notices: {
    incident: { articles: ["003 第三十条", "003 第三十九条"], ...NO_INCIDENT_TIMES, responsiblePartyRequired: true },
    maintenance: { articles: [], ...COMMON_MAINTENANCE_NOTICE, verificationRequired: false },
  },
  // 003 第四十三条: "获得政务云资源配额并完成信息系统部署之日起，开始计算政务云资源服务费".
  billingStartsAt: "deployed",
  // 003 第十四条: the year's plan "由市政务服务和大数据管理局报市人民政府审定同意".
  planConsent: "003 第十四条",
  reapplication: null,
} as const satisfies ProfileModule;
