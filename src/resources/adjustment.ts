import type { Db } from "../../db/client";
import { adjustmentFormSchema, adjustmentTitle, type AdjustmentFacts } from "../../flows/adjustment";
import { shanghaiDate } from "../core/calendar";
import type { Actor, ServiceContext } from "../core/context";
import { conflict, unprocessable } from "../core/errors";
import { scaleUpDays } from "../metrics/views";
import { scaleUpEvidence, type ScaleKind } from "../metrics/rules";
import { PROFILES } from "../../profiles";
import { parseInput } from "../core/validation";
import { busyResources, lockResources } from "./claims";
import { describeResource, ownerOf } from "./revocation";

export function adjustmentRefusal(actor: Actor): string | null {
  return actor.roles.includes("applicant") || actor.roles.includes("provider") ? null : "扩容缩容由使用单位或评估实施单位（云服务商）发起";
}

/**
 * Which 第十九条(二) checks a scale-up of this resource to these sizes needs; empty when some size that grows
 * has no rule (a container's memory, a middleware), which cannot then be scaled up on evidence.
 */
function scaleKinds(kind: string, from: AdjustmentFacts["from"], to: AdjustmentFacts["to"]): ScaleKind[] {
  const grows = (k: keyof AdjustmentFacts["from"]) => to[k] !== undefined && to[k]! > (from[k] ?? 0);
  const rules: Record<string, Partial<Record<keyof AdjustmentFacts["from"], ScaleKind>>> = {
    vm: { vcpu: "vm_vcpu", memoryGb: "vm_memory", diskGb: "vm_storage" },
    paas_database: { vcpu: "paas_compute", memoryGb: "paas_compute", diskGb: "paas_storage" },
    paas_container: { vcpu: "container_vcpu" },
  };
  const growing = (["vcpu", "memoryGb", "diskGb"] as const).filter(grows);
  const kinds = growing.map((size) => rules[kind]?.[size]);
  if (kinds.some((k) => k === undefined)) return [];
  return [...new Set(kinds as ScaleKind[])];
}

/**
 * Checks an adjustment: the resource is the unit's and in use, not already being adjusted, and the direction
 * matches the sizes. A scale-up must be justified by the last 5 working days' utilisation (第十九条(二)),
 * computed here from the figures under the resource's cloud id; otherwise it is refused with the figures.
 */
export async function prepareAdjustment(ctx: ServiceContext, tx: Db, actor: Actor, rawForm: unknown, resubmitting?: { id: number; facts: unknown }) {
  const form = parseInput(adjustmentFormSchema, rawForm, "调整申请有误");
  const [row] = await lockResources(tx, [form.resource]);
  if (!row || row.status !== "delivered") throw unprocessable("unknown_resource", `资源 ${form.resource} 不存在或已撤销`);
  if (!actor.roles.includes("provider") && row.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请调整本单位的资源");
  const busy = await busyResources(tx, [row.id], resubmitting?.id);
  if (busy.size > 0) throw conflict("already_changing", `资源 ${row.name} 已在流程中：${[...busy.values()].join("、")}`);
  const spec = row.spec as { vcpu?: number; memoryGb?: number; diskGb?: number; storageGb?: number };
  const from = { vcpu: spec.vcpu, memoryGb: spec.memoryGb, diskGb: spec.diskGb ?? spec.storageGb };
  const changes = (Object.keys(form.to) as (keyof typeof form.to)[]).map((k) => Math.sign((form.to[k] ?? 0) - (from[k] ?? 0)));
  if (changes.some((c) => c === (form.direction === "up" ? -1 : 1)) || changes.every((c) => c === 0))
    throw unprocessable("wrong_direction", form.direction === "up" ? "扩容的目标配置应大于现有配置" : "缩容的目标配置应小于现有配置");

  const evidence: AdjustmentFacts["evidence"] = [];
  if (form.direction === "up") {
    const kinds = scaleKinds(row.kind, from, form.to);
    // Only what 第十九条(二) has a rule for can be scaled up on evidence; the rest is a new application.
    if (kinds.length === 0) throw unprocessable("no_rule", `004 第十九条没有这类资源或规格的扩容判定标准，请按新申请办理`);
    if (!row.instanceId) throw unprocessable("no_instance", `资源 ${row.name} 尚未登记云主机标识，无法核对利用率，请联系云服务商`);
    // Read inside this transaction: PGlite has one connection, and a second one would wait for this one. The
    // same 5 days' figures are the evidence for every kind.
    const { days } = await scaleUpDays({ ...ctx, db: tx }, row.instanceId, shanghaiDate(ctx.clock.now()));
    for (const kind of kinds) {
      const check = scaleUpEvidence(kind, days, PROFILES[ctx.profile].thresholds.scaleUp);
      evidence.push({ kind, ok: check.ok, reason: check.reason });
    }
    const failed = evidence.filter((e) => !e.ok);
    if (failed.length > 0) throw unprocessable("not_justified", `不满足扩容条件（004 第十九条）：${failed.map((e) => e.reason).join("；")}`);
  }
  // A proposal from the half-yearly review stays one when it is edited and resubmitted.
  const origin = (resubmitting?.facts as AdjustmentFacts | undefined)?.origin ?? "unit";
  const facts: AdjustmentFacts = { direction: form.direction, resourceId: row.id, resourceName: describeResource(row), from, to: form.to, evidence, origin };
  const owner = actor.roles.includes("provider") ? await ownerOf(tx, [row]) : undefined;
  return { form, facts, title: adjustmentTitle(form.direction, row), owner };
}
