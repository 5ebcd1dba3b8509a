import { z } from "zod";

export const revocationFormSchema = z.strictObject({
  resources: z
    .array(z.int().positive())
    .min(1, { error: "至少选择一项资源" })
    .max(200)
    .refine((ids) => new Set(ids).size === ids.length, { error: "资源重复" }),
  reason: z.string().trim().min(1, { error: "请说明撤销的理由" }).max(2000),
});
