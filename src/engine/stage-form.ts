import type { Db } from "../../db/client";
import type { StageDef, StageForm } from "../../flows/types";
import type { Actor } from "../core/context";
import { invalid, type FieldErrors } from "../core/errors";
import { holdFile } from "../files";
import { fieldErrors, ROOT_FIELD, textErrors } from "../core/validation";
import { maskMobile } from "../directory/queries";

// A stage's form (StageDef.form): checked when the stage is approved or confirmed, kept on its run and in the
// decision's audit entry. Malformed or missing, it is a 400 naming each field under `form.<field>`, and nothing
// is written (invariant 7).

const underForm = (fields: FieldErrors): FieldErrors => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k === ROOT_FIELD ? "form" : `form.${k}`, v]));

function valueAt(source: unknown, path: string): unknown {
  let at = source;
  for (const part of path.split(".")) at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

/** Replaces the string a field's path ("contact.mobile") holds in `form`, in place; any other value is left. */
function replaceText(form: Record<string, unknown>, path: string, by: (text: string) => unknown) {
  const parts = path.split(".");
  const holder = parts.length === 1 ? form : valueAt(form, parts.slice(0, -1).join("."));
  const last = parts.at(-1)!;
  if (holder !== null && typeof holder === "object" && typeof (holder as Record<string, unknown>)[last] === "string")
    (holder as Record<string, unknown>)[last] = by((holder as Record<string, string>)[last]!);
}

/** The stage's form as checked (null for a stage without one), or the 400 that says what to fix. `today` is YYYY-MM-DD in Beijing time. */
export function checkedStageForm(stage: StageDef, form: Record<string, unknown> | undefined, today: string): Record<string, unknown> | null {
  const def = stage.form;
  if (!def) {
    if (form === undefined) return null;
    const message = `「${stage.name}」没有要填写的表单，请不要提交 form`;
    throw invalid(message, { form: [message] });
  }
  if (form === undefined) {
    const message = `「${stage.name}」须填写${def.name}：请在网页端的申请页面填写后提交，或在 form 中提交各栏`;
    throw invalid(message, { form: [message] });
  }
  const problem = `${def.name}填写有误`;
  const text = textErrors(form);
  if (text) throw invalid(problem, underForm(text));
  const parsed = def.schema.safeParse(form);
  if (!parsed.success) throw invalid(problem, underForm(fieldErrors(parsed.error.issues)));
  const late = def.fields.filter((f) => f.notFuture && typeof valueAt(parsed.data, f.name) === "string" && (valueAt(parsed.data, f.name) as string) > today);
  if (late.length > 0) throw invalid(problem, Object.fromEntries(late.map((f) => [`form.${f.name}`, [`${f.label}不能晚于今天（${today}）`]])));
  return parsed.data;
}

/** What the stage run keeps: what the form carries from the request (系统名称), then what was typed. */
export function keptStageForm(def: StageForm, req: { title: string; facts: unknown }, form: Record<string, unknown>): Record<string, unknown> {
  return { ...def.fromRequest?.values(req), ...form };
}

/**
 * The stage form's files kept with the request as the stage run's documents (the holder's unit's uploads, as their
 * field's purpose): each file field then holds { fileId, name, size, sha256 }, so the page names the file and the
 * audit entry fixes its content.
 */
export async function heldStageFiles(tx: Db, actor: Actor, def: StageForm, form: Record<string, unknown>, at: { requestId: number; runId: number }) {
  const copy = structuredClone(form);
  for (const f of def.fields) {
    const fileId = f.kind === "file" ? valueAt(copy, f.name) : undefined;
    if (typeof fileId !== "string") continue;
    const held = await holdFile(tx, actor, fileId, { holder: `stage:${at.runId}`, field: `form.${f.name}`, purpose: f.purpose, purposeName: f.purposeName, requestId: at.requestId });
    replaceText(copy, f.name, () => ({ fileId, ...held }));
  }
  return copy;
}

/** The form as the audit entry keeps it: phone numbers masked (invariant 8); the stage run keeps them whole. */
export function auditedStageForm(def: StageForm, form: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(form);
  for (const f of def.fields) if (f.kind === "tel") replaceText(copy, f.name, maskMobile);
  return copy;
}

/** A stage form's fields as the API describes them to a client that fills it in (`form.<name>`). */
export function stageFormSpec(def: StageForm) {
  return {
    name: def.name,
    fields: def.fields.map((f) => ({
      name: f.name,
      label: f.label,
      kind: f.kind,
      optional: f.optional ?? false,
      ...(f.options ? { options: f.options.map((o) => ({ value: f.intValues ? Number(o.value) : o.value, label: o.label })) } : {}),
      ...(f.hint ? { hint: f.hint } : {}),
      ...(f.purpose ? { purpose: f.purpose } : {}),
    })),
  };
}
