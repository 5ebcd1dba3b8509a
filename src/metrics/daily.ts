// Per-minute utilisation samples reduced, as they stream past, to one accumulator per VM and Asia/Shanghai
// calendar day, with the measurements of 004 第四十八条:
//   - vCPU / memory average: the per-minute samples from 08:00 to 20:00 that day, averaged. Read as the
//     half-open window [08:00, 20:00), as flows.md and the brief put it: a sample stamped 20:00 opens the
//     evening and is not counted (the seed only says "8:00-20:00").
//   - vCPU peak: the largest per-minute sample over 00:00–24:00. The seed defines a peak for vCPU only; the
//     memory peak (needed for the memory scale-up rule, 第十九条(二)2) is taken the same way.
//   - storage utilisation = used / allocated: the day keeps its latest disk reading.
// Accumulators hold sums and counts rather than averages so that partial days (one file, one pushed batch)
// merge exactly: see mergeDays.

import { SHANGHAI_OFFSET_MS } from "../core/calendar";
import { fromEpochDay } from "../core/calendar-schedule";

/** One per-minute sample. cpu and mem are percentages 0–100; disk figures in GB (optional: not every sample carries them). */
export interface Sample {
  vm: string;
  at: number /* epoch ms */;
  cpu: number;
  mem: number;
  diskUsedGb?: number;
  diskAllocGb?: number;
}

/** What a day of samples reduces to, mergeable with more samples of the same day (sums and counts, not averages). */
export interface DayAccumulator {
  vm: string;
  date: string; // Asia/Shanghai calendar date
  cpuSumDay: number;
  cpuCountDay: number; // samples with Shanghai local time in [08:00, 20:00)
  memSumDay: number;
  memCountDay: number;
  cpuPeak: number;
  memPeak: number; // max over the whole day 00:00–24:00
  samples: number;
  diskUsedGb: number | null;
  diskAllocGb: number | null;
  diskAt: number | null; // the latest disk reading of the day
}

// Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so the local date and time of day follow
// from epoch milliseconds by arithmetic alone (no Intl, no Date per sample). The calendar module keeps its
// day length private, hence the local one.
const DAY_MS = 86_400_000;
const WINDOW_FROM_MS = 8 * 3_600_000; // 08:00 local, inclusive
const WINDOW_TO_MS = 20 * 3_600_000; // 20:00 local, exclusive

// The accumulators of one VM. `day`/`acc` cache the day last written, which is the next sample's day almost
// always (monitoring exports run in time order per VM), so the common case is one Map lookup by VM name and
// a number comparison; `days` holds every open day of the VM for samples that arrive out of order.
interface VmSlot {
  day: number;
  acc: DayAccumulator;
  days: Map<number, DayAccumulator>;
}

/**
 * Streams samples into per-VM, per-day accumulators. `add` is O(1) and allocates only when a sample opens a
 * new VM or day; it validates nothing (callers do: see import.ts). A disk reading is a sample that carries
 * both diskUsedGb and diskAllocGb; the latest one of the day is kept (on equal timestamps, the one added last).
 */
export class DailyReducer {
  private vms = new Map<string, VmSlot>();
  private open = 0;

  /** Open accumulators (VM-days) held. */
  get size(): number {
    return this.open;
  }

  add(sample: Sample): void {
    const local = sample.at + SHANGHAI_OFFSET_MS;
    const day = Math.floor(local / DAY_MS);
    const slot = this.vms.get(sample.vm);
    let acc: DayAccumulator;
    if (slot !== undefined && slot.day === day) acc = slot.acc;
    else acc = this.dayOf(sample.vm, day, slot);

    const cpu = sample.cpu;
    const mem = sample.mem;
    const timeOfDay = local - day * DAY_MS;
    if (timeOfDay >= WINDOW_FROM_MS && timeOfDay < WINDOW_TO_MS) {
      acc.cpuSumDay += cpu;
      acc.cpuCountDay++;
      acc.memSumDay += mem;
      acc.memCountDay++;
    }
    if (cpu > acc.cpuPeak) acc.cpuPeak = cpu;
    if (mem > acc.memPeak) acc.memPeak = mem;
    acc.samples++;
    const used = sample.diskUsedGb;
    const alloc = sample.diskAllocGb;
    if (used !== undefined && alloc !== undefined && (acc.diskAt === null || sample.at >= acc.diskAt)) {
      acc.diskUsedGb = used;
      acc.diskAllocGb = alloc;
      acc.diskAt = sample.at;
    }
  }

