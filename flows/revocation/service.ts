import { conflict, unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { revocationTitle, type RevocationFacts } from "../../src/resources/catalog";
import { busyResources, lockResources } from "../../src/resources/claims";
import { describeResource, ownerOf } from "../../src/resources/revocation";
import type { FlowService, PrepareArgs } from "../types";
import { revocationFlow } from "./definition";
import { revocationFormSchema } from "./form";

/**
 * Checks a revocation: the resources exist, are in use, belong to one unit (the applicant's own, when an
 * applicant asks), and are not already being revoked.
 */
async function prepare({ tx, actor, form: rawForm, profile, countyUnit, supervisedUnit, resubmitting }: PrepareArgs) {
  const form = parseInput(revocationFormSchema, rawForm, "撤销申请有误");
  const rows = await lockResources(tx, form.resources);
  const missing = form.resources.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered"));
  if (missing.length > 0) throw unprocessable("unknown_resource", `资源不存在或已撤销：${missing.join("、")}`, { "form.resources": missing.map(String) });
  if (new Set(rows.map((r) => r.unitId)).size > 1) throw unprocessable("mixed_units", "一次只能撤销同一单位的资源");
  if (!actor.roles.includes("provider") && rows[0]!.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请撤销本单位的资源");
  const busy = await busyResources(tx, form.resources, resubmitting?.id);
  if (busy.size > 0) throw conflict("already_changing", `资源已在其他流程中：${[...busy].map(([id, by]) => `${id} ${by}`).join("、")}`);
  const byProvider = actor.roles.includes("provider");
  // What the unit has done is the unit's to declare, not the provider's.
  if (byProvider && (form.offline === true || form.dataMigrated === true)) {
    const message = "系统下线和数据迁移备份由使用单位声明，云服务商发起时不勾选";
    throw unprocessable("not_allowed", message, { "form.offline": [message] });
  }
  // A proposal keeps the rule and the evidence it was opened with when it is edited and resubmitted.
  const previous = resubmitting?.facts as RevocationFacts | undefined;
  const trigger = previous?.trigger ?? "unit_request";
  const facts: RevocationFacts = {
    resourceIds: form.resources,
    resourceNames: rows.map(describeResource),
    trigger,
    evidence: previous?.evidence ?? null,
    reason: form.reason,
    // 002 第二十三条: a county unit stopping its use goes through its county bureau first.
    countyApplicant: !byProvider && trigger === "unit_request" && countyUnit,
    // 002 第二十三条: and a 下属单位 through its 主管单位.
    supervisedApplicant: !byProvider && trigger === "unit_request" && supervisedUnit,
    ...(byProvider ? {} : { unitDone: { offline: form.offline === true, dataMigrated: form.dataMigrated === true } }),
  };
  const broken = (revocationFlow.profiles[profile] ?? revocationFlow.profiles.default)!.submissionRules?.map((rule) => rule(facts, form)).filter((b) => b !== null) ?? [];
  if (broken.length > 0)
    throw unprocessable("not_allowed", broken.map((b) => b.message).join("；"), Object.fromEntries(broken.map((b) => [b.field, [b.message]])));
  // Started by the provider, the request is the unit's; started by an applicant, it is theirs.
  const owner = byProvider ? await ownerOf(tx, rows) : undefined;
  return { form, facts, title: revocationTitle(rows), owner };
}

export const revocationService: FlowService<RevocationFacts> = {
  refusal: (actor) =>
    actor.roles.includes("applicant") || actor.roles.includes("provider") ? null : "撤销由使用单位或评估实施单位（云服务商）发起",
  prepare,
};
