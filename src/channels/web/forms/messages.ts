import type { z } from "zod";
import type { FieldErrors } from "../../../core/errors";
import { plainFields, rowGroups } from "./parse";
import type { Field, WebForm } from "./types";

// A schema's complaints as a person reads them next to the field: 请填写系统名称, 数据盘不能小于 100 GB,
// 联系电话格式不正确. Worded here from the issue's kind and the field's label, never zod's own sentence; only
// the flows' own rules (refinements, written in Chinese for people) keep their words.

/** Where a message shows: a field ("contact.mobile", "vms[0].vcpu"), a group of rows ("vms"), or the form. */
export const FORM_KEY = "_form";

export type FormMessages = Record<string, string>;

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

interface Target {
  key: string;
  field: Field | null;
  /** The path below the field (an item of a list: ["1", "port"]). */
  rest: PropertyKey[];
}

const dotted = (path: Path) => path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");

/** The field a path lands on: the field itself, the nearest enclosing one, or the first inside it. */
export function targetOf(form: WebForm, path: Path): Target {
  const [head, index, ...inRow] = path;
  const group = rowGroups(form).find((g) => g.name === head);
  if (group) {
    if (typeof index !== "number") return { key: group.name, field: null, rest: [] };
    const found = nearest(group.fields, inRow);
    return found
      ? { key: `${group.name}[${index}].${found.field.name}`, field: found.field, rest: found.rest }
      : { key: group.name, field: null, rest: [] };
  }
  const found = nearest(plainFields(form), path);
  return found ? { key: found.field.name, field: found.field, rest: found.rest } : { key: FORM_KEY, field: null, rest: [] };
}

function nearest(fields: readonly Field[], path: Path): { field: Field; rest: PropertyKey[] } | null {
  for (let n = path.length; n > 0; n--) {
    const name = dotted(path.slice(0, n));
    const field = fields.find((f) => f.name === name);
    if (field) return { field, rest: path.slice(n) as PropertyKey[] };
  }
  const name = dotted(path);
  const inside = fields.find((f) => f.name.startsWith(`${name}.`));
  return inside ? { field: inside, rest: [] } : null;
}

const nameOf = (field: Field | null) => (field ? (field.short ?? field.label) : "");

function valueAt(input: unknown, path: Path): unknown {
  let at = input;
  for (const p of path) at = at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[p] : undefined;
  return at;
}

/** One issue in words, for its field. */
function wording(issue: Issue, field: Field | null, input: unknown): string {
  const name = nameOf(field);
  const unit = field?.unit ?? "";
  const value = valueAt(input, issue.path);
  const item = typeof issue.path.at(-1) === "number" || typeof issue.path.at(-2) === "number" ? itemText(issue, input) : "";
  switch (issue.code) {
    case "custom":
      // The flows' own rules, already in words for people (网络区域为“其他”时请说明); an item's names which.
      return field && item && (field.kind === "lines" || field.kind === "ports") ? `${item}${issue.message}` : issue.message;
    case "invalid_type":
      if (value === undefined) return field?.kind === "select" || field?.kind === "checklist" || field?.kind === "file" ? `请选择${name}` : `请填写${name}`;
      if (field?.kind === "ports" || field?.kind === "lines") return `${item}${field.format ?? `${name}格式不正确`}`;
      if (field?.kind === "decimal") return field.format ?? `${name}应为数字`;
      if (issue.expected === "int" || issue.expected === "number") return `${name}应为整数`;
      return field?.format ?? `${name}格式不正确`;
    case "too_small":
      if (issue.origin === "string") return value === undefined || String(value).trim() === "" ? `请填写${name}` : `${name}至少 ${issue.minimum} 个字`;
      if (issue.origin === "array" || issue.origin === "set")
        return field?.kind === "checklist" || field?.kind === "select" ? `请至少选择一项${name}` : `请填写${name}`;
      return `${name}不能小于 ${issue.minimum}${unit}`;
    case "too_big":
      if (issue.origin === "string") return `${name}不能超过 ${issue.maximum} 个字`;
      if (issue.origin === "array" || issue.origin === "set") return `${name}最多 ${issue.maximum} 项`;
      return `${name}不能大于 ${issue.maximum}${unit}`;
    case "invalid_format":
      return `${item}${field?.format ?? `${name}格式不正确`}`;
    case "invalid_value":
      // A declaration to tick (非涉密, 004 第二条) keeps the schema's own words, which say what is declared.
      return field?.kind === "checkbox" ? issue.message : `请选择${name}`;
    case "not_multiple_of":
      return `${name}格式不正确`;
    case "unrecognized_keys":
      return field?.format ?? "表单中有不认识的内容，请刷新页面后重新填写";
    default:
      return field?.format ?? `${name || "表单"}填写有误`;
  }
}

/** 「10.0.0.0/4」: the item of a list the issue is about, as typed. */
function itemText(issue: Issue, input: unknown): string {
  const at = issue.path.findLastIndex((p) => typeof p === "number");
  const value = valueAt(input, issue.path.slice(0, at + 1));
  if (typeof value === "string") return `「${value}」`;
  if (value && typeof value === "object" && "port" in value) return `「${String((value as { port: unknown }).port)}」`;
  return "";
}

/**
 * A union's issue as the issue of its most likely branch: the one with the fewest complaints, where a branch
 * complaining of a key it does not know (有效期 given both ways) is the least likely.
 */
function unwrap(issue: Issue): Issue[] {
  if (issue.code !== "invalid_union" || !("errors" in issue) || issue.errors.length === 0) return [issue];
  const score = (branch: Issue[]) => branch.length + (branch.some((i) => i.code === "unrecognized_keys") ? 100 : 0);
  const best = [...issue.errors].sort((a, b) => score(a) - score(b))[0]!;
  if (best.some((i) => i.code === "unrecognized_keys")) return [{ ...issue, code: "unrecognized_keys", keys: [] } as Issue];
  return best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

/** Every issue as one message per field (the first one found); `input` is what was checked. */
export function issueMessages(form: WebForm, issues: readonly Issue[], input: unknown): FormMessages {
  const messages: FormMessages = {};
  for (const issue of issues.flatMap(unwrap)) {
    const target = targetOf(form, issue.path);
    messages[target.key] ??= wording(issue, target.field, input);
  }
  return messages;
}

/**
 * A refusal's fields (`form.hosts`, `form.attachments`) placed on the page's fields. The services word them for
 * people already; a purpose code they add for API clients, "（purpose: plan）", is left out.
 */
export function serviceFieldMessages(form: WebForm, fields: FieldErrors | undefined): FormMessages {
  const messages: FormMessages = {};
  for (const [key, list] of Object.entries(fields ?? {})) {
    const path = key
      .replace(/^form\./, "")
      .split(/\.|(?=\[)/)
      .map((p) => (/^\[\d+\]$/.test(p) ? Number(p.slice(1, -1)) : /^\d{1,6}$/.test(p) ? Number(p) : p)); // "vms.1.diskGb" as "vms[1].diskGb"
    const target = targetOf(form, path);
    const words = list.map((m) => m.replace(/（purpose: [a-z_]+）/g, "")).join("；");
    messages[target.key] = messages[target.key] ? `${messages[target.key]}；${words}` : words;
  }
  return messages;
}
