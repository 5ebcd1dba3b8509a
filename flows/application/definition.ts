import type { Db } from "../../db/client";
import type { Totals } from "../../src/resources/catalog";
import { catalogFitText, offCatalog, type CatalogFit } from "../../src/billing/service-catalog";
import { pendingUnderUseReduction } from "../../src/resources/reductions";
import type { PlanCoverage } from "../../src/resources/demand";
import { days, months, SUPERVISOR_PRE_REVIEW, wd, type AttachmentRule, type FlowDef, type Party } from "../types";
import {
  CITY_CONSENT,
  EMERGENCY_CATEGORIES,
  hostedAndNetwork,
  PLAN_PARTS,
  PUBLIC_STORAGE_TYPES,
  ROW_REQUEST_TYPES,
  SECURITY_TEST_APPLICATION,
  type ApplicationForm,
  type EmergencyCategory,
} from "./form";

// Flow 1 of flows.md: 云资源申请. 梅州 (seed 004 第十—十七条) is the default profile; 韶关 (002 第十九—二十三条,
// 第三十五条), 徽州 (001 第十一—十四条), 巴中 (003 第十五—二十条) and 高创中心 (000 7.2) reuse the same stage
// catalogue with their own order, deadlines, rules and facts.

/** Facts about an application that stage conditions and document rules read. Computed from the form, never typed. */
export interface ApplicationFacts {
  countyUnit: boolean;
  /** 002 第二十三条: a 下属单位 asked; its 主管单位 pre-reviews first where the profile says so. Absent otherwise. */
  supervisedApplicant?: boolean;
  totals: Totals;
  maxVmVcpu: number;
  maxVmMemoryGb: number;
  /** The 立项方案 / 实施方案's totals the form gave, or null; absent on requests from before it was kept. */
  planned?: { vcpu: number; memoryGb: number; storageGb: number } | null;
  kinds: { middleware: boolean; hosting: boolean; container: boolean; bigdata: boolean; database: boolean };
  paasDatabase: { vcpu: number; memoryGb: number };
  /** A migration of an existing system (迁移), not a new one (新建); absent on requests from before it was kept. */
  migration?: boolean;
  /** Whether any VM asks for a backup policy, whose validity is checked once it is delivered. */
  backup?: boolean;
  /** Whether the unit's yearly demand covers the request (set at submission; absent on older requests). */
  demand?: { covered: boolean; text: string };
  /**
   * 巴中 003 第十四条: whether the request is within its year's plan as the city government consented to it (set at
   * submission, in a profile whose document has that consent: ProfileModule.planConsent; absent elsewhere).
   */
  plan?: PlanCoverage;
  /** 004 第四十八条: the hosted devices, bandwidth, public IPs and security services asked for, as a sentence. */
  hostedAndNetwork?: string;
  /** 004 第四十八条: the kind of 紧急特殊情况 the unit gave for the fast track; absent on ordinary requests. */
  emergency?: EmergencyCategory;
  /**
   * 004 第二条: the registered system the application is for (with whether its 立项方案 is on the register), or
   * null when the unit registered none by the form's name; absent on requests from before the register.
   */
  system?: { id: number; kind: "migration" | "new"; approvalFile: boolean } | null;
  /** 004 第十一条: the parts of the 实施方案 the form leaves empty, by field; absent on older requests. */
  planGaps?: (keyof typeof PLAN_PARTS)[];
  /** 004 第十四条(二)2: a 专属资源池 is asked for, of the scale the unit wrote; absent otherwise. */
  dedicatedPool?: { scale: string };
  /**
   * 001 附件1 注2: "申请外部 IP 地址和开放端口的，应及时向区数据资源局报备": the open ports of each VM row and the
   * external (public) IPs, filed with the manager (报备) rather than approved; only in 徽州, and only when the form
   * lists any.
   */
  reported?: { ports: { purpose: string; ports: string; quantity: number }[]; publicIps: number };
  /**
   * 002 第二十一条: the unit's resources this application (a 重大变更 applied for anew) replaces, revoked once it is
   * live; absent when it replaces none.
   */
  replaces?: { resourceIds: number[]; resourceNames: string[]; article: string };
  /**
   * 000 5.5 (003 第二条(二), 004 第四条): the VM and PaaS rows against the 服务目录 in force at submission: the item
   * each names or equals, or the nearest one proposed for a row not in it. Absent when no catalog was in force.
   */
  catalog?: CatalogFit;
  /** 001 附件1 公共存储: the space (T) and kind of storage asked for; absent when none is. */
  publicStorage?: { sizeTb: number; type: string };
}

// 004 第十七条(五): lateness in deployment, security test and go-live is reported to 统筹管理单位 (the managers,
// warned of every late stage), 使用单位 and 评估实施单位 alike.
const SEVENTEEN_FIVE: Party[] = ["applicant", "provider"];
const largeVm = 8; // vCPU, 004 第十三条(二)3
const largeVmMemoryGb = 32;
const largeStorageGb = 500; // 004 第十三条(二)4

