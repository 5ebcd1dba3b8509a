import { z } from "zod";

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
