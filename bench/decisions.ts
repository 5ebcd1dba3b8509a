import type { Database } from "../db/client";
import { systemClock } from "../src/core/context";
import { createApp, type AppDeps } from "../src/http/app";
import { seedDemo, drive, expectSuccess, line, mountBaselines, runWhenMain } from "./drive";

// Decisions per second through the REST API (approve of a pending stage: row lock, task, next stage's tasks,
// timers, outbox cards, audit entry) against a route that does one plain insert in one transaction, on the
// same database in the same run.

export async function benchDecisions(database: Database, opts: { count?: number; concurrency?: number } = {}) {
  const count = opts.count ?? 300;
  const concurrency = opts.concurrency ?? 8;
  const { calendar, tokenFor, form } = await seedDemo(database);
  const applicant = await tokenFor("yangfan");
  const provider = await tokenFor("xufeng");
  const deps: AppDeps = { db: database.db, clock: systemClock, calendar: () => calendar, profile: "meizhou", log: () => {} };
  const app = createApp(deps);
  const approve = { action: "approve", stage: "evaluate", note: "评估通过" };
  const { baseline: baselineOne, authenticated: authenticatedOne } = await mountBaselines(app, deps, database, { token: provider, body: approve });

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
  // Warm the baselines before measuring.
  await drive(20, 1, baselineOne);
  await drive(20, 1, authenticatedOne);

  const baseline = await drive(count, concurrency, baselineOne);
  const authenticated = await drive(count, concurrency, authenticatedOne);
  const decisions = await drive(count, concurrency, async (i) => expectSuccess(await post(`/api/requests/${ids[i]}/actions`, provider, approve), `decision ${i}`));
  console.log(`decisions through the API (${database.kind}, ${count} requests, ${concurrency} in flight):`);
  console.log(line("  baseline: one insert", baseline));
  console.log(line("  baseline + bearer token", authenticated));
  console.log(line("  approve (audit, outbox)", decisions));
  console.log(`  ratio decisions / baseline: ${(decisions.ops / baseline.ops).toFixed(2)} (goal ≥ 0.50)`);
  console.log(`  ratio decisions / baseline + bearer token: ${(decisions.ops / authenticated.ops).toFixed(2)}`);
}

await runWhenMain(import.meta.url, benchDecisions);
