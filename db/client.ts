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
  /**
   * PostgreSQL only: drops every connection of the pool (the queries in flight fail) and opens a fresh pool
   * behind the same `db`. For after a driver fault (isPostgresDriverFault) left connections unusable.
   */
  reset?(): void;
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

// What a service that must ride out a database restart needs from its pool (issue 10). Each can be overridden
// in DATABASE_URL's query string (`?connect_timeout=10&statement_timeout=30s`), which postgres.js reads.
const CONNECT_TIMEOUT_S = 3;
const SERVER_SETTINGS = {
  // A statement stuck behind a lock or an overloaded server ends with 57014 (answered 503) instead of hanging.
  statement_timeout: 15_000,
  // A transaction left open by a stalled client must not hold its row locks for ever.
  idle_in_transaction_session_timeout: 60_000,
  application_name: "yunshen",
};

function poolOptions(url: string, max: number) {
  const query = new URL(url).searchParams;
  return {
    max,
    onnotice: () => {},
    // postgres.js waits 30 s by default: a server that is down or unreachable must fail a request within seconds.
    ...(query.has("connect_timeout") ? {} : { connect_timeout: CONNECT_TIMEOUT_S }),
    // Idle connections are closed, so a restarted server is not first met through a dead one.
    ...(query.has("idle_timeout") ? {} : { idle_timeout: 60 }),
    // postgres.js's own backoff grows to 20 s after repeated refusals, and a query that finds its connection
    // waiting out that delay waits with it: a multi-second hang during the outage and after the return.
    // 50 ms at most keeps both the 503s and the recovery prompt. Retrying that often costs little: a refused
    // connect is answered at once, and one that hangs is bounded by connect_timeout, one per connection.
    backoff: (retries: number) => Math.min(0.01 * 2 ** retries, 0.05),
    connection: SERVER_SETTINGS,
  };
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  type Client = ReturnType<typeof postgres>;
  let client: Client = postgres(url, poolOptions(url, max));
  let closed = false;
  let lastReset = 0;
  let trailing: NodeJS.Timeout | null = null;

  /** A fresh pool in place of the current one; the old one ends, at once or after `graceS` seconds. */
  const replace = (graceS: number) => {
    lastReset = Date.now();
    const old = client;
    const fresh = postgres(url, poolOptions(url, max));
    // The type parsers drizzle installed on the first pool (dates kept as strings, and so on).
    Object.assign(fresh.options.parsers, old.options.parsers);
    Object.assign(fresh.options.serializers, old.options.serializers);
    client = fresh;
    // The queries still on the old pool finish within the grace, or are rejected (CONNECTION_DESTROYED).
    void old.end({ timeout: graceS }).catch(() => {});
  };

  // A connection that closed with a small write pending keeps the unsent bytes and a spent timer in
  // postgres.js 3.4.x (connection.js clears the immediate without forgetting it), so its next startup
  // message is never flushed and every connect on it times out while the server is up. A connect timeout is
  // therefore answered by a fresh pool (graceful, and at most every 10 s: a server truly out of reach gains
  // nothing from more).
  const observe = (err: unknown) => {
    if (closed || (err as { code?: unknown } | null)?.code !== "CONNECT_TIMEOUT") return;
    if (Date.now() - lastReset >= 10_000) replace(5);
  };

  // drizzle keeps the client it is given; this stand-in forwards to the current pool, so that a reset can
  // replace the pool without changing the `db` every service already holds. It also watches the errors of
  // what it hands out: a query's own reject (wrapping it keeps the query lazy, as drizzle needs), and a
  // transaction's promise.
  const current = new Proxy(client, {
    get(_target, prop) {
      if (prop === "unsafe")
        return (...args: Parameters<Client["unsafe"]>) => {
          const query = client.unsafe(...args) as ReturnType<Client["unsafe"]> & { reject?: (err: unknown) => void };
          const reject = query.reject;
          if (typeof reject === "function")
            query.reject = (err: unknown) => {
              observe(err);
              reject(err);
            };
          return query;
        };
      if (prop === "begin")
        return (...args: unknown[]) => {
          const transaction = (client.begin as (...a: unknown[]) => Promise<unknown>)(...args);
          transaction.catch(observe);
          return transaction;
        };
      return Reflect.get(client, prop);
    },
    apply: (_target, self, args) => Reflect.apply(client, self, args),
  });
  const db = drizzle({ client: current, schema }) as unknown as Db;
  return {
    db,
    kind: "postgres",
    close: () => {
      closed = true;
      if (trailing) clearTimeout(trailing);
      return client.end({ timeout: 5 });
    },
    reset() {
      if (closed) return;
      // Several connections of one pool can fault in the same instant: replace the pool once, and once more
      // a second later if faults went on meanwhile (one of them may have come from the new pool).
      if (Date.now() - lastReset >= 1_000) return replace(0);
      trailing ??= setTimeout(() => {
        trailing = null;
        if (!closed) replace(0);
      }, 1_000);
    },
  };
}

/**
 * An exception postgres.js throws outside every query's promise, so no caller can catch it: 3.4.x writes to a
 * connection's socket from a setImmediate after the connection closed under load (porsager/postgres#1066,
 * #1154; still in 3.4.10). Only a TypeError raised in the driver's connection.js counts; the connection it
 * came from is left unusable, hence Database.reset().
 */
export function isPostgresDriverFault(err: unknown): boolean {
  if (!(err instanceof TypeError) || typeof err.stack !== "string") return false;
  const top = err.stack.split("\n").find((line) => /^\s+at\s/.test(line));
  return top !== undefined && /[\\/]node_modules[\\/]postgres[\\/](cjs[\\/])?src[\\/]connection\.js:\d+:\d+\)?$/.test(top);
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
