import { describe, expect, it } from "vitest";
import { builtinSchedules, CalendarRangeError, shanghaiDate, WorkCalendar } from "../src/core/calendar";
import { DailyReducer, type DailyFigures, type DayAccumulator, figuresOf, mergeDays, type Sample } from "../src/metrics/daily";
import {
  capacityAlertDue,
  dataDiskShrink,
  expansionNoticeDue,
  lastWorkdays,
  lowLoadDay,
  lowLoadMonth,
  type ScaleKind,
  scaleUpEvidence,
  quarterPeakShrink,
  storageHeadroomMonths,
  utilisationPercent,
} from "../src/metrics/rules";
import { PROFILES } from "../profiles";

const calendar = new WorkCalendar(builtinSchedules());
// Each profile's module holds the numbers; these tests check the rules with the modules' own.
const { scaleUp, lowLoad } = PROFILES.meizhou.thresholds;
const bazhong = PROFILES.bazhong.thresholds;

/** Epoch ms of a Shanghai local time "YYYY-MM-DDTHH:MM". */
const local = (time: string) => Date.parse(`${time}:00+08:00`);

const sample = (vm: string, time: string, cpu: number, mem: number, disk?: [number, number]): Sample => ({
  vm,
  at: local(time),
  cpu,
  mem,
  ...(disk ? { diskUsedGb: disk[0], diskAllocGb: disk[1] } : {}),
});

function reduce(samples: Sample[]): DayAccumulator[] {
  const r = new DailyReducer();
  for (const s of samples) r.add(s);
  return r.drain();
}

function day(date: string, f: Partial<DailyFigures> = {}): DailyFigures {
  return {
    vm: "vm-1",
    date,
    cpuAvg: 10,
    cpuPeak: 10,
    memAvg: 10,
    memPeak: 10,
    diskUsedGb: null,
    diskAllocGb: null,
    samples: 1440,
    ...f,
  };
}

// The 5 working days before 2026-10-09, newest first (National Day 10-01..07, 中秋 09-25..27 off).
const FIVE = ["2026-10-08", "2026-09-30", "2026-09-29", "2026-09-28", "2026-09-24"];
const five = (f: Partial<DailyFigures>) => FIVE.map((d) => day(d, f));

