import type { ProfileThresholds } from "./types";

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
