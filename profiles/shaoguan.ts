import { COMMON_THRESHOLDS } from "./common";
import type { ProfileModule } from "./types";

/** 韶关: its document sets no utilisation rules of its own; 004's apply. */
export const shaoguan = {
  name: "韶关",
  seed: { id: "002", title: "韶关市“数字政府”政务云管理办法（试行）" },
  thresholds: COMMON_THRESHOLDS,
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  // 002 sets no start of billing (第四十三条 only says who pays); from delivery, as 004 第四十三条.
  billingStartsAt: "delivered",
} as const satisfies ProfileModule;
