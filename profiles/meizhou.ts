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
} as const satisfies ProfileModule;
