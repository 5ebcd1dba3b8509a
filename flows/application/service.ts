import { shanghaiDate } from "../../src/core/calendar";
import { unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { attachFiles } from "../../src/files";
import { demandCoverage, planCoverage } from "../../src/resources/demand";
import { PROFILES, type ProfileKey, type ProfileModule } from "../../profiles";
import { hostingRows, type Totals } from "../../src/resources/catalog";
import type { FlowService } from "../types";
import { inArray } from "drizzle-orm";
import { resources } from "../../db/schema";
import { describeResource } from "../../src/resources/revocation";
import { applicationFlow, type ApplicationFacts } from "./definition";
import { applicationFormSchema, ATTACHMENT_PURPOSES, hostedAndNetwork, PLAN_PARTS, type ApplicationForm } from "./form";
import { CRYPTO_RESULTS, registeredSystem, systemAssessments } from "../../src/systems/register";
import type { Db } from "../../db/client";
import type { Actor } from "../../src/core/context";
import { catalogFitText, catalogInForce, fitToCatalog, type CatalogFit } from "../../src/billing/service-catalog";

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

export function applicationFacts(
  form: ApplicationForm,
  countyUnit: boolean,
  system: ApplicationFacts["system"] = null,
  supervisedApplicant = false,
): ApplicationFacts {
  const totals = computeTotals(form);
  const planned = form.plan.plannedTotals;
  const db = form.paas.filter((p) => p.kind === "database");
  const hosted = hostedAndNetwork(form);
  return {
    countyUnit,
    ...(supervisedApplicant ? { supervisedApplicant } : {}),
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
    // 001 附件1 公共存储: shown to the holders of the stages (the ledger does not deliver it).
    ...(form.publicStorage ? { publicStorage: { sizeTb: form.publicStorage.sizeTb, type: form.publicStorage.type } } : {}),
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

function checkedFacts(profile: ProfileKey, countyUnit: boolean, form: ApplicationForm, system: ApplicationFacts["system"], supervisedUnit: boolean) {
  const def = applicationFlow.profiles[profile]!;
  const common = applicationFacts(form, countyUnit, system, supervisedUnit);
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

/**
 * 004 第七条(三): the unit does "上线前的安全检测、商用密码应用等工作" before go-live, and 第四十条: "政务信息化项目应
 * 使用商用密码进行保护并开展商用密码应用安全性评估", the unit doing the 国产商用密码应用改造. We read the two together:
 * the 密评 is part of what comes before go-live, so the application for the pre-go-live security test (第十七条(二))
 * is taken only for a system whose register carries a 密评 that did not conclude 不符合. 等保 is not asked here:
 * 第三十八条 puts 定级、备案、测评 after go-live (the 附件6 asks only the level the unit proposes).
 */
async function cryptoAssessedBeforeTest(tx: Db, facts: ApplicationFacts) {
  // Requests from before the register (no facts.system) named no system, so there is no record to read: they are
  // not held back by a rule that did not exist when they were filed (their unit may not even have registered it).
  if (!facts.system) return null;
  const system = await systemAssessments(tx, facts.system.id);
  const where = `请在“系统登记”（门户 /systems，或 PATCH /api/systems/${facts.system.id} 的 crypto）中登记`;
  if (!system?.crypto) {
    const message = `系统「${system?.name ?? facts.system.id}」尚无商用密码应用安全性评估记录：上线前须完成商用密码应用和密评（004 第七条(三)、第四十条），${where}密评日期和结论后，再申请安全检测`;
    return { message };
  }
  if (system.crypto.result === "fail") {
    const message = `系统「${system.name}」的商用密码应用安全性评估结论为“${CRYPTO_RESULTS.fail}”（${system.crypto.assessedOn}）：请完成国产商用密码应用改造并重新评估（004 第四十条），${where}新的密评结论后，再申请安全检测`;
    return { message };
  }
  return null;
}

/**
 * 巴中 003 第三十三条: "政务云按照信息安全等级保护第三级实施安全防护，须通过密码测评、等级保护三级测评；部署在政务云上运行的
 * 政务信息系统由使用单位按照相关规定开展密码应用安全性评估、信息安全等级保护测评等工作". Issue 14 reads it as 等保 and 密评
 * before go-live, and the issue is followed: the system is cut over (a migrated one) or goes live (a new one) only
 * once its register holds the 等保 测评 with its report and a 密评 that did not conclude 不符合. The 三级 is the cloud's
 * own; a system is tested at the level it is graded at, which the register records.
 */
async function assessedBeforeGoLive(tx: Db, facts: ApplicationFacts, systemName: string, stageName: string) {
  const where = (id: number) => `请在“系统登记”（门户 /systems，或 PATCH /api/systems/${id}）中登记`;
  if (!facts.system) return { message: `系统「${systemName}」尚未在系统登记中登记：${stageName}前须登记系统并录入等保测评和密评（003 第三十三条）` };
  const system = await systemAssessments(tx, facts.system.id);
  const name = system?.name ?? systemName;
  const missing = [
    ...(system?.mlps?.testedOn && system.mlps.fileId ? [] : ["信息安全等级保护测评（测评日期及备案证明或测评报告）"]),
    ...(!system?.crypto ? ["商用密码应用安全性评估"] : system.crypto.result === "fail" ? [`结论不为“${CRYPTO_RESULTS.fail}”的商用密码应用安全性评估`] : []),
  ];
  if (missing.length === 0) return null;
  return { message: `系统「${name}」${stageName}前须完成${missing.join("和")}（003 第三十三条），${where(facts.system.id)}后再${stageName}` };
}

/**
 * 000 5.5 (003 第二条(二), 004 第四条): the VM and PaaS rows against the 服务目录 in force on the day of submission.
 * A row naming an item must be that item (a PaaS row's sizes left empty are filled from it); any other row is
 * matched to its equal or nearest item, which the request's facts keep for the applicant and the evaluator
 * ("应在目录中选择功能和性能相近的进行适配": the adaptation is proposed and shown, the evaluator weighs it; the
 * form keeps what the unit asked for). No catalog published: nothing is matched, as before there was one.
 */
async function fitCatalog(tx: Db, day: string, form: ApplicationForm): Promise<{ form: ApplicationForm; fit: CatalogFit | null }> {
  const catalog = await catalogInForce(tx, day);
  if (!catalog) {
    const named = [...form.vms.map((v, i) => [`form.vms[${i}].item`, v.item] as const), ...form.paas.map((p, i) => [`form.paas[${i}].item`, p.item] as const)].filter(
      ([, item]) => item !== undefined,
    );
    if (named.length === 0) return { form, fit: null };
    const message = "尚未发布服务目录，不能按目录编号申请；请不填目录编号，直接填写规格";
    throw unprocessable("not_allowed", message, Object.fromEntries(named.map(([field]) => [field, [message]])));
  }
  if (form.vms.length === 0 && form.paas.length === 0) return { form, fit: null };
  const { problems, fit, vms, paas } = fitToCatalog(catalog, form);
  if (problems.length > 0)
    throw unprocessable("not_allowed", problems.map((p) => p.message).join("；"), Object.fromEntries(problems.map((p) => [p.field, [p.message]])));
  return { form: { ...form, vms, paas }, fit };
}

/**
 * 002 第二十一条: the resources a 重大变更 applied for anew replaces, as the form names them: only where the profile's
 * document has the rule (ProfileModule.reapplication), each in the ledger, in use and the applicant's unit's. Their
 * revocation opens once the new application's resources reach the rule's moment (src/engine/replaced.ts).
 */
async function replacedResources(tx: Db, actor: Actor, profile: ProfileKey, form: ApplicationForm): Promise<ApplicationFacts["replaces"]> {
  if (form.replaces === undefined) return undefined;
  const rule = PROFILES[profile].reapplication;
  if (!rule) {
    const message = "本地区管理办法未规定以新申请替换原有资源，请另行申请撤销原资源";
    throw unprocessable("not_allowed", message, { "form.replaces": [message] });
  }
  const rows = await tx.select().from(resources).where(inArray(resources.id, form.replaces));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const missing = form.replaces.filter((id) => byId.get(id)?.status !== "delivered");
  if (missing.length > 0) {
    const message = `替换的原资源不存在或已撤销：${missing.join("、")}`;
    throw unprocessable("unknown_resource", message, { "form.replaces": [message] });
  }
  const theirs = rows.filter((r) => r.unitId !== actor.unitId);
  if (theirs.length > 0) {
    const message = `只能替换本单位的资源：${theirs.map((r) => r.name).join("、")}（${rule.article}）`;
    throw unprocessable("not_yours", message, { "form.replaces": [message] });
  }
  return { resourceIds: form.replaces, resourceNames: form.replaces.map((id) => describeResource(byId.get(id)!)), article: rule.article };
}

export const applicationService: FlowService<ApplicationFacts> = {
  refusal: (actor) => (actor.roles.includes("applicant") ? null : "只有使用单位的申请人可以提交申请"),
  async prepare({ ctx, tx, actor, form, profile, countyUnit, supervisedUnit, resubmitting }) {
    const year = Number(shanghaiDate(ctx.clock.now()).slice(0, 4));
    const { form: checked, fit } = await fitCatalog(tx, shanghaiDate(ctx.clock.now()), parseInput(applicationFormSchema, form, "申请表有误"));
    // Every document names a real file of the unit's, uploaded for the purpose it is named under: the
    // required-document rules below count only those.
    const attached = await attachFiles(tx, actor, checked.attachments, { field: "form.attachments", purposes: ATTACHMENT_PURPOSES, requestId: resubmitting?.id });
    const today = shanghaiDate(ctx.clock.now());
    // 002 附件1 申请期限: a term that has already ended asks for nothing.
    if (checked.term?.until !== undefined && checked.term.until < today) {
      const message = `申请期限（至 ${checked.term.until}）不能早于申请日期 ${today}`;
      throw unprocessable("not_allowed", message, { "form.term.until": [message] });
    }
    // 001 附件1 申请单位承诺: who gave it and when are the submission's, whatever the form said.
    const declaration = checked.declaration && {
      agreed: checked.declaration.agreed,
      ...(checked.declaration.agreed ? { by: actor.name, userId: actor.userId, at: ctx.clock.now().toISOString() } : {}),
    };
    const parsed = { ...checked, attachments: attached, ...(declaration ? { declaration } : {}) };
    const facts = checkedFacts(profile, countyUnit, parsed, await namedSystem(tx, actor, parsed), supervisedUnit);
    const replaces = await replacedResources(tx, actor, profile, parsed);
    // What the profile's document refuses that only the database knows (徽州 001 第三十条): of a new request, not of
    // one returned for changes and resubmitted.
    for (const check of resubmitting ? [] : (applicationFlow.profiles[profile]!.checks ?? [])) {
      const refused = await check({ tx, unitId: actor.unitId, except: resubmitting?.id });
      if (refused) throw unprocessable("not_allowed", refused.message, { [refused.field]: [refused.message] });
    }
    // Flagged to the manager when the unit's yearly demand does not cover it (003 第十四条).
    const demand = await demandCoverage(tx, actor.unitId, year, facts.totals, resubmitting?.id);
    // 003 第十四条: where the city government consents to the year's plan, whether this request is in it; the
    // profile's stages read it (巴中's 报市人民政府审定).
    const plan = (PROFILES[profile] as ProfileModule).planConsent ? await planCoverage(tx, actor.unitId, year, facts.totals, resubmitting?.id) : undefined;
    return {
      form: parsed,
      title: parsed.systemName,
      facts: { ...facts, demand, ...(plan ? { plan } : {}), ...(replaces ? { replaces } : {}), ...(fit ? { catalog: fit } : {}) },
      files: attached,
      ...(fit ? { notice: catalogFitText(fit) } : {}),
    };
  },
  async checkStage({ tx, req, stage, profile }) {
    // 004 第十七条(二): the 附件6 of 梅州's 申请上线前安全检测.
    if (profile === "meizhou" && stage.key === "request_security_test") return cryptoAssessedBeforeTest(tx, req.facts as ApplicationFacts);
    // 003 第三十三条 as issue 14 reads it: 等保 and 密评 before 巴中's cutover or go-live.
    if (profile === "bazhong" && (stage.key === "cutover" || stage.key === "go_live")) return assessedBeforeGoLive(tx, req.facts as ApplicationFacts, req.title, stage.name);
    return null;
  },
};
