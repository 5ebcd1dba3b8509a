import { z } from "zod";
import { isIsoDate } from "./calendar-schedule";
import { invalid, type FieldErrors } from "./errors";

// Users read zod's messages: Simplified Chinese for every schema of the service. The locale's wording reads
// like a parser ("无效输入：期望 int，实际接收 数字"), so the messages people meet most say what to write instead.
const TYPE_NAMES: Record<string, string> = {
  int: "整数",
  number: "数字",
  bigint: "整数",
  string: "文字",
  boolean: "true 或 false",
  array: "列表（数组）",
  object: "对象（{…}）",
  date: "日期",
};
const shown = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
z.config(z.locales.zhCN());
z.config({
  customError: (issue) => {
    if (issue.code === "invalid_type") {
      if (issue.input === undefined) return "必填";
      const name = TYPE_NAMES[issue.expected];
      return name ? `应为${name}` : undefined;
    }
    if (issue.code === "invalid_union" && "options" in issue && Array.isArray(issue.options) && issue.options.length > 0)
      return `应为以下之一：${issue.options.map(shown).join("、")}`;
    if (issue.code === "invalid_value")
      return issue.values.length === 1 ? `应为 ${shown(issue.values[0])}` : `应为以下之一：${issue.values.map(shown).join("、")}`;
    return undefined;
  },
});

/** A calendar month, "YYYY-MM": the month a statement bills, or a report covers. */
export const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: "应为月份 YYYY-MM" });

/** A calendar date, "YYYY-MM-DD", that exists (not 2026-02-30). */
export const isoDateSchema = z.string().refine(isIsoDate, { error: "应为日期 YYYY-MM-DD" }).meta({ format: "date", example: "2026-11-20" });

/** The name the whole input goes by in a fields map. */
export const ROOT_FIELD = "(根)";

/** ["users", 3, "mobile"] → "users[3].mobile". */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  return out === "" ? ROOT_FIELD : out;
}

/** The keys an input has that its schema does not know: refused by name rather than silently dropped. */
function unknownKeys(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => (issue.code === "unrecognized_keys" ? issue.keys : []));
}

/** Every issue under its field's path; an unknown key is reported under its own path, not its parent's. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldErrors {
  const fields: FieldErrors = {};
  const add = (path: string, message: string) => (fields[path] ??= []).push(message);
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") for (const key of issue.keys) add(fieldPath([...issue.path, key]), `不认识的字段「${key}」`);
    else add(fieldPath(issue.path), issue.message);
  }
  return fields;
}

/** How deeply an input may nest (objects and arrays); real inputs need a handful, and bounding it keeps every recursive step (canonical JSON, zod) far from the stack's end. */
export const MAX_NESTING = 32;

// Characters no text the service keeps may hold. NUL (PostgreSQL refuses it in text and jsonb) and every
// other C0/C1 control but tab, line feed and carriage return; DEL; and the bidirectional formatting
// characters (embeddings, overrides, isolates, and the LRM/RLM/ALM marks), which reorder how a card shows
// text: U+202E shows 测试 as 试测. Lone UTF-16 surrogates are not text at all (no UTF-8 encoding).
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
const FORBIDDEN =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const FORBIDDEN_ALL = new RegExp(FORBIDDEN.source, "g");

const codePoint = (unit: number) => `U+${unit.toString(16).toUpperCase().padStart(4, "0")}`;

/** What is wrong with a text, in words a person can act on, or null if it may be kept. */
export function textProblem(text: string): string | null {
  const found = FORBIDDEN.exec(text);
  if (!found) return null;
  const unit = found[0].charCodeAt(0);
  if (unit >= 0xd800 && unit <= 0xdfff) return `含有不成对的代理字符（${codePoint(unit)}），不是有效的 Unicode 文本，请检查编码后重试`;
  if (BIDI.test(found[0])) return `含有不允许的双向文本控制字符（${codePoint(unit)}），它会颠倒文字的显示顺序，请删除后重试`;
  return `含有不允许的控制字符（${codePoint(unit)}），请删除后重试`;
}

/** A text safe to show as a field name: forbidden characters written as \uXXXX. */
export function printable(text: string): string {
  return text.replace(FORBIDDEN_ALL, (ch) => `\\u${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`);
}

