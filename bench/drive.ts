import { readFileSync } from "node:fs";
import type { Database } from "../db/client";
import { builtinSchedules, WorkCalendar } from "../src/calendar";
import { systemClock, type ServiceContext } from "../src/context";
import { demoDirectory } from "../src/directory/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";

// Drives `count` operations with `concurrency` in flight and reports throughput and latency percentiles.

export interface Figures {
  ops: number;
  ms: number;
  p50: number;
  p99: number;
}

export async function drive(count: number, concurrency: number, one: (i: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        // Let fetch's pool see the previous connection free before the next call goes out, or it opens a new
        // one, and a new connection waits behind the busy keep-alive ones: a tail the client made, not the server.
        await new Promise((resolve) => setImmediate(resolve));
        const t0 = performance.now();
        await one(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const ms = performance.now() - start;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { ops: (count / ms) * 1000, ms, p50: at(0.5), p99: at(0.99) };
}

export const line = (label: string, f: Figures) =>
  `${label.padEnd(30)} ${f.ops.toFixed(0).padStart(6)} ops/s   p50 ${f.p50.toFixed(1)} ms   p99 ${f.p99.toFixed(1)} ms`;

/** Throws unless the response is a success, so a benchmark never silently measures refusals. */
export async function expectSuccess(res: Response, what: string): Promise<void> {
  if (res.status >= 300) throw new Error(`${what} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

/** The demo directory loaded into a fresh database, and bearer tokens on demand: what every API bench starts from. */
export async function seedDemo(database: Database) {
  const calendar = new WorkCalendar(builtinSchedules());
  const ctx: ServiceContext = { db: database.db, clock: systemClock, calendar, profile: "meizhou", actor: null, channel: "cli" };
  await importDirectory({ ctx, input: demoDirectory });
  return {
    calendar,
    tokenFor: async (userId: string) => (await createToken({ ctx, input: { userId } })).token,
    /** The example application form (examples/application.json). */
    form: JSON.parse(readFileSync(new URL("../examples/application.json", import.meta.url), "utf8")) as unknown,
  };
}
