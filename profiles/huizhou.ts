import { COMMON_THRESHOLDS } from "./common";
import type { ProfileModule } from "./types";

/** 徽州: 001 第十九条 requires a warning near 70% of the cloud's capacity, which needs that capacity configured. */
export const huizhou = {
  name: "徽州",
  seed: { id: "001", title: "徽州区政务云平台管理暂行办法" },
  thresholds: COMMON_THRESHOLDS,
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: "001 第十九条",
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  // 001 sets no start of billing (第三十二条: the 区财政 budget); from delivery, as 004 第四十三条.
  billingStartsAt: "delivered",
} as const satisfies ProfileModule;