// 004 第十二条(三)(四): extra documents that ride with the application.
const meizhouAttachments: AttachmentRule<ApplicationFacts>[] = [
  // 004 第十二条(二)2: "新建系统申请云资源，应向云资源评估实施单位、云资源统筹管理单位提交该系统的立项方案": with the
  // application, unless the register already holds it. An existing system's basis is its 实施方案, the form's plan.
  {
    purpose: "project_approval",
    name: "新建系统的立项方案（004 第十二条(二)2）",
    when: (f) => f.migration === false && f.system?.approvalFile !== true,
  },
  {
    purpose: "storage_explanation",
    name: `存储需求超过 ${largeStorageGb}G 的书面说明`,
    when: (f) => f.totals.storageGb > largeStorageGb,
  },
  { purpose: "justification", name: "云资源申请依据（PaaS 中间件或硬件托管）", when: (f) => f.kinds.middleware || f.kinds.hosting },
  {
    purpose: "test_report",
    name: "系统测试报告（PaaS 数据库 ≥20 核或 ≥40G、容器、大数据）",
    when: (f) => f.paasDatabase.vcpu >= 20 || f.paasDatabase.memoryGb >= 40 || f.kinds.container || f.kinds.bigdata,
  },
];

// 004 第十三条(二)2: "首次申请云资源，云资源申请量不得超过立项方案、系统迁云上云实施方案中的云资源总量". Every
// 云资源申请 is a system's first (more later is 扩容, flow 2), so it is refused, not passed with a note.
const PLAN_TOTALS = [
  ["vcpu", "vCPU", "核"],
  ["memoryGb", "内存", "GB"],
  ["storageGb", "存储", "GB"],
] as const;
function overPlan(f: ApplicationFacts) {
  if (!f.planned) return null;
  const over = PLAN_TOTALS.filter(([k]) => f.totals[k] > f.planned![k]);
  if (over.length === 0) return null;
  const told = over.map(([k, name, unit]) => `${name} 申请 ${f.totals[k]} ${unit}，方案 ${f.planned![k]} ${unit}，超出 ${f.totals[k] - f.planned![k]} ${unit}`);
  return { field: `form.plan.plannedTotals.${over[0]![0]}`, message: `首次申请不得超过立项方案或实施方案中的云资源总量（004 第十三条(二)2）：${told.join("；")}` };
}

// 004 第四十八条 defines 紧急特殊情况 (重大任务和紧急工作、重大节日业务保障、突发业务波峰、其他特殊情况) but the body
// never says how such a request goes; the fast track is yunshen's reading (issue "专属资源池 and the 紧急特殊情况
// fast track"): the county bureau still forwards it (第十二条(一), 1 wd, the only rule of the body that binds every
// application and already as short as the fast track's steps); the manager confirms the emergency in 1 wd (or
// refuses it); the provider opens the resources in 1 wd instead of 3 (第十五条(一)); then 需求评估 and 审批 are
// done afterwards (事后补办), by the same holders in the same 3 wd (第十三条(一), 第十四条(一)). They come straight
// after the delivery, before the unit's confirmation, so that a refusal comes before the unit deploys. A refusal
// afterwards opens the revocation (004 第二十三—二十七条) of what was delivered. The evaluation afterwards cannot
// send the form back for the plan's totals (the resources it describes exist), so an emergency request must give
// them at submission; and a 专属资源池 is weighed before it is built, never afterwards.
const isEmergency = (f: ApplicationFacts) => f.emergency !== undefined;
const bigStorage = (f: ApplicationFacts) => f.totals.storageGb > largeStorageGb;
// 004 第十三条(二)3, as 需求评估 asks it.
const largeVmNote = (f: ApplicationFacts) =>
  f.maxVmVcpu > largeVm || f.maxVmMemoryGb > largeVmMemoryGb ? `单台虚拟机超过 ${largeVm} 核或 ${largeVmMemoryGb}G 内存，须填写评估说明` : null;
function emergencyRules(f: ApplicationFacts) {
  if (!isEmergency(f)) return null;
  if (f.dedicatedPool) return { field: "form.dedicatedPool", message: "专属资源池须先审核必要性和可行性（004 第十四条(二)2），不能走紧急通道（004 第四十八条）" };
  if (!f.planned)
    return { field: "form.plan.plannedTotals", message: "紧急申请的需求评估在资源开通后补办，须在提交时填写立项方案或实施方案中的云资源总量（004 第十三条(二)2）" };
  return null;
}

