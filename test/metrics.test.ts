import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { vmDailyMetrics } from "../db/schema";
import { shanghaiInstant } from "../src/core/calendar";
import { importMetricsFile } from "../src/metrics/import";
import { createTestApp, ok, type TestApp } from "./app-harness";

// Utilisation through the real import paths (file and API push) into daily rows, and read back with the
// 004 第十九条 / 第四十八条 rules applied.
let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), "yunshen-metrics-"));
const at = (date: string, time: string) => Math.floor(shanghaiInstant(date, time).getTime() / 1000);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A CSV of samples: for each day, the given (time, cpu, mem) readings and a disk reading at 23:00. */
function csv(vm: string, days: string[], readings: [string, number, number][], disk: [number, number] = [100, 200]) {
  const lines = ["vm,time,cpu,mem,disk_used_gb,disk_alloc_gb"];
  for (const d of days) {
    for (const [time, cpu, mem] of readings) lines.push(`${vm},${at(d, time)},${cpu},${mem},,`);
    lines.push(`${vm},${at(d, "23:00")},0,0,${disk[0]},${disk[1]}`);
  }
  return lines.join("\n") + "\n";
}

const push = (user: string, samples: unknown[], key?: string) =>
  t.call(user, "POST", "/api/metrics", { samples }, key ? { "Idempotency-Key": key } : {});

