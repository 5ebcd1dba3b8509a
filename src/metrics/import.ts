import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { vmDailyMetrics } from "../../db/schema";
import { isIsoDate } from "../core/calendar-schedule";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { onceFor } from "../core/once";
import { conflict, forbidden, invalid } from "../core/errors";
import { DailyReducer, type DayAccumulator, type Sample } from "./daily";
import { VM_ID } from "./rules";

// How the cloud's monitoring hands over utilisation: CSV with a header, or JSON Lines, one per-minute sample
// per line. time is ISO 8601 with an offset, or epoch seconds.
//   vm,time,cpu,mem,disk_used_gb,disk_alloc_gb
//   vm-web-01,2026-11-23T09:00:00+08:00,37.5,61.2,120.4,200

const MAX_REPORTED_ERRORS = 20;

interface SampleError {
  line: number;
  message: string;
}

function parseTime(text: string): number | null {
  if (/^\d{9,10}$/.test(text)) return Number(text) * 1000;
  // An offset is required: a local time without one would be read in the server's zone.
  if (!/^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return null;
  // Date.parse rolls 02-30 over to 03-02: the day must exist.
  if (!isIsoDate(text.slice(0, 10))) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

const percent = (text: string | undefined) => {
  if (text === undefined || text === "") return null;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 && n <= 100 ? n : null;
};
const gigabytes = (text: string | undefined) => {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : null;
};

/** One sample from its fields, or the reason it is not one. */
function toSample(
  f: { vm?: unknown; time?: unknown; cpu?: unknown; mem?: unknown; diskUsedGb?: unknown; diskAllocGb?: unknown },
  knownVms?: Set<string>,
): Sample | string {
  const vm = typeof f.vm === "string" ? f.vm : "";
  if (!knownVms?.has(vm)) {
    if (!VM_ID.test(vm)) return "vm 应为 1–64 位字母、数字、点、冒号、下划线或连字符";
    knownVms?.add(vm);
  }
  const at = parseTime(String(f.time ?? ""));
  if (at === null) return "time 应为带时区的 ISO 8601 时间或秒级时间戳";
  const cpu = percent(f.cpu === undefined ? undefined : String(f.cpu));
  const mem = percent(f.mem === undefined ? undefined : String(f.mem));
  if (cpu === null || mem === null) return "cpu 和 mem 应为 0–100 的百分比";
  const used = gigabytes(f.diskUsedGb === undefined || f.diskUsedGb === null ? undefined : String(f.diskUsedGb));
  const alloc = gigabytes(f.diskAllocGb === undefined || f.diskAllocGb === null ? undefined : String(f.diskAllocGb));
  if (used === null || alloc === null) return "磁盘容量应为非负数（GB）";
  if ((used === undefined) !== (alloc === undefined)) return "disk_used_gb 和 disk_alloc_gb 应同时给出";
  if (alloc !== undefined && alloc === 0) return "disk_alloc_gb 不能为 0";
  return { vm, at, cpu, mem, ...(used !== undefined ? { diskUsedGb: used, diskAllocGb: alloc } : {}) };
}

/**
 * Reads samples line by line into the reducer: memory stays bounded by VMs × days, whatever the file's size.
 * Every bad line is counted (the first ones reported) and nothing is stored if there is any.
 */
async function reduceSampleLines(lines: AsyncIterable<string>, format: "csv" | "jsonl", reducer: DailyReducer) {
  const hash = createHash("sha256");
  const errors: SampleError[] = [];
  let bad = 0;
  let samples = 0;
  let lineNo = 0;
  // Column positions, fixed once the header is read (a per-line lookup closure costs more than the reduction).
  let cols: { vm: number; time: number; cpu: number; mem: number; used: number; alloc: number } | null = null;
  // The few hundred VM names recur on every minute: check each name's shape once.
  const knownVms = new Set<string>();
  const fail = (message: string) => {
    bad++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ line: lineNo, message });
  };
  for await (const raw of lines) {
    lineNo++;
    hash.update(raw).update("\n");
    const line = raw.trim();
    if (line === "") continue;
    let fields: Parameters<typeof toSample>[0];
    if (format === "csv") {
      const cells = line.split(",");
      if (!cols) {
        const names = cells.map((c) => c.trim().toLowerCase());
        const missing = ["vm", "time", "cpu", "mem"].filter((c) => !names.includes(c));
        if (missing.length > 0) throw invalid(`第 1 行应为表头，缺少列：${missing.join("、")}`);
        const index = (name: string) => names.indexOf(name);
        cols = { vm: index("vm"), time: index("time"), cpu: index("cpu"), mem: index("mem"), used: index("disk_used_gb"), alloc: index("disk_alloc_gb") };
        continue;
      }
      fields = {
        vm: cells[cols.vm],
        time: cells[cols.time],
        cpu: cells[cols.cpu],
        mem: cells[cols.mem],
        diskUsedGb: cols.used < 0 ? undefined : cells[cols.used],
        diskAllocGb: cols.alloc < 0 ? undefined : cells[cols.alloc],
      };
    } else {
      try {
        fields = JSON.parse(line);
      } catch {
        fail("不是有效的 JSON");
        continue;
      }
    }
    const sample = toSample(fields ?? {}, knownVms);
    if (typeof sample === "string") fail(sample);
    else {
      reducer.add(sample);
      samples++;
    }
  }
  return { samples, bad, errors, sha256: hash.digest("hex") };
}

