import { z } from "zod";
import { isIsoDate } from "../../src/core/calendar-schedule";
import { FILE_ID_PATTERN } from "../../src/files";
import { MLPS_LEVELS } from "../../src/systems/register";
import type { StageForm } from "../types";
import { BACKUP_COPIES, BACKUP_TYPES, BANDWIDTH_ZONES, hostingRows, PAAS_KINDS, SECURITY_SERVICES, type RequestedResources } from "../../src/resources/catalog";

// The IaaS application form (004 附件2, 002 附件1, 001 附表) as flows.md "Flow 1" lists its fields.

const mobile = z.string().regex(/^1[3-9]\d{9}$/, "手机号应为 11 位大陆手机号");
/** A contact person of a form (联系人, 运维人员, 检测联系人). */
export const person = z.strictObject({
  name: z.string().trim().min(1, "请填写姓名").max(50),
  mobile,
  email: z.email("邮箱格式不正确").optional(),
});

export const NETWORK_ZONES = { gov_extranet: "政务外网", internet: "互联网", other: "其他" } as const;
export const ATTACHMENT_PURPOSES = {
  plan: "迁云上云实施方案",
  project_approval: "立项方案 / 建设批复",
  storage_explanation: "存储需求书面说明",
  justification: "云资源申请依据",
  test_report: "系统测试报告",
  security_pledge: "安全责任书",
  evaluation: "评估材料",
  // Kept on the register of systems (004 第三十八条, 第四十条), not attached to a request.
  mlps_report: "等级保护备案证明 / 测评报告",
  crypto_report: "商用密码应用安全性评估报告",
  // Kept with the year's plan (巴中 003 第十四条), uploaded by a manager.
  plan_consent: "市人民政府审定同意文件",
  other: "其他",
} as const;

/** "80,443,8000-8080": ports and ranges of 1–65535, or "" for none. */
export const portList = z
  .string()
  .trim()
  .max(200)
  .regex(/^$|^\d{1,5}(-\d{1,5})?(\s*,\s*\d{1,5}(-\d{1,5})?)*$/, "端口格式如 80,443,8000-8080")
  .refine(
    (s) => s === "" || s.split(/[,-]/).every((p) => Number(p) >= 1 && Number(p) <= 65535),
    "端口应在 1–65535 之间",
  )
  .default("");

/** A backup policy for one VM (004 第二十八—三十三条, 002 附件1): type, strategy, retention, copies. */
export const backupPolicySchema = z.strictObject({
  type: z.enum(Object.keys(BACKUP_TYPES) as [keyof typeof BACKUP_TYPES]),
  strategy: z.string().trim().min(1, { error: "请写明备份策略（如：每日 02:00 全量）" }).max(200),
  // 002 附件1: retention defaults to two months.
  retentionMonths: z.int().min(1).max(120).default(2),
  copies: z.enum(Object.keys(BACKUP_COPIES) as [keyof typeof BACKUP_COPIES]),
});

// 000 5.5: "所需资源应从服务目录中选择": a VM or PaaS row may name the catalog item it is (GET /api/catalog); the
// service checks it against the version in force (src/billing/service-catalog.ts fitToCatalog). Optional: a row
// naming none is matched to its nearest item, and forms from before the catalog stay valid.
const catalogItemCode = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._-]{1,40}$/, "服务目录编号应为 1–40 位字母、数字、点、下划线或连字符")
  .optional();

// 001 附表 申请类型: "☑资源申请 □资源变更 □资源退出 □其他" (资源申请 ticked on the blank form).
export const ROW_REQUEST_TYPES = { apply: "资源申请", change: "资源变更", exit: "资源退出", other: "其他" } as const;