describe("DailyReducer", () => {
  it("averages the samples in [08:00, 20:00) Shanghai time only", () => {
    const s = [
      sample("vm-1", "2026-10-08T07:59", 10, 1),
      sample("vm-1", "2026-10-08T08:00", 20, 2),
      sample("vm-1", "2026-10-08T19:59", 30, 3),
      sample("vm-1", "2026-10-08T20:00", 40, 4),
    ];
    // The same instants in UTC: 23:59 the day before, 00:00, 11:59, 12:00.
    expect(s.map((x) => x.at)).toEqual(
      ["2026-10-07T23:59:00Z", "2026-10-08T00:00:00Z", "2026-10-08T11:59:00Z", "2026-10-08T12:00:00Z"].map(Date.parse),
    );
    const [acc, ...rest] = reduce(s);
    expect(rest).toEqual([]);
    expect(acc).toMatchObject({ vm: "vm-1", date: "2026-10-08", cpuSumDay: 50, cpuCountDay: 2, memSumDay: 5, memCountDay: 2, samples: 4 });
    const f = figuresOf(acc!);
    expect(f.cpuAvg).toBe(25);
    expect(f.memAvg).toBe(2.5);
  });

  it("splits days at Shanghai midnight (16:00 UTC)", () => {
    const days = reduce([
      { vm: "vm-1", at: Date.parse("2026-10-08T15:59:59.999Z"), cpu: 1, mem: 1 },
      { vm: "vm-1", at: Date.parse("2026-10-08T16:00:00.000Z"), cpu: 2, mem: 2 },
    ]);
    expect(days.map((d) => [d.date, d.cpuPeak, d.samples])).toEqual([
      ["2026-10-08", 1, 1],
      ["2026-10-09", 2, 1],
    ]);
  });

  it("agrees with shanghaiDate on arbitrary instants", () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const at = Math.floor(Date.parse("2024-01-01T00:00:00Z") + rand() * 3 * 365 * 86_400_000);
      const [acc] = reduce([{ vm: "v", at, cpu: 1, mem: 1 }]);
      expect(acc!.date).toBe(shanghaiDate(new Date(at)));
      const minutes = Math.floor(((at + 8 * 3_600_000) % 86_400_000) / 60_000);
      expect(acc!.cpuCountDay).toBe(minutes >= 480 && minutes < 1200 ? 1 : 0);
    }
  });

  it("takes peaks over the whole day, and averages null without daytime samples", () => {
    const [acc] = reduce([
      sample("vm-1", "2026-10-08T00:00", 95, 12),
      sample("vm-1", "2026-10-08T12:00", 30, 88),
      sample("vm-1", "2026-10-08T23:59", 50, 99),
    ]);
    expect(figuresOf(acc!)).toEqual({
      vm: "vm-1",
      date: "2026-10-08",
      cpuAvg: 30,
      cpuPeak: 95,
      memAvg: 88,
      memPeak: 99,
      diskUsedGb: null,
      diskAllocGb: null,
      samples: 3,
    });
    const [night] = reduce([sample("vm-1", "2026-10-08T03:00", 5, 6)]);
    expect(figuresOf(night!)).toMatchObject({ cpuAvg: null, memAvg: null, cpuPeak: 5, memPeak: 6 });
  });

  it("keeps the latest disk reading of the day, whatever the order of arrival", () => {
    const [acc] = reduce([
      sample("vm-1", "2026-10-08T10:00", 1, 1, [150, 200]),
      sample("vm-1", "2026-10-08T09:00", 1, 1, [100, 200]),
      sample("vm-1", "2026-10-08T11:00", 1, 1),
    ]);
    expect(acc).toMatchObject({ diskUsedGb: 150, diskAllocGb: 200, diskAt: local("2026-10-08T10:00") });
    const [none] = reduce([sample("vm-1", "2026-10-08T10:00", 1, 1)]);
    expect(none).toMatchObject({ diskUsedGb: null, diskAllocGb: null, diskAt: null });
  });

  it("merges two partial accumulators into what one accumulator over all samples gives", () => {
    const all: Sample[] = [];
    for (let m = 0; m < 1440; m += 7) {
      const hh = String(Math.floor(m / 60)).padStart(2, "0");
      const mm = String(m % 60).padStart(2, "0");
      all.push(sample("vm-1", `2026-10-08T${hh}:${mm}`, (m * 37) % 101, (m * 53) % 97, m % 5 === 0 ? [m, 2000] : undefined));
    }
    const whole = reduce(all)[0]!;
    // Interleaved halves, so that both parts hold disk readings and the later one is in either.
    const a = reduce(all.filter((_, i) => i % 3 === 0))[0]!;
    const b = reduce(all.filter((_, i) => i % 3 !== 0))[0]!;
    const aCopy = { ...a };
    for (const merged of [mergeDays(a, b), mergeDays(b, a)]) {
      expect({ ...merged, cpuSumDay: 0, memSumDay: 0 }).toEqual({ ...whole, cpuSumDay: 0, memSumDay: 0 });
      expect(merged.cpuSumDay).toBeCloseTo(whole.cpuSumDay, 9);
      expect(merged.memSumDay).toBeCloseTo(whole.memSumDay, 9);
    }
    expect(a).toEqual(aCopy);
    expect(figuresOf(mergeDays(a, b)).cpuAvg).toBeCloseTo(figuresOf(whole).cpuAvg!, 9);
    // One part without disk data keeps the other's.
    const noDisk = reduce([sample("vm-1", "2026-10-08T23:00", 1, 1)])[0]!;
    expect(mergeDays(whole, noDisk)).toMatchObject({ diskUsedGb: whole.diskUsedGb, diskAt: whole.diskAt });
    expect(mergeDays(noDisk, whole)).toMatchObject({ diskUsedGb: whole.diskUsedGb, diskAt: whole.diskAt });
  });

  it("refuses to merge different VM-days", () => {
    const [a] = reduce([sample("vm-1", "2026-10-08T10:00", 1, 1)]);
    const [b] = reduce([sample("vm-2", "2026-10-08T10:00", 1, 1)]);
    const [c] = reduce([sample("vm-1", "2026-10-09T10:00", 1, 1)]);
    expect(() => mergeDays(a!, b!)).toThrow(RangeError);
    expect(() => mergeDays(a!, c!)).toThrow(RangeError);
  });

  it("keeps many interleaved VMs and days apart, and drains sorted", () => {
    const vms = Array.from({ length: 40 }, (_, i) => `vm-${String(i).padStart(2, "0")}`);
    const expected = new Map<string, { cpuSum: number; n: number; peak: number; samples: number }>();
    const r = new DailyReducer();
    const start = local("2026-10-07T00:00");
    // Every 10 minutes over 3 days, all VMs at each minute (interleaved), plus day 1 revisited at the end.
    const feed = (at: number, vi: number) => {
      const vm = vms[vi]!;
      const cpu = (vi * 7 + at / 60_000) % 100;
      r.add({ vm, at, cpu, mem: 100 - cpu });
      const date = shanghaiDate(new Date(at));
      const key = `${vm} ${date}`;
      const e = expected.get(key) ?? { cpuSum: 0, n: 0, peak: -1, samples: 0 };
      const minutes = (at - local(`${date}T00:00`)) / 60_000;
      if (minutes >= 480 && minutes < 1200) {
        e.cpuSum += cpu;
        e.n++;
      }
      e.peak = Math.max(e.peak, cpu);
      e.samples++;
      expected.set(key, e);
    };
    for (let t = start; t < start + 3 * 86_400_000; t += 600_000) vms.forEach((_, vi) => feed(t, vi));
    for (let vi = 0; vi < vms.length; vi++) feed(local("2026-10-07T12:05"), vi);
    expect(r.size).toBe(vms.length * 3);
    const days = r.drain();
    expect(r.size).toBe(0);
    expect(r.drain()).toEqual([]);
    expect(days).toHaveLength(vms.length * 3);
    const order = days.map((d) => `${d.vm} ${d.date}`);
    expect(order).toEqual([...order].sort());
    for (const d of days) {
      const e = expected.get(`${d.vm} ${d.date}`)!;
      expect(d.samples).toBe(e.samples);
      expect(d.cpuCountDay).toBe(e.n);
      expect(d.cpuSumDay).toBeCloseTo(e.cpuSum, 6);
      expect(d.cpuPeak).toBe(e.peak);
    }
    expect(days.filter((d) => d.date === "2026-10-07").every((d) => d.samples === 145)).toBe(true);
  });
});

