import { COMMON_THRESHOLDS } from "./common";
import type { ProfileModule } from "./types";

/** 高创中心: its document sets no utilisation rules of its own; 004's apply. */
export const gaochuang = {
  name: "高创中心",
  seed: { id: "000", title: "韶关市新区高创中心双创载体采购项目公共服务云平台服务管理规范" },
  thresholds: COMMON_THRESHOLDS,
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  // 000 sets no start of billing; from delivery (资源开通), as 004 第四十三条.
  billingStartsAt: "delivered",
} as const satisfies ProfileModule;