export const vmRowSchema = z.strictObject({
  item: catalogItemCode,
  purpose: z.string().trim().min(1, "请填写用途").max(100),
  vcpu: z.int().min(1).max(128),
  memoryGb: z.int().min(1).max(2048),
  diskGb: z.int().min(0).max(65_536),
  storageType: z.string().trim().min(1).max(50).default("高性能云盘"),
  os: z.string().trim().min(1, "请填写操作系统").max(100),
  ports: portList,
  quantity: z.int().min(1).max(100).default(1),
  // Each VM of the row is backed up by this policy; checked on the day it takes effect (flow 1 backup_check).
  backup: backupPolicySchema.optional(),
  // 002 附件1 资源申请信息 "服务器类型" (required in 韶关; the annex lists no choices, so it is written as the unit
  // names it) and "备注"; 001 附表 "申请类型", "备注" and the 虚拟机 box's "外网 IP" (per VM of the row).
  serverType: z.string().trim().min(1, "请填写服务器类型").max(50, "服务器类型不超过 50 字").optional(),
  requestType: z.enum(Object.keys(ROW_REQUEST_TYPES) as [keyof typeof ROW_REQUEST_TYPES], { error: labelledTypes() }).optional(),
  requestTypeNote: z.string().trim().max(100, "申请类型说明不超过 100 字").optional(),
  publicIps: z.int("外网 IP 数应为整数").min(0, "外网 IP 数不能为负数").max(16, "每台虚拟机外网 IP 最多 16 个").optional(),
  remarks: z.string().trim().max(500, "备注不超过 500 字").optional(),
});
function labelledTypes() {
  return `申请类型应为以下之一：${Object.values(ROW_REQUEST_TYPES).join("、")}`;
}

export const paasRowSchema = z.strictObject({
  item: catalogItemCode,
  kind: z.enum(Object.keys(PAAS_KINDS) as [keyof typeof PAAS_KINDS]),
  product: z.string().trim().min(1).max(100),
  vcpu: z.int().min(0).max(1024).default(0),
  memoryGb: z.int().min(0).max(8192).default(0),
  storageGb: z.int().min(0).max(1_048_576).default(0),
  quantity: z.int().min(1).max(100).default(1),
});

// 004 第十二条(三)2 硬件托管服务; 第四十八条: 云资源 include 网络 (IaaS) and 安全 resources. Each is recorded in
// the ledger on delivery and billed by the day like a VM (第四十三条).
const labelled = (labels: Record<string, string>) => `应为以下之一：${Object.values(labels).join("、")}`;
export const hostingRowSchema = z.strictObject({
  device: z.string().trim().min(1, "请填写设备名称/型号").max(100),
  rackUnits: z.int("机柜 U 数应为整数").min(1, "机柜 U 数至少为 1").max(48, "机柜 U 数最多为 48"),
  quantity: z.int("数量应为整数").min(1, "数量至少为 1").max(100).default(1),
  powerW: z.int("电源功率应为整数（W）").min(1, "电源功率应大于 0").max(100_000).optional(),
});
export const bandwidthRowSchema = z.strictObject({
  zone: z.enum(Object.keys(BANDWIDTH_ZONES) as [keyof typeof BANDWIDTH_ZONES], { error: labelled(BANDWIDTH_ZONES) }),
  mbps: z.int("带宽应为整数（Mbps）").min(1, "带宽至少为 1 Mbps").max(100_000),
});
export const securityRowSchema = z.strictObject({
  service: z.enum(Object.keys(SECURITY_SERVICES) as [keyof typeof SECURITY_SERVICES], { error: labelled(SECURITY_SERVICES) }),
  quantity: z.int("数量应为整数").min(1, "数量至少为 1").max(1000).default(1),
});
const networkAndSecurity = {
  // false: nothing hosted, as forms from before devices were listed said it; true must now name the devices.
  hosting: z
    .union([z.literal(false), z.array(hostingRowSchema).max(100)], {
      error: (issue) => (issue.code === "invalid_union" ? "硬件托管请逐台填写托管设备（设备名称/型号、机柜 U 数、数量）" : undefined),
    })
    .default([]),
  bandwidth: z.array(bandwidthRowSchema).max(2).default([]),
  publicIps: z.int("公网 IP 数量应为整数").min(0, "公网 IP 数量不能为负数").max(256).default(0),
  security: z.array(securityRowSchema).max(20).default([]),
};
function checkNetworkAndSecurity(form: { bandwidth: { zone: string }[]; security: { service: string }[] }, ctx: z.RefinementCtx) {
  form.bandwidth.forEach((b, i) => {
    if (form.bandwidth.findIndex((o) => o.zone === b.zone) < i)
      ctx.addIssue({ code: "custom", path: ["bandwidth", i, "zone"], message: "同一网络区域的带宽请合并为一行" });
  });
  form.security.forEach((s, i) => {
    if (form.security.findIndex((o) => o.service === s.service) < i)
      ctx.addIssue({ code: "custom", path: ["security", i, "service"], message: "同一安全服务请合并为一行" });
  });
}
/** Whether the form asks for anything the ledger records besides VMs and PaaS. */
const asksNetworkOrSecurity = (form: { hosting: unknown[] | false; bandwidth: unknown[]; publicIps: number; security: unknown[] }) =>
  (form.hosting !== false && form.hosting.length > 0) || form.bandwidth.length > 0 || form.publicIps > 0 || form.security.length > 0;

