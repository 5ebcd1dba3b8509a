import { adjustmentFormSchema } from "../../../../flows/adjustment/form";
import {
  applicationFormSchema,
  ATTACHMENT_PURPOSES,
  EMERGENCY_CATEGORIES,
  MAINTAINER_NATURES,
  NETWORK_ZONES,
  PUBLIC_STORAGE_TYPES,
  ROW_REQUEST_TYPES,
  TERM_KINDS,
  UNIT_NATURES,
} from "../../../../flows/application/form";
import { HUIZHOU_PLEDGE } from "../../../../flows/application/documents";
import { backupFormSchema } from "../../../../flows/backup/form";
import { portGrantFormSchema } from "../../../../flows/port_grant/form";
import { purposeChangeFormSchema } from "../../../../flows/purpose_change/form";
import { rectificationFormSchema } from "../../../../flows/rectification/form";
import { revocationFormSchema } from "../../../../flows/revocation/form";
import { vmAccountFormSchema } from "../../../../flows/vm_account/form";
import { VM_ACCOUNT_KINDS } from "../../../access/vm-account-service";
import { demandInput } from "../../../resources/demand";
import { BANDWIDTH_ZONES, PAAS_KINDS, SECURITY_SERVICES } from "../../../resources/catalog";
import { POLICY_PROFILES, PROFILES } from "../../../../profiles";
import type { Field, FieldOption, WebForm } from "./types";

// The forms a unit fills in, labelled as the official forms label them: 004 附件2 (IaaS 资源申请表), 附件8 (调整),
// 附件10 (撤销), 附件12 (备份), and 002 附件1 (韶关's 资源申请表, whose 维护单位 and 备份 blocks 004's lacks).

const options = (labels: Record<string, string>): FieldOption[] => Object.entries(labels).map(([value, label]) => ({ value, label }));

const MOBILE_FORMAT = "格式不正确，应为 11 位手机号";

// 002 附件1's own words for the backup choices, rather than the ledger's shorter names.
const BACKUP_TYPE_OPTIONS = options({ file: "文件", database: "数据库", vm: "虚拟云主机" });
const BACKUP_COPY_OPTIONS = options({ local: "本地机房备份", same_city: "同城容灾备份", off_site: "异地灾难备份" });

const backupFields = (prefix: string, required: boolean): Field[] => [
  {
    name: `${prefix}type`,
    label: required ? "备份数据类型" : "备份",
    short: "备份数据类型",
    kind: "select",
    options: BACKUP_TYPE_OPTIONS,
    ...(required ? {} : { emptyOption: "不需要备份" }),
  },
  { name: `${prefix}copies`, label: "数据副本", kind: "select", options: BACKUP_COPY_OPTIONS, optional: !required },
  { name: `${prefix}strategy`, label: "备份策略", kind: "text", placeholder: "如：每日 02:00 全量", optional: !required },
  // 002 附件1: 数据保存周期, 默认 2 个月.
  { name: `${prefix}retentionMonths`, label: "数据保存周期(月)", short: "数据保存周期", kind: "int", unit: " 个月", placeholder: "默认 2 个月", optional: true },
];

const validityFields: Field[] = [
  { name: "validity.workdays", label: "有效期(工作日)", short: "有效期", kind: "int", unit: " 个工作日", hint: "自审批通过起算；或填写下面的截止日期", format: "请只填写有效期的工作日数或截止日期之一" },
  { name: "validity.until", label: "有效期至", kind: "date", optional: true, format: "请只填写有效期的工作日数或截止日期之一" },
];

const PORT_FORMAT = "格式不正确，如：80, 443/tcp, 53/udp";
const HOST_FORMAT = "格式不正确，应为已登记的主机名，每行一个";

// 000 5.5: a row may name the 服务目录 item it is; the sizes are still the form's (a PaaS row's left empty are the item's).
const CATALOG_ITEM_FIELD: Field = {
  name: "item",
  label: "服务目录编号",
  short: "服务目录编号",
  kind: "text",
  optional: true,
  placeholder: "如：ECS-4C8G",
  hint: "不填时按规格匹配功能和性能相近的目录项（000 5.5）",
  link: { href: "/catalog", text: "查看服务目录" },
  format: "服务目录编号应为字母、数字、点、下划线或连字符",
};

