import { readFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import { pathToFileURL } from "node:url";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { builtinSchedules, WorkCalendar } from "../src/core/calendar";
import { systemClock, type ServiceContext } from "../src/core/context";
import { demoDirectory } from "../src/directory/demo";
import { applicantsOf, registerDemoSystems } from "../src/systems/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import type { AppDeps, createApp } from "../src/http/app";
import { authenticate } from "../src/http/auth";

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
  await registerDemoSystems(ctx, applicantsOf());
  return {
    calendar,
    tokenFor: async (userId: string) => (await createToken({ ctx, input: { userId } })).token,
    /** The example application form (examples/application.json). */
    form: JSON.parse(readFileSync(new URL("../examples/application.json", import.meta.url), "utf8")) as unknown,
  };
}

/**
 * The baseline every API bench is measured against: a route that does one plain insert in one transaction
 * (POST /bench/baseline), and the same insert behind the API's bearer-token check (POST
 * /bench/authenticated-baseline). Mounted on `app`; returns one call of each, posting `body`, that throws
 * unless it succeeded. Call it before `app` answers its first request: Hono's router takes no routes after that.
 */
export async function mountBaselines(
  app: ReturnType<typeof createApp>,
  deps: AppDeps,
  database: Database,
  opts: { token: string; body: unknown },
): Promise<{ baseline: () => Promise<void>; authenticated: () => Promise<void> }> {
  await database.db.execute(sql`create table if not exists bench_baseline (id bigserial primary key, payload jsonb not null, at timestamptz not null)`);
  const insertOne = async (body: unknown) =>
    database.db.transaction((tx) => tx.execute(sql`insert into bench_baseline (payload, at) values (${JSON.stringify(body)}::jsonb, now())`));
  app.post("/bench/baseline", async (c) => {
    await insertOne(await c.req.json());
    return c.json({ ok: true });
  });
  app.post("/bench/authenticated-baseline", authenticate(deps), async (c) => {
    await insertOne(await c.req.json());
    return c.json({ ok: true });
  });
  const post = (path: string, token: string | null) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(opts.body),
    });
  return {
    baseline: async () => expectSuccess(await post("/bench/baseline", null), "baseline"),
    // The same insert behind the API's bearer-token check, which every authenticated call also pays.
    authenticated: async () => expectSuccess(await post("/bench/authenticated-baseline", opts.token), "authenticated baseline"),
  };
}

/** Runs `bench` on a fresh in-memory PGlite when its file is run on its own (`npx tsx bench/decisions.ts`). */
export async function runWhenMain(moduleUrl: string, bench: (database: Database) => Promise<unknown>): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const database = await openDatabase({ dataDir: "memory://" });
  try {
    await migrateDatabase(database);
    await bench(database);
  } finally {
    await database.close();
  }
}
