import { shanghaiDate } from "../../src/core/calendar";
import { unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { demandCoverage } from "../../src/resources/demand";
import type { FlowService, RequestFacts } from "../types";
import { applicationFlow } from "../application";
import { applicationFacts, applicationFormSchema, type ApplicationForm } from "../application-form";

function missingAttachments(profile: string, form: ApplicationForm, facts: RequestFacts) {
  const rules = applicationFlow.profiles[profile]!.attachments;
  const have = new Set<string>(form.attachments.map((a) => a.purpose));
  return rules.filter((r) => r.when(facts) && !have.has(r.purpose));
}

function checkedFacts(profile: string, countyUnit: boolean, form: ApplicationForm) {
  const facts = applicationFacts(form, countyUnit);
  const missing = missingAttachments(profile, form, facts);
  if (missing.length > 0)
    throw unprocessable("attachments_missing", `缺少附件：${missing.map((m) => m.name).join("；")}`, {
      "form.attachments": missing.map((m) => `缺少「${m.name}」（purpose: ${m.purpose}）`),
    });
  return facts;
}

export const applicationService: FlowService<RequestFacts> = {
  refusal: (actor) => (actor.roles.includes("applicant") ? null : "只有使用单位的申请人可以提交申请"),
  async prepare({ ctx, tx, actor, form, profile, countyUnit, resubmitting }) {
    const parsed = parseInput(applicationFormSchema, form, "申请表有误");
    const facts = checkedFacts(profile, countyUnit, parsed);
    // Flagged to the manager when the unit's yearly demand does not cover it (003 第十四条).
    const year = Number(shanghaiDate(ctx.clock.now()).slice(0, 4));
    const demand = await demandCoverage(tx, actor.unitId, year, facts.totals, resubmitting?.id);
    return { form: parsed, title: parsed.systemName, facts: { ...facts, demand } };
  },
};