// The blanks only one profile's annex has: 002 附件1 (韶关) and 001 附件1 with its 附表 (徽州).
const SG = ["shaoguan"] as const;
// 002 第二十一条: the profiles whose document has a new application replace resources (ProfileModule.reapplication).
const REAPPLYING = POLICY_PROFILES.filter((p) => PROFILES[p].reapplication !== null);
const HZ = ["huizhou"] as const;
/** Where 韶关's 安全责任书 (002 附件2) is offered to read, print and sign (pages/documents.tsx). */
export const SHAOGUAN_PLEDGE_HREF = "/documents/shaoguan-security-pledge";

export const applicationForm: WebForm = {
  key: "application",
  flow: "application",
  title: "云资源申请",
  source: "《广东“数字政府”政务云梅州节点 IaaS 资源申请表》（004 附件2；002 附件1）",
  sourceByProfile: {
    shaoguan: "《韶关市“数字政府”政务云资源申请表》（002 附件1）及《韶关市“数字政府”政务云资源使用安全责任书》（002 附件2）",
    huizhou: "《徽州区数据资源管理局政务云资源使用审批表》及附表《虚拟机资源表》（001 附件1）",
  },
  description: "申请虚拟机、PaaS、硬件托管、网络带宽、公网 IP 或安全服务。合计由系统计算，无需填写。",
  optionalGroups: ["vms[].backup", "plan.plannedTotals", "dedicatedPool", "emergency", "term", "leader", "publicStorage", "declaration", "replaces"],
  schema: applicationFormSchema,
  sections: [
    {
      title: "资源使用单位信息",
      fields: [
        { name: "systemName", label: "系统名称", kind: "text", hint: "须为本单位已在“系统登记”中登记的系统，名称与登记、立项方案、迁云上云实施方案完全一致（004 第二条、第十二条）", link: { href: "/systems", text: "查看或登记本单位的系统" } },
        { name: "contact.name", label: "联系人", kind: "text" },
        { name: "contact.mobile", label: "联系电话", kind: "tel", format: `联系电话${MOBILE_FORMAT}` },
        { name: "contact.email", label: "E-mail", kind: "email", optional: true, format: "E-mail 格式不正确" },
        // 002 附件1 资源使用单位信息.
        { name: "projectName", label: "项目名称", kind: "text", profiles: SG },
        { name: "term.kind", label: "申请期限", kind: "select", options: options(TERM_KINDS), profiles: SG },
        { name: "term.until", label: "期限至", kind: "date", optional: true, hint: "申请期限选“至指定日期”时填写", profiles: SG },
        // 001 附件1: 单位性质 and 负责人.
        { name: "unitNature", label: "单位性质", kind: "select", options: options(UNIT_NATURES), profiles: HZ },
        { name: "leader.name", label: "负责人", kind: "text", profiles: HZ },
        { name: "leader.mobile", label: "负责人手机", kind: "tel", format: `负责人手机${MOBILE_FORMAT}`, profiles: HZ },
        { name: "leader.email", label: "负责人邮箱", kind: "email", optional: true, format: "负责人邮箱格式不正确", profiles: HZ },
      ],
    },
    {
      title: "维护单位信息",
      fields: [
        { name: "maintainer.company", label: "维护单位", kind: "text", optional: true },
        { name: "maintainer.nature", label: "维护单位性质", kind: "select", options: options(MAINTAINER_NATURES), profiles: SG },
        { name: "maintainer.name", label: "维护负责人", kind: "text" },
        { name: "maintainer.mobile", label: "联系电话", short: "维护负责人联系电话", kind: "tel", format: `维护负责人联系电话${MOBILE_FORMAT}` },
        { name: "maintainer.email", label: "E-mail", short: "维护负责人 E-mail", kind: "email", optional: true, format: "E-mail 格式不正确" },
      ],
    },
    {
      title: "网络区域",
      fields: [
        { name: "networkZone", label: "网络区域", kind: "select", options: options(NETWORK_ZONES) },
        { name: "networkZoneNote", label: "其他网络区域说明", short: "网络区域说明", kind: "text", optional: true, hint: "网络区域选“其他”时填写" },
      ],
    },
    {
      title: "虚拟机",
      note: "每行一种配置；数量为相同配置的台数。单台超过 8 核或 32G 内存须经评估说明（004 第十三条）。",
      rows: {
        name: "vms",
        label: "虚拟机",
        max: 200,
        fields: [
          { name: "purpose", label: "用途", kind: "text", placeholder: "如：应用服务器" },
          CATALOG_ITEM_FIELD,
          { name: "vcpu", label: "vCPU(核)", short: "vCPU", kind: "int", unit: " 核" },
          { name: "memoryGb", label: "内存(GB)", short: "内存", kind: "int", unit: " GB" },
          { name: "diskGb", label: "系统盘/数据盘(GB)", short: "系统盘/数据盘", kind: "int", unit: " GB" },
          { name: "storageType", label: "存储类型", kind: "text", optional: true, placeholder: "高性能云盘" },
          { name: "os", label: "操作系统", kind: "text", placeholder: "如：麒麟 V10" },
          { name: "ports", label: "开放端口", kind: "text", optional: true, placeholder: "如：80,443,8000-8080", format: "开放端口格式不正确，如：80,443,8000-8080" },
          { name: "quantity", label: "数量", kind: "int", unit: " 台", initial: "1" },
          // 002 附件1 服务器类型 (its choices are not given: written as the unit names it).
          { name: "serverType", label: "服务器类型", kind: "text", placeholder: "如：云主机（通用型）", profiles: SG },
          // 001 附表 申请类型 (资源申请 ticked on the blank form), 虚拟机 外网 IP.
          {
            name: "requestType",
            label: "申请类型",
            kind: "select",
            options: options({ change: ROW_REQUEST_TYPES.change, exit: ROW_REQUEST_TYPES.exit, other: ROW_REQUEST_TYPES.other }),
            emptyOption: ROW_REQUEST_TYPES.apply,
            optional: true,
            hint: "在用资源的变更、退出请另行提交扩容/缩容、用途变更或撤销申请",
            profiles: HZ,
          },
          { name: "requestTypeNote", label: "其他申请类型说明", short: "申请类型说明", kind: "text", optional: true, profiles: HZ },
          { name: "publicIps", label: "外网 IP(个/台)", short: "外网 IP", kind: "int", unit: " 个", optional: true, hint: "每台所需外网 IP；合计应等于公网 IP 数量，向区数据资源局报备", profiles: HZ },
          ...backupFields("backup.", false),
          { name: "remarks", label: "备注", kind: "text", optional: true, profiles: [...SG, ...HZ] },
        ],
      },
    },
    // 001 附件1 资源类型 公共存储.
    {
      title: "公共存储",
      note: "不需要公共存储的，本栏留空。",
      profiles: HZ,
      fields: [
        { name: "publicStorage.sizeTb", label: "空间大小(T)", short: "空间大小", kind: "decimal", unit: " T", optional: true, placeholder: "如：2", format: "空间大小应为数字（T）" },
        { name: "publicStorage.type", label: "存储类型", kind: "select", options: options(PUBLIC_STORAGE_TYPES), optional: true },
        { name: "publicStorage.typeNote", label: "其他存储类型说明", short: "存储类型说明", kind: "text", optional: true },
      ],
    },
    {
      title: "PaaS 资源",
      rows: {
        name: "paas",
        label: "PaaS 资源",
        max: 100,
        fields: [
          { name: "kind", label: "类型", short: "PaaS 类型", kind: "select", options: options(PAAS_KINDS) },
          { name: "product", label: "产品名称", kind: "text", placeholder: "如：达梦数据库 DM8" },
          CATALOG_ITEM_FIELD,
          { name: "vcpu", label: "vCPU(核)", short: "vCPU", kind: "int", unit: " 核", optional: true },
          { name: "memoryGb", label: "内存(GB)", short: "内存", kind: "int", unit: " GB", optional: true },
          { name: "storageGb", label: "存储(GB)", short: "存储", kind: "int", unit: " GB", optional: true },
          { name: "quantity", label: "数量", kind: "int", initial: "1" },
        ],
      },
    },
    // 004 第十二条(三)2 硬件托管服务; 第四十八条: 网络 and 安全 resources, recorded and billed like the rest.
    {
      title: "硬件托管",
      note: "每行一种托管设备；数量为相同型号的台数。申请硬件托管须附云资源申请依据（004 第十二条(三)）。",
      rows: {
        name: "hosting",
        label: "托管设备",
        max: 100,
        fields: [
          { name: "device", label: "设备名称/型号", kind: "text", placeholder: "如：华为 TaiShan 200 服务器" },
          { name: "rackUnits", label: "机柜 U 数", kind: "int", unit: "U" },
          { name: "quantity", label: "数量", kind: "int", unit: " 台", initial: "1" },
          { name: "powerW", label: "电源功率(W)", short: "电源功率", kind: "int", unit: " W", optional: true },
        ],
      },
    },
    {
      title: "网络资源",
      rows: {
        name: "bandwidth",
        label: "带宽",
        max: 2,
        fields: [
          { name: "zone", label: "网络区域", short: "带宽的网络区域", kind: "select", options: options(BANDWIDTH_ZONES) },
          { name: "mbps", label: "带宽(Mbps)", short: "带宽", kind: "int", unit: " Mbps" },
        ],
      },
      fields: [{ name: "publicIps", label: "公网 IP 数量", kind: "int", unit: " 个", optional: true }],
    },
    {
      title: "安全服务",
      rows: {
        name: "security",
        label: "安全服务",
        max: 20,
        fields: [
          { name: "service", label: "安全服务", kind: "select", options: options(SECURITY_SERVICES) },
          { name: "quantity", label: "数量", kind: "int", unit: " 套", initial: "1" },
        ],
      },
    },
    {
      title: "迁云上云实施方案",
      note: "004 第十一条：实施方案应包括系统现状描述、云资源需求、迁云上云实施步骤及时间、影响面评估、回退方案、应急保障措施，六项均须填写。",
      fields: [
        { name: "plan.kind", label: "方案类型", kind: "select", options: options({ migration: "已有系统迁移上云", new: "新建系统" }) },
        { name: "plan.currentState", label: "系统现状描述", kind: "textarea", hint: "系统功能、服务器和网络现状、使用情况" },
        { name: "plan.resourceNeeds", label: "云资源需求", kind: "textarea" },
        { name: "plan.steps", label: "实施步骤及时间安排", short: "实施步骤及时间", kind: "textarea" },
        { name: "plan.impact", label: "影响面评估", kind: "textarea" },
        { name: "plan.rollback", label: "回退方案", kind: "textarea" },
        { name: "plan.emergency", label: "应急保障措施", kind: "textarea" },
        { name: "plan.plannedTotals.vcpu", label: "立项方案 vCPU 总量(核)", short: "立项方案 vCPU 总量", kind: "int", unit: " 核", optional: true, hint: "首次申请不超过立项方案或实施方案的资源总量（004 第十三条）" },
        { name: "plan.plannedTotals.memoryGb", label: "立项方案内存总量(GB)", short: "立项方案内存总量", kind: "int", unit: " GB", optional: true },
        { name: "plan.plannedTotals.storageGb", label: "立项方案存储总量(GB)", short: "立项方案存储总量", kind: "int", unit: " GB", optional: true },
      ],
    },
    // 004 第十四条(二)2: a 专属资源池, weighed for its necessity and feasibility before 审批. Left blank, none is asked for.
    {
      title: "申请专属资源池",
      note: "不需要专属资源池的，本栏留空。申请的须说明必要性和可行性，由统筹管理单位审核（004 第十四条(二)2）。",
      fields: [
        { name: "dedicatedPool.necessity", label: "必要性说明", kind: "textarea", optional: true },
        { name: "dedicatedPool.feasibility", label: "可行性说明", kind: "textarea", optional: true },
        { name: "dedicatedPool.scale", label: "资源池规模", kind: "text", optional: true, placeholder: "如：3 台物理服务器" },
      ],
    },
    // 004 第四十八条: the fast track for a 紧急特殊情况 (梅州); elsewhere it is refused.
    {
      title: "紧急特殊情况",
      note: "属于 004 第四十八条紧急特殊情况的，经统筹管理单位确认后先行开通资源，需求评估和审批事后补办；事后审批不同意的，已开通资源将被撤销。须填写立项方案资源总量，不能同时申请专属资源池。",
      fields: [
        { name: "emergency.category", label: "紧急情况类别", kind: "select", options: options(EMERGENCY_CATEGORIES), emptyOption: "不是紧急申请" },
        { name: "emergency.reason", label: "紧急情况说明", kind: "textarea", optional: true },
      ],
    },
    // 002 第二十一条: a 重大变更 applied for anew names the unit's resources it replaces, revoked once it is live.
    {
      title: "重大变更重新申请",
      note: "因调整超过原配置 2 倍（重大变更）而重新申请的，勾选被替换的本单位原资源；新系统上线后，所选原资源自动发起注销回收（002 第二十一条）。不是重大变更的，不选。",
      profiles: REAPPLYING,
      fields: [{ name: "replaces", label: "被替换的原资源", short: "替换的原资源", kind: "checklist", intValues: true, optional: true }],
    },
    // 002 附件1 备注.
    { title: "备注", profiles: SG, fields: [{ name: "remarks", label: "备注", kind: "textarea", optional: true }] },
    // 001 附件1 申请单位承诺: printed on the form, sealed and dated by the unit; here ticked by the applicant.
    {
      title: "申请单位承诺",
      note: HUIZHOU_PLEDGE,
      profiles: HZ,
      fields: [{ name: "declaration.agreed", label: "本单位已阅读并遵守以上申请单位承诺", short: "申请单位承诺", kind: "checkbox", hint: "提交时记录勾选人和时间，视同申请单位承诺（001 附件1）" }],
    },
    {
      title: "附件",
      byProfile: {
        shaoguan: {
          note: "须附已签字盖章的《韶关市“数字政府”政务云资源使用安全责任书》（002 第十九条、附件2），材料类型选“安全责任书”。每个文件不超过 {UPLOAD_MAX_MB} MB，限 pdf、doc、docx、xls、xlsx、jpg、png、zip；先选材料类型再选文件，上传后 24 小时内未提交的附件将被删除。",
          link: { href: SHAOGUAN_PLEDGE_HREF, text: "阅读、打印安全责任书" },
        },
        huizhou: {
          note: "须附系统建设批复（001 第十一条），材料类型选“立项方案 / 建设批复”。每个文件不超过 {UPLOAD_MAX_MB} MB，限 pdf、doc、docx、xls、xlsx、jpg、png、zip；先选材料类型再选文件，上传后 24 小时内未提交的附件将被删除。",
        },
      },
      note: "存储超过 500G 须附书面说明，PaaS 中间件或硬件托管须附申请依据，PaaS 数据库 ≥20 核或 ≥40G、容器、大数据须附测试报告（004 第十二条）。每个文件不超过 {UPLOAD_MAX_MB} MB，限 pdf、doc、docx、xls、xlsx、jpg、png、zip；先选材料类型再选文件，上传后 24 小时内未提交的附件将被删除。",
      rows: {
        name: "attachments",
        label: "附件",
        max: 50,
        fields: [
          { name: "purpose", label: "材料类型", kind: "select", options: options(ATTACHMENT_PURPOSES) },
          { name: "fileId", label: "文件", short: "要上传的文件", kind: "file", format: "文件无效，请重新上传" },
        ],
      },
    },
  ],
};

