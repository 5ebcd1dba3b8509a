import { and, eq, isNotNull } from "drizzle-orm";
import { resources } from "../../db/schema";
import { adjustmentTitle, type AdjustmentFacts } from "../resources/catalog";
import { addCalendarDays, addCalendarMonths, calendarDaysBetween, shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { doneAmong, onceFor } from "../core/once";
import { openRequest } from "../engine";
import type { DailyFigures } from "../metrics/daily";
import { dataDiskShrink, lowLoadMonth, quarterPeakShrink } from "../metrics/rules";
import type { LowLoadThresholds, PeriodShrinkThresholds } from "../../profiles/types";
import { utilisationOfDays, utilisationReadFrom, withDailyFigures } from "../metrics/views";
import { busyResources, lockResources } from "../resources/claims";
import { describeResource, ownerOf, type ResourceRow } from "../resources/revocation";

type VmSpec = { vcpu: number; memoryGb: number; diskGb?: number };

/** The share of a period's days with figures that 巴中's period rules need before they judge (our choice). */
const COVERAGE = 0.8;


/** What a review concluded for one VM: the sizes to propose and why (one sentence per rule that held). */
interface ScaleDownFinding {
  to: AdjustmentFacts["to"];
  reasons: string[];
}

// The review's proposals are remembered under this scope, one key per VM and period, so a period proposes a VM
// once, and a VM with nothing to propose is not read again in the same period.
const REVIEWED = "scale-down-proposal";

/** Half the vCPU and memory, the starting point a review proposes; the provider's plan and the unit's answer follow. */
function halved(spec: VmSpec): AdjustmentFacts["to"] | null {
  const to = { vcpu: Math.max(1, Math.floor(spec.vcpu / 2)), memoryGb: Math.max(1, Math.floor(spec.memoryGb / 2)) };
  return to.vcpu === spec.vcpu && to.memoryGb === spec.memoryGb ? null : to;
}

/**
 * Looks at every delivered VM not yet reviewed for `period` and opens a scale-down proposal (the adjustment flow,
 * origin "review", owned by the VM's unit) for each one `judge` finds in the VM's daily figures from `from` to
 * `to`. Returns how many were opened.
 */
async function proposeScaleDowns(
  ctx: ServiceContext,
  review: {
    period: string;
    label: string;
    from: string;
    to: string;
    judge: (vm: ResourceRow, spec: VmSpec, days: DailyFigures[]) => ScaleDownFinding | null;
  },
): Promise<number> {
  const { period } = review;
  const vms = await ctx.db
    .select()
    .from(resources)
    .where(and(eq(resources.status, "delivered"), eq(resources.kind, "vm"), isNotNull(resources.instanceId)));
  const markerOf = (vm: ResourceRow) => ({ scope: REVIEWED, key: `${vm.id}:${period}`, fingerprint: period });
  // Reviewed already this period (the job runs every round): skip before reading any figures.
  const reviewed = await doneAmong(ctx.db, REVIEWED, vms.map((v) => markerOf(v).key));
  let opened = 0;
  const pending = vms.filter((v) => !reviewed.has(markerOf(v).key));
  for await (const [vm, days] of withDailyFigures(ctx.db, pending, (v) => v.instanceId!, review.from, review.to)) {
    const spec = vm.spec as VmSpec;
    const finding = review.judge(vm, spec, days);
    if (!finding) {
      await onceFor(ctx, ctx.db, markerOf(vm));
      continue;
    }
    const done = await mutate({ ...ctx, actor: null, channel: "timer" }, { action: "adjustment.propose" }, async (tx, j) => {
      // A VM another change is under way for is looked at again in a later round.
      const [locked] = await lockResources(tx, [vm.id]);
      if (!locked || locked.status !== "delivered" || (await busyResources(tx, [vm.id])).size > 0) return false;
      if (!(await onceFor(ctx, tx, markerOf(vm)))) return false;
      const facts: AdjustmentFacts = {
        direction: "down",
        resourceId: vm.id,
        resourceName: describeResource(vm),
        from: { vcpu: spec.vcpu, memoryGb: spec.memoryGb, diskGb: spec.diskGb },
        to: finding.to,
        evidence: finding.reasons.map((reason) => ({ kind: "low_load", ok: true, reason })),
        origin: "review",
      };
      const form = { direction: "down", resource: vm.id, to: finding.to, reason: `${review.label}：${finding.reasons.join("；")}` };
      await openRequest({ ctx, tx, j }, { flow: "adjustment", title: adjustmentTitle("down", vm), form, facts, ...(await ownerOf(tx, [vm])) }, { origin: "review", period });
      return true;
    });
    if (done) opened++;
  }
  return opened;
}

type UtilisationDay = ReturnType<typeof utilisationOfDays>["days"][number];
const PART_NAMES = { vcpu: "vCPU", memory: "内存", storage: "存储" } as const;
type Part = keyof typeof PART_NAMES;

/**
 * What a half-year's low-load months say to shrink: the parts of 第十九条(三) that held on more than 15 days of
 * some low-load month (or, when the month was low-load only by mixing them, every part that held in it). vCPU
 * and memory are proposed at half; a disk with more than 12 months of headroom is proposed at what 12 months
 * of its growth need (at least its use plus a fifth, when it does not grow), rounded up to 10 GB. The numbers
 * are `t`'s (004's).
 */
function halfYearFinding(spec: VmSpec, days: UtilisationDay[], lowMonths: string[], t: LowLoadThresholds): ScaleDownFinding | null {
  // A part that held makes its day low-load, so no separate lowLoad.low test is needed.
  const inLowMonths = days.filter((d) => lowMonths.includes(d.date.slice(0, 7)));
  const held = (part: Part, month?: string) => inLowMonths.filter((d) => d.lowLoad[part] && (!month || d.date.startsWith(month))).length;
  const parts = (Object.keys(PART_NAMES) as Part[]).filter((p) => lowMonths.some((m) => lowLoadMonth(held(p, m), t)));
  const chosen = parts.length > 0 ? parts : (Object.keys(PART_NAMES) as Part[]).filter((p) => held(p) > 0);
  const to: AdjustmentFacts["to"] = {};
  const half = halved(spec);
  if (chosen.includes("vcpu") && half && half.vcpu! < spec.vcpu) to.vcpu = half.vcpu;
  if (chosen.includes("memory") && half && half.memoryGb! < spec.memoryGb) to.memoryGb = half.memoryGb;
  const disk = [...days].reverse().find((d) => d.diskUsedGb !== null && d.diskAllocGb !== null);
  if (chosen.includes("storage") && disk && spec.diskGb !== undefined) {
    const used = disk.diskUsedGb!;
    const growthPerMonth = disk.storageHeadroomMonths ? (disk.diskAllocGb! - used) / disk.storageHeadroomMonths : 0;
    const needed = Math.max(used + t.storageHeadroomMonths * growthPerMonth, used * 1.2);
    const target = Math.ceil(needed / 10) * 10;
    if (target < spec.diskGb) to.diskGb = target;
  }
  if (Object.keys(to).length === 0) return null;
  const months = lowMonths
    .map((m) => `${m}（${(Object.keys(PART_NAMES) as Part[]).filter((p) => held(p, m) > 0).map((p) => `${PART_NAMES[p]} ${held(p, m)} 天`).join("、")}）`)
    .join("、");
  return { to, reasons: [`低负载月份：${months}（004 第十九条）`] };
}

/**
 * 半年评估 (004 第十九条(三)): in January and July, every VM with a low-load month (more than 15 low-load days)
 * in the previous six gets a scale-down proposal, once per half-year, for what was under-used (see
 * halfYearFinding); the provider's plan and the unit's confirmation (or disagreement, with reasons) follow.
 */
export async function halfYearlyReview(ctx: ServiceContext, lowLoad: LowLoadThresholds): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const month = Number(today.slice(5, 7));
  if (month !== 1 && month !== 7) return 0;
  const firstOfMonth = `${today.slice(0, 7)}-01`;
  const from = addCalendarMonths(firstOfMonth, -6);
  const to = addCalendarDays(firstOfMonth, -1);
  return proposeScaleDowns(ctx, {
    period: `${today.slice(0, 4)}-${month === 1 ? "H1" : "H2"}`,
    label: "半年评估",
    from: utilisationReadFrom(from),
    to,
    judge(_vm, spec, days) {
      const usage = utilisationOfDays(days, from, lowLoad);
      const low = usage.months.filter((m) => m.lowLoad).map((m) => m.month);
      return low.length === 0 ? null : halfYearFinding(spec, usage.days, low, lowLoad);
    },
  });
}

