import { z } from "zod";

export const adjustmentFormSchema = z
  .strictObject({
    direction: z.enum(["up", "down"]),
    resource: z.int().positive(),
    // The sizes asked for; what is left out stays as it is.
    to: z
      .strictObject({
        vcpu: z.int().min(1).max(1024).optional(),
        memoryGb: z.int().min(1).max(8192).optional(),
        diskGb: z.int().min(1).max(1_048_576).optional(),
      })
      .refine((t) => t.vcpu !== undefined || t.memoryGb !== undefined || t.diskGb !== undefined, { error: "请写明调整后的配置" }),
    reason: z.string().trim().min(1, { error: "请说明调整的理由" }).max(2000),
  });