/** A text with every forbidden character removed: for names taken from outside that are cleaned, not refused (an uploaded file's). */
export function withoutForbidden(text: string): string {
  return text.replace(FORBIDDEN_ALL, "");
}

// A 1 MB body of bad strings would otherwise answer with a fields map as large.
const MAX_REPORTED_FIELDS = 20;

/**
 * Every string and object key of an input that holds a forbidden character, by field path, or a note that the
 * input nests deeper than MAX_NESTING; null if the input is clean. Walks with its own stack, so any depth is
 * safe; only arrays and plain objects are entered.
 */
export function textErrors(input: unknown): FieldErrors | null {
  const fields: FieldErrors = {};
  let count = 0;
  const add = (path: readonly PropertyKey[], message: string) => {
    const key = fieldPath(path.map((p) => (typeof p === "string" ? printable(p) : p)));
    if (!(key in fields)) count++;
    (fields[key] ??= []).push(message);
  };
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: input, path: [] }];
  while (stack.length > 0 && count < MAX_REPORTED_FIELDS) {
    const { value, path } = stack.pop()!;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) add(path, problem);
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    const isArray = Array.isArray(value);
    if (!isArray) {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) continue;
    }
    // `path` holds one entry per enclosing container, so this container is at depth path.length + 1.
    if (path.length + 1 > MAX_NESTING) {
      add(path, `嵌套超过 ${MAX_NESTING} 层，请简化数据结构`);
      continue;
    }
    if (isArray) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const problem = textProblem(key);
      if (problem) add([...path, key], `字段名${problem}`);
      else stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return count === 0 ? null : fields;
}

/**
 * Whether JSON text nests deeper than `limit`, found by counting brackets outside strings: it runs before
 * anything parses or walks the text, and stops at the first bracket too many.
 */
export function jsonNestsDeeperThan(text: string, limit = MAX_NESTING): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // a backslash escapes the next character, a quote included
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > limit) return true;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return false;
}

/** Refuses an input with forbidden characters or too deep a nesting: a 400 naming each field. */
export function checkText(input: unknown, message = "输入有误"): void {
  const fields = textErrors(input);
  if (fields) throw invalid(message, fields);
}

/** Validates a boundary input; a failure is a 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, message = "输入有误"): z.output<S> {
  // Before the schema: zod's messages would not say what is wrong with such a character, and a schema that
  // lets a value through as unknown would pass it on to the database or to a recursive step.
  checkText(input, message);
  const result = schema.safeParse(input);
  if (!result.success) throw invalidInput(result.error.issues, message);
  return result.data;
}

/** The 400 for a failed schema: every field named, and unknown fields named in the message itself. */
export function invalidInput(issues: readonly z.core.$ZodIssue[], message: string) {
  const unknown = unknownKeys(issues);
  return invalid(unknown.length > 0 ? `表单中有不认识的字段：${unknown.join("、")}` : message, fieldErrors(issues));
}

/** Parses a JSON file's text (a UTF-8 BOM, as Windows editors save, is allowed); `what` names the file for the user. */
export function parseJsonText(text: string, what: string): unknown {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (body.trim() === "") throw invalid(`${what}不是有效的 JSON：文件为空`);
  if (jsonNestsDeeperThan(body)) throw invalid(`${what}嵌套超过 ${MAX_NESTING} 层，请检查数据结构`, { [ROOT_FIELD]: [`嵌套超过 ${MAX_NESTING} 层`] });
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    if (!at) throw invalid(`${what}不是有效的 JSON：${message}`);
    const before = body.slice(0, Number(at[1]));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    throw invalid(`${what}不是有效的 JSON：第 ${line} 行第 ${column} 列附近有误（${message}）`);
  }
  // Every file reaches a service through here, and not every service runs parseInput (directory import, calendar).
  checkText(value, `${what}中有不允许的字符`);
  return value;
}

/** One line of a JSON Lines file read against its schema: the data, or null when the line is not JSON or not that shape. */
export function parseJsonLine<S extends z.ZodType>(schema: S, line: string): z.output<S> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  const result = schema.safeParse(parsed);
  return result.success ? result.data : null;
}