export const adjustmentForm: WebForm = {
  key: "adjustment",
  flow: "adjustment",
  title: "扩容 / 缩容",
  source: "《广东“数字政府”政务云梅州节点 IaaS 资源调整申请表》（004 附件8）",
  // 002 附件3 and 附件4 are named in the 附件 list but not printed with the document: the blanks are 004's.
  sourceByProfile: {
    shaoguan: "《韶关市“数字政府”政务云资源变更申请表》（002 第二十一条、附件3）",
    huizhou: "变更申请（001 第十五条）",
    bazhong: "政务云资源调整申请（003 第二十四条）",
    gaochuang: "云资源调整申请（000 7.2.3.1）",
  },
  description: "调整本单位在用资源的配置。扩容须符合近 5 个工作日的利用率要求（004 第十九条(二)）。",
  descriptionByProfile: {
    shaoguan:
      "变更本单位在用资源的配置：5 个工作日内审核，通过后 3 个工作日内完成变更（002 第二十一条）。扩容须符合近 5 个工作日的利用率要求（004 第十九条(二)）；调整后的 vCPU、内存或磁盘超过原配置 2 倍的属重大变更，须按第十九条重新提出云资源申请（002 第二十一条）。",
    huizhou: "变更本单位在用资源的配置：5 个工作日内审核，通过后 3 个工作日内完成变更（001 第十五条）。扩容须符合近 5 个工作日的利用率要求（004 第十九条(二)）。",
    bazhong: "调整本单位在用资源的配置。扩容以云服务商报告资源使用率超过 70% 为前提（003 第二十四条(一)）。",
    gaochuang: "调整本单位在用资源的配置。以监管部门提供的云资源使用情况报告为审核的主要依据（000 7.2.3.1）。",
  },
  schema: adjustmentFormSchema,
  sections: [
    {
      title: "调整申请",
      fields: [
        { name: "direction", label: "调整类型", kind: "select", options: options({ up: "扩容", down: "缩容" }) },
        { name: "resource", label: "调整的资源", short: "资源", kind: "select", intValues: true },
        { name: "to.vcpu", label: "调整后 vCPU(核)", short: "调整后 vCPU", kind: "int", unit: " 核", optional: true, hint: "不调整的项留空" },
        { name: "to.memoryGb", label: "调整后内存(GB)", short: "调整后内存", kind: "int", unit: " GB", optional: true },
        { name: "to.diskGb", label: "调整后系统盘/数据盘(GB)", short: "调整后系统盘/数据盘", kind: "int", unit: " GB", optional: true },
        { name: "reason", label: "调整理由", kind: "textarea" },
      ],
    },
  ],
};