// 004 第二条, 第十二条(二)1: "政务信息系统名称务必与政务大数据中心梅州分节点相关系统资料一致": the application is
// for a system on the register, by exactly its registered name (the lookup is by that name, or by systemId whose
// name the form must then repeat).
function namesRegisteredSystem(f: ApplicationFacts) {
  if (f.system !== null) return null;
  return {
    field: "form.systemName",
    message: "该系统未在系统登记中登记：请先登记本单位的政务信息系统（门户“系统登记”或 POST /api/systems），系统名称须与登记、立项方案、实施方案完全一致（004 第二条、第十二条(二)1）",
  };
}
// 004 第十二条(二)2 asks an existing system for its 实施方案 and a new one for its 立项方案: the plan's kind is the
// registered system's, so the basis asked for is the right one.
function kindAgrees(f: ApplicationFacts) {
  if (!f.system || f.migration === undefined || (f.system.kind === "migration") === f.migration) return null;
  const registered = f.system.kind === "migration" ? "已建系统迁云（migration）" : "新建系统上云（new）";
  return { field: "form.plan.kind", message: `系统登记为「${registered}」，实施方案的类型应与之一致（004 第十二条(二)2）` };
}
// 004 第十一条: "实施方案应包括：系统现状描述…、云资源需求、迁云上云实施步骤及时间、影响面评估、回退方案、应急保障措施":
// each of the six parts is required (the schema already requires 云资源需求 and 实施步骤 everywhere).
const planPartRules = (Object.keys(PLAN_PARTS) as (keyof typeof PLAN_PARTS)[]).map((part) => (f: ApplicationFacts) =>
  f.planGaps?.includes(part) ? { field: `form.plan.${part}`, message: `实施方案须包括${PLAN_PARTS[part]}（004 第十一条）` } : null,
);

// 002 附件1 "数据盘(GB) 100GB起": a 韶关 VM's data disk is at least 100 GB. The form's diskGb is the row's 数据盘
// (the system disk comes with the 配置需求); 0 means the VM asks for no data disk, which the annex allows (it sets
// the smallest disk asked for, not that every VM has one), so only 1–99 GB is refused.
const SHAOGUAN_MIN_DATA_DISK_GB = 100;
function dataDiskFrom100(_f: ApplicationFacts, form: ApplicationForm) {
  const i = form.vms.findIndex((vm) => vm.diskGb > 0 && vm.diskGb < SHAOGUAN_MIN_DATA_DISK_GB);
  if (i < 0) return null;
  const vm = form.vms[i]!;
  return {
    field: `form.vms.${i}.diskGb`,
    message: `数据盘 ${SHAOGUAN_MIN_DATA_DISK_GB}GB 起（002 附件1 资源申请表）：「${vm.purpose}」的数据盘为 ${vm.diskGb}GB；不需要数据盘请填 0`,
  };
}

type Rule = (f: ApplicationFacts, form: ApplicationForm) => { field: string; message: string } | null;
/** A field of the annex the profile's form requires: its message under the field when it is left empty. */
const required =
  (field: string, filled: (form: ApplicationForm) => boolean, message: string): Rule =>
  (_f, form) =>
    filled(form) ? null : { field, message };
/** The same for a column of the VM rows: the first row without it. */
const requiredInRows =
  (column: string, filled: (vm: ApplicationForm["vms"][number]) => boolean, message: (vm: ApplicationForm["vms"][number]) => string): Rule =>
  (_f, form) => {
    const i = form.vms.findIndex((vm) => !filled(vm));
    return i < 0 ? null : { field: `form.vms.${i}.${column}`, message: message(form.vms[i]!) };
  };

// 002 第十九条: a 韶关 application fills in 《韶关市“数字政府”政务云资源申请表》（附件1）; these are its blanks the
// common form leaves optional (备注 stays optional: the annex does not ask it of every row). The 申请日期 is the
// submission's own, and 单位名称 the unit's.
const shaoguanAnnex1: Rule[] = [
  required("form.term.kind", (form) => form.term !== undefined, "请填写申请期限：长期，或至指定日期（002 附件1）"),
  required("form.projectName", (form) => Boolean(form.projectName), "请填写项目名称（002 附件1）"),
  required("form.maintainer.company", (form) => Boolean(form.maintainer.company), "请填写维护单位（002 附件1）"),
  required("form.maintainer.nature", (form) => form.maintainer.nature !== undefined, "请选择维护单位性质：本单位内设机构、下属单位/部门或委托外包单位（002 附件1）"),
  requiredInRows("serverType", (vm) => Boolean(vm.serverType), (vm) => `请填写「${vm.purpose}」的服务器类型（002 附件1 资源申请信息）`),
];

