import { z } from "zod";
import { invalid, type FieldErrors } from "./errors";

// Users read zod's messages: Simplified Chinese for every schema of the service.
z.config(z.locales.zhCN());

/** The name the whole input goes by in a fields map. */
export const ROOT_FIELD = "(根)";

/** ["users", 3, "mobile"] → "users[3].mobile". */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  return out === "" ? ROOT_FIELD : out;
}

/** Every issue under its field's path; an unknown key is reported under its own path, not its parent's. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldErrors {
  const fields: FieldErrors = {};
  const add = (path: string, message: string) => (fields[path] ??= []).push(message);
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") for (const key of issue.keys) add(fieldPath([...issue.path, key]), "未知字段");
    else add(fieldPath(issue.path), issue.message);
  }
  return fields;
}

/** Validates a boundary input; a failure is a 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, message = "输入有误"): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalid(message, fieldErrors(result.error.issues));
  return result.data;
}

/** Parses a JSON file's text (a UTF-8 BOM, as Windows editors save, is allowed); `what` names the file for the user. */
export function parseJsonText(text: string, what: string): unknown {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (body.trim() === "") throw invalid(`${what}不是有效的 JSON：文件为空`);
  try {
    return JSON.parse(body);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    if (!at) throw invalid(`${what}不是有效的 JSON：${message}`);
    const before = body.slice(0, Number(at[1]));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    throw invalid(`${what}不是有效的 JSON：第 ${line} 行第 ${column} 列附近有误（${message}）`);
  }
}