/**
 * 巴中 (003 第二十四条(二)(三)), instead of the half-yearly review: at the start of each quarter, a VM whose vCPU
 * and memory peaks over the past quarter stayed at or below 30% (`t.peakAtMost`) is proposed half of both; in
 * January, a data disk whose free space stayed above 500 GB (`t.dataDiskFreeGbAbove`) all of the past year is
 * proposed smaller by what it had beyond 500 GB, keeping 500 GB free at its fullest day. Both rules make one
 * proposal per VM and quarter, and judge only a VM in use for the whole period with figures for most of it
 * (COVERAGE): a few days of data are not a quarter's peak or a year's free space.
 */
export async function quarterlyReview(ctx: ServiceContext, t: PeriodShrinkThresholds): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const month = Number(today.slice(5, 7));
  if (month % 3 !== 1) return 0;
  const firstOfMonth = `${today.slice(0, 7)}-01`;
  const quarterFrom = addCalendarMonths(firstOfMonth, -3);
  const to = addCalendarDays(firstOfMonth, -1);
  const yearly = month === 1;
  const yearFrom = addCalendarMonths(firstOfMonth, -12);
  return proposeScaleDowns(ctx, {
    period: `${today.slice(0, 4)}-Q${(month + 2) / 3}`,
    label: yearly ? "季度与年度评估" : "季度评估",
    from: yearly ? yearFrom : quarterFrom,
    to,
    judge(vm, spec, days) {
      const target: AdjustmentFacts["to"] = {};
      const reasons: string[] = [];
      const covers = (from: string, counted: number) =>
        shanghaiDate(vm.deliveredAt) < from && counted >= COVERAGE * (calendarDaysBetween(from, to) + 1);
      const quarter = quarterPeakShrink(days.filter((d) => d.date >= quarterFrom), t);
      const half = halved(spec);
      if (quarter.shrink && half && covers(quarterFrom, quarter.days)) {
        Object.assign(target, half);
        reasons.push(
          `${quarterFrom}~${to} vCPU 峰值 ${quarter.vcpuPeak}%、内存峰值 ${quarter.memPeak}%，均未超过 ${t.peakAtMost}%（003 第二十四条(二)）`,
        );
      }
      if (yearly && spec.diskGb !== undefined) {
        const disk = dataDiskShrink(days, t);
        if (disk.shrink) {
          const smaller = spec.diskGb - Math.floor(disk.minFreeGb! - t.dataDiskFreeGbAbove);
          if (smaller >= 1 && smaller < spec.diskGb && covers(yearFrom, disk.readings)) {
            target.diskGb = smaller;
            reasons.push(`${yearFrom}~${to} 数据盘剩余空间最少 ${Math.round(disk.minFreeGb! * 100) / 100} GB，大于 ${t.dataDiskFreeGbAbove} GB（003 第二十四条(三)）`);
          }
        }
      }
      return reasons.length > 0 ? { to: target, reasons } : null;
    },
  });
}
