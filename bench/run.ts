import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { createScratchDatabase } from "../db/scratch";
import { benchAccess } from "./access";
import { benchAuditVerify } from "./audit-verify";
import { benchDecisions } from "./decisions";
import { killSends, killSendsLines } from "./kill-sends";
import { benchMetrics } from "./metrics";
import { benchPortal } from "./portal";
import { benchScale } from "./scale";
import { benchUploads } from "./uploads";
import { benchWecomCallbacks } from "./wecom-callbacks";

// `npm run bench`: every benchmark on embedded PGlite, and on PostgreSQL too when BENCH_DATABASE_URL is set
// (a scratch database is created there and dropped afterwards). Figures are ratios against a baseline
// measured in the same run, because these machines are shared and noisy.
// The utilisation ingest bench (bench/metrics.ts) is the exception: it generates a 1.3 GB CSV of 43.2 million
// samples and takes a minute or more, so it runs once, on PGlite only (its figures are parsing and reducing the
// file; the database stores 30,000 daily rows at the end), and BENCH_SKIP_METRICS=1 skips it.

async function fresh(kind: "pglite" | "postgres"): Promise<{ database: Database; url?: string; drop(): Promise<void> }> {
  if (kind === "pglite") {
    const database = await openDatabase({ dataDir: "memory://" });
    await migrateDatabase(database);
    return { database, drop: () => database.close() };
  }
  const scratch = await createScratchDatabase(process.env.BENCH_DATABASE_URL!, "yunshen_bench");
  const database = await openDatabase({ url: scratch.url, max: 10 });
  await migrateDatabase(database, { url: scratch.url });
  return {
    database,
    url: scratch.url,
    async drop() {
      await database.close();
      await scratch.drop();
    },
  };
}

const BENCHES = {
  decisions: benchDecisions,
  access: benchAccess,
  "wecom-callbacks": benchWecomCallbacks,
  "audit-verify": benchAuditVerify,
  scale: benchScale,
  uploads: benchUploads,
  portal: benchPortal,
};
// BENCH_ONLY=portal,uploads runs those (named as their files in bench/) on each database, and nothing else.
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const unknown = only?.filter((name) => !(name in BENCHES) && name !== "metrics" && name !== "kill-sends");
if (unknown?.length) throw new Error(`BENCH_ONLY names no benchmark: ${unknown.join(", ")}`);
const chosen = (name: string) => !only || only.includes(name);

const kinds: ("pglite" | "postgres")[] = process.env.BENCH_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
console.log(`yunshen bench — node ${process.version}, ${new Date().toISOString()}`);
for (const kind of kinds) {
  for (const bench of Object.entries(BENCHES).flatMap(([name, bench]) => (chosen(name) ? [bench] : []))) {
    const { database, drop } = await fresh(kind);
    try {
      await bench(database);
    } finally {
      await drop();
    }
  }
}
if (process.env.BENCH_SKIP_METRICS !== "1" && chosen("metrics")) {
  const { database, drop } = await fresh("pglite");
  try {
    await benchMetrics(database);
  } finally {
    await drop();
  }
}
// kill -9 × 10 during sends (bench/kill-sends.ts): child processes on a database of their own; about a minute each.
if (process.env.BENCH_SKIP_KILLS !== "1" && chosen("kill-sends")) {
  for (const kind of kinds) {
    const figures = await killSends({ kills: 10, adminUrl: kind === "postgres" ? process.env.BENCH_DATABASE_URL : undefined });
    for (const l of killSendsLines(figures)) console.log(l);
  }
}
