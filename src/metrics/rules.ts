// The utilisation rules for adjusting resources (flows.md "Flow 2: adjustment"), as pure functions over the
// daily figures of daily.ts. Percentages are 0–100.
//
// Sources: 004 (梅州实施细则) 第十九条(二) scale-up, 第十九条(三) low load, 第四十八条 measurement;
// 003 (智慧巴中) 第二十四条; 001 (徽州区) 第十九条. The numbers are each profile's (profiles/): every
// rule takes its thresholds as a parameter.
//
// Where the seed text and flows.md differ, flows.md is followed (see the notes at each rule):
//   - 004 第十九条(三)2 writes the vCPU low-load standard as "峰值 vCPU 平均使用率≤40%且 vCPU 平均使用率≤20%"
//     ("peak vCPU *average* utilisation"), a phrase 第四十八条 does not define; flows.md reads it as the
//     day's vCPU peak ≤ 40% (and average ≤ 20%), which is what lowLoadDay does.
//   - 001 第十九条 asks for a warning when resources are "接近系统容量70%" (approaching 70% of capacity);
//     flows.md says "at 70% of capacity", implemented as ≥ 70%.
//   - 004 第十九条(三)2 gives "存储可使用月数>12" without saying how the months are counted; the method is
//     ours (storageHeadroomMonths).
//   - 004 第四十八条 says "8:00-20:00" for averages; flows.md and daily.ts read it as [08:00, 20:00).

import type { WorkCalendar } from "../core/calendar";
import { toEpochDay } from "../core/calendar-schedule";
import type { LowLoadThresholds, PeriodShrinkThresholds, ScaleUpThresholds } from "../../profiles/types";
import type { DailyFigures } from "./daily";

const DAYS_PER_MONTH = 30;

/**
 * A VM's id as the cloud's monitoring names it, one rule wherever such an id comes in (samples, the API's
 * path, the ledger's instance id), so that every id the ledger accepts can carry figures.
 */
export const VM_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Storage utilisation in percent, used / allocated (004 第四十八条). Multiplies before dividing, so that a
 * reading exactly at a threshold (e.g. 300 of 500 GB) gives exactly 60, not 59.99999999999999. */
export function utilisationPercent(usedGb: number, allocatedGb: number): number {
  if (!(allocatedGb > 0)) throw new RangeError(`allocated storage must be positive, got ${allocatedGb}`);
  return (usedGb * 100) / allocatedGb;
}

/**
 * Months until storage is full at the recent growth rate, for the low-load storage standard of 004
 * 第十九条(三)2 ("存储可使用月数>12"), which does not say how to count them. Method:
 *   - the days with a disk reading (both used and allocated) are taken, oldest first;
 *   - growth = the least-squares slope of used GB against the calendar date (so gaps in the series are
 *     weighted by the days they span, and one noisy day does not decide it), times 30: GB per 30-day month;
 *   - headroom = (allocated − used) of the latest reading / growth.
 * Returns 0 when the latest reading is already full, Infinity when used space is flat or shrinking, and null
 * when there is no disk data or the readings do not span two dates (no rate can be measured).
 */
export function storageHeadroomMonths(days: DailyFigures[]): number | null {
  const points: { x: number; y: number }[] = [];
  let latest: DailyFigures | null = null;
  for (const d of days) {
    if (d.diskUsedGb === null || d.diskAllocGb === null) continue;
    points.push({ x: toEpochDay(d.date), y: d.diskUsedGb });
    latest = d;
  }
  if (latest === null) return null;
  const free = latest.diskAllocGb! - latest.diskUsedGb!;
  const n = points.length;
  // Centred sums: exact for the small integers of day numbers, and no cancellation from large epoch days.
  const meanX = points.reduce((s, p) => s + p.x, 0) / n;
  const meanY = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - meanX) * (p.x - meanX);
    sxy += (p.x - meanX) * (p.y - meanY);
  }
  if (sxx === 0) return null;
  if (free <= 0) return 0;
  const growthPerMonth = (sxy / sxx) * DAYS_PER_MONTH;
  if (!(growthPerMonth > 0)) return Number.POSITIVE_INFINITY;
  return free / growthPerMonth;
}

