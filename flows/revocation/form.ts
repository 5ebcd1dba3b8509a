import { z } from "zod";
import { isIsoDate } from "../../src/core/calendar-schedule";
import type { StageForm } from "../types";

export const revocationFormSchema = z.strictObject({
  resources: z
    .array(z.int().positive())
    .min(1, { error: "至少选择一项资源" })
    .max(200)
    .refine((ids) => new Set(ids).size === ids.length, { error: "资源重复" }),
  reason: z.string().trim().min(1, { error: "请说明撤销的理由" }).max(2000),
  // The unit's declaration of what it has done before asking (002 第二十二条, 001 第十六条): the system taken
  // offline, its data migrated and backed up. Required of a unit under 韶关 and 徽州; the provider leaves them out.
  offline: z.boolean().optional(),
  dataMigrated: z.boolean().optional(),
  // Why the manager itself starts it (责令退出, 使用率不足回收, 违反安全责任书收回): the manager's only, and required of it.
  trigger: z.enum(["ordered_exit", "under_use", "undertaking_breach"], { error: "撤销事由应为 ordered_exit（责令退出）、under_use（使用率不足回收）或 undertaking_breach（违反安全责任书收回）" }).optional(),
});

/** How the data and documents reached the unit (000 6.3 移交). */
export const HANDOVER_METHODS = {
  media: "离线介质拷贝（移动硬盘等）",
  network: "网络传输",
  platform: "迁移至使用单位指定的平台",
  paper: "纸质文档交接",
  other: "其他方式",
} as const;
type HandoverMethod = keyof typeof HANDOVER_METHODS;

const required = (what: string, max: number) =>
  z
    .string({ error: `请填写${what}` })
    .trim()
    .min(1, `请填写${what}`)
    .max(max, `${what}不超过 ${max} 字`);

/**
 * 000 6.3 "应用系统迁出或撤除时，公共服务云平台服务商要做好数据和文档等资源的移交和清除工作": what the provider
 * handed over, how, where and when, and to whom at the unit, recorded before anything is purged.
 */
export const handoverRecordSchema = z.strictObject({
  items: required("移交的数据和文档清单", 2000),
  method: z.enum(Object.keys(HANDOVER_METHODS) as [HandoverMethod], `移交方式应为 ${Object.keys(HANDOVER_METHODS).join("、")} 之一`),
  location: required("移交地点或存放位置", 300),
  handedOverOn: z.string({ error: "请填写移交日期（YYYY-MM-DD）" }).refine(isIsoDate, "移交日期应为存在的日期 YYYY-MM-DD"),
  receiver: required("使用单位接收人", 100),
  remarks: z.string().trim().max(2000, "备注不超过 2000 字").optional(),
});

/** The 移交记录 as a stage form (StageDef.form), in the order the portal shows its fields. */
export const HANDOVER_RECORD: StageForm = {
  name: "《数据和文档移交记录》",
  schema: handoverRecordSchema,
  fields: [
    { name: "items", label: "移交的数据和文档", kind: "textarea", hint: "逐项列明：业务数据（库、表、文件及数据量）、备份、系统文档、账号与配置资料等" },
    { name: "method", label: "移交方式", kind: "select", options: Object.entries(HANDOVER_METHODS).map(([value, label]) => ({ value, label })) },
    { name: "location", label: "移交地点或存放位置", kind: "text", placeholder: "如：使用单位机房 / 指定平台地址 / 介质编号", hint: "交接的地点，或数据存放的位置" },
    { name: "handedOverOn", label: "移交日期", kind: "date", notFuture: true },
    { name: "receiver", label: "使用单位接收人", kind: "text" },
    { name: "remarks", label: "备注", kind: "textarea", optional: true },
  ],
};
