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
  const stage = flowStages(flow, profile).find((s) => s.key === key) ?? retiredStage(flow, profile, key);
  if (!stage) throw new Error(`flow ${flow}/${profile} has no stage ${key}`);
  return stage;
}

/**
 * A stage a stored request names that its profile's sequence no longer has: an upgrade changed how the profile
 * reads its document (韶关's 变更 lost 梅州's plan → review → confirm → prepare, 002 第二十一条) while the request was
 * at that stage, or after its history passed it. The flow's own definition of the stage, with the profile's
 * overrides, keeps that history readable and lets the open stage be decided; deciding it moves the request on to
 * what the sequence now asks next (sequencePosition).
 */
function retiredStage(flow: string, profile: string, key: string): StageDef | null {
  const def = flowDef(flow);
  const base = def.stages[key];
  if (!base || !isProfileKey(profile)) return null;
  return { ...base, ...(def.profiles[profile] ?? def.profiles.default)?.overrides?.[key], key };
}

/**
 * Where a stage stands in a profile's sequence: its index, or for a retired stage half a step before the first
 * stage of the sequence that the flow's catalog of stages puts after it, so a request left there goes forward
 * from it, never back to the start.
 */
export function sequencePosition(flow: string, stages: StageDef[], key: string): number {
  const at = stages.findIndex((s) => s.key === key);
  if (at >= 0) return at;
  const order = Object.keys(flowDef(flow).stages);
  const rank = order.indexOf(key);
  const after = stages.findIndex((s) => order.indexOf(s.key) > rank);
  return (after < 0 ? stages.length : after) - 0.5;
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
export function nextStage(flow: string, stages: StageDef[], current: StageDef, facts: unknown): StageDef | null {
  if (current.next) return stages.find((s) => s.key === current.next) ?? null;
  return stageFrom(stages, Math.floor(sequencePosition(flow, stages, current.key)) + 1, facts);
}