// A document is a file uploaded first (POST /api/files) and named here by its id; its name, size and SHA-256 are
// the stored file's, filled in on submission, so a form read back from a request carries them.
export const attachmentSchema = z.strictObject({
  purpose: z.enum(Object.keys(ATTACHMENT_PURPOSES) as [keyof typeof ATTACHMENT_PURPOSES]),
  fileId: z
    .string({ error: (issue) => (issue.input === undefined ? "请先上传文件（POST /api/files），再以返回的 id 填写 fileId" : "应为文字") })
    .regex(new RegExp(FILE_ID_PATTERN), "应为上传文件后返回的 id（f_ 开头）"),
  name: z.string().max(200).optional(),
  size: z.int().min(0).optional(),
  sha256: z.string().max(64).optional(),
  contentType: z.string().max(200).optional(),
});

// 004 第十四条(二)2: "云资源使用单位提出的专属资源池需求具有必要性和可行性" — a request for a dedicated pool says
// why it is needed and why it can be done; the manager weighs both before the approval (dedicated_pool_review).
export const dedicatedPoolSchema = z.strictObject({
  necessity: z.string({ error: "请填写必要性说明" }).trim().min(1, "请填写必要性说明").max(4000),
  feasibility: z.string({ error: "请填写可行性说明" }).trim().min(1, "请填写可行性说明").max(4000),
  scale: z.string().trim().max(500).default(""),
});

// 004 第四十八条 "紧急特殊情况": its four kinds, in the article's words.
export const EMERGENCY_CATEGORIES = {
  major_task: "重大任务和紧急工作",
  holiday: "重大节日业务保障",
  peak: "突发业务波峰",
  other: "其他特殊情况",
} as const;
export type EmergencyCategory = keyof typeof EMERGENCY_CATEGORIES;

export const emergencySchema = z.strictObject({
  category: z.enum(Object.keys(EMERGENCY_CATEGORIES) as [EmergencyCategory], {
    error: `紧急情况类别应为：${Object.entries(EMERGENCY_CATEGORIES).map(([k, v]) => `${k}（${v}）`).join("、")}`,
  }),
  reason: z.string({ error: "请说明紧急情况" }).trim().min(1, "请说明紧急情况").max(2000),
});

/** 004 第十一条: the parts of the 实施方案 the schema lets be empty, which 梅州 requires (its other two always are). */
export const PLAN_PARTS = {
  currentState: "系统现状描述（系统功能、服务器和网络现状、使用情况）",
  impact: "影响面评估",
  rollback: "回退方案",
  emergency: "应急保障措施",
} as const;

// 002 附件1 维护单位性质: "□本单位内设机构 □下属单位/部门 □委托外包单位".
export const MAINTAINER_NATURES = { internal: "本单位内设机构", subordinate: "下属单位/部门", outsourced: "委托外包单位" } as const;
// 001 附件1 单位性质: "□机关单位 □事业单位 □其他".
export const UNIT_NATURES = { organ: "机关单位", institution: "事业单位", other: "其他" } as const;
// 001 附件1 公共存储 存储类型: "□数据库 □文件 □备份 □其他：".
export const PUBLIC_STORAGE_TYPES = { database: "数据库", file: "文件", backup: "备份", other: "其他" } as const;
// 002 附件1 申请期限 (the annex leaves its form open): 长期, or until a day.
export const TERM_KINDS = { long_term: "长期", until: "至指定日期" } as const;

const choice = <T extends Record<string, string>>(labels: T, what: string) =>
  z.enum(Object.keys(labels) as [keyof T & string], { error: `${what}应为以下之一：${Object.values(labels).join("、")}` });

/** 002 附件1 申请期限. */
export const termSchema = z
  .strictObject({
    kind: choice(TERM_KINDS, "申请期限"),
    until: z.string().refine(isIsoDate, "期限至应为存在的日期 YYYY-MM-DD").optional(),
  })
  .superRefine((term, ctx) => {
    if (term.kind === "until" && !term.until) ctx.addIssue({ code: "custom", path: ["until"], message: "申请期限选“至指定日期”时请填写期限至" });
    if (term.kind === "long_term" && term.until) ctx.addIssue({ code: "custom", path: ["until"], message: "申请期限为“长期”时不填期限至" });
  });