describe("scale-up evidence (004 第十九条(二))", () => {
  const cases: { kind: ScaleKind; field: "cpuPeak" | "memPeak"; min: number }[] = [
    { kind: "vm_vcpu", field: "cpuPeak", min: 60 },
    { kind: "vm_memory", field: "memPeak", min: 40 },
    { kind: "container_vcpu", field: "cpuPeak", min: 60 },
  ];
  for (const { kind, field, min } of cases) {
    it(`${kind}: every one of the 5 days ≥ ${min}%`, () => {
      expect(scaleUpEvidence(kind, five({ [field]: min }), scaleUp).ok).toBe(true);
      expect(scaleUpEvidence(kind, five({ [field]: min + 0.01 }), scaleUp).ok).toBe(true);
      expect(scaleUpEvidence(kind, five({ [field]: min - 0.01 }), scaleUp).ok).toBe(false);
      // One day below fails, however high the others.
      const days = five({ [field]: 99 });
      days[3] = day(FIVE[3]!, { [field]: min - 0.01 });
      const e = scaleUpEvidence(kind, days, scaleUp);
      expect(e.ok).toBe(false);
      expect(e.figures).toHaveLength(5);
      expect(e.figures[3]).toEqual({ date: FIVE[3], value: min - 0.01, metric: field, ok: false });
      expect(e.reason).toContain(`${FIVE[3]} ${min - 0.01}%`);
      expect(e.reason).toContain("不符合扩容条件");
      expect(e.threshold).toContain(`≥ ${min}%`);
    });
  }

  it("a missing day, or fewer than 5 days, fails", () => {
    const days: (DailyFigures | null)[] = five({ cpuPeak: 90 });
    days[2] = null;
    const e = scaleUpEvidence("vm_vcpu", days, scaleUp);
    expect(e.ok).toBe(false);
    expect(e.figures[2]).toEqual({ date: null, value: null, metric: "cpuPeak", ok: false });
    expect(e.reason).toContain("第 3 个工作日无数据");
    expect(scaleUpEvidence("vm_vcpu", five({ cpuPeak: 90 }).slice(0, 4), scaleUp).ok).toBe(false);
    expect(scaleUpEvidence("vm_vcpu", [], scaleUp).ok).toBe(false);
    const ok = scaleUpEvidence("vm_vcpu", five({ cpuPeak: 90 }), scaleUp);
    expect(ok.ok).toBe(true);
    expect(ok.reason).toBe(
      "虚拟机 vCPU 扩容：前 5 个工作日的 vCPU 峰值使用率为 2026-10-08 90%、2026-09-30 90%、2026-09-29 90%、2026-09-28 90%、2026-09-24 90%，每天 vCPU 峰值使用率不低于 60%，符合扩容条件。",
    );
  });

  it("paas_compute: each day's average ≥ 40% and peak ≥ 60%", () => {
    expect(scaleUpEvidence("paas_compute", five({ cpuAvg: 40, cpuPeak: 60 }), scaleUp).ok).toBe(true);
    expect(scaleUpEvidence("paas_compute", five({ cpuAvg: 40.01, cpuPeak: 60.01 }), scaleUp).ok).toBe(true);
    expect(scaleUpEvidence("paas_compute", five({ cpuAvg: 39.99, cpuPeak: 90 }), scaleUp).ok).toBe(false);
    expect(scaleUpEvidence("paas_compute", five({ cpuAvg: 90, cpuPeak: 59.99 }), scaleUp).ok).toBe(false);
    expect(scaleUpEvidence("paas_compute", five({ cpuAvg: null, cpuPeak: 90 }), scaleUp).ok).toBe(false);
    const e = scaleUpEvidence("paas_compute", five({ cpuAvg: 45, cpuPeak: 70 }), scaleUp);
    expect(e.figures).toHaveLength(10);
    expect(e.figures.filter((f) => f.metric === "cpuAvg").map((f) => f.value)).toEqual([45, 45, 45, 45, 45]);
    expect(e.reason).toContain("CPU 平均使用率为 2026-10-08 45%");
    expect(e.reason).toContain("CPU 峰值使用率为 2026-10-08 70%");
  });

  for (const kind of ["vm_storage", "paas_storage"] as const) {
    it(`${kind}: the latest day's used / allocated ≥ 60%`, () => {
      const at = (used: number, alloc = 500) => [day(FIVE[0]!, { diskUsedGb: used, diskAllocGb: alloc }), ...five({}).slice(1)];
      const exact = scaleUpEvidence(kind, at(300), scaleUp);
      expect(exact.ok).toBe(true);
      expect(exact.figures).toEqual([{ date: "2026-10-08", value: 60, metric: "storage", ok: true }]);
      expect(exact.reason).toContain("60%（已用 300 GB / 已分配 500 GB）");
      expect(scaleUpEvidence(kind, at(300.01), scaleUp).ok).toBe(true);
      const below = scaleUpEvidence(kind, at(299.99), scaleUp);
      expect(below.ok).toBe(false);
      expect(below.reason).toContain("59.998%");
      expect(scaleUpEvidence(kind, at(6, 10), scaleUp).ok).toBe(true);
      // Only the latest day counts: an older full disk does not help, nor does a missing latest day.
      const older = five({ diskUsedGb: 490, diskAllocGb: 500 });
      older[0] = day(FIVE[0]!, { diskUsedGb: 100, diskAllocGb: 500 });
      expect(scaleUpEvidence(kind, older, scaleUp).ok).toBe(false);
      expect(scaleUpEvidence(kind, [null, ...five({ diskUsedGb: 490, diskAllocGb: 500 }).slice(1)], scaleUp).ok).toBe(false);
      const noDisk = scaleUpEvidence(kind, five({}), scaleUp);
      expect(noDisk.ok).toBe(false);
      expect(noDisk.figures).toEqual([{ date: "2026-10-08", value: null, metric: "storage", ok: false }]);
    });
  }

  it("refuses more than 5 days, days out of order, or of different VMs", () => {
    expect(() => scaleUpEvidence("vm_vcpu", [...five({}), day("2026-09-23")], scaleUp)).toThrow(RangeError);
    expect(() => scaleUpEvidence("vm_vcpu", [...five({})].reverse(), scaleUp)).toThrow(RangeError);
    expect(() => scaleUpEvidence("vm_vcpu", [day(FIVE[0]!), day(FIVE[1]!, { vm: "vm-2" })], scaleUp)).toThrow(RangeError);
  });

  it("does not show a figure rounded across the threshold", () => {
    const e = scaleUpEvidence("vm_vcpu", five({ cpuPeak: 59.999 }), scaleUp);
    expect(e.ok).toBe(false);
    expect(e.reason).toContain("59.999%");
    expect(scaleUpEvidence("vm_vcpu", five({ cpuPeak: 61.23456 }), scaleUp).reason).toContain("61.23%");
  });
});

