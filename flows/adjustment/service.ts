import { conflict, unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { justifyScaleUp } from "../../src/resources/adjustment";
import { adjustmentTitle, type AdjustmentFacts } from "../../src/resources/catalog";
import { busyResources, lockResources } from "../../src/resources/claims";
import { describeResource, ownerOf } from "../../src/resources/revocation";
import type { FlowService } from "../types";
import { adjustmentFlow } from "./definition";
import { adjustmentFormSchema } from "./form";

export const adjustmentService: FlowService<AdjustmentFacts> = {
  refusal: (actor) =>
    actor.roles.includes("applicant") || actor.roles.includes("provider") ? null : "扩容缩容由使用单位或评估实施单位（云服务商）发起",
  /**
   * Checks an adjustment: the resource is the unit's and in use, not already being adjusted, and the direction
   * matches the sizes; a scale-up is justified by the utilisation, or refused.
   */
  async prepare({ ctx, tx, actor, form: rawForm, profile, countyUnit, supervisedUnit, resubmitting }) {
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
    // A proposal from the half-yearly review stays one when it is edited and resubmitted.
    const origin = (resubmitting?.facts as AdjustmentFacts | undefined)?.origin ?? "unit";
    const byProvider = actor.roles.includes("provider");
    const asked: AdjustmentFacts = {
      direction: form.direction,
      resourceId: row.id,
      resourceName: describeResource(row),
      from,
      to: form.to,
      evidence: [],
      origin,
      // 002 第二十三条: a county unit asking for a change goes through its county bureau first.
      countyApplicant: !byProvider && origin === "unit" && countyUnit,
      // 002 第二十三条: and a 下属单位 through its 主管单位.
      supervisedApplicant: !byProvider && origin === "unit" && supervisedUnit,
    };
    // What the profile's document does not take as a change at all (002 第二十一条 重大变更) is refused before the
    // utilisation is read: no figures make it one.
    const broken = (adjustmentFlow.profiles[profile] ?? adjustmentFlow.profiles.default)!.submissionRules?.map((rule) => rule(asked, form)).filter((b) => b !== null) ?? [];
    if (broken.length > 0)
      throw unprocessable("not_allowed", broken.map((b) => b.message).join("；"), Object.fromEntries(broken.map((b) => [b.field, [b.message]])));
    const evidence = form.direction === "up" ? await justifyScaleUp(ctx, tx, row, from, form.to) : [];
    const facts: AdjustmentFacts = { ...asked, evidence };
    const owner = byProvider ? await ownerOf(tx, [row]) : undefined;
    return { form, facts, title: adjustmentTitle(form.direction, row), owner };
  },
};
