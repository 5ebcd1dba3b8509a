// What differs between the jurisdictions whose documents yunshen follows, as data. This folder imports
// nothing: the code that acts on a profile (metrics/rules, jobs/, server.ts) reads these values.

/** A periodic job a profile may run; src/jobs/periodic.ts runs each key. */
export type PeriodicJobKey = "halfYearlyReview" | "quarterlyReview" | "expansionNotices";

/** A scale-up's evidence: the minimum utilisation in percent ("不低于" = ≥), over the last `workdays` working days. */
export interface ScaleUpThresholds {
  workdays: number;
  vcpuPeak: number;
  memoryPeak: number;
  storage: number;
  paasAvg: number;
  paasPeak: number;
  paasStorage: number;
  containerPeak: number;
}

/** A low-load day ("≤" inclusive, storage headroom in months strictly above) and month (strictly more days). */
export interface LowLoadThresholds {
  vcpuPeak: number;
  vcpuAvg: number;
  memoryAvg: number;
  storageHeadroomMonths: number;
  daysPerMonth: number;
}

/** A period's shrink rules: vCPU and memory peaks at most `peakAtMost` percent, a data disk's free space above `dataDiskFreeGbAbove` GB. */
export interface PeriodShrinkThresholds {
  peakAtMost: number;
  dataDiskFreeGbAbove: number;
}

export interface ProfileThresholds {
  scaleUp: ScaleUpThresholds;
  lowLoad: LowLoadThresholds;
  /** The share (percent, ≥) of the cloud's configured capacity, once allocated, at which managers and providers are warned. */
  capacityAlertAt: number;
  /** Needed by the quarterlyReview job. */
  periodShrink?: PeriodShrinkThresholds;
  /** Needed by the expansionNotices job: a VM's utilisation strictly above this percent is reported at once. */
  expansionNoticeAbove?: number;
}

export interface ProfileModule {
  /** The jurisdiction as people call it. */
  name: string;
  /** The management document the profile follows (/work/shared/seeds). */
  seed: { id: string; title: string };
  thresholds: ProfileThresholds;
  /** Run each job round, in this order, besides the jobs every profile runs. */
  periodicJobs: readonly PeriodicJobKey[];
  /** The article that requires warning near the cloud's capacity, when the document does: the service then asks for CLOUD_CAPACITY_* at start. */
  cloudCapacityRequiredBy: string | null;
  /** Whether the time rules of revocation (30/60/90 days after delivery) propose revoking this profile's resources. */
  revocationProposals: boolean;
  /**
   * What a person's authenticator app is at a VM login: `instead` of the SMS code (where SMS does not reach), or
   * `additional` to it, when the document requires an SMS code at every login.
   */
  vmLoginAuthenticator: "instead" | "additional";
  /**
   * From when the resources a 云资源申请 delivers are billed: the day the cloud opened them (`delivered`, 004 第四十三条
   * "以…云管理平台开通时间开始计费"), or the day the unit finished deploying its system on them (`deployed`, 003
   * 第四十三条 "完成信息系统部署之日起，开始计算"). Resources of other requests (a 备份申请's policy) are billed from
   * their delivery everywhere.
   */
  billingStartsAt: "delivered" | "deployed";
}
