import { z } from "zod";
import { invalid, type FieldErrors } from "./errors";

// Users read zod's messages: Simplified Chinese for every schema of the service.
z.config(z.locales.zhCN());

export function fieldErrors(error: z.ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of error.issues) {
    const path = issue.path.reduce<string>(
      (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
      "",
    );
    (fields[path || "(根)"] ??= []).push(issue.message);
  }
  return fields;
}

/** Validates a boundary input; a failure is a 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, message = "输入有误"): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalid(message, fieldErrors(result.error));
  return result.data;
}