describe("low load (004 第十九条(三))", () => {
  const vcpu = (cpuPeak: number, cpuAvg: number | null) => lowLoadDay(day("2026-10-08", { cpuPeak, cpuAvg, memAvg: 90 }), null, lowLoad);
  it("vCPU: peak ≤ 40 and average ≤ 20", () => {
    expect(vcpu(40, 20)).toEqual({ low: true, vcpu: true, memory: false, storage: false });
    expect(vcpu(39.99, 19.99).vcpu).toBe(true);
    expect(vcpu(40.01, 10).vcpu).toBe(false);
    expect(vcpu(10, 20.01).vcpu).toBe(false);
    expect(vcpu(40.01, 20.01).low).toBe(false);
    expect(vcpu(10, null).vcpu).toBe(false);
  });

  it("memory: average ≤ 50", () => {
    const mem = (memAvg: number | null) => lowLoadDay(day("2026-10-08", { cpuPeak: 90, cpuAvg: 90, memAvg }), null, lowLoad);
    expect(mem(50)).toEqual({ low: true, vcpu: false, memory: true, storage: false });
    expect(mem(49.99).memory).toBe(true);
    expect(mem(50.01)).toEqual({ low: false, vcpu: false, memory: false, storage: false });
    expect(mem(null).memory).toBe(false);
  });

  it("storage: more than 12 months of headroom", () => {
    const busy = day("2026-10-08", { cpuPeak: 90, cpuAvg: 90, memAvg: 90 });
    expect(lowLoadDay(busy, 12, lowLoad).storage).toBe(false);
    expect(lowLoadDay(busy, 11.99, lowLoad).storage).toBe(false);
    expect(lowLoadDay(busy, 12.01, lowLoad)).toEqual({ low: true, vcpu: false, memory: false, storage: true });
    expect(lowLoadDay(busy, Number.POSITIVE_INFINITY, lowLoad).storage).toBe(true);
    expect(lowLoadDay(busy, null, lowLoad).storage).toBe(false);
  });

  it("any one part makes the day low-load", () => {
    expect(lowLoadDay(day("2026-10-08", { cpuPeak: 10, cpuAvg: 5, memAvg: 10 }), 24, lowLoad)).toEqual({
      low: true,
      vcpu: true,
      memory: true,
      storage: true,
    });
  });

  it("a month is low-load with more than 15 low-load days", () => {
    expect(lowLoad.daysPerMonth).toBe(15);
    expect(lowLoadMonth(15, lowLoad)).toBe(false);
    expect(lowLoadMonth(16, lowLoad)).toBe(true);
    expect(lowLoadMonth(0, lowLoad)).toBe(false);
    expect(lowLoadMonth(31, lowLoad)).toBe(true);
  });

  it("from samples to a low-load verdict", () => {
    const samples: Sample[] = [];
    for (let h = 0; h < 24; h++) samples.push(sample("vm-1", `2026-10-08T${String(h).padStart(2, "0")}:30`, h === 3 ? 40 : 20, 80));
    const f = figuresOf(reduce(samples)[0]!);
    expect(f).toMatchObject({ cpuAvg: 20, cpuPeak: 40, memAvg: 80 });
    expect(lowLoadDay(f, null, lowLoad)).toEqual({ low: true, vcpu: true, memory: false, storage: false });
  });
});

