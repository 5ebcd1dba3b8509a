// What the resource ledger knows of the requests that change it: the kinds of resources and backups, the
// facts a backup, an adjustment or a revocation carries, and the titles such requests go by. The flows'
// forms are built on these; the ledger reads requests through them and never through a flow.

export const BACKUP_TYPES = { file: "文件备份", database: "数据库备份", vm: "虚拟机备份" } as const;
export const BACKUP_COPIES = { local: "本地", same_city: "同城", off_site: "异地" } as const;
export const PAAS_KINDS = { database: "数据库", middleware: "中间件", container: "容器", bigdata: "大数据平台" } as const;

// 004 第四十八条: 云资源 are "IaaS、PaaS、备份、安全等资源", IaaS including 网络; 第十二条(三)2: 硬件托管服务.
/** The network zones bandwidth is asked for in. */
export const BANDWIDTH_ZONES = { gov_extranet: "政务外网", internet: "互联网" } as const;
/** The security services a unit may ask for, each a kind of its own in the ledger and the price table. */
export const SECURITY_SERVICES = {
  firewall: "云防火墙",
  waf: "Web 应用防火墙",
  vuln_scan: "漏洞扫描",
  log_audit: "日志审计",
  db_audit: "数据库审计",
  bastion: "堡垒机",
  host_security: "主机安全",
} as const;
export type SecurityService = keyof typeof SECURITY_SERVICES;

/** A hosted device (托管设备), one ledger row per device. */
export interface HostingRow {
  device: string;
  rackUnits: number;
  quantity: number;
  powerW?: number | undefined;
}

/** The devices a form asks to host; forms from before devices were listed carry only true or false. */
export const hostingRows = (form: Pick<RequestedResources, "hosting">): HostingRow[] => (Array.isArray(form.hosting) ? form.hosting : []);

/** A backup policy for one VM (004 第二十八—三十三条, 002 附件1): type, strategy, retention, copies. */
export interface BackupPolicy {
  type: keyof typeof BACKUP_TYPES;
  strategy: string;
  retentionMonths: number;
  copies: keyof typeof BACKUP_COPIES;
}

/** The resources a 云资源申请 asks for, as the ledger delivers them (one row per unit of quantity). */
export interface RequestedResources {
  vms: { purpose: string; vcpu: number; memoryGb: number; diskGb: number; storageType: string; os: string; quantity: number; backup?: BackupPolicy | undefined }[];
  paas: { kind: keyof typeof PAAS_KINDS; product: string; vcpu: number; memoryGb: number; storageGb: number; quantity: number }[];
  /** Rows of hosted devices; a boolean on forms from before devices were listed (read through hostingRows). */
  hosting: HostingRow[] | boolean;
  /** Absent on forms from before bandwidth, public IPs and security services were asked for. */
  bandwidth?: { zone: keyof typeof BANDWIDTH_ZONES; mbps: number }[] | undefined;
  publicIps?: number | undefined;
  security?: { service: SecurityService; quantity: number }[] | undefined;
}

export interface Totals {
  hosts: number;
  vcpu: number;
  memoryGb: number;
  storageGb: number;
}

/** A moment in the life of a request's resources that completing a stage marks (交付, 部署, 安全检测, 上线, …). */
export type ResourceMilestone = "delivered" | "deployed" | "security_tested" | "live" | "changed" | "revoked";

export interface BackupFacts extends BackupPolicy {
  /** The VM backed up. */
  resource: number;
  resourceName: string;
  /** The system the VM serves, which the backup policy serves too. */
  system: string;
  /** The applicant's unit is a county's: 梅州's 县级数据局初审 (004 第二十九、三十条) reads it. */
  countyUnit: boolean;
  /** 002 第二十三条: a county unit asked itself (COUNTY_PRE_REVIEW); absent on requests from before it was kept. */
  countyApplicant?: boolean;
  /** 002 第二十三条: a 下属单位 asked itself (SUPERVISOR_PRE_REVIEW); absent on requests from before it was kept. */
  supervisedApplicant?: boolean;
}

/** A resource's sizes; what an adjustment leaves out stays as it is. */
export interface Sizes {
  vcpu?: number | undefined;
  memoryGb?: number | undefined;
  diskGb?: number | undefined;
}

export interface AdjustmentFacts {
  direction: "up" | "down";
  resourceId: number;
  resourceName: string;
  from: Sizes;
  to: Sizes;
  /** For a scale-up: the 第十九条(二) checks that justified it, as computed at submission. */
  evidence: { kind: string; ok: boolean; reason: string }[];
  /**
   * "unit" (the applicant asked), "review" (the provider's half-yearly review proposed it) or "manager" (the
   * manager started it for the unit: 001 第三十条's 资源降配, 000 7.2.3.2's 资源调整建议).
   */
  origin: "unit" | "review" | "manager";
  /** Started for the resource's under-use (001 第三十条): the unit's new applications wait for it (徽州). */
  underUse?: boolean;
  /**
   * Asked for by a county unit itself (not started by the provider or proposed for it): its county bureau reviews
   * it first where the profile says so (002 第二十三条). Absent on proposals and older requests.
   */
  countyApplicant?: boolean;
  /** Asked for by a 下属单位 itself: its 主管单位 pre-reviews it first where the profile says so (002 第二十三条). */
  supervisedApplicant?: boolean;
}