/**
 * 第十九条(三): low-load when ANY of: vCPU (peak ≤ 40 and avg ≤ 20), memory (avg ≤ 50), storage (headroom > 12
 * months), with 004's numbers. Returns which parts held. A part without data (no 08:00–20:00 samples, no
 * headroom figure) does not hold. The vCPU part follows flows.md ("peak ≤ 40%"); the seed's "峰值 vCPU
 * 平均使用率" is not defined.
 */
export function lowLoadDay(
  day: DailyFigures,
  headroomMonths: number | null,
  t: LowLoadThresholds,
): { low: boolean; vcpu: boolean; memory: boolean; storage: boolean } {
  const vcpu = day.cpuAvg !== null && day.cpuPeak <= t.vcpuPeak && day.cpuAvg <= t.vcpuAvg;
  const memory = day.memAvg !== null && day.memAvg <= t.memoryAvg;
  const storage = headroomMonths !== null && headroomMonths > t.storageHeadroomMonths;
  return { low: vcpu || memory || storage, vcpu, memory, storage };
}

/** A month is low-load with MORE THAN 15 low-load days (004: "超过 15 天": 15 is not, 16 is). */
export function lowLoadMonth(lowDays: number, t: LowLoadThresholds): boolean {
  return lowDays > t.daysPerMonth;
}

/**
 * The last n working days strictly before `asOf` (a YYYY-MM-DD), newest first. Throws CalendarRangeError when
 * a day it has to look at lies in a year the calendar has not loaded. asOf itself is not looked at: from
 * 2027-01-01 the answer lies wholly in 2026, while 2027-01-04 needs to know whether 01-01..03 are working
 * days. Throws RangeError for n that is not a non-negative integer.
 */
export function lastWorkdays(calendar: WorkCalendar, asOf: string, n: number): string[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const out: string[] = [];
  let date = asOf;
  while (out.length < n) {
    date = calendar.previousWorkday(date);
    out.push(date);
  }
  return out;
}

export type ScaleKind = "vm_vcpu" | "vm_memory" | "vm_storage" | "paas_compute" | "paas_storage" | "container_vcpu";

/** Which figure of a day a piece of evidence is. */
type EvidenceMetric = "cpuPeak" | "cpuAvg" | "memPeak" | "storage";

interface ScaleUpEvidence {
  ok: boolean;
  kind: ScaleKind;
  threshold: string;
  /** One entry per day and metric: the value in percent (null = no data), and whether it met its threshold. */
  figures: { date: string | null; value: number | null; metric: EvidenceMetric; ok: boolean }[];
  /** Chinese, one sentence, with the figures. */
  reason: string;
}

// Per kind: the daily figures that must each meet their minimum on every one of the working days, or
// (storage kinds) the latest day's used / allocated.
// Names as the seed words them: vCPU for VMs and containers, CPU for PaaS databases.
type DailyRule = { metric: Exclude<EvidenceMetric, "storage">; min: number; name: string };
function scaleUpRule(kind: ScaleKind, t: ScaleUpThresholds): { label: string; daily: DailyRule[] } | { label: string; storageMin: number } {
  switch (kind) {
    case "vm_vcpu":
      return { label: "虚拟机 vCPU 扩容", daily: [{ metric: "cpuPeak", min: t.vcpuPeak, name: "vCPU 峰值使用率" }] };
    case "vm_memory":
      return { label: "虚拟机内存扩容", daily: [{ metric: "memPeak", min: t.memoryPeak, name: "内存峰值使用率" }] };
    case "vm_storage":
      return { label: "虚拟机存储扩容", storageMin: t.storage };
    case "paas_compute":
      return {
        label: "PaaS 数据库计算资源扩容",
        daily: [
          { metric: "cpuAvg", min: t.paasAvg, name: "CPU 平均使用率" },
          { metric: "cpuPeak", min: t.paasPeak, name: "CPU 峰值使用率" },
        ],
      };
    case "paas_storage":
      return { label: "PaaS 数据库存储扩容", storageMin: t.paasStorage };
    case "container_vcpu":
      return { label: "PaaS 容器扩容", daily: [{ metric: "cpuPeak", min: t.containerPeak, name: "vCPU 峰值使用率" }] };
  }
}

// Two decimals, unless rounding would put the shown figure on the other side of the threshold than the real
// one (59.999 shown as "60" next to "低于 60%"): then in full.
function pct(value: number, threshold: number): string {
  const shown = Math.round(value * 100) / 100;
  return `${(shown >= threshold) === (value >= threshold) ? shown : value}%`;
}

