import { COMMON_THRESHOLDS } from "./common";
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
  periodicJobs: ["quarterlyReview", "expansionNotices"],
  cloudCapacityRequiredBy: null,
  revocationProposals: false,
  vmLoginAuthenticator: "instead",
  // 003 第四十三条: "获得政务云资源配额并完成信息系统部署之日起，开始计算政务云资源服务费".
  billingStartsAt: "deployed",
} as const satisfies ProfileModule;