/** Adds a batch of reduced days to what is stored: sums and counts add, peaks take the larger, disk the later reading. */
async function mergeStoredDays(tx: Db, days: DayAccumulator[]) {
  // 12 parameters a row; PostgreSQL takes at most 65,535 per statement.
  for (let i = 0; i < days.length; i += 1000) {
    const rows = days.slice(i, i + 1000).map((d) => ({ ...d, diskAt: d.diskAt === null ? null : new Date(d.diskAt) }));
    const m = vmDailyMetrics;
    const later = sql`excluded.disk_at is not null and (${m.diskAt} is null or excluded.disk_at >= ${m.diskAt})`;
    await tx
      .insert(m)
      .values(rows)
      .onConflictDoUpdate({
        target: [m.vm, m.date],
        set: {
          cpuSumDay: sql`${m.cpuSumDay} + excluded.cpu_sum_day`,
          cpuCountDay: sql`${m.cpuCountDay} + excluded.cpu_count_day`,
          memSumDay: sql`${m.memSumDay} + excluded.mem_sum_day`,
          memCountDay: sql`${m.memCountDay} + excluded.mem_count_day`,
          cpuPeak: sql`greatest(${m.cpuPeak}, excluded.cpu_peak)`,
          memPeak: sql`greatest(${m.memPeak}, excluded.mem_peak)`,
          samples: sql`${m.samples} + excluded.samples`,
          diskUsedGb: sql`case when ${later} then excluded.disk_used_gb else ${m.diskUsedGb} end`,
          diskAllocGb: sql`case when ${later} then excluded.disk_alloc_gb else ${m.diskAllocGb} end`,
          diskAt: sql`case when ${later} then excluded.disk_at else ${m.diskAt} end`,
        },
      });
  }
}

function requireMetricsRole(ctx: ServiceContext) {
  // The cloud's monitoring pushes with a provider's token; the operator imports files, at the CLI or, while the
  // service holds the embedded database, through it with the admin's token.
  if (ctx.actor && !ctx.actor.roles.some((r) => r === "provider" || r === "manager" || r === "admin"))
    throw forbidden("利用率数据由评估实施单位（云服务商）、统筹管理单位或系统管理员导入");
}

/**
 * Stores reduced days once per source: the same file (by SHA-256) or the same pushed batch (by its key) is
 * refused the second time, since adding its sums again would count every sample twice.
 */