function gb(value: number): string {
  return `${Math.round(value * 100) / 100} GB`;
}

// Joins phrases, with a space where a Chinese character meets a Latin word or figure (not at punctuation).
function cat(...parts: string[]): string {
  const han = /\p{Script=Han}/u;
  const latin = /[A-Za-z0-9%]/;
  return parts.reduce((out, p) => {
    const l = out.at(-1) ?? "";
    const r = p[0] ?? "";
    return (han.test(l) && latin.test(r)) || (latin.test(l) && han.test(r)) ? `${out} ${p}` : out + p;
  }, "");
}

function dailyValue(day: DailyFigures, metric: Exclude<EvidenceMetric, "storage">): number | null {
  return metric === "cpuAvg" ? day.cpuAvg : metric === "cpuPeak" ? day.cpuPeak : day.memPeak;
}

/**
 * 第十九条(二): whether a scale-up of `kind` is justified by the figures of the last `t.workdays` (004: 5)
 * working days (given, newest first, exactly those days: see lastWorkdays; a missing day, or a day without
 * the figure, counts as not meeting the threshold). "前 5 个工作日的峰值使用率不低于 60%" is read as: each of the 5 days' peak
 * ≥ 60% (a single spike does not justify a scale-up); PaaS compute likewise needs each day's average ≥ 40% and
 * peak ≥ 60%. Storage kinds use the latest day's (days[0]) used / allocated only.
 * Throws RangeError for more than `t.workdays` days, or days out of order (dates not strictly decreasing) or
 * of different VMs.
 */