describe("storageHeadroomMonths", () => {
  const series = (used: (i: number) => number | null, n = 31, alloc = 1000) =>
    Array.from({ length: n }, (_, i) => {
      const u = used(i);
      const date = new Date(Date.parse("2026-09-01T00:00:00Z") + i * 86_400_000).toISOString().slice(0, 10);
      return day(date, { diskUsedGb: u, diskAllocGb: u === null ? null : alloc });
    });

  it("is Infinity for a flat or shrinking series", () => {
    expect(storageHeadroomMonths(series(() => 400))).toBe(Number.POSITIVE_INFINITY);
    expect(storageHeadroomMonths(series((i) => 400 - i))).toBe(Number.POSITIVE_INFINITY);
  });

  it("divides the free space by the growth per 30 days", () => {
    // 10 GB a day = 300 GB a month; 1000 - 400 = 600 GB free → 2 months.
    expect(storageHeadroomMonths(series((i) => 100 + 10 * i))).toBeCloseTo(2, 9);
    // 1 GB a day = 30 a month; 1000 - 130 = 870 free → 29 months: storage part of low load holds.
    const slow = storageHeadroomMonths(series((i) => 100 + i))!;
    expect(slow).toBeCloseTo(29, 9);
    expect(lowLoadDay(day("2026-10-01", { cpuPeak: 90, cpuAvg: 90, memAvg: 90 }), slow, lowLoad).storage).toBe(true);
  });

  it("measures growth against the dates, not the positions, when readings are missing", () => {
    // Readings on 09-01 and 10-01 only (30 days apart): 100 → 400 GB, 300 a month, 600 free → 2 months.
    expect(storageHeadroomMonths(series((i) => (i === 0 ? 100 : i === 30 ? 400 : null)))).toBeCloseTo(2, 9);
  });

  it("is null without disk data or with one reading only, 0 when full", () => {
    expect(storageHeadroomMonths(series(() => null))).toBeNull();
    expect(storageHeadroomMonths([])).toBeNull();
    expect(storageHeadroomMonths(series(() => 400, 1))).toBeNull();
    expect(storageHeadroomMonths(series((i) => 900 + 10 * i, 11))).toBe(0);
  });
});

