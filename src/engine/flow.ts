import { FLOW_KEYS, FLOW_MODULES, flowModule, type FlowKey } from "../../flows";
import { profileStages, type FlowDef, type StageDef } from "../../flows/types";
import { isProfileKey } from "../../profiles";

/** Every flow's definition, by its key. */
export const FLOWS = Object.fromEntries(FLOW_KEYS.map((key) => [key, FLOW_MODULES[key].definition])) as { [K in FlowKey]: (typeof FLOW_MODULES)[K]["definition"] };

/** The definition of a stored request's flow. */
export function flowDef(flow: string): FlowDef {
  return flowModule(flow).definition;
}

/** After 退回 to the applicant: the applicant edits the form and resubmits (or withdraws). */
export const REVISE_STAGE: StageDef = {
  key: "revise",
  name: "修改后重新提交",
  parties: ["applicant"],
  approveLabel: "重新提交",
  detour: true,
};

export function flowStages(flow: string, profile: string): StageDef[] {
  // A stored request names its profile as text; one no longer in the registry is a broken installation.
  if (!isProfileKey(profile)) throw new Error(`request of flow ${flow} has unknown policy profile ${profile}`);
  return profileStages(flowDef(flow), profile);
}

export function stageDef(flow: string, profile: string, key: string): StageDef {
  if (key === REVISE_STAGE.key) return REVISE_STAGE;
  const stage = flowStages(flow, profile).find((s) => s.key === key);
  if (!stage) throw new Error(`flow ${flow}/${profile} has no stage ${key}`);
  return stage;
}

const applies = (stage: StageDef, facts: unknown) => !stage.detour && (stage.when?.(facts) ?? true);

/** The first stage at or after `from` in the sequence that this request passes. */
export function stageFrom(stages: StageDef[], index: number, facts: unknown): StageDef | null {
  for (let i = index; i < stages.length; i++) {
    const s = stages[i]!;
    if (applies(s, facts)) return s;
  }
  return null;
}

/** Where a request goes after `current` is approved: its explicit next, or the next applicable stage; null = done. */
export function nextStage(stages: StageDef[], current: StageDef, facts: unknown): StageDef | null {
  if (current.next) return stages.find((s) => s.key === current.next) ?? null;
  const index = stages.findIndex((s) => s.key === current.key);
  return stageFrom(stages, index + 1, facts);
}
