import { FLOW_MODULES } from "../../../../flows";
import type { ProfileKey } from "../../../../profiles";
import type { Actor } from "../../../core/context";
import { textErrors } from "../../../core/validation";
import { WEB_FORMS } from "./definitions";
import { issueMessages, serviceFieldMessages, type FormMessages } from "./messages";
import { toInput, type FormValues } from "./parse";
import type { WebForm } from "./types";

export { applicationForm, WEB_FORMS } from "./definitions";
export { FORM_KEY, issueMessages, serviceFieldMessages, targetOf, type FormMessages } from "./messages";
export { applyRowCommand, blankRow, isBlankRow, plainFields, readValues, rowGroups, toInput, valuesFromInput, type FormBody, type FormValues } from "./parse";
export type { Field, FieldKind, FieldOption, Rows, Section, WebForm } from "./types";

export function webForm(key: string): WebForm | null {
  return WEB_FORMS.find((f) => f.key === key) ?? null;
}

const onProfile = (profile: ProfileKey) => (x: { profiles?: readonly ProfileKey[] }) => !x.profiles || x.profiles.includes(profile);

/**
 * The form as a profile's units fill it in: only the sections and fields of its own annex (002 附件1's 申请期限 on
 * 韶关's, 001 附件1's 单位性质 on 徽州's), with its own notes. A field left out is neither shown nor read.
 */
export function formForProfile(form: WebForm, profile: ProfileKey): WebForm {
  const keep = onProfile(profile);
  return {
    ...form,
    source: form.sourceByProfile?.[profile] ?? form.source,
    description: form.descriptionByProfile?.[profile] ?? form.description,
    sections: form.sections.filter(keep).map((s) => ({
      ...s,
      ...s.byProfile?.[profile],
      ...(s.fields ? { fields: s.fields.filter(keep) } : {}),
      ...(s.rows ? { rows: { ...s.rows, fields: s.rows.fields.filter(keep) } } : {}),
    })),
  };
}


/**
 * The forms this person may start under the profile: those whose flow would not refuse them; 年度资源需求 is the
 * applicants' (submitDemand).
 */
export function formsFor(actor: Actor, profile?: ProfileKey): WebForm[] {
  return WEB_FORMS.filter((f) => (f.flow ? FLOW_MODULES[f.flow].service.refusal(actor, profile) === null : actor.roles.includes("applicant")));
}

export type Checked = { ok: true; input: Record<string, unknown>; data: unknown } | { ok: false; input: Record<string, unknown>; messages: FormMessages };

/**
 * The values checked as a submission checks them: the text rules every input passes (no control characters),
 * then the flow's own schema. `data` is the schema's output, what the engine's verbs take as the form.
 */
export function checkForm(form: WebForm, values: FormValues): Checked {
  const input = toInput(form, values);
  const badText = textErrors(input);
  if (badText) return { ok: false, input, messages: serviceFieldMessages(form, badText) };
  const result = form.schema.safeParse(input);
  if (!result.success) return { ok: false, input, messages: issueMessages(form, result.error.issues, input) };
  return { ok: true, input, data: result.data };
}