async function storeReduced(ctx: ServiceContext, source: { kind: "file" | "push"; key: string }, days: DayAccumulator[], samples: number) {
  return mutate(ctx, { action: "metrics.import" }, async (tx, j) => {
    if (!(await onceFor(ctx, tx, { scope: `metrics:${source.kind}`, key: source.key })))
      throw conflict("already_imported", source.kind === "file" ? `该文件已导入过（SHA-256 ${source.key.slice(0, 12)}…），重复导入会重复计数` : "该批数据已推送过");
    await mergeStoredDays(tx, days);
    const vms = new Set(days.map((d) => d.vm)).size;
    j.add({ action: "metrics.import", details: { source: source.kind, key: source.key, samples, vms, days: days.length } });
    return { samples, vms, days: days.length };
  });
}

export type MetricsFileFormat = "csv" | "jsonl";

/** A file's format by its name: CSV (.csv) or JSON Lines (anything else). */
export const metricsFileFormat = (path: string): MetricsFileFormat => (path.toLowerCase().endsWith(".csv") ? "csv" : "jsonl");

/**
 * A metrics file read line by line, wherever its lines come from (the file itself at the CLI, the body of
 * POST /api/metrics/file while the service holds the database): reduced as it streams, stored in one
 * transaction, and known by its SHA-256, so the same file is imported once whichever way it came.
 */
export async function importMetricsLines({ ctx, input }: { ctx: ServiceContext; input: { lines: AsyncIterable<string>; format: MetricsFileFormat } }) {
  requireMetricsRole(ctx);
  const reducer = new DailyReducer();
  const read = await reduceSampleLines(input.lines, input.format, reducer);
  if (read.bad > 0)
    throw invalid(`${read.bad} 行有误，未导入任何数据`, Object.fromEntries(read.errors.map((e) => [`第 ${e.line} 行`, [e.message]])));
  if (read.samples === 0) throw invalid("文件中没有数据");
  return storeReduced(ctx, { kind: "file", key: read.sha256 }, reducer.drain(), read.samples);
}

/** `yunshen metrics import FILE`: CSV (.csv) or JSON Lines (anything else), streamed. */
export async function importMetricsFile({ ctx, input }: { ctx: ServiceContext; input: { path: string } }) {
  requireMetricsRole(ctx);
  try {
    await access(input.path, constants.R_OK);
  } catch {
    throw invalid(`无法读取文件 ${input.path}`);
  }
  const lines = createInterface({ input: createReadStream(input.path, { encoding: "utf8" }), crlfDelay: Infinity });
  return importMetricsLines({ ctx, input: { lines, format: metricsFileFormat(input.path) } });
}

export const pushMetricsSchema = z.object({
  samples: z
    .array(
      z.object({
        vm: z.string(),
        time: z.union([z.string(), z.int()]),
        cpu: z.number(),
        mem: z.number(),
        diskUsedGb: z.number().optional(),
        diskAllocGb: z.number().optional(),
      }),
    )
    .min(1)
    .max(20_000),
});

/** POST /api/metrics: a batch pushed by the monitoring, keyed by its Idempotency-Key. */
export async function pushMetrics({ ctx, input, key }: { ctx: ServiceContext; input: z.output<typeof pushMetricsSchema>; key: string }) {
  requireMetricsRole(ctx);
  const reducer = new DailyReducer();
  const errors: Record<string, string[]> = {};
  input.samples.forEach((s, i) => {
    const sample = toSample({ ...s, time: String(s.time) });
    if (typeof sample === "string") errors[`samples[${i}]`] = [sample];
    else reducer.add(sample);
  });
  if (Object.keys(errors).length > 0) throw invalid("数据有误，未导入任何数据", errors);
  return storeReduced(ctx, { kind: "push", key: `${ctx.actor?.userId ?? "cli"}:${key}` }, reducer.drain(), input.samples.length);
}