export const revocationForm: WebForm = {
  key: "revocation",
  flow: "revocation",
  title: "撤销",
  source: "《广东“数字政府”政务云梅州节点 IaaS 资源撤销申请表》（004 附件10）",
  sourceByProfile: {
    shaoguan: "《韶关市“数字政府”政务云资源注销申请表》（002 第二十二条、附件4）",
    huizhou: "终止申请（001 第十六条）",
    bazhong: "服务退出申请（003 第二十二条）",
    gaochuang: "项目退出申请（000 7.2.3）",
  },
  description: "撤销本单位不再使用的资源。撤销前请做好数据备份和迁移（004 第二十五条）。",
  descriptionByProfile: {
    shaoguan: "注销本单位不再使用的资源。填报前须做好政务信息系统下线和数据迁移备份，并在表中确认；5 个工作日内审核，通过后 3 个工作日内回收（002 第二十二条）。",
    huizhou: "终止本单位不再使用的政务云服务。提交前须做好应用系统下线和数据迁移备份，并在表中确认；5 个工作日内审核，通过后 3 个工作日内回收（001 第十六条）。",
    bazhong: "退出政务云服务。提交后有 3 个月过渡期，须在过渡期内完成系统下线和数据迁移备份；期满后与云服务商共同做好数据清除和资源回收（003 第二十二条）。",
    gaochuang: "迁出或撤除应用系统。审批通过后，与云服务商共同完成应用停止、数据备份、数据移交、数据消除和资源回收（000 7.2.3、6.3）。",
  },
  schema: revocationFormSchema,
  sections: [
    {
      title: "撤销申请",
      fields: [
        { name: "resources", label: "撤销的资源", short: "资源", kind: "checklist", intValues: true },
        { name: "reason", label: "撤销理由", kind: "textarea" },
        // 002 第二十二条 (附件4), 001 第十六条: done by the unit before it asks; only 韶关's and 徽州's units declare them.
        {
          name: "offline",
          label: "政务信息系统已下线",
          short: "系统下线",
          kind: "checkbox",
          optional: true,
          hint: "须在申请前完成（002 第二十二条、001 第十六条）；云服务商发起时不勾选",
          profiles: ["shaoguan", "huizhou"],
        },
        { name: "dataMigrated", label: "数据已迁移备份", short: "数据迁移备份", kind: "checkbox", optional: true, profiles: ["shaoguan", "huizhou"] },
        // The manager's own revocation names its ground (flows/revocation MANAGER_REVOCATIONS); the options are the profile's.
        { name: "trigger", label: "撤销事由（统筹管理单位发起时选择）", short: "撤销事由", kind: "select", optional: true, emptyOption: "使用单位或云服务商发起，不选" },
      ],
    },
  ],
};

