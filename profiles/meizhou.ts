import { COMMON_THRESHOLDS } from "./common";
import type { ProfileModule } from "./types";

/** 梅州, the default: 004 第十九条(三)'s half-yearly review and 第二十四条's revocation time rules. */
export const meizhou = {
  name: "梅州",
  seed: { id: "004", title: "广东“数字政府”政务云梅州节点云资源使用管理实施细则（试行）" },
  thresholds: COMMON_THRESHOLDS,
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: null,
  revocationProposals: true,
  // 004 第三十七条: "每次登陆均要短信下发随机密码": an app adds to the SMS code, never replaces it.
  vmLoginAuthenticator: "additional",
  // 004 第四十三条: "以梅州节点云管理平台开通时间开始计费".
  billingStartsAt: "delivered",
} as const satisfies ProfileModule;