export function scaleUpEvidence(kind: ScaleKind, days: (DailyFigures | null)[], t: ScaleUpThresholds): ScaleUpEvidence {
  const workdays = t.workdays;
  if (days.length > workdays) {
    throw new RangeError(`scale-up evidence takes the last ${workdays} working days, got ${days.length}`);
  }
  const present = days.filter((d): d is DailyFigures => d !== null);
  for (let i = 1; i < present.length; i++) {
    if (present[i]!.date >= present[i - 1]!.date) throw new RangeError("days must be given newest first, one per date");
    if (present[i]!.vm !== present[0]!.vm) throw new RangeError("days must all be of the same VM");
  }
  const rule = scaleUpRule(kind, t);

  if ("storageMin" in rule) {
    const min = rule.storageMin;
    const threshold = `当前存储使用率 ≥ ${min}%`;
    const day = days[0] ?? null;
    if (day === null || day.diskUsedGb === null || day.diskAllocGb === null || !(day.diskAllocGb > 0)) {
      const when = day === null ? "最近一个工作日没有数据" : `${day.date} 没有存储数据`;
      return {
        ok: false,
        kind,
        threshold,
        figures: [{ date: day?.date ?? null, value: null, metric: "storage", ok: false }],
        reason: `${rule.label}：${when}，无法证明存储使用率不低于 ${min}%，不符合扩容条件。`,
      };
    }
    const value = utilisationPercent(day.diskUsedGb, day.diskAllocGb);
    const ok = value >= min;
    return {
      ok,
      kind,
      threshold,
      figures: [{ date: day.date, value, metric: "storage", ok }],
      reason:
        `${rule.label}：${day.date} 存储使用率为 ${pct(value, min)}（已用 ${gb(day.diskUsedGb)} / 已分配 ${gb(day.diskAllocGb)}），` +
        `${ok ? "不低于" : "低于"} ${min}%，${ok ? "符合" : "不符合"}扩容条件。`,
    };
  }

  const slots: (DailyFigures | null)[] = Array.from({ length: workdays }, (_, i) => days[i] ?? null);
  const figures: ScaleUpEvidence["figures"] = [];
  const parts: string[] = [];
  let failedDays = 0;
  slots.forEach((day) => {
    let dayOk = true;
    for (const { metric, min } of rule.daily) {
      const raw = day === null ? null : dailyValue(day, metric);
      // A day without samples has peaks of -Infinity (daily.ts): no data, like a missing day.
      const value = raw !== null && Number.isFinite(raw) ? raw : null;
      const ok = value !== null && value >= min;
      figures.push({ date: day?.date ?? null, value, metric, ok });
      if (!ok) dayOk = false;
    }
    if (!dayOk) failedDays++;
  });
  rule.daily.forEach(({ metric, min, name }) => {
    const values = figures
      .filter((f) => f.metric === metric)
      .map((f, i) => (f.value !== null ? `${f.date} ${pct(f.value, min)}` : f.date !== null ? `${f.date} 无数据` : `第 ${i + 1} 个工作日无数据`));
    parts.push(`${name}为 ${values.join("、")}`);
  });
  const threshold = rule.daily.map(({ min, name }) => `${name} ≥ ${min}%`).join(" 且 ") + `（前 ${workdays} 个工作日每天）`;
  const wanted = rule.daily.map(({ min, name }) => `${name}不低于 ${min}%`).join(" 且 ");
  const ok = failedDays === 0;
  return {
    ok,
    kind,
    threshold,
    figures,
    reason:
      cat(`${rule.label}：前 ${workdays} 个工作日的`, parts.join("，"), "，") +
      (ok ? cat("每天", wanted, "，符合扩容条件。") : cat(`其中 ${failedDays} 天未达到`, wanted, "或无数据，不符合扩容条件。")),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The rules of other documents, used by the profiles whose modules list their jobs or thresholds.

/**
 * 巴中 003 第二十四条(一): once a resource's utilisation exceeds the threshold ("超过规定阈值 70%后", strictly
 * above: 70.0 is not), the provider reports at once to the bureau and the using unit, which applies to expand.
 * `percent` is whatever utilisation is watched (a day's peak, or utilisationPercent of storage).
 */
export function expansionNoticeDue(percent: number, above: number): boolean {
  return percent > above;
}

/**
 * 巴中 003 第二十四条(二): shrink a resource whose vCPU and memory peaks over the period (a quarter: the caller
 * passes that quarter's days) did not exceed `t.peakAtMost` ("未超过 30%": 30.0 qualifies). `shrink` needs
 * both; `vcpu` and `memory` tell each part. Days without samples are skipped; no days at all → no shrink.
 */
export function quarterPeakShrink(
  days: DailyFigures[],
  t: PeriodShrinkThresholds,
): {
  shrink: boolean;
  vcpu: boolean;
  memory: boolean;
  vcpuPeak: number | null;
  memPeak: number | null;
  days: number;
} {
  let vcpuPeak: number | null = null;
  let memPeak: number | null = null;
  let counted = 0;
  for (const d of days) {
    if (d.samples <= 0) continue;
    counted++;
    vcpuPeak = vcpuPeak === null ? d.cpuPeak : Math.max(vcpuPeak, d.cpuPeak);
    memPeak = memPeak === null ? d.memPeak : Math.max(memPeak, d.memPeak);
  }
  const vcpu = vcpuPeak !== null && vcpuPeak <= t.peakAtMost;
  const memory = memPeak !== null && memPeak <= t.peakAtMost;
  return { shrink: vcpu && memory, vcpu, memory, vcpuPeak, memPeak, days: counted };
}

/**
 * 巴中 003 第二十四条(三): shrink when the data disk's free space over the period (a year: the caller passes
 * that year's days) stayed above `t.dataDiskFreeGbAbove` ("剩余空间大于500GB": 500 exactly does not qualify).
 * Read as the smallest free space (allocated − used) of any day's reading being above it. The disk readings
 * of daily.ts are taken to be the data disk. No readings → no shrink (minFreeGb null).
 */
export function dataDiskShrink(days: DailyFigures[], t: PeriodShrinkThresholds): { shrink: boolean; minFreeGb: number | null; readings: number } {
  let minFreeGb: number | null = null;
  let readings = 0;
  for (const d of days) {
    if (d.diskUsedGb === null || d.diskAllocGb === null) continue;
    readings++;
    const free = d.diskAllocGb - d.diskUsedGb;
    minFreeGb = minFreeGb === null ? free : Math.min(minFreeGb, free);
  }
  return { shrink: minFreeGb !== null && minFreeGb > t.dataDiskFreeGbAbove, minFreeGb, readings };
}

/**
 * 徽州 001 第十九条: when a resource (compute, memory, storage, network) reaches `at` percent of capacity the
 * operator warns and asks the authority to start expansion. The seed says "接近系统容量70%" (approaching 70%);
 * flows.md says "at 70% of capacity", followed here: ≥ (70.0 alerts, 69.99 does not).
 */
export function capacityAlertDue(percent: number, at: number): boolean {
  return percent >= at;
}