// 003 第二十四条(四), 002 附件2 十六, 001 第二十五、三十条, 000 6.1: the manager's order to a unit.
export const rectificationForm: WebForm = {
  key: "rectification",
  flow: "rectification",
  title: "整改通知（责令整改）",
  source: "整改通知（003 第二十四条(四)；002 附件2 十六；001 第二十五条、第三十条；000 6.1）",
  description: "责令使用单位在期限内整改；使用单位报告整改完成后由发出通知的单位确认。逾期未整改的，停止使用并回收所列资源（高创中心由监管部门发出，仅督促整改）。",
  schema: rectificationFormSchema,
  sections: [
    {
      title: "整改通知",
      fields: [
        { name: "resources", label: "涉及的资源（同一使用单位）", short: "资源", kind: "checklist", intValues: true },
        { name: "ground", label: "整改事由", kind: "select" },
        { name: "description", label: "发现的问题和整改要求", short: "问题和整改要求", kind: "textarea" },
        { name: "rectifyBy", label: "整改期限（截止日期）", short: "整改期限", kind: "date", optional: true, hint: "截止日期与工作日数二选一" },
        { name: "rectifyWorkdays", label: "整改期限（工作日数）", short: "整改期限", kind: "int", unit: " 个工作日", optional: true },
      ],
    },
  ],
};

