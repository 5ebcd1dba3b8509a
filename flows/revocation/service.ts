import { conflict, forbidden, unprocessable } from "../../src/core/errors";
import type { ProfileKey } from "../../profiles";
import { parseInput } from "../../src/core/validation";
import { REVOCATION_TRIGGERS, revocationTitle, type RevocationFacts } from "../../src/resources/catalog";
import { busyResources, lockResources } from "../../src/resources/claims";
import { describeResource, ownerOf } from "../../src/resources/revocation";
import type { FlowService, PrepareArgs } from "../types";
import { MANAGER_REVOCATIONS, revocationFlow, type ManagerRevocationTrigger } from "./definition";
import { revocationFormSchema } from "./form";

/**
 * Checks a revocation: the resources exist, are in use, belong to one unit (the applicant's own, when an
 * applicant asks), and are not already being revoked.
 */
async function prepare({ tx, actor, form: rawForm, profile, countyUnit, supervisedUnit, resubmitting }: PrepareArgs) {
  const form = parseInput(revocationFormSchema, rawForm, "撤销申请有误");
  const byProvider = actor.roles.includes("provider");
  // The manager starts one for a reason its document gives it, with the article (MANAGER_REVOCATIONS).
  const byManager = !byProvider && !actor.roles.includes("applicant") && actor.roles.includes("manager");
  const managerArticle = byManager ? managerRevocationArticle(profile, form.trigger) : undefined;
  if (!byManager && form.trigger !== undefined && !resubmitting) {
    const message = "撤销事由由统筹管理单位发起时填写";
    throw unprocessable("not_allowed", message, { "form.trigger": [message] });
  }
  const rows = await lockResources(tx, form.resources);
  const missing = form.resources.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered"));
  if (missing.length > 0) throw unprocessable("unknown_resource", `资源不存在或已撤销：${missing.join("、")}`, { "form.resources": missing.map(String) });
  if (new Set(rows.map((r) => r.unitId)).size > 1) throw unprocessable("mixed_units", "一次只能撤销同一单位的资源");
  const forUnit = byProvider || byManager;
  if (!forUnit && rows[0]!.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请撤销本单位的资源");
  const busy = await busyResources(tx, form.resources, resubmitting?.id);
  if (busy.size > 0) throw conflict("already_changing", `资源已在其他流程中：${[...busy].map(([id, by]) => `${id} ${by}`).join("、")}`);
  // What the unit has done is the unit's to declare, not the provider's or the manager's.
  if (forUnit && (form.offline === true || form.dataMigrated === true)) {
    const message = "系统下线和数据迁移备份由使用单位声明，云服务商或统筹管理单位发起时不勾选";
    throw unprocessable("not_allowed", message, { "form.offline": [message] });
  }
  // A proposal keeps the rule and the evidence it was opened with when it is edited and resubmitted.
  const previous = resubmitting?.facts as RevocationFacts | undefined;
  const trigger = previous?.trigger ?? (byManager ? form.trigger! : "unit_request");
  const facts: RevocationFacts = {
    resourceIds: form.resources,
    resourceNames: rows.map(describeResource),
    trigger,
    evidence: previous?.evidence ?? null,
    reason: form.reason,
    // 002 第二十三条: a county unit stopping its use goes through its county bureau first.
    countyApplicant: !forUnit && trigger === "unit_request" && countyUnit,
    // 002 第二十三条: and a 下属单位 through its 主管单位.
    supervisedApplicant: !forUnit && trigger === "unit_request" && supervisedUnit,
    ...(forUnit ? {} : { unitDone: { offline: form.offline === true, dataMigrated: form.dataMigrated === true } }),
    // 001 第三十条: a reclaim for under-use holds the unit's new applications until it is done (徽州).
    ...(trigger === "under_use" || previous?.underUse ? { underUse: true } : {}),
    ...(managerArticle ?? previous?.article ? { article: managerArticle ?? previous?.article } : {}),
  };
  const broken = (revocationFlow.profiles[profile] ?? revocationFlow.profiles.default)!.submissionRules?.map((rule) => rule(facts, form)).filter((b) => b !== null) ?? [];
  if (broken.length > 0)
    throw unprocessable("not_allowed", broken.map((b) => b.message).join("；"), Object.fromEntries(broken.map((b) => [b.field, [b.message]])));
  // Started by the provider or the manager, the request is the unit's; started by an applicant, it is theirs.
  const owner = forUnit ? await ownerOf(tx, rows) : undefined;
  return { form, facts, title: revocationTitle(rows), owner };
}

/** The article under which the manager revokes for this trigger here, or the refusal naming what it may. */
function managerRevocationArticle(profile: ProfileKey, trigger: ManagerRevocationTrigger | undefined): string {
  const allowed = MANAGER_REVOCATIONS[profile];
  if (!allowed) throw forbidden("撤销由使用单位或评估实施单位（云服务商）发起");
  const options = Object.entries(allowed).map(([t, article]) => `${t}（${REVOCATION_TRIGGERS[t as ManagerRevocationTrigger]}，${article}）`).join("、");
  const article = trigger ? allowed[trigger] : undefined;
  if (!article) {
    const message = `请选择撤销事由：${options}`;
    throw unprocessable("not_allowed", message, { "form.trigger": [message] });
  }
  return article;
}

export const revocationService: FlowService<RevocationFacts> = {
  // The manager, where its document gives it a revocation of its own (MANAGER_REVOCATIONS).
  refusal: (actor, profile) =>
    actor.roles.some((r) => r === "applicant" || r === "provider") || (actor.roles.includes("manager") && profile && MANAGER_REVOCATIONS[profile])
      ? null
      : "撤销由使用单位或评估实施单位（云服务商）发起",
  prepare,
};
