import type { Field, Rows, WebForm } from "./types";

// A form as the browser posts it (application/x-www-form-urlencoded or multipart/form-data), read into the
// values a page shows back and into the input the flow's schema checks. Nothing is validated here: a value that
// is not what its field expects is passed on as typed, so the schema reports it and the page names it.

/** A body as Hono's parseBody({ all: true }) gives it; files are the uploads', read elsewhere. */
export type FormBody = Record<string, string | File | (string | File)[]>;

/** What the person typed, by field name, rows renumbered without the blank ones: what a page fills back in. */
export interface FormValues {
  fields: Record<string, string | string[]>;
  rows: Record<string, Record<string, string>[]>;
}

const texts = (v: FormBody[string] | undefined): string[] =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");

/** The last value sent under a name (a browser sends one; a hand-made body may repeat it). */
const text = (v: FormBody[string] | undefined): string => texts(v).at(-1) ?? "";

/** The fields outside rows, every one of them: what the whole form holds, also where rows sit. */
export const plainFields = (form: WebForm): Field[] => form.sections.flatMap((s) => s.fields ?? []);
export const rowGroups = (form: WebForm): Rows[] => form.sections.flatMap((s) => (s.rows ? [s.rows] : []));

const ROW_KEY = /^([A-Za-z]\w*)\[(\d{1,6})\]\.(.+)$/;

/** The values of a posted body: every known field, and each group's rows in index order, blank rows left out. */
export function readValues(form: WebForm, body: FormBody): FormValues {
  const fields: FormValues["fields"] = {};
  for (const f of plainFields(form)) fields[f.name] = f.kind === "checklist" ? texts(body[f.name]) : text(body[f.name]);
  const rows: FormValues["rows"] = {};
  for (const group of rowGroups(form)) {
    const known = new Set(group.fields.map((f) => f.name));
    const byIndex = new Map<number, Record<string, string>>();
    for (const [key, value] of Object.entries(body)) {
      const m = ROW_KEY.exec(key);
      if (!m || m[1] !== group.name || !known.has(m[3]!)) continue;
      const index = Number(m[2]);
      const row = byIndex.get(index) ?? {};
      row[m[3]!] = text(value);
      byIndex.set(index, row);
    }
    rows[group.name] = [...byIndex.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, row]) => Object.fromEntries(group.fields.map((f) => [f.name, row[f.name] ?? ""])))
      .filter((row) => !isBlankRow(group, row))
      // More rows than the form allows are kept for the schema to refuse by count, but not without end.
      .slice(0, group.max + 1);
  }
  return { fields, rows };
}

/** A row with nothing typed in it, or only what a new row starts with (数量 1): the no-JS form's spare rows. */
export function isBlankRow(group: Rows, row: Record<string, string>): boolean {
  return group.fields.every((f) => (row[f.name] ?? "").trim() === "" || row[f.name] === f.initial);
}

/** A new row as the page shows it. */
export const blankRow = (group: Rows): Record<string, string> => Object.fromEntries(group.fields.map((f) => [f.name, f.initial ?? ""]));

// Full-width digits, as a Chinese input method may type them: ４ → 4.
const halfWidth = (s: string) => s.replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));

const SEPARATORS = /[\s,，、;；]+/;

function typed(field: Field, raw: string | string[]): unknown {
  if (field.kind === "checkbox") return raw !== "";
  if (field.kind === "checklist") {
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== "");
    return field.intValues ? values.map((v) => whole(v)) : values;
  }
  const value = Array.isArray(raw) ? (raw.at(-1) ?? "") : raw;
  if (field.kind === "lines") return value.split(SEPARATORS).filter((v) => v !== "");
  if (field.kind === "ports") return value.split(SEPARATORS).filter((v) => v !== "").map(port);
  if (value.trim() === "") return undefined;
  if (field.kind === "int" || field.intValues) return whole(value);
  if (field.kind === "decimal") return decimal(value);
  return value;
}

/** "2.5" → 2.5; anything else as typed, for the schema to refuse. */
function decimal(value: string): number | string {
  const v = halfWidth(value.trim()).replace("．", ".");
  return /^\d{1,9}(\.\d{1,6})?$/.test(v) ? Number(v) : value;
}

/** "42" → 42; anything else as typed, for the schema to refuse. */
function whole(value: string): number | string {
  const v = halfWidth(value.trim());
  return /^[+-]?\d{1,15}$/.test(v) ? Number(v) : value;
}