// 001 第十五条 (变更申请), 002 第十五条: a VM's 用途 changes only on a request the manager approves.
export const purposeChangeForm: WebForm = {
  key: "purpose_change",
  flow: "purpose_change",
  title: "用途变更",
  source: "用途变更申请（001 第十五条；002 第十五条）",
  description: "变更本单位在用虚拟机的用途。严禁擅自变更云资源用途；资源只可用于本单位政务信息系统，不得提供给其他单位使用（002 第十五条）。",
  schema: purposeChangeFormSchema,
  sections: [
    {
      title: "变更申请",
      fields: [
        { name: "resources", label: "变更用途的虚拟机", short: "资源", kind: "checklist", intValues: true },
        { name: "purpose", label: "变更后的用途", short: "用途", kind: "text", placeholder: "如：数据库服务器" },
        { name: "reason", label: "变更理由", kind: "textarea" },
      ],
    },
  ],
};

export const backupForm: WebForm = {
  key: "backup",
  flow: "backup",
  title: "备份",
  source: "《广东“数字政府”政务云梅州节点 IaaS 资源备份申请表》（004 附件12）",
  sourceByProfile: {
    shaoguan: "备份服务申请（002 第二十八条）",
    huizhou: "备份资源需求（001 附件1：需进行数据备份的应单独列出备份资源需求）",
    bazhong: "重要信息系统备份申请（003 第二十三条）",
    gaochuang: "数据备份服务申请（000 5.2）",
  },
  description: "为在用的虚拟机申请备份，明确备份类型、备份策略和保存周期（004 第二十九条）。",
  descriptionByProfile: {
    shaoguan: "为在用的虚拟机按需申请备份服务，写明备份类型、备份策略和保存周期（002 第二十八条）。",
    huizhou: "单独列出虚拟机的备份资源需求：备份类型、备份策略和保存周期（001 附件1）。",
    bazhong: "按“按需分配，合理使用”的原则，为重要信息系统申请备份，写明备份类型、备份策略和保存周期（003 第二十三条）。",
    gaochuang: "为在用的虚拟机申请数据备份服务，写明备份类型、备份策略和保存周期（000 5.2）。",
  },
  schema: backupFormSchema,
  sections: [{ title: "备份申请", fields: [{ name: "resource", label: "虚拟机", kind: "select", intValues: true }, ...backupFields("", true)] }],
};