describe("utilisation", () => {
  test("a file reduces to daily figures: 08:00–20:00 averages, whole-day peaks, the day's last disk reading", async () => {
    const file = join(dir, "week.csv");
    // Monday to Friday 2026-11-16..20: a 95% spike at 03:00 counts for the peak, not the average.
    writeFileSync(file, csv("vm-web-01", ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"], [["03:00", 95, 30], ["09:00", 50, 60], ["19:59", 70, 40], ["20:00", 10, 10]]));
    const r = await importMetricsFile({ ctx: t.ctx(), input: { path: file } });
    expect(r).toEqual({ samples: 25, vms: 1, days: 5 });
    const view = ok(await t.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01?from=2026-11-16&to=2026-11-20"));
    expect(view.days).toHaveLength(5);
    expect(view.days[0]).toMatchObject({ date: "2026-11-16", cpuAvg: 60, cpuPeak: 95, memAvg: 50, memPeak: 60, diskUsedGb: 100, diskAllocGb: 200 });

    // The same file again would count every sample twice: refused, nothing changes.
    await expect(importMetricsFile({ ctx: t.ctx(), input: { path: file } })).rejects.toThrow("已导入过");
    const [row] = await t.db.select().from(vmDailyMetrics).where(eq(vmDailyMetrics.date, "2026-11-16"));
    expect(row!.samples).toBe(5);
  });

  test("a file with bad rows changes nothing and names them", async () => {
    const file = join(dir, "bad.csv");
    writeFileSync(
      file,
      [
        "vm,time,cpu,mem",
        `vm-x,${at("2026-11-16", "09:00")},101,5`,
        "vm-x,yesterday,5,5",
        `bad vm,${at("2026-11-16", "09:00")},5,5`,
        "vm-x,2026-02-30T10:00:00+08:00,5,5", // no such day (Date.parse would roll it to 03-02)
        "vm-x,2026-02-10T24:00:00+08:00,5,5",
        `vm-x,${at("2026-11-16", "10:00")},5,5`,
      ].join("\n"),
    );
    const err = await importMetricsFile({ ctx: t.ctx(), input: { path: file } }).catch((e) => e);
    expect(err.message).toBe("5 行有误，未导入任何数据");
    expect(Object.keys(err.fields)).toEqual(["第 2 行", "第 3 行", "第 4 行", "第 5 行", "第 6 行"]);
    expect(await t.db.select().from(vmDailyMetrics).where(eq(vmDailyMetrics.vm, "vm-x"))).toEqual([]);
    await expect(importMetricsFile({ ctx: t.ctx(), input: { path: join(dir, "missing.csv") } })).rejects.toThrow("无法读取文件");
  });

  test("the monitoring pushes batches with a key; a retried batch is refused, not counted twice", async () => {
    const samples = [
      { vm: "vm-db-01", time: "2026-11-16T09:00:00+08:00", cpu: 80, mem: 45 },
      { vm: "vm-db-01", time: "2026-11-16T10:00:00+08:00", cpu: 40, mem: 45, diskUsedGb: 130, diskAllocGb: 200 },
    ];
    expect(ok(await push("xufeng", samples, "batch-1"), 201)).toEqual({ samples: 2, vms: 1, days: 1 });
    expect((await push("xufeng", samples, "batch-1")).status).toBe(409);
    expect((await push("xufeng", samples)).status).toBe(400);
    expect((await push("yangfan", samples, "batch-2")).status).toBe(403);
    const bad = await push("xufeng", [{ vm: "vm-db-01", time: "2026-11-16 09:00", cpu: 5, mem: 5 }], "batch-3");
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields["samples[0]"]).toBeDefined();
    ok(await push("xufeng", [{ vm: "vm-db-01", time: "2026-11-16T11:00:00+08:00", cpu: 60, mem: 45 }], "batch-4"), 201);
    const day = ok(await t.call("guojun", "GET", "/api/metrics/vms/vm-db-01?from=2026-11-16&to=2026-11-16")).days[0];
    expect(day).toMatchObject({ cpuAvg: 60, cpuPeak: 80, samples: 3, diskUsedGb: 130 });
    expect((await t.call("yangfan", "GET", "/api/metrics/vms/vm-db-01?from=2026-11-16&to=2026-11-16")).status).toBe(403);
  });

  test("a batch of the documented 20,000 samples, with ISO times and disk readings, is taken whole; one more is refused", async () => {
    const start = Date.parse("2026-10-01T00:00:00+08:00");
    const iso = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().replace(".000Z", "+08:00");
    const samples = Array.from({ length: 20_000 }, (_, i) => ({ vm: "vm-batch-0001", time: iso(start + i * 60_000), cpu: 37.5, mem: 61.25, diskUsedGb: 120.4, diskAllocGb: 200 }));
    expect(JSON.stringify({ samples }).length).toBeGreaterThan(1024 * 1024);
    expect(ok(await push("xufeng", samples, "batch-20000"), 201)).toEqual({ samples: 20_000, vms: 1, days: 14 });
    const over = await push("xufeng", [...samples, samples[0]!], "batch-20001");
    expect(over.status).toBe(400);
    expect(over.body.error.fields.samples).toBeDefined();
  });

  test("scale-up is judged on the last 5 working days, with the evidence", async () => {
    // vm-web-01's daily vCPU peaks were 95% on 2026-11-16..20; asOf Monday 2026-11-23 looks at exactly those days.
    const yes = ok(await t.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01/scale-up?kind=vm_vcpu&asOf=2026-11-23"));
    expect(yes.workdays).toEqual(["2026-11-20", "2026-11-19", "2026-11-18", "2026-11-17", "2026-11-16"]);
    expect(yes.ok).toBe(true);
    expect(yes.basis).toEqual({ key: "utilisation", text: expect.stringContaining("004 第十九条(二)") });
    // Storage is 50% used: below the 60% rule.
    const storage = ok(await t.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01/scale-up?kind=vm_storage&asOf=2026-11-23"));
    expect(storage.ok).toBe(false);
    expect(storage.reason).toContain("60");
    // A week later the days have no figures: no evidence, no scale-up.
    expect(ok(await t.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01/scale-up?kind=vm_vcpu&asOf=2026-11-30")).ok).toBe(false);
    expect((await t.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01/scale-up?kind=vm_gpu")).status).toBe(400);
    expect((await t.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01/scale-up?kind=vm_vcpu&asOf=2027-06-01")).status).toBe(422);
  });

  test("003 第二十四条(一), 000 7.2.3.1: where scale-ups are decided on a report, the check says its figures are for reference", async () => {
    for (const [profile, key, article] of [
      ["bazhong", "providerReport", "003 第二十四条(一)"],
      ["gaochuang", "usageReport", "000 7.2.3.1"],
    ] as const) {
      const other = await createTestApp({ profile });
      try {
        const answer = ok(await other.call("zhangwei", "GET", "/api/metrics/vms/vm-web-01/scale-up?kind=vm_vcpu&asOf=2026-11-23"));
        expect(answer.basis.key, profile).toBe(key);
        expect(answer.basis.text, profile).toContain(article);
        expect(answer.basis.text, profile).toContain("仅供参考");
      } finally {
        await other.close();
      }
    }
  });

  test("a month with more than 15 low-load days is low-load; 15 is not", async () => {
    const lowDays = Array.from({ length: 16 }, (_, i) => `2026-10-${String(i + 1).padStart(2, "0")}`);
    // vCPU peak 40 and average 20: low on the vCPU rule at its boundary.
    writeFileSync(join(dir, "oct.csv"), csv("vm-low-01", lowDays, [["09:00", 20, 80], ["12:00", 40, 80], ["15:00", 0, 80]]));
    writeFileSync(join(dir, "oct15.csv"), csv("vm-low-02", lowDays.slice(0, 15), [["09:00", 20, 80], ["12:00", 40, 80], ["15:00", 0, 80]]));
    await importMetricsFile({ ctx: t.ctx(), input: { path: join(dir, "oct.csv") } });
    await importMetricsFile({ ctx: t.ctx(), input: { path: join(dir, "oct15.csv") } });
    const sixteen = ok(await t.call("xufeng", "GET", "/api/metrics/vms/vm-low-01?from=2026-10-01&to=2026-10-31"));
    expect(sixteen.days[0].lowLoad).toMatchObject({ low: true, vcpu: true, memory: false });
    expect(sixteen.months).toEqual([{ month: "2026-10", lowLoadDays: 16, lowLoad: true }]);
    const fifteen = ok(await t.call("xufeng", "GET", "/api/metrics/vms/vm-low-02?from=2026-10-01&to=2026-10-31"));
    expect(fifteen.months).toEqual([{ month: "2026-10", lowLoadDays: 15, lowLoad: false }]);
    expect((await t.call("xufeng", "GET", "/api/metrics/vms/vm-low-01?from=2026-10-31&to=2026-10-01")).status).toBe(400);
  });
});
