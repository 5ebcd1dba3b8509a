import { and, eq, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, resources } from "../../db/schema";
import { adjustmentFormSchema, type AdjustmentFacts } from "../../flows/adjustment";
import { shanghaiDate } from "../calendar";
import type { Actor, ServiceContext } from "../context";
import { conflict, unprocessable } from "../errors";
import { scaleUpCheck } from "../metrics/views";
import type { ScaleKind } from "../metrics/rules";
import { parseInput } from "../validation";
import { describeResource, ownerOf } from "./revocation";

export function adjustmentRefusal(actor: Actor): string | null {
  return actor.roles.includes("applicant") || actor.roles.includes("provider") ? null : "扩容缩容由使用单位或评估实施单位（云服务商）发起";
}

/** Which 第十九条(二) checks a scale-up of this resource to these sizes needs. */
function scaleKinds(kind: string, from: AdjustmentFacts["from"], to: AdjustmentFacts["to"]): ScaleKind[] {
  const grows = (k: keyof AdjustmentFacts["from"]) => to[k] !== undefined && to[k]! > (from[k] ?? 0);
  if (kind === "vm") return [...(grows("vcpu") ? ["vm_vcpu" as const] : []), ...(grows("memoryGb") ? ["vm_memory" as const] : []), ...(grows("diskGb") ? ["vm_storage" as const] : [])];
  if (kind === "paas_database") return [...(grows("vcpu") || grows("memoryGb") ? ["paas_compute" as const] : []), ...(grows("diskGb") ? ["paas_storage" as const] : [])];
  if (kind === "paas_container") return grows("vcpu") ? ["container_vcpu"] : [];
  return [];
}

/**
 * Checks an adjustment: the resource is the unit's and in use, not already being adjusted, and the direction
 * matches the sizes. A scale-up must be justified by the last 5 working days' utilisation (第十九条(二)),
 * computed here from the figures under the resource's cloud id; otherwise it is refused with the figures.
 */
export async function prepareAdjustment(ctx: ServiceContext, tx: Db, actor: Actor, rawForm: unknown, origin: AdjustmentFacts["origin"] = "unit") {
  const form = parseInput(adjustmentFormSchema, rawForm, "调整申请有误");
  const [row] = await tx.select().from(resources).where(eq(resources.id, form.resource));
  if (!row || row.status !== "delivered") throw unprocessable("unknown_resource", `资源 ${form.resource} 不存在或已撤销`);
  if (!actor.roles.includes("provider") && row.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请调整本单位的资源");
  const open = await tx
    .select({ facts: requests.facts })
    .from(requests)
    .where(and(eq(requests.flow, "adjustment"), or(eq(requests.status, "in_progress"), eq(requests.status, "returned"))));
  if (open.some((r) => (r.facts as AdjustmentFacts).resourceId === row.id)) throw conflict("already_adjusting", `资源 ${row.name} 已在调整流程中`);
  const spec = row.spec as { vcpu?: number; memoryGb?: number; diskGb?: number; storageGb?: number };
  const from = { vcpu: spec.vcpu, memoryGb: spec.memoryGb, diskGb: spec.diskGb ?? spec.storageGb };
  const changes = (Object.keys(form.to) as (keyof typeof form.to)[]).map((k) => Math.sign((form.to[k] ?? 0) - (from[k] ?? 0)));
  if (changes.some((c) => c === (form.direction === "up" ? -1 : 1)) || changes.every((c) => c === 0))
    throw unprocessable("wrong_direction", form.direction === "up" ? "扩容的目标配置应大于现有配置" : "缩容的目标配置应小于现有配置");

  const evidence: AdjustmentFacts["evidence"] = [];
  if (form.direction === "up") {
    if (!row.instanceId) throw unprocessable("no_instance", `资源 ${row.name} 尚未登记云主机标识，无法核对利用率，请联系云服务商`);
    for (const kind of scaleKinds(row.kind, from, form.to)) {
      // Read inside this transaction: PGlite has one connection, and a second one would wait for this one.
      const check = await scaleUpCheck({ ctx: { ...ctx, db: tx, actor: null }, input: { vm: row.instanceId, kind, asOf: shanghaiDate(ctx.clock.now()) } });
      evidence.push({ kind, ok: check.ok, reason: check.reason });
    }
    const failed = evidence.filter((e) => !e.ok);
    if (failed.length > 0) throw unprocessable("not_justified", `不满足扩容条件（004 第十九条）：${failed.map((e) => e.reason).join("；")}`);
  }
  const facts: AdjustmentFacts = { direction: form.direction, resourceId: row.id, resourceName: describeResource(row), from, to: form.to, evidence, origin };
  return { form, facts, title: `${form.direction === "up" ? "扩容" : "缩容"} ${row.name}（${row.system}）`, owner: await ownerOf(tx, [row]) };
}