describe("lastWorkdays", () => {
  it("skips the National Day and Mid-Autumn holidays of 2026", () => {
    expect(lastWorkdays(calendar, "2026-10-09", 5)).toEqual(FIVE);
  });

  it("includes the make-up working Saturday 2026-10-10 and Sunday 2026-09-20", () => {
    expect(lastWorkdays(calendar, "2026-10-12", 5)).toEqual(["2026-10-10", "2026-10-09", "2026-10-08", "2026-09-30", "2026-09-29"]);
    expect(lastWorkdays(calendar, "2026-09-21", 2)).toEqual(["2026-09-20", "2026-09-18"]);
  });

  it("skips an ordinary weekend, and excludes asOf itself", () => {
    expect(lastWorkdays(calendar, "2026-11-16", 3)).toEqual(["2026-11-13", "2026-11-12", "2026-11-11"]);
    expect(lastWorkdays(calendar, "2026-11-13", 1)).toEqual(["2026-11-12"]);
    expect(lastWorkdays(calendar, "2026-11-16", 0)).toEqual([]);
  });

  it("throws CalendarRangeError when it has to leave the loaded years", () => {
    expect(() => lastWorkdays(calendar, "2024-01-03", 5)).toThrow(CalendarRangeError);
    // Only the days before asOf are looked at: 2027-01-01 is outside, but its previous working day is not.
    expect(lastWorkdays(calendar, "2027-01-01", 1)).toEqual(["2026-12-31"]);
    expect(() => lastWorkdays(calendar, "2027-01-04", 1)).toThrow(CalendarRangeError);
    expect(() => lastWorkdays(calendar, "2026-11-16", -1)).toThrow(RangeError);
    expect(() => lastWorkdays(calendar, "2026-11-16", 1.5)).toThrow(RangeError);
  });
});

