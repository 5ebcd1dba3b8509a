import { once } from "node:events";
import { createReadStream, createWriteStream, rmSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { and, asc, eq, gte, lte } from "drizzle-orm";
import type { Database } from "../db/client";
import { vmDailyMetrics } from "../db/schema";
import { addCalendarDays, builtinSchedules, WorkCalendar } from "../src/core/calendar";
import { systemClock, type ServiceContext } from "../src/core/context";
import { importMetricsFile } from "../src/metrics/import";
import { lowLoadMonth } from "../src/metrics/rules";
import { PROFILES } from "../profiles";
import { vmUtilisation } from "../src/metrics/views";
import { runWhenMain } from "./drive";

// Utilisation ingest: one month of per-minute samples for 1,000 VMs (1,000 × 30 days × 1,440 minutes = 43.2
// million samples, ~1.3 GB of CSV generated here into a temp dir and removed afterwards), imported with
// importMetricsFile (read, parse, validate, hash, reduce to daily figures, store the days), against reading the
// same file line by line the way the import does and nothing else. Samples per second and peak RSS for both,
// as ratios. Then every VM's month classified with vmUtilisation, against selecting the same days per VM.
// The samples are never stored one row each: the database receives one row per VM and day.
//
// BENCH_METRICS_VMS and BENCH_METRICS_DAYS scale it down for a quick run (defaults 1000 and 30). Generating
// the file is not a measured figure.

const START_DATE = "2026-10-01"; // Asia/Shanghai; the file starts at its midnight
const MONTH = START_DATE.slice(0, 7);
const CLASSIFY_TO = "2026-10-31";
const MINUTES_PER_DAY = 1440;
const MEMORY_SAMPLE_MS = 100;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mb = (bytes: number) => `${fmt(bytes / 1e6)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function envCount(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} should be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Peak RSS and heapUsed, sampled every 100 ms until stopped, and RSS when it started. */
function watchMemory() {
  const startRss = process.memoryUsage.rss();
  let rss = 0;
  let heapUsed = 0;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > rss) rss = m.rss;
    if (m.heapUsed > heapUsed) heapUsed = m.heapUsed;
  };
  sample();
  const timer = setInterval(sample, MEMORY_SAMPLE_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { startRss, rss, heapUsed };
    },
  };
}

// The VMs' load patterns, by index % 4:
//   idle:   vCPU 2–15 %, memory 25–45 %, disk flat → low-load every day.
//   busy:   vCPU 30–90 %, memory 55–85 %, disk filling in months → never low-load.
//   office: vCPU 25–85 % from 08:00 to 20:00 and 2–10 % at night, memory 52–80 % → never low-load.
//   mixed:  each day quiet (vCPU 5–25 %, memory 30–60 %: low-load) or loud (vCPU 10–70 %, memory 50–80 %),
//           quiet with a probability from 0 to 1 that differs between VMs, so some months are low-load.
// Busy, office and mixed VMs fill their disks fast enough (free space for < 12 months) that storage never
// makes their days low-load. Values are written in tenths: one decimal, as monitoring exports do.
const IDLE = 0;
const BUSY = 1;
const OFFICE = 2;
const MIXED = 3;

interface Generated {
  path: string;
  bytes: number;
  samples: number;
  /** The VMs whose month the rules should find low-load (more than 15 low-load days), from the patterns above. */
  lowLoadVms: number;
}

/** Writes the CSV: every VM's sample for minute 1, then minute 2, …, as a monitoring export runs in time order. */
async function generateCsv(path: string, vms: number, days: number): Promise<Generated> {
  // xorshift32: cheap, deterministic, good enough for load figures.
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const tenths = (t: number) => `${(t / 10) | 0}.${t % 10}`;

  const names = Array.from({ length: vms }, (_, i) => `vm-${String(i).padStart(4, "0")},`);
  const quiet = new Uint8Array(vms * days);
  let lowLoadVms = 0;
  for (let i = 0; i < vms; i++) {
    const pattern = i % 4;
    let lowDays = pattern === IDLE ? days : 0;
    if (pattern === MIXED) {
      const chance = ((i >> 2) % 11) * 100; // per mille: 0, 100, …, 1000
      for (let d = 0; d < days; d++) if (next() % 1000 < chance) (quiet[i * days + d] = 1), lowDays++;
    }
    if (lowLoadMonth(lowDays, PROFILES.meizhou.thresholds.lowLoad)) lowLoadVms++;
  }
  // Disk in tenths of a GB: allocated, used at the start, growth per day.
  const alloc = [100, 200, 500, 500];
  const usedAtStart = [400, 1000, 2500, 2500];
  const growthPerDay = [0, 20, 10, 10];

  const startSeconds = Date.parse(`${START_DATE}T00:00:00+08:00`) / 1000;
  const out = createWriteStream(path, { highWaterMark: 8 << 20 });
  let chunk = "vm,time,cpu,mem,disk_used_gb,disk_alloc_gb\n";
  for (let m = 0; m < days * MINUTES_PER_DAY; m++) {
    const day = (m / MINUTES_PER_DAY) | 0;
    const minuteOfDay = m % MINUTES_PER_DAY;
    const daytime = minuteOfDay >= 480 && minuteOfDay < 1200;
    const time = `${startSeconds + m * 60},`;
    for (let i = 0; i < vms; i++) {
      const pattern = i % 4;
      const r = next();
      const r1 = r & 0xffff;
      const r2 = r >>> 16;
      let cpu: number;
      let mem: number;
      if (pattern === IDLE) (cpu = 20 + (r1 % 130)), (mem = 250 + (r2 % 200));
      else if (pattern === BUSY) (cpu = 300 + (r1 % 600)), (mem = 550 + (r2 % 300));
      else if (pattern === OFFICE) (cpu = daytime ? 250 + (r1 % 600) : 20 + (r1 % 80)), (mem = 520 + (r2 % 280));
      else if (quiet[i * days + day]) (cpu = 50 + (r1 % 200)), (mem = 300 + (r2 % 300));
      else (cpu = 100 + (r1 % 600)), (mem = 500 + (r2 % 300));
      // One disk reading per VM per hour, at a minute that differs between VMs.
      const disk =
        (m + i) % 60 === 0 ? `${tenths(usedAtStart[pattern]! + Math.floor((growthPerDay[pattern]! * m) / MINUTES_PER_DAY))},${alloc[pattern]! / 10}` : ",";
      chunk += `${names[i]}${time}${tenths(cpu)},${tenths(mem)},${disk}\n`;
    }
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await finished(out);
  return { path, bytes: (await stat(path)).size, samples: vms * days * MINUTES_PER_DAY, lowLoadVms };
}

/** The baseline: the file read line by line exactly as importMetricsFile reads it, lines counted, nothing else. */
async function readLines(path: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let n = 0;
  for await (const _line of lines) n++;
  return n;
}

export async function benchMetrics(database: Database): Promise<void> {
  const vms = envCount("BENCH_METRICS_VMS", 1000, 10_000);
  const days = envCount("BENCH_METRICS_DAYS", 30, 31);
  const calendar = new WorkCalendar(builtinSchedules());
  const ctx: ServiceContext = { db: database.db, clock: systemClock, calendar, profile: "meizhou", actor: null, channel: "cli" };

  const dir = await mkdtemp(join(tmpdir(), "yunshen-bench-metrics-"));
  // try/finally does not run on Ctrl-C, and the file is more than a gigabyte.
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const genStart = performance.now();
    const file = await generateCsv(join(dir, "samples.csv"), vms, days);
    const genMs = performance.now() - genStart;

    let memory = watchMemory();
    const readStart = performance.now();
    const lines = await readLines(file.path);
    const readMs = performance.now() - readStart;
    const readMemory = memory.stop();
    if (lines !== file.samples + 1) throw new Error(`read ${lines} lines, expected ${file.samples + 1}`);

    memory = watchMemory();
    const importStart = performance.now();
    const imported = await importMetricsFile({ ctx, input: { path: file.path } });
    const importMs = performance.now() - importStart;
    const importMemory = memory.stop();
    if (imported.samples !== file.samples || imported.days !== vms * days)
      throw new Error(`imported ${imported.samples} samples into ${imported.days} days, expected ${file.samples} into ${vms * days}`);

    // Classification of every VM's month, against selecting the same days (vmUtilisation also reads the 30
    // days before `from`, for the storage headroom).
    const names = Array.from({ length: vms }, (_, i) => `vm-${String(i).padStart(4, "0")}`);
    const selectFrom = addCalendarDays(START_DATE, -30);
    const selectStart = performance.now();
    let selected = 0;
    for (const vm of names) {
      const rows = await database.db
        .select()
        .from(vmDailyMetrics)
        .where(and(eq(vmDailyMetrics.vm, vm), gte(vmDailyMetrics.date, selectFrom), lte(vmDailyMetrics.date, CLASSIFY_TO)))
        .orderBy(asc(vmDailyMetrics.date));
      selected += rows.length;
    }
    const selectMs = performance.now() - selectStart;
    const classifyStart = performance.now();
    let lowLoadMonths = 0;
    for (const vm of names) {
      const result = await vmUtilisation({ ctx, input: { vm, from: START_DATE, to: CLASSIFY_TO } });
      if (result.months.find((m) => m.month === MONTH)?.lowLoad) lowLoadMonths++;
    }
    const classifyMs = performance.now() - classifyStart;
    if (selected !== vms * days) throw new Error(`selected ${selected} days, expected ${vms * days}`);
    if (lowLoadMonths !== file.lowLoadVms) throw new Error(`${lowLoadMonths} low-load months, the generator made ${file.lowLoadVms}`);

    const readRate = (file.samples / readMs) * 1000;
    const importRate = (file.samples / importMs) * 1000;
    // RSS includes PGlite's memory (the database is open throughout), hence the RSS at the start of each phase.
    const row = (label: string, rate: number, peak: { startRss: number; rss: number; heapUsed: number }) =>
      `  ${label.padEnd(30)} ${fmt(rate).padStart(10)} samples/s   peak RSS ${mb(peak.rss).padStart(9)} (from ${mb(peak.startRss)})` +
      `   peak heap ${mb(peak.heapUsed).padStart(8)}`;
    console.log(
      `utilisation ingest (${database.kind}, ${fmt(vms)} VMs × ${days} days per minute = ${fmt(file.samples)} samples, ` +
        `${(file.bytes / 1e9).toFixed(2)} GB CSV generated in ${seconds(genMs)}):`,
    );
    console.log(`${row("baseline: read lines", readRate, readMemory)}   ${seconds(readMs)}`);
    console.log(`${row("import (reduce + store days)", importRate, importMemory)}   ${seconds(importMs)}   (${fmt(imported.days)} daily rows)`);
    console.log(
      `  ratio import / baseline: ${(importRate / readRate).toFixed(2)}   memory ratio (peak RSS): ${(importMemory.rss / readMemory.rss).toFixed(2)}`,
    );
    console.log(
      `  classify: ${fmt(vms)} VMs in ${seconds(classifyMs)} (${fmt((vms / classifyMs) * 1000)} VMs/s); ` +
        `baseline select ${fmt((vms / selectMs) * 1000)} VMs/s; ratio ${(selectMs / classifyMs).toFixed(2)}; ` +
        `low-load months: ${fmt(lowLoadMonths)} (as generated)`,
    );
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await rm(dir, { recursive: true, force: true });
  }
}

await runWhenMain(import.meta.url, benchMetrics);
