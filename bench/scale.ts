import { keepStatisticsFresh, type Database } from "../db/client";
import { systemClock } from "../src/core/context";
import { createApp, type AppDeps } from "../src/http/app";
import { drive, expectSuccess, line, runWhenMain, seedDemo, type Figures } from "./drive";

// Whether the hot paths stay bounded as requests pile up: the same operations measured with few open requests
// and with many, in the same run on the same database. A statement that reads a whole table (the timers of
// every pending stage, every task of the person, every message ever sent) shows up as a ratio well under 1.

export async function benchScale(database: Database, opts: { small?: number; large?: number; count?: number } = {}) {
  const small = opts.small ?? 100;
  const large = opts.large ?? Number(process.env.BENCH_SCALE_OPEN ?? 10_000);
  const count = opts.count ?? 100;
  const concurrency = 4;
  const { calendar, tokenFor, form } = await seedDemo(database);
  const applicant = await tokenFor("yangfan");
  const provider = await tokenFor("xufeng");
  const deps: AppDeps = { db: database.db, clock: systemClock, calendar: () => calendar, profile: "meizhou", log: () => {} };
  const app = createApp(deps);
  const send = (method: string, path: string, token: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const open: number[] = [];
  const fill = async (upTo: number) => {
    const missing = upTo - open.length;
    if (missing > 0)
      await drive(missing, 8, async () => {
        const res = await send("POST", "/api/requests", applicant, { form });
        if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
        open.push(((await res.json()) as { id: number }).id);
      });
  };

  // Each round reads details and the provider's 待办 list (a full first page) while `openCount` requests are in
  // progress, then decides `count` of them (the provider's 评估, so they stay open at the next stage).
  const round = async (openCount: number, n = Math.min(count, openCount)) => {
    await fill(openCount);
    // As the service's hourly refresh would have by then (on PostgreSQL autovacuum does it).
    const statistics = keepStatisticsFresh(database, 3_600_000, console.error);
    await statistics.done;
    statistics.stop();
    const chosen = open.slice(-n);
    const details = await drive(n, concurrency, async (i) => expectSuccess(await send("GET", `/api/requests/${chosen[i]}`, provider), `details ${i}`));
    const todo = await drive(n, concurrency, async (i) => expectSuccess(await send("GET", "/api/requests?view=todo", provider), `todo ${i}`));
    const decide = await drive(n, concurrency, async (i) =>
      expectSuccess(await send("POST", `/api/requests/${chosen[i]}/actions`, provider, { action: "approve", stage: "evaluate" }), `decision ${i}`),
    );
    // The decided ones are no longer the provider's to evaluate: the next round submits fresh ones on top.
    open.splice(open.length - n, n);
    return { decide, details, todo };
  };

  await round(20, 20); // warm-up
  const few = await round(small);
  const many = await round(large);
  const ratio = (a: Figures, b: Figures) => (b.ops / a.ops).toFixed(2);
  console.log(`hot paths as requests pile up (${database.kind}, ${count} of each, ${concurrency} in flight, ${small} vs ${large} open requests):`);
  for (const [label, a, b] of [
    ["approve", few.decide, many.decide],
    ["request details", few.details, many.details],
    ["待办 list (first page)", few.todo, many.todo],
  ] as const) {
    console.log(line(`  ${label} @ ${small}`, a));
    console.log(line(`  ${label} @ ${large}`, b));
    console.log(`  ratio ${label} @ ${large} / @ ${small}: ${ratio(a, b)} (1.00 = does not grow with open requests)`);
  }
}

await runWhenMain(import.meta.url, benchScale);
