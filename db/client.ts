import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { acquireDataDirLock, type DataDirLock } from "./lock";
import * as schema from "./schema";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

/** The rows of a raw `execute`: postgres-js returns the rows array itself, PGlite returns { rows }. */
export function rowsOf<T>(res: unknown): T[] {
  return Array.isArray(res) ? (res as T[]) : ((res as { rows: T[] }).rows ?? []);
}

export const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

// Any constant will do; it only has to be the same for every process that migrates this database.
const MIGRATION_LOCK_KEY = 7_216_551_001;

export interface OpenOptions {
  /** postgres://… ; when absent the embedded PGlite in dataDir is used. */
  url?: string;
  /** PGlite data directory; "memory://" for a throwaway database. */
  dataDir?: string;
  /** An already-created PGlite instance (tests hand in a copy of a migrated template). */
  pglite?: PGlite;
  /** Postgres pool size. */
  max?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.max ?? 10);
  if (opts.pglite) return wrapPglite(opts.pglite, null);
  const dataDir = opts.dataDir ?? "./data";
  if (dataDir.startsWith("memory://")) {
    const { PGlite } = await import("@electric-sql/pglite");
    return wrapPglite(await PGlite.create(dataDir), null);
  }
  mkdirSync(dataDir, { recursive: true });
  const lock = acquireDataDirLock(dataDir);
  try {
    const pgdata = join(dataDir, "pgdata");
    setAsideInterruptedInit(pgdata);
    const { PGlite } = await import("@electric-sql/pglite");
    return wrapPglite(await PGlite.create(pgdata), lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const client = postgres(url, { max, onnotice: () => {} });
  const db = drizzle({ client, schema }) as unknown as Db;
  return { db, kind: "postgres", close: () => client.end({ timeout: 5 }) };
}

async function wrapPglite(client: PGlite, lock: DataDirLock | null): Promise<Database> {
  const { drizzle } = await import("drizzle-orm/pglite");
  const { withPreparedStatements } = await import("./pglite-statements");
  const db = drizzle({ client: withPreparedStatements(client), schema }) as unknown as Db;
  let closed = false;
  return {
    db,
    kind: "pglite",
    async close() {
      if (closed) return;
      closed = true;
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * What autovacuum does for PostgreSQL, for the embedded database, which has none: fresh planner statistics
 * (ANALYZE) now and every `everyMs`. Without them the planner reads whole tables as they grow (a 待办 list
 * read every task of the person at 1,000 open requests). Nothing to do on PostgreSQL. stop() ends it.
 */
export function keepStatisticsFresh(database: Database, everyMs: number, log: (line: string) => void): { stop(): void; done: Promise<void> } {
  if (database.kind !== "pglite") return { stop() {}, done: Promise.resolve() };
  const analyze = () =>
    database.db.execute(sql`analyze`).then(
      () => undefined,
      (err: unknown) => log(`更新嵌入式数据库统计信息失败：${err instanceof Error ? err.name : "未知错误"}`),
    );
  const handle = setInterval(() => void analyze(), everyMs);
  handle.unref();
  return { stop: () => clearInterval(handle), done: analyze() };
}

// A directory that has files but no PG_VERSION is an initdb that was killed half-way; PGlite cannot open it.
// Move it aside (never delete: it may hold something an operator wants) and start afresh.
function setAsideInterruptedInit(pgdata: string) {
  if (!existsSync(pgdata)) return;
  if (readdirSync(pgdata).length === 0) return;
  if (existsSync(join(pgdata, "PG_VERSION")) && existsSync(join(pgdata, "global", "pg_control"))) return;
  const aside = `${pgdata}.interrupted-${Date.now()}`;
  renameSync(pgdata, aside);
  console.warn(`数据目录 ${pgdata} 的初始化曾被中断，已移至 ${aside}，将重新初始化。`);
}

/** Applies the committed drizzle-kit migrations, one process at a time (advisory lock). */
export async function migrateDatabase(database: Database, opts: { url?: string } = {}): Promise<void> {
  if (database.kind === "postgres") {
    if (!opts.url) throw new Error("migrateDatabase needs the Postgres url to open a dedicated connection");
    // Session-level advisory locks need one connection for lock, migrate and unlock.
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(opts.url, { max: 1, onnotice: () => {} });
    try {
      await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      try {
        await migrate(drizzle({ client }), { migrationsFolder });
      } finally {
        await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      }
    } finally {
      await client.end({ timeout: 5 });
    }
    return;
  }
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  await database.db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  try {
    await migrate(database.db as never, { migrationsFolder });
  } finally {
    await database.db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
  }
}
