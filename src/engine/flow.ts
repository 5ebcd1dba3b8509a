import { applicationFlow } from "../../flows/application";
import { vmAccountFlow } from "../../flows/vm-account";
import { portGrantFlow } from "../../flows/port-grant";
import { revocationFlow } from "../../flows/revocation";
import { adjustmentFlow } from "../../flows/adjustment";
import { backupFlow } from "../../flows/backup";
import { billingFlow } from "../../flows/billing";
import { profileStages, type FlowDef, type StageDef } from "../../flows/types";

export const FLOWS: Record<string, FlowDef> = { application: applicationFlow, vm_account: vmAccountFlow, port_grant: portGrantFlow, revocation: revocationFlow, adjustment: adjustmentFlow, backup: backupFlow, billing: billingFlow };

/** After 退回 to the applicant: the applicant edits the form and resubmits (or withdraws). */
export const REVISE_STAGE: StageDef = {
  key: "revise",
  name: "修改后重新提交",
  parties: ["applicant"],
  approveLabel: "重新提交",
  detour: true,
};

export function flowStages(flow: string, profile: string): StageDef[] {
  const def = FLOWS[flow];
  if (!def) throw new Error(`unknown flow ${flow}`);
  return profileStages(def, profile);
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