/** "443", "443/tcp", "53/UDP" → { port, protocol }; anything else as typed, for the schema to refuse. */
function port(token: string): unknown {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(halfWidth(token));
  return m ? { port: Number(m[1]), protocol: (m[2] ?? "tcp").toLowerCase() } : token;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const parts = path.split(".");
  let at = target;
  for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

/** Removes an optional group (`vms[].backup`, `validity`) from an object when nothing in it was typed or ticked. */
function pruneGroup(target: Record<string, unknown>, path: string) {
  const parts = path.split(".");
  let at: unknown = target;
  for (const part of parts.slice(0, -1)) at = at && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  if (!at || typeof at !== "object") return;
  const holder = at as Record<string, unknown>;
  const group = holder[parts.at(-1)!];
  // An unticked box is nothing typed either (申请单位承诺 not given).
  if (group && typeof group === "object" && Object.values(group).every((v) => v === undefined || v === false)) delete holder[parts.at(-1)!];
}

/** The input the form's schema checks, built from the values: nested as the flow's form is, numbers as numbers. */
export function toInput(form: WebForm, values: FormValues): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const f of plainFields(form)) setPath(input, f.name, typed(f, values.fields[f.name] ?? ""));
  const groups = form.optionalGroups ?? [];
  for (const group of rowGroups(form)) {
    input[group.name] = (values.rows[group.name] ?? []).map((raw) => {
      const row: Record<string, unknown> = {};
      for (const f of group.fields) setPath(row, f.name, typed(f, raw[f.name] ?? ""));
      for (const g of groups) if (g.startsWith(`${group.name}[].`)) pruneGroup(row, g.slice(group.name.length + 3));
      return row;
    });
  }
  for (const g of groups) if (!g.includes("[]")) pruneGroup(input, g);
  return dropUndefined(input) as Record<string, unknown>;
}

/** Undefined members left out, as JSON would: a strict schema then sees the field as absent. */
function dropUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropUndefined);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, dropUndefined(v)]));
}

/** The value at a path ("contact.mobile") of a stored form. */
function getPath(source: unknown, path: string): unknown {
  let at = source;
  for (const part of path.split(".")) at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

function shown(field: Field, value: unknown): string | string[] {
  if (field.kind === "checkbox") return value === true ? "on" : "";
  if (field.kind === "checklist") return Array.isArray(value) ? value.map(String) : [];
  if (field.kind === "lines") return Array.isArray(value) ? value.join("\n") : "";
  if (field.kind === "ports")
    return Array.isArray(value) ? value.map((p: { port: number; protocol: string }) => `${p.port}/${p.protocol}`).join(", ") : "";
  return value === undefined || value === null ? "" : String(value);
}

/** A stored form as values to fill a page in with: the form of a returned request, opened for editing. */
export function valuesFromInput(form: WebForm, input: unknown): FormValues {
  const fields: FormValues["fields"] = {};
  for (const f of plainFields(form)) fields[f.name] = shown(f, getPath(input, f.name));
  const rows: FormValues["rows"] = {};
  for (const group of rowGroups(form)) {
    const stored = getPath(input, group.name);
    rows[group.name] = (Array.isArray(stored) ? stored : []).map((row) =>
      Object.fromEntries(group.fields.map((f) => [f.name, shown(f, getPath(row, f.name)) as string])),
    );
  }
  return { fields, rows };
}

/**
 * The no-JS form's row buttons: a submit button named `_row` with value "add:vms" or "remove:vms:2". The values
 * come back with a blank row added or that row taken out; null when the body is not such a click.
 */
export function applyRowCommand(form: WebForm, body: FormBody, values: FormValues): FormValues | null {
  const m = /^(add|remove):([A-Za-z]\w*)(?::(\d{1,6}))?$/.exec(text(body._row));
  const group = m && rowGroups(form).find((g) => g.name === m[2]);
  if (!m || !group) return null;
  const rows = [...(values.rows[group.name] ?? [])];
  if (m[1] === "add" && rows.length < group.max) rows.push(blankRow(group));
  if (m[1] === "remove" && m[3] !== undefined) rows.splice(Number(m[3]), 1);
  return { fields: values.fields, rows: { ...values.rows, [group.name]: rows } };
}