  /** The accumulators so far (ordered by VM, then date), and forget them. */
  drain(): DayAccumulator[] {
    const out: DayAccumulator[] = [];
    for (const slot of this.vms.values()) for (const acc of slot.days.values()) out.push(acc);
    this.vms = new Map();
    this.open = 0;
    return out.sort((a, b) => (a.vm < b.vm ? -1 : a.vm > b.vm ? 1 : a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  }

  // The slow path: a new VM, or a day other than the VM's last one.
  private dayOf(vm: string, day: number, slot: VmSlot | undefined): DayAccumulator {
    let acc = slot?.days.get(day);
    if (acc === undefined) {
      acc = emptyDay(vm, fromEpochDay(day));
      this.open++;
    }
    if (slot === undefined) this.vms.set(vm, { day, acc, days: new Map([[day, acc]]) });
    else {
      slot.days.set(day, acc);
      slot.day = day;
      slot.acc = acc;
    }
    return acc;
  }
}

function emptyDay(vm: string, date: string): DayAccumulator {
  // Peaks start at -Infinity and are replaced by the first sample: an accumulator is only ever created for one.
  return {
    vm,
    date,
    cpuSumDay: 0,
    cpuCountDay: 0,
    memSumDay: 0,
    memCountDay: 0,
    cpuPeak: Number.NEGATIVE_INFINITY,
    memPeak: Number.NEGATIVE_INFINITY,
    samples: 0,
    diskUsedGb: null,
    diskAllocGb: null,
    diskAt: null,
  };
}

/**
 * Two accumulators of the same VM and day as one: sums and counts add, peaks take the larger, the disk reading
 * is the later one (b's on equal timestamps, as if b's samples had been added after a's). Throws RangeError
 * for different VMs or dates. Neither argument is modified.
 */
export function mergeDays(a: DayAccumulator, b: DayAccumulator): DayAccumulator {
  if (a.vm !== b.vm || a.date !== b.date) {
    throw new RangeError(`mergeDays: ${a.vm} ${a.date} and ${b.vm} ${b.date} are not the same VM-day`);
  }
  const disk = b.diskAt !== null && (a.diskAt === null || b.diskAt >= a.diskAt) ? b : a;
  return {
    vm: a.vm,
    date: a.date,
    cpuSumDay: a.cpuSumDay + b.cpuSumDay,
    cpuCountDay: a.cpuCountDay + b.cpuCountDay,
    memSumDay: a.memSumDay + b.memSumDay,
    memCountDay: a.memCountDay + b.memCountDay,
    cpuPeak: Math.max(a.cpuPeak, b.cpuPeak),
    memPeak: Math.max(a.memPeak, b.memPeak),
    samples: a.samples + b.samples,
    diskUsedGb: disk.diskUsedGb,
    diskAllocGb: disk.diskAllocGb,
    diskAt: disk.diskAt,
  };
}

/** One VM-day as the rules read it (percentages 0–100, GB). */
export interface DailyFigures {
  vm: string;
  date: string;
  cpuAvg: number | null;
  cpuPeak: number;
  memAvg: number | null;
  memPeak: number;
  diskUsedGb: number | null;
  diskAllocGb: number | null;
  samples: number;
}

/** Averages over the 08:00–20:00 samples; null when there were none (e.g. a day with night samples only). */
export function figuresOf(d: DayAccumulator): DailyFigures {
  return {
    vm: d.vm,
    date: d.date,
    cpuAvg: d.cpuCountDay > 0 ? d.cpuSumDay / d.cpuCountDay : null,
    cpuPeak: d.cpuPeak,
    memAvg: d.memCountDay > 0 ? d.memSumDay / d.memCountDay : null,
    memPeak: d.memPeak,
    diskUsedGb: d.diskUsedGb,
    diskAllocGb: d.diskAllocGb,
    samples: d.samples,
  };
}
