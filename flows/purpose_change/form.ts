import { z } from "zod";

// 用途变更申请 (001 第十五条, 002 第十五条): the unit's VMs, the 用途 they are to have, and why.
export const purposeChangeFormSchema = z.strictObject({
  resources: z
    .array(z.int().positive())
    .min(1, { error: "至少选择一台虚拟机" })
    .max(200)
    .refine((ids) => new Set(ids).size === ids.length, { error: "资源重复" }),
  // As long as an application row's 用途 (flows/application/form.ts).
  purpose: z.string().trim().min(1, { error: "请填写变更后的用途" }).max(100, { error: "用途不超过 100 字" }),
  reason: z.string().trim().min(1, { error: "请说明变更用途的理由" }).max(2000),
});