describe("巴中 (003 第二十四条) and 徽州 (001 第十九条)", () => {
  it("巴中 expands above 70%", () => {
    expect(expansionNoticeDue(70, bazhong.expansionNoticeAbove)).toBe(false);
    expect(expansionNoticeDue(70.01, bazhong.expansionNoticeAbove)).toBe(true);
    expect(expansionNoticeDue(69.99, bazhong.expansionNoticeAbove)).toBe(false);
    expect(expansionNoticeDue(utilisationPercent(700, 1000), bazhong.expansionNoticeAbove)).toBe(false);
    expect(expansionNoticeDue(utilisationPercent(701, 1000), bazhong.expansionNoticeAbove)).toBe(true);
  });

  it("巴中 shrinks when the quarter's vCPU and memory peaks are ≤ 30%", () => {
    const q = (cpu: number, mem: number) => [day("2026-07-01", { cpuPeak: 10, memPeak: 10 }), day("2026-08-15", { cpuPeak: cpu, memPeak: mem })];
    expect(quarterPeakShrink(q(30, 30), bazhong.periodShrink)).toEqual({ shrink: true, vcpu: true, memory: true, vcpuPeak: 30, memPeak: 30, days: 2 });
    expect(quarterPeakShrink(q(29.99, 29.99), bazhong.periodShrink).shrink).toBe(true);
    expect(quarterPeakShrink(q(30.01, 30), bazhong.periodShrink)).toMatchObject({ shrink: false, vcpu: false, memory: true });
    expect(quarterPeakShrink(q(30, 30.01), bazhong.periodShrink)).toMatchObject({ shrink: false, vcpu: true, memory: false });
    expect(quarterPeakShrink([], bazhong.periodShrink)).toMatchObject({ shrink: false, vcpuPeak: null, memPeak: null, days: 0 });
  });

  it("巴中 shrinks a data disk with more than 500 GB free all year", () => {
    const year = (minFree: number) => [
      day("2026-01-05", { diskUsedGb: 100, diskAllocGb: 2000 }),
      day("2026-06-01", { diskUsedGb: 2000 - minFree, diskAllocGb: 2000 }),
      day("2026-12-01", { diskUsedGb: null, diskAllocGb: null }),
    ];
    expect(dataDiskShrink(year(500.01), bazhong.periodShrink)).toEqual({ shrink: true, minFreeGb: 500.01, readings: 2 });
    expect(dataDiskShrink(year(500), bazhong.periodShrink).shrink).toBe(false);
    expect(dataDiskShrink(year(499.99), bazhong.periodShrink).shrink).toBe(false);
    expect(dataDiskShrink([day("2026-01-05")], bazhong.periodShrink)).toEqual({ shrink: false, minFreeGb: null, readings: 0 });
  });

  it("徽州 alerts at 70% of capacity", () => {
    expect(capacityAlertDue(70, PROFILES.huizhou.thresholds.capacityAlertAt)).toBe(true);
    expect(capacityAlertDue(69.99, PROFILES.huizhou.thresholds.capacityAlertAt)).toBe(false);
    expect(capacityAlertDue(70.01, PROFILES.huizhou.thresholds.capacityAlertAt)).toBe(true);
    expect(capacityAlertDue(utilisationPercent(7, 10), PROFILES.huizhou.thresholds.capacityAlertAt)).toBe(true);
    expect(() => utilisationPercent(1, 0)).toThrow(RangeError);
  });
});
