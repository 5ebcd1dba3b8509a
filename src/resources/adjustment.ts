import type { Db } from "../../db/client";
import type { resources } from "../../db/schema";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { unprocessable } from "../core/errors";
import { scaleUpDays } from "../metrics/views";
import { scaleUpEvidence, type ScaleKind } from "../metrics/rules";
import { PROFILES } from "../../profiles";
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
 * A scale-up must be justified by the last 5 working days' utilisation (第十九条(二)), computed here from the
 * figures under the resource's cloud id: the checks that justify it, or a refusal with the figures.
 */
export async function justifyScaleUp(
  ctx: ServiceContext,
  tx: Db,
  row: typeof resources.$inferSelect,
  from: Sizes,
  to: Sizes,
): Promise<AdjustmentFacts["evidence"]> {
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
