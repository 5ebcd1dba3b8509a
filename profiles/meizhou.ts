import { COMMON_MAINTENANCE_NOTICE, COMMON_THRESHOLDS, NO_INCIDENT_TIMES } from "./common";
import type { ProfileModule } from "./types";

/** 梅州, the default: 004 第十九条(三)'s half-yearly review and 第二十四条's revocation time rules. */
export const meizhou = {
  name: "梅州",
  seed: { id: "004", title: "广东“数字政府”政务云梅州节点云资源使用管理实施细则（试行）" },
  thresholds: COMMON_THRESHOLDS,
  // 004 第十九条(二).
  scaleUpBasis: "utilisation",
  // 004 第三十八条: 等保 after go-live, reminded while the register lacks it.
  periodicJobs: ["halfYearlyReview", "mlpsReminders"],
  cloudCapacityRequiredBy: null,
  revocationProposals: true,
  // 004 第三十七条: "每次登陆均要短信下发随机密码": an app adds to the SMS code, never replaces it.
  vmLoginAuthenticator: "additional",
  vmFirstLoginPasswordChange: null,
  // 004 has no article on reporting faults; 第三十九条 (统一的安全响应机制) is the nearest. It has none on
  // announcing maintenance either: 梅州 follows the practice of 000 8.4 / 002 第三十条 (see profiles/common.ts).
  notices: {
    incident: { articles: ["004 第三十九条"], ...NO_INCIDENT_TIMES, responsiblePartyRequired: false },
    maintenance: { articles: [], ...COMMON_MAINTENANCE_NOTICE, verificationRequired: false },
  },
  // 004 第四十三条: "以梅州节点云管理平台开通时间开始计费".
  billingStartsAt: "delivered",
  reapplication: null,
  // 004 第三十八条: "系统上线运行后…及时…定级、备案": from go-live, no date, the 备案 recorded.
  mlps: { article: "004 第三十八条", from: "live", withinMonths: null, complete: "filed" },
} as const satisfies ProfileModule;
