import { pathToFileURL } from "node:url";
import { sql } from "drizzle-orm";
import { readFileSync } from "node:fs";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { builtinSchedules, WorkCalendar } from "../src/calendar";
import { systemClock, type ServiceContext } from "../src/context";
import { demoDirectory } from "../src/directory/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import { createApp, type AppDeps } from "../src/http/app";
import { authenticate } from "../src/http/auth";

// Decisions per second through the REST API (approve of a pending stage: row lock, task, next stage's tasks,
// timers, outbox cards, audit entry) against a route that does one plain insert in one transaction, on the
// same database in the same run.

const form = JSON.parse(readFileSync(new URL("../examples/application.json", import.meta.url), "utf8"));

interface Figures {
  ops: number;
  ms: number;
  p50: number;
  p99: number;
}

async function drive(count: number, concurrency: number, one: (i: number) => Response | Promise<Response>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        const res = await one(i);
        if (res.status >= 300) throw new Error(`request ${i} answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const ms = performance.now() - start;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { ops: (count / ms) * 1000, ms, p50: at(0.5), p99: at(0.99) };
}

const line = (label: string, f: Figures) =>
  `${label.padEnd(28)} ${f.ops.toFixed(0).padStart(6)} ops/s   p50 ${f.p50.toFixed(1)} ms   p99 ${f.p99.toFixed(1)} ms`;

export async function benchDecisions(database: Database, opts: { count?: number; concurrency?: number } = {}) {
  const count = opts.count ?? 300;
  const concurrency = opts.concurrency ?? 8;
  const calendar = new WorkCalendar(builtinSchedules());
  const ctx: ServiceContext = { db: database.db, clock: systemClock, calendar, profile: "meizhou", actor: null, channel: "cli" };
  await importDirectory({ ctx, input: demoDirectory });
  const applicant = (await createToken({ ctx, input: { userId: "yangfan" } })).token;
  const provider = (await createToken({ ctx, input: { userId: "xufeng" } })).token;
  const deps: AppDeps = { db: database.db, clock: systemClock, calendar: () => calendar, profile: "meizhou", log: () => {} };
  const app = createApp(deps);

  await database.db.execute(sql`create table if not exists bench_baseline (id bigserial primary key, payload jsonb not null, at timestamptz not null)`);
  const insertOne = async (body: unknown) =>
    database.db.transaction((tx) => tx.execute(sql`insert into bench_baseline (payload, at) values (${JSON.stringify(body)}::jsonb, now())`));
  app.post("/bench/baseline", async (c) => {
    await insertOne(await c.req.json());
    return c.json({ ok: true });
  });
  // The same insert behind the API's bearer-token check, which every decision also pays.
  app.post("/bench/authenticated-baseline", authenticate(deps), async (c) => {
    await insertOne(await c.req.json());
    return c.json({ ok: true });
  });

  const post = (path: string, token: string | null, body: unknown) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  // Requests waiting at the provider's evaluation stage: one decision each.
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await post("/api/requests", applicant, { form });
    ids.push(((await res.json()) as { id: number }).id);
  }
  const approve = { action: "approve", note: "评估通过" };
  // Warm the baselines before measuring.
  await drive(20, 1, () => post("/bench/baseline", null, approve));
  await drive(20, 1, () => post("/bench/authenticated-baseline", provider, approve));

  const baseline = await drive(count, concurrency, () => post("/bench/baseline", null, approve));
  const authenticated = await drive(count, concurrency, () => post("/bench/authenticated-baseline", provider, approve));
  const decisions = await drive(count, concurrency, (i) => post(`/api/requests/${ids[i]}/actions`, provider, approve));
  console.log(`decisions through the API (${database.kind}, ${count} requests, ${concurrency} in flight):`);
  console.log(line("  baseline: one insert", baseline));
  console.log(line("  baseline + bearer token", authenticated));
  console.log(line("  approve (audit, outbox)", decisions));
  console.log(`  ratio decisions / baseline: ${(decisions.ops / baseline.ops).toFixed(2)} (goal ≥ 0.50)`);
  console.log(`  ratio decisions / baseline + bearer token: ${(decisions.ops / authenticated.ops).toFixed(2)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const database = await openDatabase({ dataDir: "memory://" });
  try {
    await migrateDatabase(database);
    await benchDecisions(database);
  } finally {
    await database.close();
  }
}
