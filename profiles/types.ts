// What differs between the jurisdictions whose documents yunshen follows, as data. This folder imports
// nothing: the code that acts on a profile (metrics/rules, jobs/, server.ts) reads these values.

/** A periodic job a profile may run; src/jobs/periodic.ts runs each key. */
export type PeriodicJobKey = "halfYearlyReview" | "quarterlyReview" | "expansionNotices" | "mlpsReminders" | "termReminders";

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

/**
 * What a scale-up is decided on, per the profile's document:
 * - `utilisation`: the last `thresholds.scaleUp.workdays` working days' figures against `thresholds.scaleUp`,
 *   computed at submission; a request they do not justify is refused (004 第十九条(二)).
 * - `providerReport`: the provider's report that the resource's utilisation passed `expansionNoticeAbove`
 *   within the last month (the expansionNotices job): the unit told so may ask (003 第二十四条(一)).
 * - `usageReport`: the supervisor's usage report, written at the request's first stage, on which the manager
 *   decides; nothing is computed or refused at submission (000 7.2.3.1).
 */
export type ScaleUpBasis = "utilisation" | "providerReport" | "usageReport";

/**
 * 故障与突发事件通报 and 平台变更 / 检修公告 (src/notices): the articles the profile's document gives for each,
 * and the times it sets. None of the five documents sets a time for the first report of a fault (they say 及时,
 * "at once"), nor a written report's days, nor a notice period for maintenance; where a value is null the
 * document sets none, and a profile whose document sets one puts it here with its article.
 */
export interface NoticeRules {
  incident: {
    /** The articles cited on each incident (cards, the API's `articles`). */
    articles: readonly string[];
    /** Minutes from the incident's start within which the first report is due; null: "及时" only. */
    reportWithinMinutes: number | null;
    /** Days from the first report within which the written result is due; null: the document sets none. */
    resultWithinDays: number | null;
    /** 003 第三十条: the first report names the unit first judged responsible (初判故障处理责任单位). */
    responsiblePartyRequired: boolean;
  };
  maintenance: {
    /** Empty where the document has no article on announcing maintenance: the notice is offered as 000 8.4 / 002 第三十条 practice. */
    articles: readonly string[];
    /** Working days' notice a planned window needs: its start's date is at least this many working days after the notice's. */
    noticeWorkdays: number;
    /** The article whose reading noticeWorkdays is (or why it is the operator's choice). */
    noticeBasis: string;
    /** 000 8.4: the notice carries the 测试和验证 done before the change (安全影响分析 is asked of every profile). */
    verificationRequired: boolean;
  };
}

export interface ProfileModule {
  /** The jurisdiction as people call it. */
  name: string;
  /** The management document the profile follows (/work/shared/seeds). */
  seed: { id: string; title: string };
  thresholds: ProfileThresholds;
  scaleUpBasis: ScaleUpBasis;
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
   * The article that requires a VM account's initial password to be changed at its first login, where the
   * document has one: the answer to an account's first allowed login (`POST /access/verify`) then carries
   * `changePassword: true` for the PAM script to act on. The flow's side (the holder confirms) is the
   * profile's sequence of vm_account.
   */
  vmFirstLoginPasswordChange: string | null;
  notices: NoticeRules;
  /**
   * From when the resources a 云资源申请 delivers are billed: the day the cloud opened them (`delivered`, 004 第四十三条
   * "以…云管理平台开通时间开始计费"), or the day the unit finished deploying its system on them (`deployed`, 003
   * 第四十三条 "完成信息系统部署之日起，开始计算"). Resources of other requests (a 备份申请's policy) are billed from
   * their delivery everywhere.
   */
  billingStartsAt: "delivered" | "deployed";
  /**
   * The article by which the city government (市人民政府) consents to each year's plan of cloud resources, where the
   * document has one (巴中 003 第十四条): a manager records that consent, and an application outside the consented plan
   * needs its own (the application flow's profile).
   */
  planConsent?: string;
  /**
   * Where the document has a 重大变更 applied for anew (002 第二十一条 "涉及重大变更的，须按本办法第十九条规定重新申请，
   * 有关工作完成后，原申请的资源应予以注销回收"): a 云资源申请 may name the unit's resources it replaces
   * (`replaces`), and once its own resources reach `revokeAt` a revocation of the replaced ones opens by itself,
   * citing `article`. null: the document has no such rule, and an application naming resources it replaces is
   * refused rather than left to replace nothing.
   */
  reapplication: { article: string; revokeAt: "delivered" | "live" } | null;
  /** Needed by the mlpsReminders job: when a registered system's 等保 is due, and what completes it. */
  mlps?: MlpsRule;
  /** Needed by the termReminders job: the form's 申请期限 (002 附件1), and how many days before its end the unit is told. */
  applicationTerm?: TermRule;
  /**
   * Who publishes the 服务目录's versions besides the system administrator, where the document names them: role
   * keys, the party as the document calls it, and the article. Absent: the manager (统筹管理单位), who loads the
   * price tables the catalog is priced by (004 第四条, 003 第二条(二)).
   */
  serviceCatalogBy?: { roles: readonly string[]; party: string; article: string };
}

/** 申请期限 (002 附件1): the article asking for it, and how many calendar days before its end the unit is told. */
export interface TermRule {
  article: string;
  noticeDays: number;
}

/**
 * 等保 per the profile's document: counted from the moment its resources reach `from` (上线 in 梅州 004 第三十八条;
 * 上云部署 in 徽州 001 第二十八条), due `withinMonths` later (null: "及时", no date), and complete once the register
 * holds the 备案 (`filed`) or also the 测评 date and the 备案证明 / 测评报告 document (`tested`). Once past due, the
 * managers are warned too. Where the same article also asks the unit for a 密码应用安全性评估 (高创中心 000 6.2,
 * 巴中 003 第三十三条), `crypto` is set and completion also needs a 密评 on the register whose conclusion is not
 * 不符合 (符合 or 基本符合).
 */
export interface MlpsRule {
  article: string;
  from: "delivered" | "deployed" | "live";
  withinMonths: number | null;
  complete: "filed" | "tested";
  crypto?: boolean;
}
