import { conflict, forbidden, unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { justifyScaleUp } from "../../src/resources/adjustment";
import { adjustmentTitle, type AdjustmentFacts } from "../../src/resources/catalog";
import { busyResources, lockResources } from "../../src/resources/claims";
import { describeResource, ownerOf } from "../../src/resources/revocation";
import type { FlowService } from "../types";
import { adjustmentFlow, MANAGER_SCALE_DOWNS } from "./definition";
import { adjustmentFormSchema } from "./form";

export const adjustmentService: FlowService<AdjustmentFacts> = {
  // The manager, for a scale-down, where its document gives it one (MANAGER_SCALE_DOWNS).
  refusal: (actor, profile) =>
    actor.roles.some((r) => r === "applicant" || r === "provider") || (actor.roles.includes("manager") && profile && MANAGER_SCALE_DOWNS[profile])
      ? null
      : "扩容缩容由使用单位或评估实施单位（云服务商）发起",
  /**
   * Checks an adjustment: the resource is the unit's and in use, not already being adjusted, and the direction
   * matches the sizes; a scale-up is justified by the utilisation, or refused.
   */
  async prepare({ ctx, tx, actor, form: rawForm, profile, countyUnit, supervisedUnit, resubmitting }) {
    const form = parseInput(adjustmentFormSchema, rawForm, "调整申请有误");
    const byProvider = actor.roles.includes("provider");
    // The manager starts a scale-down only, where its document gives it one (MANAGER_SCALE_DOWNS).
    const byManager = !byProvider && !actor.roles.includes("applicant") && actor.roles.includes("manager");
    const managerArticle = byManager ? MANAGER_SCALE_DOWNS[profile] : undefined;
    if (byManager && !managerArticle) throw forbidden("扩容缩容由使用单位或评估实施单位（云服务商）发起");
    if (byManager && form.direction !== "down") {
      const message = "统筹管理单位发起的只能是缩容（资源降配）";
      throw unprocessable("not_allowed", message, { "form.direction": [message] });
    }
    const [row] = await lockResources(tx, [form.resource]);
    if (!row || row.status !== "delivered") throw unprocessable("unknown_resource", `资源 ${form.resource} 不存在或已撤销`);
    const forUnit = byProvider || byManager;
    if (!forUnit && row.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请调整本单位的资源");
    const busy = await busyResources(tx, [row.id], resubmitting?.id);
    if (busy.size > 0) throw conflict("already_changing", `资源 ${row.name} 已在流程中：${[...busy.values()].join("、")}`);
    const spec = row.spec as { vcpu?: number; memoryGb?: number; diskGb?: number; storageGb?: number };
    const from = { vcpu: spec.vcpu, memoryGb: spec.memoryGb, diskGb: spec.diskGb ?? spec.storageGb };
    const changes = (Object.keys(form.to) as (keyof typeof form.to)[]).map((k) => Math.sign((form.to[k] ?? 0) - (from[k] ?? 0)));
    if (changes.some((c) => c === (form.direction === "up" ? -1 : 1)) || changes.every((c) => c === 0))
      throw unprocessable("wrong_direction", form.direction === "up" ? "扩容的目标配置应大于现有配置" : "缩容的目标配置应小于现有配置");
    // A proposal from the half-yearly review, or the manager's, stays one when it is edited and resubmitted.
    const previous = resubmitting?.facts as AdjustmentFacts | undefined;
    const origin = previous?.origin ?? (byManager ? "manager" : "unit");
    const asked: AdjustmentFacts = {
      direction: form.direction,
      resourceId: row.id,
      resourceName: describeResource(row),
      from,
      to: form.to,
      evidence: [],
      origin,
      // 002 第二十三条: a county unit asking for a change goes through its county bureau first.
      countyApplicant: !forUnit && origin === "unit" && countyUnit,
      // 002 第二十三条: and a 下属单位 through its 主管单位.
      supervisedApplicant: !forUnit && origin === "unit" && supervisedUnit,
      // 001 第三十条: the manager's 资源降配 is for under-use; the unit's new applications wait for it (徽州).
      ...(origin === "manager" ? { underUse: true } : {}),
    };
    // What the profile's document does not take as a change at all (002 第二十一条 重大变更) is refused before the
    // utilisation is read: no figures make it one.
    const broken = (adjustmentFlow.profiles[profile] ?? adjustmentFlow.profiles.default)!.submissionRules?.map((rule) => rule(asked, form)).filter((b) => b !== null) ?? [];
    if (broken.length > 0)
      throw unprocessable("not_allowed", broken.map((b) => b.message).join("；"), Object.fromEntries(broken.map((b) => [b.field, [b.message]])));
    const evidence =
      form.direction === "up"
        ? await justifyScaleUp(ctx, tx, row, from, form.to)
        : managerArticle
          ? [{ kind: "manager", ok: true, reason: `统筹管理单位发起：${managerArticle}` }]
          : (previous?.evidence ?? []);
    const facts: AdjustmentFacts = { ...asked, evidence };
    const owner = forUnit ? await ownerOf(tx, [row]) : undefined;
    return { form, facts, title: adjustmentTitle(form.direction, row), owner };
  },
};