/** 001 附件1 公共存储: 存储需求 空间大小（T）and 存储类型. */
export const publicStorageSchema = z
  .strictObject({
    sizeTb: z.number("空间大小应为数字（T）").positive("空间大小应大于 0").max(10_000, "空间大小最多 10000 T"),
    type: choice(PUBLIC_STORAGE_TYPES, "存储类型"),
    typeNote: z.string().trim().max(100, "存储类型说明不超过 100 字").optional(),
  })
  .superRefine((s, ctx) => {
    if (s.type === "other" && !s.typeNote) ctx.addIssue({ code: "custom", path: ["typeNote"], message: "存储类型选“其他”时请说明" });
  });

/**
 * 001 附件1 申请单位承诺: the pledge printed on the form, which the unit seals and dates. On the web the applicant
 * ticks it; who ticked it and when are the submission's (filled in on submission, like a document's name).
 */
export const declarationSchema = z.strictObject({
  agreed: z.boolean("申请单位承诺应为勾选（true）或未勾选（false）"),
  by: z.string().max(100).optional(),
  userId: z.string().max(100).optional(),
  at: z.string().max(40).optional(),
});

export const applicationFormSchema = z
  .strictObject({
    // Must equal the name in the registered project (立项方案) and the migration plan (004 第十二条).
    systemName: z.string().trim().min(2, "请填写政务信息系统名称").max(100),
    // The registered system (004 第二条, GET /api/systems) it is for; without it the unit's system of that name.
    systemId: z.int("系统编号应为整数（见系统登记）").positive("系统编号应为正整数").optional(),
    contact: person,
    maintainer: person.extend({
      company: z.string().trim().max(100).optional(),
      // 002 附件1 维护单位性质 (required in 韶关).
      nature: choice(MAINTAINER_NATURES, "维护单位性质").optional(),
    }),
    // 002 附件1 资源使用单位信息: 申请期限 and 项目名称 (required in 韶关).
    term: termSchema.optional(),
    projectName: z.string().trim().min(1, "请填写项目名称").max(200, "项目名称不超过 200 字").optional(),
    // 001 附件1: 单位性质 and 负责人 (required in 徽州).
    unitNature: choice(UNIT_NATURES, "单位性质").optional(),
    leader: person.optional(),
    // 001 附件1 资源类型 公共存储 (optional; recorded and shown, not delivered into the ledger).
    publicStorage: publicStorageSchema.optional(),
    // 001 附件1 申请单位承诺 (required, ticked, in 徽州).
    declaration: declarationSchema.optional(),
    // 002 附件1 备注 (the form's own, below 总计).
    remarks: z.string().trim().max(2000, "备注不超过 2000 字").optional(),
    networkZone: z.enum(Object.keys(NETWORK_ZONES) as [keyof typeof NETWORK_ZONES]),
    networkZoneNote: z.string().trim().max(200).optional(),
    vms: z.array(vmRowSchema).max(200).default([]),
    paas: z.array(paasRowSchema).max(100).default([]),
    ...networkAndSecurity,
    // Backups are per VM now (vms[].backup); a form still carrying the old request-wide block is told so
    // rather than having its backup silently dropped.
    backup: z.undefined({ error: "备份请按虚拟机填写：vms[].backup（类型、策略、保留月数、副本位置）" }).optional(),
    plan: z.strictObject({
      kind: z.enum(["migration", "new"]),
      currentState: z.string().trim().max(4000).default(""),
      resourceNeeds: z.string().trim().min(1, "请说明云资源需求").max(4000),
      steps: z.string().trim().min(1, "请填写实施步骤及时间").max(4000),
      impact: z.string().trim().max(4000).default(""),
      rollback: z.string().trim().max(4000).default(""),
      emergency: z.string().trim().max(4000).default(""),
      // Totals in the 立项方案 / 实施方案: a first request may not exceed them (004 第十三条(二)2).
      plannedTotals: z
        .strictObject({ vcpu: z.int().min(0), memoryGb: z.int().min(0), storageGb: z.int().min(0) })
        .optional(),
    }),
    attachments: z.array(attachmentSchema).max(50).default([]),
    // 申请专属资源池 (004 第十四条(二)2) and the 紧急特殊情况 fast track (004 第四十八条): both optional.
    dedicatedPool: dedicatedPoolSchema.optional(),
    emergency: emergencySchema.optional(),
    // 002 第二十一条: a 重大变更 applied for anew names the unit's resources it replaces; they are revoked once the
    // new system is live (韶关 only: ProfileModule.reapplication; the service checks them against the ledger).
    replaces: z
      .array(z.int("替换的原资源应为资源编号").positive("替换的原资源应为资源编号"))
      .min(1, "请至少选择一项被替换的原资源，或不填此项")
      .max(200, "替换的原资源不超过 200 项")
      .refine((ids) => new Set(ids).size === ids.length, "替换的原资源重复")
      .optional(),
  })
  .superRefine((form, ctx) => {
    if (form.vms.length === 0 && form.paas.length === 0 && !asksNetworkOrSecurity(form)) {
      ctx.addIssue({ code: "custom", path: ["vms"], message: "至少申请一项资源（虚拟机、PaaS、托管、带宽、公网 IP 或安全服务）" });
    }
    checkNetworkAndSecurity(form, ctx);
    form.vms.forEach((vm, i) => {
      if (vm.requestType === "other" && !vm.requestTypeNote)
        ctx.addIssue({ code: "custom", path: ["vms", i, "requestTypeNote"], message: "申请类型选“其他”时请说明" });
    });
    if (form.networkZone === "other" && !form.networkZoneNote) {
      ctx.addIssue({ code: "custom", path: ["networkZoneNote"], message: "网络区域为“其他”时请说明" });
    }
  }) satisfies z.ZodType<RequestedResources>; // the ledger delivers what the form asks for

