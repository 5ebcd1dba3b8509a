import type { NoticeRules, ProfileThresholds } from "./types";

/**
 * The utilisation rules of 004 (梅州) 第十九条 and the capacity warning of 001 (徽州) 第十九条, which every
 * profile applies where its own document says nothing else.
 */
export const COMMON_THRESHOLDS = {
  // 004 第十九条(二): "前 5 个工作日的峰值使用率不低于 N%".
  scaleUp: {
    workdays: 5,
    vcpuPeak: 60,
    memoryPeak: 40,
    storage: 60,
    paasAvg: 40,
    paasPeak: 60,
    paasStorage: 60,
    containerPeak: 60,
  },
  // 004 第十九条(三): "≤" is inclusive, "> 12 months" and "超过 15 天" are strict.
  lowLoad: {
    vcpuPeak: 40,
    vcpuAvg: 20,
    memoryAvg: 50,
    storageHeadroomMonths: 12,
    daysPerMonth: 15,
  },
  // 001 第十九条: "接近系统容量70%", read as ≥ 70 (flows.md).
  capacityAlertAt: 70,
} as const satisfies ProfileThresholds;

/**
 * 平台变更 / 检修公告's notice period. No document sets one: 002 第三十条 says only "应提前…报告" and 000 8.4
 * "变更前，应书面告知". Three working days is the operator's reading (the usual 政务云 practice of announcing a
 * planned window 提前 3 个工作日, time for a unit to arrange its business around it); a profile whose document
 * names a period overrides it.
 */
export const COMMON_MAINTENANCE_NOTICE = {
  noticeWorkdays: 3,
  noticeBasis: "文件未规定提前期限，按提前 3 个工作日执行（运维惯例）",
} as const satisfies Pick<NoticeRules["maintenance"], "noticeWorkdays" | "noticeBasis">;

/** No document sets a time for a fault's first report or its result: they say "及时" (at once). */
export const NO_INCIDENT_TIMES = { reportWithinMinutes: null, resultWithinDays: null } as const;
