import { z } from "zod";
import { monthSchema } from "../../src/core/validation";

export const billingFormSchema = z.strictObject({ month: monthSchema });