/** "扩容 YS-2026-00012-01（资助系统）": the request's title, asked for or proposed. */
export const adjustmentTitle = (direction: "up" | "down", resource: { name: string; system: string }) =>
  `${direction === "up" ? "扩容" : "缩容"} ${resource.name}（${resource.system}）`;

/** 004 第二十四条: why resources are revoked — the unit asked, or a time rule of (二) holds. */
export const REVOCATION_TRIGGERS = {
  unit_request: "使用单位不再需要",
  not_deployed_30: "交付超过 30 天仍未开始部署",
  not_deployed_60: "交付超过 60 天仍未完成部署",
  not_live_90: "交付超过 90 天仍未完成安全检测并上线",
  // 004 第四十八条: resources opened on the fast track whose 事后审批 was refused.
  emergency_rejected: "紧急申请事后审批未同意",
  // 002 第二十一条: a 重大变更 applied for anew; once the new application's work is done the old resources go.
  major_change: "重大变更已重新申请，原申请的资源注销回收",
  // Started by the manager (统筹管理单位 / 云主管部门), citing its document's article.
  ordered_exit: "统筹管理单位责令退出",
  under_use: "业务资源使用率不足，回收资源",
  undertaking_breach: "违反政务云资源使用安全责任书，收回资源",
  // An order to rectify (整改通知) whose date passed unrectified: 拒不整改的，停止政务云资源使用并回收.
  rectification_refused: "逾期未整改，停止使用并回收",
} as const;
export type RevocationTrigger = keyof typeof REVOCATION_TRIGGERS;

export interface RevocationFacts {
  resourceIds: number[];
  /** "YS-2026-00012-01 应用服务器 4 核 8G", for cards and pages. */
  resourceNames: string[];
  trigger: RevocationTrigger;
  /** The dates behind an automatic proposal (delivered, deployed, …) as the rule read them. */
  evidence: Record<string, string | null> | null;
  reason: string;
  /** Asked for by a county unit itself: its county bureau reviews it first where the profile says so (002 第二十三条). */
  countyApplicant?: boolean;
  /** Asked for by a 下属单位 itself: its 主管单位 pre-reviews it first where the profile says so (002 第二十三条). */
  supervisedApplicant?: boolean;
  /** Opened for the resources' under-use (001 第三十条): the unit's new applications wait for it (徽州). */
  underUse?: boolean;
  /** The article the manager cited when starting it (003 第二十四条(四), 002 附件2 十六, 001 第三十条). */
  article?: string;
  /**
   * What the unit declared on its form it has done before asking: the system taken offline, its data migrated and
   * backed up (002 第二十二条, 001 第十六条). Absent when the provider or yunshen started the request.
   */
  unitDone?: { offline: boolean; dataMigrated: boolean };
}

/** "撤销 资助系统 的 2 项资源": the request's title, asked for or proposed. */
export const revocationTitle = (resources: { system: string }[]) => `撤销 ${resources[0]!.system} 的 ${resources.length} 项资源`;

/**
 * The grounds on which the manager orders a unit to rectify or exit (整改通知), the closed list of the documents'
 * words; which of them a jurisdiction's document names, and under which article, is its profile's
 * (flows/rectification/definition.ts).
 */
export const RECTIFICATION_GROUNDS = {
  // 003 第二十四条(四)
  false_declaration: "虚报政务云资源",
  low_efficiency: "使用效率长期较低",
  zombie: "“僵尸系统”",
  idle: "资源长期闲置",
  // 002 附件2 十六
  undertaking_breach: "违反政务云资源使用安全责任书",
  // 001 第二十五条; 000 6.1
  security_risk_high: "安全风险（风险等级较高）",
  security_risk_low: "安全风险（风险等级较低）",
  security_risk: "安全风险、隐患或安全事件",
  // 001 第三十条
  under_use: "业务资源使用率不足",
} as const;
export type RectificationGround = keyof typeof RECTIFICATION_GROUNDS;

export interface RectificationFacts {
  ground: RectificationGround;
  /** The article the ground is taken from, in the profile's document. */
  article: string;
  /** The manager's account of what was found and what is to be rectified. */
  description: string;
  resourceIds: number[];
  resourceNames: string[];
  system: string;
  /** 整改期限: the last day to report the rectification done (YYYY-MM-DD). */
  rectifyBy: string;
  /** 001 第二十五条: a higher risk suspends the system until the rectification is confirmed. */
  suspend: boolean;
  /** The ground is under-use (001 第三十条): the unit's new applications wait while the order is open. */
  underUse: boolean;
  /** Set when the date passed unrectified: the day, and the revocation it opened (null: none could be). */
  lapsed?: { on: string; revocation: string | null };
}
