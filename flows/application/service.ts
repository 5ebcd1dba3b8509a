import { shanghaiDate } from "../../src/core/calendar";
import { unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { attachFiles } from "../../src/files";
import { demandCoverage } from "../../src/resources/demand";
import { hostingRows, type Totals } from "../../src/resources/catalog";
import type { FlowService } from "../types";
import type { ProfileKey } from "../../profiles";
import { applicationFlow, type ApplicationFacts } from "./definition";
import { applicationFormSchema, ATTACHMENT_PURPOSES, hostedAndNetwork, PLAN_PARTS, type ApplicationForm } from "./form";
import { registeredSystem } from "../../src/systems/register";
import type { Db } from "../../db/client";
import type { Actor } from "../../src/core/context";

export function computeTotals(form: ApplicationForm): Totals {
  const t: Totals = { hosts: 0, vcpu: 0, memoryGb: 0, storageGb: 0 };
  for (const vm of form.vms) {
    t.hosts += vm.quantity;
    t.vcpu += vm.vcpu * vm.quantity;
    t.memoryGb += vm.memoryGb * vm.quantity;
    t.storageGb += vm.diskGb * vm.quantity;
  }
  for (const p of form.paas) {
    t.vcpu += p.vcpu * p.quantity;
    t.memoryGb += p.memoryGb * p.quantity;
    t.storageGb += p.storageGb * p.quantity;
  }
  return t;
}

export function applicationFacts(form: ApplicationForm, countyUnit: boolean, system: ApplicationFacts["system"] = null): ApplicationFacts {
  const totals = computeTotals(form);
  const planned = form.plan.plannedTotals;
  const db = form.paas.filter((p) => p.kind === "database");
  const hosted = hostedAndNetwork(form);
  return {
    countyUnit,
    migration: form.plan.kind === "migration",
    totals,
    maxVmVcpu: Math.max(0, ...form.vms.map((v) => v.vcpu)),
    maxVmMemoryGb: Math.max(0, ...form.vms.map((v) => v.memoryGb)),
    planned: planned ?? null,
    kinds: {
      middleware: form.paas.some((p) => p.kind === "middleware"),
      hosting: hostingRows(form).length > 0,
      container: form.paas.some((p) => p.kind === "container"),
      bigdata: form.paas.some((p) => p.kind === "bigdata"),
      database: db.length > 0,
    },
    paasDatabase: {
      vcpu: db.reduce((n, p) => n + p.vcpu * p.quantity, 0),
      memoryGb: db.reduce((n, p) => n + p.memoryGb * p.quantity, 0),
    },
    backup: form.vms.some((v) => v.backup !== undefined),
    system,
    planGaps: (Object.keys(PLAN_PARTS) as (keyof typeof PLAN_PARTS)[]).filter((part) => form.plan[part] === ""),
    ...(hosted ? { hostedAndNetwork: hosted } : {}),
    // 004 第四十八条 / 第十四条(二)2: only when asked for, so ordinary requests' facts stay as they were.
    ...(form.emergency ? { emergency: form.emergency.category } : {}),
    ...(form.dedicatedPool ? { dedicatedPool: { scale: form.dedicatedPool.scale } } : {}),
  };
}

// 004 第四十八条: only a profile whose document sets a fast track has its stages; elsewhere an emergency section
// is refused rather than ignored, so that the unit does not wait believing the request is on a fast track.
function refuseEmergencyWithout(profile: ProfileKey, facts: ApplicationFacts) {
  if (facts.emergency === undefined || applicationFlow.profiles[profile]!.sequence.includes("emergency_confirm")) return;
  const message = "本地区管理办法未规定紧急通道";
  throw unprocessable("not_allowed", message, { "form.emergency": [message] });
}

function missingAttachments(profile: ProfileKey, form: ApplicationForm, facts: ApplicationFacts) {
  const rules = applicationFlow.profiles[profile]!.attachments;
  const have = new Set<string>(form.attachments.map((a) => a.purpose));
  return rules.filter((r) => r.when(facts) && !have.has(r.purpose));
}

/**
 * The registered system the form names (004 第二条), in any profile that registers its systems: named by id, it
 * must be the unit's and its name the form's, character for character (第十二条(二)1); null when none is named.
 */
async function namedSystem(tx: Db, actor: Actor, form: ApplicationForm): Promise<ApplicationFacts["system"]> {
  const system = await registeredSystem(tx, actor.unitId, form);
  if (form.systemId !== undefined && !system) {
    const message = `本单位没有编号为 ${form.systemId} 的登记系统`;
    throw unprocessable("not_allowed", message, { "form.systemId": [message] });
  }
  if (system && system.name !== form.systemName) {
    const message = `系统名称须与登记的「${system.name}」完全一致（004 第十二条(二)1）`;
    throw unprocessable("not_allowed", message, { "form.systemName": [message] });
  }
  return system && { id: system.id, kind: system.kind, approvalFile: system.approvalFileId !== null };
}

function checkedFacts(profile: ProfileKey, countyUnit: boolean, form: ApplicationForm, system: ApplicationFacts["system"]) {
  const def = applicationFlow.profiles[profile]!;
  const common = applicationFacts(form, countyUnit, system);
  const facts = def.facts ? def.facts(common, form) : common;
  refuseEmergencyWithout(profile, facts);
  const broken = (def.submissionRules ?? []).map((rule) => rule(facts, form)).filter((b) => b !== null);
  if (broken.length > 0)
    throw unprocessable("not_allowed", broken.map((b) => b.message).join("；"), Object.fromEntries(broken.map((b) => [b.field, [b.message]])));
  const missing = missingAttachments(profile, form, facts);
  if (missing.length > 0)
    throw unprocessable("attachments_missing", `缺少附件：${missing.map((m) => m.name).join("；")}`, {
      "form.attachments": missing.map((m) => `缺少「${m.name}」（purpose: ${m.purpose}）`),
    });
  return facts;
}

export const applicationService: FlowService<ApplicationFacts> = {
  refusal: (actor) => (actor.roles.includes("applicant") ? null : "只有使用单位的申请人可以提交申请"),
  async prepare({ ctx, tx, actor, form, profile, countyUnit, resubmitting }) {
    const checked = parseInput(applicationFormSchema, form, "申请表有误");
    // Every document names a real file of the unit's, uploaded for the purpose it is named under: the
    // required-document rules below count only those.
    const attached = await attachFiles(tx, actor, checked.attachments, { field: "form.attachments", purposes: ATTACHMENT_PURPOSES, requestId: resubmitting?.id });
    const parsed = { ...checked, attachments: attached };
    const facts = checkedFacts(profile, countyUnit, parsed, await namedSystem(tx, actor, parsed));
    // Flagged to the manager when the unit's yearly demand does not cover it (003 第十四条).
    const year = Number(shanghaiDate(ctx.clock.now()).slice(0, 4));
    const demand = await demandCoverage(tx, actor.unitId, year, facts.totals, resubmitting?.id);
    return { form: parsed, title: parsed.systemName, facts: { ...facts, demand }, files: attached };
  },
};
