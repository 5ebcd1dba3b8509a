import { COMMON_THRESHOLDS } from "./common";
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
} as const satisfies ProfileModule;
