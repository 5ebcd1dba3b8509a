import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { benchAuditVerify } from "./audit-verify";
import { benchDecisions } from "./decisions";

// `npm run bench`: every benchmark on embedded PGlite, and on PostgreSQL too when BENCH_DATABASE_URL is set
// (a scratch database is created there and dropped afterwards). Figures are ratios against a baseline
// measured in the same run, because these machines are shared and noisy.

async function fresh(kind: "pglite" | "postgres"): Promise<{ database: Database; url?: string; drop(): Promise<void> }> {
  if (kind === "pglite") {
    const database = await openDatabase({ dataDir: "memory://" });
    await migrateDatabase(database);
    return { database, drop: () => database.close() };
  }
  const admin = await openDatabase({ url: process.env.BENCH_DATABASE_URL!, max: 1 });
  const name = `yunshen_bench_${randomBytes(4).toString("hex")}`;
  await admin.db.execute(sql.raw(`create database "${name}"`));
  const url = new URL(process.env.BENCH_DATABASE_URL!);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), max: 10 });
  await migrateDatabase(database, { url: url.toString() });
  return {
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`));
      await admin.close();
    },
  };
}

const kinds: ("pglite" | "postgres")[] = process.env.BENCH_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
console.log(`yunshen bench — node ${process.version}, ${new Date().toISOString()}`);
for (const kind of kinds) {
  for (const bench of [benchDecisions, benchAuditVerify]) {
    const { database, drop } = await fresh(kind);
    try {
      await bench(database);
    } finally {
      await drop();
    }
  }
}