// 001 第十一条 "…及其他申请材料（详见附件1）": 《徽州区数据资源管理局政务云资源使用审批表》's 单位性质, 负责人 and the
// 申请单位承诺 the unit seals (here: ticks) are required; its 附表's 申请类型 is 资源申请 unless another is chosen.
const huizhouAnnex1: Rule[] = [
  required("form.unitNature", (form) => form.unitNature !== undefined, "请选择单位性质：机关单位、事业单位或其他（001 附件1）"),
  required("form.leader.name", (form) => form.leader !== undefined, "请填写负责人及其手机（001 附件1）"),
  required("form.declaration.agreed", (form) => form.declaration?.agreed === true, "请阅读并勾选申请单位承诺（001 附件1）"),
  // A 资源变更 or 资源退出 of a VM already held is its own request (001 第十五条, 第十六条), not part of an application.
  (_f, form) => {
    const i = form.vms.findIndex((vm) => vm.requestType === "change" || vm.requestType === "exit");
    if (i < 0) return null;
    const vm = form.vms[i]!;
    const other = vm.requestType === "change" ? "扩容 / 缩容或用途变更申请（001 第十五条）" : "撤销申请（001 第十六条）";
    return {
      field: `form.vms.${i}.requestType`,
      message: `「${vm.purpose}」的申请类型为${ROW_REQUEST_TYPES[vm.requestType!]}：在用资源的${ROW_REQUEST_TYPES[vm.requestType!]}请另行提交${other}，本申请只含新申请的资源`,
    };
  },
  // 001 附件1 虚拟机 "外网 IP": the rows' external IPs add up to the 公网 IP 数量 the ledger allocates.
  (_f, form) => {
    if (!form.vms.some((vm) => vm.publicIps !== undefined)) return null;
    const rows = form.vms.reduce((n, vm) => n + (vm.publicIps ?? 0) * vm.quantity, 0);
    if (rows === form.publicIps) return null;
    return { field: "form.publicIps", message: `公网 IP 数量（${form.publicIps} 个）应等于附表中各虚拟机外网 IP 之和（${rows} 个，按台数计）` };
  },
];

/** "开放端口：应用服务器 ×2 80,443；数据库服务器 5432；公网 IP 2 个，已向区数据资源局报备（不属审批事项）". */
function reportedText(r: NonNullable<ApplicationFacts["reported"]>): string {
  const ports = r.ports.map((p) => `${p.purpose}${p.quantity > 1 ? ` ×${p.quantity}` : ""} ${p.ports}`).join("；");
  const parts = [ports ? `开放端口：${ports}` : "", r.publicIps ? `公网 IP ${r.publicIps} 个` : ""].filter(Boolean);
  return `${parts.join("；")}，向区数据资源局报备（不属审批事项）`;
}

// 001 附件1 注2: in 徽州 the external IPs and open ports the form lists are 报备, not approved: they are kept as
// reported facts, shown to the manager on their own line, and left out of the "托管、网络与安全" line of what the
// stages approve. The public IPs are still allocated and held in the ledger like any resource.
function huizhouReported(f: ApplicationFacts, form: ApplicationForm): ApplicationFacts {
  const ports = form.vms.filter((vm) => vm.ports !== "").map((vm) => ({ purpose: vm.purpose, ports: vm.ports, quantity: vm.quantity }));
  const { hostedAndNetwork: _all, ...rest } = f;
  const approved = hostedAndNetwork(form, { publicIps: false });
  return {
    ...rest,
    ...(approved ? { hostedAndNetwork: approved } : {}),
    ...(ports.length > 0 || form.publicIps > 0 ? { reported: { ports, publicIps: form.publicIps } } : {}),
  };
}

const offCatalogNote = (f: ApplicationFacts) =>
  f.catalog && offCatalog(f.catalog) ? "有资源不在服务目录中，须在审核意见中写明按目录中功能和性能相近的项目适配的意见（000 5.5）" : null;

/**
 * 徽州 001 第三十条: for an application system whose resources are under-used, the manager, the unit and the provider
 * settle a 资源降配或回收方案, "并暂停后期该单位云资源申请使用需求": while such a reduction is pending for the unit, a new
 * 云资源申请 from it is refused, naming the pending request.
 */
async function underUseReductionPending({ tx, unitId }: { tx: Db; unitId: string }) {
  const pending = await pendingUnderUseReduction(tx, unitId);
  if (!pending) return null;
  return {
    field: "form",
    message: `本单位有因业务资源使用率不足的资源降配或回收尚未办结（${pending.what} ${pending.code}「${pending.title}」），办结前暂停受理本单位新的云资源申请（001 第三十条）`,
  };
}

