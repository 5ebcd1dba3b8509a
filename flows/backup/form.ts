import { z } from "zod";
import { backupPolicySchema } from "../application/form";

export const backupFormSchema = backupPolicySchema.extend({ resource: z.int().positive() });