export const vmAccountForm: WebForm = {
  key: "vm_account",
  flow: "vm_account",
  title: "虚拟机账号申请",
  source: "虚拟机账号申请（004 第三十七条：一人一账号，登录短信验证）",
  description: "为本单位人员申请虚拟机登录账号；每次登录以短信验证码确认本人。",
  optionalGroups: ["validity"],
  schema: vmAccountFormSchema,
  sections: [
    {
      title: "账号",
      fields: [
        { name: "kind", label: "申请类型", kind: "select", options: options(VM_ACCOUNT_KINDS) },
        { name: "holder", label: "账号使用人", kind: "select" },
        { name: "account", label: "账号名", kind: "text", placeholder: "如：lihua", format: "账号名格式不正确：小写字母或下划线开头，最多 32 位小写字母、数字、下划线或连字符" },
        { name: "hosts", label: "主机", kind: "lines", hint: "每行一台", format: `主机${HOST_FORMAT}` },
        ...validityFields,
        { name: "reason", label: "用途", kind: "textarea" },
      ],
    },
    {
      title: "同时开放端口（选填，仅新开账号）",
      fields: [
        { name: "ports", label: "端口", kind: "ports", optional: true, format: `端口${PORT_FORMAT}` },
        { name: "sources", label: "来源地址", kind: "lines", optional: true, hint: "IP 地址或网段，每行一个" },
        { name: "portReason", label: "开放理由", kind: "text", optional: true },
      ],
    },
  ],
};