export type ApplicationForm = z.output<typeof applicationFormSchema>;


/**
 * "托管设备 3 台（5U）；带宽 政务外网 50 Mbps；公网 IP 2 个；安全服务 云防火墙 1 套", or "" when none is asked for;
 * without the public IPs where they are reported rather than approved (徽州, 001 附件1 注2).
 */
export function hostedAndNetwork(form: ApplicationForm, opts: { publicIps: boolean } = { publicIps: true }): string {
  const devices = hostingRows(form);
  const parts = [
    devices.length ? `托管设备 ${devices.reduce((n, d) => n + d.quantity, 0)} 台（${devices.reduce((n, d) => n + d.rackUnits * d.quantity, 0)}U）` : "",
    form.bandwidth.length ? `带宽 ${form.bandwidth.map((b) => `${BANDWIDTH_ZONES[b.zone]} ${b.mbps} Mbps`).join("、")}` : "",
    opts.publicIps && form.publicIps ? `公网 IP ${form.publicIps} 个` : "",
    form.security.length ? `安全服务 ${form.security.map((s) => `${SECURITY_SERVICES[s.service]} ${s.quantity} 套`).join("、")}` : "",
  ];
  return parts.filter(Boolean).join("；");
}

// 004 第十七条(二): once deployed, the unit applies within 2 working days for the pre-go-live security test,
// "按要求填报《广东“数字政府”政务云梅州节点政务信息系统迁云上云安全检测申请表》（附件6）". The annex's content is
// not in the seed: its fields are ours, in the words such forms use. 系统名称 is the request's own (not typed);
// 等保 is done after go-live (第三十八条), so the form asks only the level the unit proposes (拟定等保级别).
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const inPortRange = (p: string | undefined) => p === undefined || (Number(p) >= 1 && Number(p) <= 65_535);
function isIpv6(s: string) {
  if (!s.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  try {
    return new URL(`http://[${s}]/`).hostname !== "";
  } catch {
    return false;
  }
}
/** An http(s) URL, or an IP address (IPv4 with an optional :port, IPv6 bare or as [addr]:port). */
export function isAccessAddress(s: string): boolean {
  if (/^https?:\/\//i.test(s)) {
    try {
      const url = new URL(s);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" && !url.username && !url.password;
    } catch {
      return false;
    }
  }
  const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(s);
  if (v4) return IPV4.test(v4[1]!) && inPortRange(v4[2]);
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (bracketed) return isIpv6(bracketed[1]!) && inPortRange(bracketed[2]);
  return isIpv6(s);
}

const mlpsLevelMessage = "拟定等保级别应为 1–5（第一级至第五级）";

/** 附件6 as the API takes it (approve/confirm `form` at 申请上线前安全检测, 梅州). */
export const securityTestApplicationSchema = z.strictObject({
  // The day the system was deployed on the cloud (004 第十七条(一)); checked against today by the engine (notFuture).
  deployedOn: z
    .string({ error: "请填写部署完成日期（YYYY-MM-DD）" })
    .refine(isIsoDate, "部署完成日期应为存在的日期 YYYY-MM-DD"),
  accessAddress: z
    .string({ error: "请填写系统访问地址" })
    .trim()
    .min(1, "请填写系统访问地址")
    .max(300, "系统访问地址不超过 300 字")
    .refine(isAccessAddress, "系统访问地址应为 http(s):// 开头的网址或 IP 地址（如 https://rsj.meizhou.gov.cn 或 10.1.2.3:8443）"),
  ports: portList.refine((s) => s !== "", "请填写对外开放端口，如 80,443,8000-8080"),
  mlpsLevel: z.int(mlpsLevelMessage).min(1, mlpsLevelMessage).max(5, mlpsLevelMessage),
  // 004 第七条(三), 第四十条: what commercial cryptography the system uses (国产商用密码应用改造).
  cryptoUse: z
    .string({ error: "请填写商用密码应用情况" })
    .trim()
    .min(1, "请填写商用密码应用情况")
    .max(2000, "商用密码应用情况不超过 2000 字"),
  contact: person,
  remarks: z.string().trim().max(2000, "备注不超过 2000 字").optional(),
});
export type SecurityTestApplication = z.output<typeof securityTestApplicationSchema>;

/** The 附件6 as a stage form: its fields in the order the portal shows them. */
export const SECURITY_TEST_APPLICATION: StageForm = {
  name: "《广东“数字政府”政务云梅州节点政务信息系统迁云上云安全检测申请表》（附件6）",
  schema: securityTestApplicationSchema,
  fromRequest: { fields: [{ name: "systemName", label: "系统名称" }], values: (req) => ({ systemName: req.title }) },
  fields: [
    { name: "deployedOn", label: "部署完成日期", kind: "date", notFuture: true },
    { name: "accessAddress", label: "系统访问地址", kind: "text", placeholder: "https://… 或 IP 地址", hint: "检测时访问系统的网址或 IP 地址（可带端口）" },
    { name: "ports", label: "对外开放端口", kind: "text", placeholder: "80,443,8000-8080" },
    {
      name: "mlpsLevel",
      label: "拟定等保级别",
      kind: "select",
      intValues: true,
      options: Object.entries(MLPS_LEVELS).map(([value, label]) => ({ value, label })),
      hint: "等保定级、备案和测评在系统上线运行后办理（004 第三十八条），此处填写拟定的级别",
    },
    { name: "cryptoUse", label: "商用密码应用情况", kind: "textarea", hint: "已采用的国产商用密码算法、产品及应用环节（004 第四十条）" },
    { name: "contact.name", label: "检测联系人", kind: "text" },
    { name: "contact.mobile", label: "检测联系人手机", kind: "tel" },
    { name: "remarks", label: "备注", kind: "textarea", optional: true },
  ],
};

/** 巴中 003 第十四条: the city government's 审定同意 of a request outside the year's plan, as the manager records it. */
export const cityConsentSchema = z.strictObject({
  docNo: z.string({ error: "请填写市人民政府审定同意的文号" }).trim().min(1, "请填写市人民政府审定同意的文号").max(100, "文号不超过 100 字"),
  consentedOn: z.string({ error: "请填写审定同意日期（YYYY-MM-DD）" }).refine(isIsoDate, "审定同意日期应为存在的日期 YYYY-MM-DD"),
  remarks: z.string().trim().max(2000, "备注不超过 2000 字").optional(),
  fileId: z.string({ error: "审定同意文件应为上传后得到的文件编号" }).trim().min(1).max(100, "文件编号不超过 100 字").optional(),
});

export const CITY_CONSENT: StageForm = {
  name: "市人民政府审定同意",
  schema: cityConsentSchema,
  fields: [
    { name: "docNo", label: "审定同意文号", kind: "text", placeholder: "如：巴府阅〔2027〕12 号" },
    { name: "consentedOn", label: "审定同意日期", kind: "date", notFuture: true },
    { name: "remarks", label: "备注", kind: "textarea", optional: true },
    // The reply itself, for whoever has to show the consent later, as the year's plan keeps its own.
    { name: "fileId", label: "审定同意文件", kind: "file", optional: true, purpose: "plan_consent", purposeName: "市人民政府审定同意文件" },
  ],
};
