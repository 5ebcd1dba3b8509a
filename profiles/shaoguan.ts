import { COMMON_THRESHOLDS } from "./common";
import type { ProfileModule } from "./types";

/** 韶关: its document sets no utilisation rules of its own; 004's apply. */
export const shaoguan = {
  name: "韶关",
  seed: { id: "002", title: "韶关市“数字政府”政务云管理办法（试行）" },
  thresholds: COMMON_THRESHOLDS,
  // 002 sets no rule of its own: 004 第十九条(二)'s.
  scaleUpBasis: "utilisation",
  periodicJobs: ["halfYearlyReview"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
} as const satisfies ProfileModule;