export const portGrantForm: WebForm = {
  key: "port_grant",
  flow: "port_grant",
  title: "端口与访问地址开放申请",
  source: "端口与访问地址开放申请（004 第三十七条：最小权限，到期关闭）",
  description: "为虚拟机开放端口和允许访问的来源地址，到期自动关闭。",
  optionalGroups: ["validity"],
  schema: portGrantFormSchema,
  sections: [
    {
      title: "开放申请",
      fields: [
        { name: "hosts", label: "主机", kind: "lines", hint: "每行一台", format: `主机${HOST_FORMAT}` },
        { name: "ports", label: "端口", kind: "ports", format: `端口${PORT_FORMAT}` },
        { name: "sources", label: "来源地址", kind: "lines", hint: "IP 地址或网段，每行一个，如 10.1.0.0/16" },
        ...validityFields,
        { name: "reason", label: "开放理由", kind: "textarea" },
      ],
    },
  ],
};

export const demandForm: WebForm = {
  key: "demand",
  flow: null,
  title: "年度资源需求",
  source: "年度资源需求（002 第十七条；003 第十四条：每年 9 月 30 日前报下一年度）",
  description: "填报本单位下一年度预计需要的云资源，由县级数据局汇总上报。",
  schema: demandInput,
  sections: [
    {
      title: "下一年度需求",
      fields: [
        { name: "year", label: "年度", kind: "int" },
        { name: "vcpu", label: "vCPU(核)", short: "vCPU", kind: "int", unit: " 核" },
        { name: "memoryGb", label: "内存(GB)", short: "内存", kind: "int", unit: " GB" },
        { name: "storageGb", label: "存储(GB)", short: "存储", kind: "int", unit: " GB" },
        { name: "note", label: "说明", kind: "textarea", optional: true },
      ],
    },
  ],
};

/** Every form a unit can start, in the order /new lists them. */
export const WEB_FORMS: readonly WebForm[] = [applicationForm, adjustmentForm, purposeChangeForm, backupForm, revocationForm, rectificationForm, vmAccountForm, portGrantForm, demandForm];