export const applicationFlow: FlowDef<ApplicationFacts, "application"> = {
  key: "application",
  ratedService: true,
  name: "云资源申请",
  summary: (f, title) => [
    { label: "系统", value: title },
    { label: "资源", value: `${f.totals.hosts} 台 / ${f.totals.vcpu} 核 / ${f.totals.memoryGb}G 内存 / ${f.totals.storageGb}G 存储` },
    ...(f.hostedAndNetwork ? [{ label: "托管、网络与安全", value: f.hostedAndNetwork }] : []),
    // 000 5.5: the evaluator sees which rows are catalog items and what a row not in the catalog was adapted to.
    ...(f.catalog ? [{ label: offCatalog(f.catalog) ? "服务目录适配" : "服务目录", value: catalogFitText(f.catalog) }] : []),
    // Only when it matters: the manager must see a request the yearly demand does not cover.
    ...(f.demand && !f.demand.covered ? [{ label: "年度需求", value: f.demand.text }] : []),
    // 003 第十四条: outside the consented plan, it goes to the city government on its own.
    ...(f.plan && !f.plan.planned ? [{ label: "年度计划", value: `${f.plan.text}，须报市人民政府审定同意（003 第十四条）` }] : []),
    // 004 第四十八条 / 第十四条(二)2: the fast track and a dedicated pool are what the holder must see first.
    ...(f.emergency ? [{ label: "紧急特殊情况", value: `${EMERGENCY_CATEGORIES[f.emergency]}（先开通，后补评估和审批）` }] : []),
    ...(f.dedicatedPool ? [{ label: "专属资源池", value: f.dedicatedPool.scale || "申请专属资源池" }] : []),
    // 001 附件1 注2: the manager sees what is reported, apart from the resources it approves.
    ...(f.reported ? [{ label: "报备事项（001 附件1 注2）", value: reportedText(f.reported) }] : []),
    // 002 第二十一条: what the new application replaces, to be revoked once it is live.
    ...(f.replaces ? [{ label: `替换原资源（${f.replaces.article}）`, value: f.replaces.resourceNames.join("、") }] : []),
    ...(f.publicStorage
      ? [{ label: "公共存储", value: `${f.publicStorage.sizeTb} T（${PUBLIC_STORAGE_TYPES[f.publicStorage.type as keyof typeof PUBLIC_STORAGE_TYPES] ?? f.publicStorage.type}）` }]
      : []),
  ],
  // 004 第四十八条: an emergency application is marked 紧急 wherever requests are listed.
  badge: (f) => (f.emergency ? "紧急" : null),
  stages: {
    supervisor_review: SUPERVISOR_PRE_REVIEW,
    county_review: {
      key: "county_review",
      name: "县级数据局初审",
      parties: ["county_bureau"],
      // 004 第十二条(一): 各级政务服务数据管理局 1 个工作日内汇总提交. Its duty is to forward: it may send the
      // request on, or return it for what is missing, but not refuse it; the decision is the manager's (审批).
      deadline: wd(1),
      when: (f) => f.countyUnit,
      approveLabel: "同意并提交",
      canReturn: true,
    },
    evaluate: {
      key: "evaluate",
      name: "需求评估",
      parties: ["provider"],
      deadline: wd(3),
      approveLabel: "提交评估意见",
      approveNeedsNote: (f) =>
        f.maxVmVcpu > largeVm || f.maxVmMemoryGb > largeVmMemoryGb ? `单台虚拟机超过 ${largeVm} 核或 ${largeVmMemoryGb}G 内存，须填写评估说明` : null,
      // 004 第十三条(二)2: the request is weighed against the plan's totals, so without them it cannot be evaluated.
      approveRefusal: (f) =>
        f.planned === null ? "首次申请须填写立项方案或系统迁云上云实施方案中的云资源总量（004 第十三条(二)2），请退回申请人补充后再评估" : null,
      canReturn: true,
    },
    storage_review: {
      key: "storage_review",
      name: "大容量存储共同审核",
      // 会签: 云资源统筹管理单位 and 云资源评估实施单位 both approve the written explanation (004 第十三条(二)4).
      parties: ["manager", "provider"],
      // The seed gives no separate deadline; it sits inside the 3-day evaluation window.
      deadline: wd(3),
      when: (f) => f.totals.storageGb > largeStorageGb,
      approveLabel: "审核通过",
      canReject: true,
      canReturn: true,
    },
    approve: {
      key: "approve",
      name: "审批",
      parties: ["manager"],
      deadline: wd(3),
      approveLabel: "同意",
      canReject: true,
      canReturn: true,
    },
    provision: {
      key: "provision",
      name: "资源开通",
      marks: "delivered",
      parties: ["provider"],
      deadline: wd(3),
      approveLabel: "已开通，提交使用单位确认",
    },
    // 004 第三十一条: a VM delivered with a backup policy has it checked on the very day it takes effect; a policy
    // that does not work goes back to the provider until it does (flow 4's check, for backups asked for here).
    backup_check: {
      key: "backup_check",
      name: "备份有效性核验",
      parties: ["applicant"],
      deadline: days(0),
      approveLabel: "备份有效",
      onFail: "backup_fix",
      when: (f) => f.backup === true,
    },
    backup_fix: {
      key: "backup_fix",
      name: "修正备份策略",
      parties: ["provider"],
      deadline: wd(1),
      approveLabel: "已修正",
      next: "backup_check",
      detour: true,
    },
    confirm_delivery: {
      key: "confirm_delivery",
      name: "使用单位确认资源",
      parties: ["applicant"],
      deadline: wd(3),
      approveLabel: "确认资源无误",
      canReturn: true,
      reportTo: ["manager", "reviewer", "county_bureau"],
    },
    verify_delivery: {
      key: "verify_delivery",
      name: "发放核查",
      parties: ["reviewer"],
      deadline: wd(2),
      approveLabel: "核查通过",
      // 004 第十七条(一): the unit deploys from the delivery on, so 系统部署 does not wait for this check: both run at
      // once. What the reviewer finds is a 整改通知 (004 第十六条), which reaches the unit, the provider and the
      // managers; the request cannot complete until the check has passed.
      alongside: true,
      // 004 第十六条(四): a check without findings is archived and filed (备案) with the manager and the provider.
      reportTo: ["manager", "provider"],
    },
    deploy: {
      key: "deploy",
      name: "系统部署",
      marks: "deployed",
      parties: ["applicant"],
      // 004 第十七条(一): "在收到云资源发放单后，应在 20 个工作日内完成系统…部署": from the delivery (资源开通, whose
      // 发放单 the unit receives), not from the end of the reviewer's 发放核查.
      deadline: wd(20, { firstDoneOf: ["provision", "emergency_provision"] }),
      approveLabel: "部署完成",
      lateWarningTo: SEVENTEEN_FIVE,
    },
    request_security_test: {
      key: "request_security_test",
      name: "申请上线前安全检测",
      parties: ["applicant"],
      deadline: wd(2),
      approveLabel: "提交安全检测申请",
      lateWarningTo: SEVENTEEN_FIVE,
    },
    security_test: {
      key: "security_test",
      name: "安全检测",
      marks: "security_tested",
      parties: ["manager"],
      deadline: wd(5),
      // 从首次检测至安全检测通过，应在 10 个工作日内完成 (004 第十七条(三)): from the first test performed (the
      // first 安全检测 run closed), not from the day the test was asked for.
      redoDeadline: wd(10, { firstDoneOf: "security_test" }),
      approveLabel: "检测通过",
      onFail: "security_fix",
      lateWarningTo: SEVENTEEN_FIVE,
    },
    security_fix: {
      key: "security_fix",
      name: "安全整改",
      parties: ["applicant"],
      deadline: wd(10, { firstDoneOf: "security_test" }),
      approveLabel: "整改完成，申请复测",
      next: "security_test",
      detour: true,
      lateWarningTo: SEVENTEEN_FIVE,
    },
    go_live: {
      key: "go_live",
      name: "系统上线",
      marks: "live",
      parties: ["applicant"],
      deadline: wd(2),
      approveLabel: "已上线",
      reportTo: ["provider", "reviewer"],
      lateWarningTo: SEVENTEEN_FIVE,
    },
    // 004 第十四条(二)2: "云资源使用单位提出的专属资源池需求具有必要性和可行性" is a principle of 审批, weighed by the
    // manager with the unit's 必要性说明 and 可行性说明 before the approval itself; the review is part of 审批, so
    // it has the approval's own 3 wd (第十四条(一)) rather than adding a window the article does not give.
    dedicated_pool_review: {
      key: "dedicated_pool_review",
      name: "专属资源池必要性和可行性审核",
      parties: ["manager"],
      deadline: wd(3),
      when: (f) => f.dedicatedPool !== undefined,
      approveLabel: "审核通过",
      approveNeedsNote: () => "请写明对专属资源池必要性和可行性的审核意见（004 第十四条(二)2）",
      canReject: true,
      canReturn: true,
    },
    // 004 第四十八条 紧急特殊情况 (see the reading above emergencyRules).
    emergency_confirm: {
      key: "emergency_confirm",
      name: "紧急情况确认",
      parties: ["manager"],
      deadline: wd(1),
      when: isEmergency,
      approveLabel: "确认紧急，先行开通",
      canReject: true,
      canReturn: true,
    },
    emergency_provision: {
      key: "emergency_provision",
      name: "资源紧急开通",
      marks: "delivered",
      parties: ["provider"],
      deadline: wd(1),
      when: isEmergency,
      approveLabel: "已开通，提交使用单位确认",
    },
    post_evaluate: {
      key: "post_evaluate",
      name: "需求评估（事后补办）",
      parties: ["provider"],
      deadline: wd(3),
      when: isEmergency,
      approveLabel: "提交评估意见",
      approveNeedsNote: largeVmNote,
    },
    post_storage_review: {
      key: "post_storage_review",
      name: "大容量存储共同审核（事后补办）",
      parties: ["manager", "provider"],
      deadline: wd(3),
      when: (f) => isEmergency(f) && bigStorage(f),
      approveLabel: "审核通过",
      canReject: true,
      revokeOnReject: "emergency_rejected",
    },
    post_approve: {
      key: "post_approve",
      name: "审批（事后补办）",
      parties: ["manager"],
      deadline: wd(3),
      when: isEmergency,
      approveLabel: "同意",
      canReject: true,
      revokeOnReject: "emergency_rejected",
    },
    // 徽州 stages (001 第十二—十四条).
    accept: {
      key: "accept",
      name: "受理",
      parties: ["manager"],
      deadline: wd(3),
      approveLabel: "受理",
      // 不予受理: reasons given, the applicant revises and resubmits, so it is a return, not a rejection.
      canReturn: true,
    },
    review: {
      key: "review",
      name: "审核意见",
      parties: ["manager"],
      deadline: wd(2),
      approveLabel: "审核通过",
      canReject: true,
      canReturn: true,
    },
    test_resources: {
      key: "test_resources",
      name: "配置测试资源",
      marks: "delivered",
      parties: ["provider"],
      deadline: wd(2),
      approveLabel: "测试资源已配置",
    },
    test: {
      key: "test",
      name: "系统测试",
      parties: ["applicant"],
      deadline: days(15),
      extendable: true,
      approveLabel: "测试通过",
    },
    trial_approval: {
      key: "trial_approval",
      name: "审定进入试运行",
      parties: ["manager"],
      // The seed sets no deadline for this decision; 3 wd matches its other review steps.
      deadline: wd(3),
      approveLabel: "同意试运行",
      canReturn: true,
    },
    trial: {
      key: "trial",
      name: "试运行",
      marks: "live",
      parties: ["applicant"],
      minDuration: { calendarDays: 30 },
      approveLabel: "转为正式运行",
      reportTo: ["manager", "provider"],
    },
    // 巴中 (003 第十五—二十条).
    tech_review: {
      key: "tech_review",
      name: "技术论证与资源配额",
      parties: ["manager"],
      // 003 第十七条 sets no time for the technical review; 5 wd, as the other cities give their managers.
      deadline: wd(5),
      approveLabel: "论证通过，分配配额",
      canReject: true,
      canReturn: true,
    },
    // 003 第十四条: "未列入年度计划的政务云资源需求，原则上不安排财政资金。对个别特殊或紧急的政务云资源需求，由市政务
    // 服务和大数据管理局报市人民政府审定同意后…实施采购": after the bureau's own review, the manager takes it to the
    // city government and records its 审定同意 (文号, date); no resources are configured before. Its refusal ends
    // the request. The city government's time is not the bureau's to set: no deadline.
    city_consent: {
      key: "city_consent",
      name: "报市人民政府审定",
      parties: ["manager"],
      approveLabel: "市人民政府已审定同意",
      canReject: true,
      form: CITY_CONSENT,
    },
    test_report: {
      key: "test_report",
      name: "测试与安全风险预评估",
      parties: ["applicant"],
      // 第十九条: within 1 month of deployment, to the same day of the next month.
      deadline: months(1),
      approveLabel: "提交测试和风险评估报告",
    },
    report_review: {
      key: "report_review",
      name: "审核测试和风险评估报告",
      marks: "security_tested",
      parties: ["manager"],
      deadline: wd(5),
      approveLabel: "审核通过",
      canReturn: true,
    },
    cutover: {
      key: "cutover",
      name: "系统割接",
      marks: "live",
      parties: ["applicant"],
      // 003 第二十条 "对已建政务信息系统…实施系统割接": only a system migrated from elsewhere (plan.kind "migration")
      // has an old one to cut over from; a request from before the kind was kept is taken as one, as it was.
      when: (f) => f.migration !== false,
      // 第二十条 sets no time; 10 wd. The old system is kept at least 3 months after (reminded in the card).
      deadline: wd(10),
      approveLabel: "割接完成（原系统保留≥3个月）",
      reportTo: ["manager", "provider"],
    },
    // 高创中心 (000 7.2): the provider deploys, tests and pre-assesses risks; the reports are filed with the manager.
    deploy_test: {
      key: "deploy_test",
      name: "部署、测试与安全风险预评估",
      marks: "deployed",
      parties: ["provider"],
      // 000 gives no times; 10 wd for deployment and tests, 3 wd for filing, in line with the other cities.
      deadline: wd(10),
      approveLabel: "测试通过",
    },
    file_reports: {
      key: "file_reports",
      name: "服务协议与报告存档",
      marks: "live",
      parties: ["manager"],
      deadline: wd(3),
      approveLabel: "已存档，正式运行",
      canReturn: true,
    },
  },
  profiles: {
    meizhou: {
      name: "梅州（广东数字政府政务云梅州节点实施细则）",
      sequence: [
        "county_review",
        "emergency_confirm",
        "evaluate",
        "storage_review",
        "dedicated_pool_review",
        "approve",
        "provision",
        "emergency_provision",
        "post_evaluate",
        "post_storage_review",
        "post_approve",
        "backup_check",
        "backup_fix",
        "confirm_delivery",
        "verify_delivery",
        "deploy",
        "request_security_test",
        "security_test",
        "security_fix",
        "go_live",
      ],
      attachments: meizhouAttachments,
      submissionRules: [namesRegisteredSystem, kindAgrees, ...planPartRules, overPlan, emergencyRules],
      // 004 第四十八条: an emergency request skips the ordinary evaluation, approval and provisioning; its own
      // stages (emergency_confirm … post_approve) stand in for them.
      overrides: {
        evaluate: { when: (f) => !isEmergency(f) },
        storage_review: { when: (f) => !isEmergency(f) && bigStorage(f) },
        approve: { when: (f) => !isEmergency(f) },
        provision: { when: (f) => !isEmergency(f) },
        // 004 第十七条(二): the application for the pre-go-live security test is the filled-in 附件6; the
        // service checks the system's 商用密码应用安全性评估 before it is taken (applicationService.checkStage).
        request_security_test: { form: SECURITY_TEST_APPLICATION },
      },
    },
    shaoguan: {
      name: "韶关（韶关市数字政府政务云管理办法）",
      // 002 第三十五条 "须通过安全测评后方可上线运行"; 附件2 十四 "政务信息系统上线运行前，由信息安全服务机构负责对
      // 信息系统进行安全检测，通过安全检测方能上线运行": the confirmed delivery is not the end; the unit deploys, asks
      // for the test, fixes until it passes, and only then goes live.
      // 002 第二十三条: a 下属单位's 主管单位 pre-reviews first, then (a county unit's) the county bureau, as 附件1's boxes.
      sequence: [
        "supervisor_review",
        "county_review",
        "approve",
        "provision",
        "confirm_delivery",
        "deploy",
        "request_security_test",
        "security_test",
        "security_fix",
        "go_live",
      ],
      overrides: {
        // 002 第二十三条 sets no deadline for the county pre-review; 1 wd as in 梅州.
        // 002 第二十三条: the county's 初审 is a review in its own right ("初审后，提交市…审核"), so it may refuse.
        county_review: { name: "县级初审", canReject: true },
        approve: { deadline: wd(5) },
        provision: { name: "资源下发" },
        // 002 sets no time for what the unit does on its own system (开发部署 第八条(二), asking for the test, fixing,
        // going live) and, unlike 004 第二十四条, has no revocation for a slow one: these stages have no deadline,
        // hence no reminder and no 004 第十七条(五) late warning.
        deploy: { deadline: undefined, lateWarningTo: [] },
        request_security_test: { deadline: undefined, lateWarningTo: [] },
        // The 信息安全服务机构 of 附件2 十四 is no party of yunshen: the manager (市政务服务数据管理部门, 主管单位 of the
        // 责任书, which supervises security, 第四十二条) records its result. 002 gives the test no time; 5 wd, the
        // manager's own time to decide in 002 (第二十条), for the first test and for each retest after a fix (not
        // 004 第十七条(三)'s 10 wd from the first test).
        security_test: { name: "上线前安全检测", deadline: wd(5), redoDeadline: wd(5), lateWarningTo: [] },
        security_fix: { deadline: undefined, lateWarningTo: [] },
        go_live: { deadline: undefined, lateWarningTo: [], reportTo: ["manager", "provider"] },
      },
      // 002 第十九条 "签署《韶关市“数字政府”政务云资源使用安全责任书》（附件2）": the signed and sealed 责任书 rides
      // with every application (its text is offered at /documents/shaoguan-security-pledge to print and sign).
      attachments: [{ purpose: "security_pledge", name: "已签字盖章的政务云资源使用安全责任书（002 附件2）", when: () => true }],
      submissionRules: [dataDiskFrom100, ...shaoguanAnnex1],
    },
    bazhong: {
      name: "巴中（“智慧巴中”云平台管理办法）",
      // 003 第二十条: an existing system (迁移) is cut over once its reports are approved; a new one (新建) has no
      // old system and goes live then instead.
      // 003 第十四条: a request outside the year's plan consented by the city government (facts.plan, computed at
      // submission) goes to the city government on its own once the bureau has reviewed it.
      sequence: ["tech_review", "city_consent", "provision", "deploy", "test_report", "report_review", "cutover", "go_live"],
      overrides: {
        city_consent: { when: (f) => f.plan?.planned === false },
        provision: { name: "资源配置" },
        // 第十八条: deployed within 5 wd of configuration; longer for demanding systems with the bureau's consent.
        // Its completion starts the bill (第四十三条, profiles/bazhong.ts billingStartsAt).
        deploy: { deadline: wd(5), extendable: true, lateWarningTo: [] },
        // 003 sets no time for a new system to go live after its reports are approved; 10 wd, as the cutover.
        go_live: { when: (f) => f.migration === false, deadline: wd(10), lateWarningTo: [], reportTo: ["manager", "provider"] },
      },
      attachments: [
        // 第十五、十六条: a migration plan for an existing system, the construction basis for a new one.
        { purpose: "plan", name: "系统迁移方案", when: (f) => f.migration === true },
        { purpose: "project_approval", name: "政务信息系统建设依据", when: (f) => f.migration === false },
      ],
    },
    gaochuang: {
      name: "高创中心（韶关新区高创中心公共服务云平台服务管理规范）",
      // 000 7.2.1 has the provider deploy once the request is approved; the resources it deploys on are opened
      // first (资源开通), which is when the ledger, billing and the revocation rules start counting.
      sequence: ["approve", "provision", "deploy_test", "file_reports"],
      overrides: {
        // 000 gives no time for the review; 5 wd as 韶关 (002), whose new district it serves.
        // 000 5.5: "服务目录中没有的…应在目录中选择功能和性能相近的进行适配": a row not in the catalog comes with the
        // nearest item proposed (facts.catalog); the reviewer's decision says how it is adapted.
        approve: { name: "申请审核", deadline: wd(5), approveNeedsNote: offCatalogNote },
      },
      attachments: [],
    },
    huizhou: {
      name: "徽州（徽州区政务云平台管理暂行办法）",
      sequence: ["accept", "review", "test_resources", "test", "trial_approval", "trial"],
      attachments: [{ purpose: "project_approval", name: "系统建设批复", when: () => true }],
      submissionRules: huizhouAnnex1,
      facts: huizhouReported,
      checks: [underUseReductionPending],
    },
  },
};
