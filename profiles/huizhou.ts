import { COMMON_THRESHOLDS } from "./common";
import type { ProfileModule } from "./types";

/** 徽州: 001 第十九条 requires a warning near 70% of the cloud's capacity, which needs that capacity configured. */
export const huizhou = {
  name: "徽州",
  seed: { id: "001", title: "徽州区政务云平台管理暂行办法" },
  thresholds: COMMON_THRESHOLDS,
  // 001 sets no rule of its own: 004 第十九条(二)'s.
  scaleUpBasis: "utilisation",
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: "001 第十九条",
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
} as const satisfies ProfileModule;
