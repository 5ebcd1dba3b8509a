import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditLog, type resources } from "../../db/schema";
import { addCalendarMonths, shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { unprocessable } from "../core/errors";
import { scaleUpDays } from "../metrics/views";
import { scaleUpEvidence, type ScaleKind } from "../metrics/rules";
import { PROFILES, type ProfileModule } from "../../profiles";
import type { AdjustmentFacts, Sizes } from "./catalog";

/**
 * Which 第十九条(二) checks a scale-up of this resource to these sizes needs; empty when some size that grows
 * has no rule (a container's memory, a middleware), which cannot then be scaled up on evidence.
 */
const SCALE_RULES: Record<string, Partial<Record<keyof Sizes, ScaleKind>>> = {
  vm: { vcpu: "vm_vcpu", memoryGb: "vm_memory", diskGb: "vm_storage" },
  paas_database: { vcpu: "paas_compute", memoryGb: "paas_compute", diskGb: "paas_storage" },
  paas_container: { vcpu: "container_vcpu" },
};

function scaleKinds(kind: string, from: Sizes, to: Sizes): ScaleKind[] {
  const grows = (k: keyof Sizes) => to[k] !== undefined && to[k]! > (from[k] ?? 0);
  const growing = (["vcpu", "memoryGb", "diskGb"] as const).filter(grows);
  const kinds = growing.map((size) => SCALE_RULES[kind]?.[size]);
  if (kinds.some((k) => k === undefined)) return [];
  return [...new Set(kinds as ScaleKind[])];
}

/**
 * A scale-up's evidence, on the basis the profile's document decides it on (ProfileModule.scaleUpBasis): the
 * checks that justify it, or a refusal with the figures.
 */
export async function justifyScaleUp(
  ctx: ServiceContext,
  tx: Db,
  row: typeof resources.$inferSelect,
  from: Sizes,
  to: Sizes,
): Promise<AdjustmentFacts["evidence"]> {
  const basis = PROFILES[ctx.profile].scaleUpBasis;
  // 000 7.2.3.1: "公共服务云平台监管部门提供的云资源使用情况报告为审核的主要依据". The supervisor's report is
  // written at the request's first stage and the manager decides on it: nothing to compute or refuse here, so a
  // resource without monitoring figures (or of a kind 004 has no rule for) can still be scaled up on the report.
  if (basis === "usageReport") return [];
  if (basis === "providerReport") return reportedAbove(ctx, tx, row, from, to);
  return utilisationEvidence(ctx, tx, row, from, to);
}

/**
 * 004 第十九条(二): a scale-up must be justified by the last 5 working days' utilisation, computed here from the
 * figures under the resource's cloud id.
 */
async function utilisationEvidence(ctx: ServiceContext, tx: Db, row: typeof resources.$inferSelect, from: Sizes, to: Sizes) {
  const kinds = scaleKinds(row.kind, from, to);
  // Only what 第十九条(二) has a rule for can be scaled up on evidence; the rest is a new application.
  if (kinds.length === 0) throw unprocessable("no_rule", `004 第十九条没有这类资源或规格的扩容判定标准，请按新申请办理`);
  if (!row.instanceId) throw unprocessable("no_instance", `资源 ${row.name} 尚未登记云主机标识，无法核对利用率，请联系云服务商`);
  // Read inside this transaction: PGlite has one connection, and a second one would wait for this one. The
  // same 5 days' figures are the evidence for every kind.
  const { days } = await scaleUpDays({ ...ctx, db: tx }, row.instanceId, shanghaiDate(ctx.clock.now()));
  const evidence = kinds.map((kind) => {
    const check = scaleUpEvidence(kind, days, PROFILES[ctx.profile].thresholds.scaleUp);
    return { kind, ok: check.ok, reason: check.reason };
  });
  const failed = evidence.filter((e) => !e.ok);
  if (failed.length > 0) throw unprocessable("not_justified", `不满足扩容条件（004 第十九条）：${failed.map((e) => e.reason).join("；")}`);
  return evidence;
}

/** The figure of a VM's expansion notice (capacity-notices.ts) that a growing size answers to. */
const REPORTED_METRIC = { vcpu: { metric: "vcpu", name: "vCPU" }, memoryGb: { metric: "memory", name: "内存" }, diskGb: { metric: "disk", name: "磁盘" } } as const;

/**
 * 003 第二十四条(一): "当政务云资源使用率超过规定阈值 70%后，云服务商应第一时间报告…使用单位提出资源扩容申请".
 * A unit the provider has told (the expansionNotices job, audited as `capacity.vm_notice`) may ask: each size that
 * grows needs a report of its own figure above the threshold within the last month (the notice goes out at most
 * once per VM, figure and month, so a VM that stays above it is reported again each month). 004's 5 working days
 * play no part. The notices cover VMs; another kind has no report to ask on.
 */
async function reportedAbove(ctx: ServiceContext, tx: Db, row: typeof resources.$inferSelect, from: Sizes, to: Sizes) {
  const profile: ProfileModule = PROFILES[ctx.profile];
  const above = profile.thresholds.expansionNoticeAbove;
  if (above === undefined) throw new Error(`profile ${ctx.profile} decides scale-ups on the provider's report but sets no expansionNoticeAbove`);
  if (row.kind !== "vm")
    throw unprocessable("no_rule", `003 第二十四条(一)：扩容以云服务商报告资源使用率超过 ${above}% 为前提，云服务商只报告虚拟机的使用率；此类资源请按新申请办理`);
  const today = shanghaiDate(ctx.clock.now());
  const since = addCalendarMonths(today, -1);
  const notices = await tx
    .select({ details: auditLog.details })
    .from(auditLog)
    .where(and(eq(auditLog.action, "capacity.vm_notice"), eq(auditLog.outcome, "ok"), sql`(${auditLog.details}->>'resourceId')::bigint = ${row.id}`))
    .orderBy(desc(auditLog.seq));
  const readings = notices.flatMap(({ details }) => {
    const d = details as { date: string; readings: { metric: string; name: string; value: number }[] };
    return d.date >= since ? d.readings.map((r) => ({ ...r, date: d.date })) : [];
  });
  const growing = (["vcpu", "memoryGb", "diskGb"] as const).filter((k) => to[k] !== undefined && to[k]! > (from[k] ?? 0));
  const evidence = growing.map((size) => {
    const { metric, name } = REPORTED_METRIC[size];
    const latest = readings.find((r) => r.metric === metric);
    return latest
      ? { kind: `reported_${metric}`, ok: true, reason: `云服务商报告 ${latest.date} ${latest.name} ${Math.round(latest.value * 100) / 100}%，超过 ${above}%（003 第二十四条(一)）` }
      : { kind: `reported_${metric}`, ok: false, reason: `${since} 以来云服务商没有报告${name}使用率超过 ${above}%` };
  });
  const failed = evidence.filter((e) => !e.ok);
  if (failed.length > 0) throw unprocessable("not_justified", `不满足扩容条件（003 第二十四条(一)）：${failed.map((e) => e.reason).join("；")}`);
  return evidence;
}

/**
 * Where a resource stands against every 第十九条(二) check a scale-up of it could need, as of today: what an
 * applicant sees before asking. Null when the ledger has no cloud id for it (no figures to read); [] when no
 * rule covers its kind (a scale-up is then a new application).
 */
export async function scaleUpStanding(ctx: ServiceContext, row: typeof resources.$inferSelect) {
  const kinds = [...new Set(Object.values(SCALE_RULES[row.kind] ?? {}))];
  if (kinds.length === 0 || !row.instanceId) return kinds.length === 0 ? { checks: [], workdays: [] } : null;
  const { workdays, days } = await scaleUpDays(ctx, row.instanceId, shanghaiDate(ctx.clock.now()));
  return { workdays, checks: kinds.map((kind) => scaleUpEvidence(kind, days, PROFILES[ctx.profile].thresholds.scaleUp)) };
}
