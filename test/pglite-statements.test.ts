import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { openDatabase, rowsOf, type Database } from "../db/client";
import { withPreparedStatements } from "../db/pglite-statements";

// The embedded database's statement path (db/pglite-statements.ts), against PGlite's own query() as the oracle.
// It is PGlite's alone, so these run on PGlite whatever TEST_DATABASE_URL says.

const TABLE = `create table sample (
  id bigserial primary key, t text, i int, b bigint, n numeric, ok boolean,
  at timestamptz, d date, j jsonb, unique (t)
)`;
const INSERT = "insert into sample (t, i, b, n, ok, at, d, j) values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) returning *";

let raw: PGlite;
let pg: PGlite;

beforeAll(async () => {
  raw = await PGlite.create();
});
afterAll(async () => {
  await raw.close();
});
// One instance for the file (creating one takes seconds); each test gets a fresh table and a fresh wrapper.
beforeEach(async () => {
  await raw.exec(`deallocate all; drop table if exists sample; ${TABLE}`);
  pg = withPreparedStatements(raw);
});

const preparedCount = async () => Number((await raw.query<{ n: number }>("select count(*)::int as n from pg_prepared_statements")).rows[0]!.n);

describe("PGlite statements", () => {
  test("every kind of parameter drizzle sends is stored and read back exactly as PGlite's own path does", async () => {
    const oracle = await PGlite.create();
    // drizzle maps dates and times itself, so both read them as the raw text the wrapper installs parsers for.
    oracle.parsers = raw.parsers;
    await oracle.exec(TABLE);
    try {
      const rows = [
        ["文本，含\"引号\"与换行\n", 42, 9_007_199_254_740_993n, "12.3400", true, new Date("2026-02-14T16:00:00.123Z"), "2026-02-15", JSON.stringify({ 单位: "梅州", n: [1, 2] })],
        ["", -1, 0, "0", false, "2026-12-31T23:59:59+08:00", new Date("2026-02-28T16:00:00Z"), "null"],
        [null, null, null, null, null, null, null, null],
      ];
      for (const params of rows) {
        const ours = await pg.query(INSERT, params);
        const theirs = await oracle.query(INSERT, params);
        expect(ours.rows).toEqual(theirs.rows);
        expect(ours.fields).toEqual(theirs.fields);
      }
      // drizzle's array row mode comes through as well.
      const select = "select t, at, j from sample order by id";
      expect(await pg.query(select, [], { rowMode: "array" })).toEqual(await oracle.query(select, [], { rowMode: "array" }));
    } finally {
      await oracle.close();
    }
  });

  test("a parameter only its type can serialize (an object for jsonb) takes PGlite's own path", async () => {
    const res = await pg.query<{ j: unknown }>("insert into sample (j) values ($1) returning j", [{ 单位: "梅州", ok: true }]);
    expect(res.rows[0]!.j).toEqual({ 单位: "梅州", ok: true });
    expect(await preparedCount()).toBe(0);
  });

  test("each text is prepared once and then only executed", async () => {
    for (let i = 0; i < 5; i++) await pg.query(INSERT, [`t${i}`, i, i, i, true, new Date(), "2026-01-01", "{}"]);
    await pg.query("select * from sample where i = $1", [3]);
    expect(await preparedCount()).toBe(2);
    expect((await pg.query("select count(*)::int as n from sample")).rows).toEqual([{ n: 5 }]);
  });

  test("a failed statement keeps Postgres's error code, and the next statement runs", async () => {
    await pg.query(INSERT, ["dup", 1, 1, 1, true, null, null, null]);
    await expect(pg.query(INSERT, ["dup", 2, 2, 2, true, null, null, null])).rejects.toMatchObject({ code: "23505" });
    await expect(pg.query("select $1::int", ["abc"])).rejects.toMatchObject({ code: "22P02" });
    await expect(pg.query("selec nothing")).rejects.toMatchObject({ code: "42601" });
    expect((await pg.query(INSERT, ["other", 2, 2, 2, true, null, null, null])).rows).toHaveLength(1);
    expect((await pg.query("select $1::int as n", ["7"])).rows).toEqual([{ n: 7 }]);
  });

  test("a failure in a transaction rolls it back, and texts first met in the aborted transaction run afterwards", async () => {
    await expect(
      pg.transaction(async (tx) => {
        await tx.query(INSERT, ["a", 1, 1, 1, true, null, null, null]);
        await tx.query(INSERT, ["a", 2, 2, 2, true, null, null, null]).catch(() => {});
        // Refused: the transaction is aborted, so this text was never prepared.
        await tx.query("select count(*)::int as n from sample where i = $1", [1]);
      }),
    ).rejects.toMatchObject({ code: "25P02" });
    expect((await pg.query("select count(*)::int as n from sample where i = $1", [1])).rows).toEqual([{ n: 0 }]);
    expect((await pg.query(INSERT, ["a", 1, 1, 1, true, null, null, null])).rows).toHaveLength(1);
  });

  test("a statement outside a transaction waits for the one in progress rather than joining it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const rolledBack = pg
      .transaction(async (tx) => {
        await tx.query(INSERT, ["in the transaction", 1, 1, 1, true, null, null, null]);
        inside();
        await gate;
        await tx.rollback();
      })
      .catch(() => {});
    await started;
    const outside = pg.query(INSERT, ["outside", 2, 2, 2, true, null, null, null]);
    release();
    await Promise.all([rolledBack, outside]);
    expect((await pg.query("select t from sample")).rows).toEqual([{ t: "outside" }]);
  });

  test("a table whose columns changed is read afresh", async () => {
    await pg.query(INSERT, ["x", 1, 1, 1, true, null, null, null]);
    const select = "select * from sample where i = $1";
    expect(Object.keys((await pg.query<object>(select, [1])).rows[0]!)).not.toContain("extra");
    await raw.exec("alter table sample add column extra text default '新列'");
    expect((await pg.query<{ extra: string }>(select, [1])).rows[0]!.extra).toBe("新列");
    // In a transaction it cannot be retried, but the next use prepares it again.
    await raw.exec("alter table sample add column more int default 3");
    await expect(pg.transaction((tx) => tx.query(select, [1]))).rejects.toMatchObject({ code: "0A000" });
    expect((await pg.query<{ more: number }>(select, [1])).rows[0]!.more).toBe(3);
  });

  test("beyond 500 texts the oldest is closed, and prepared again when it comes back", async () => {
    const text = (k: number) => `select $1::int + ${k} as n`;
    for (let k = 0; k < 505; k++) await pg.query(text(k), [1]);
    expect(await preparedCount()).toBe(500);
    expect((await pg.query(text(0), [1])).rows).toEqual([{ n: 1 }]);
    expect(await preparedCount()).toBe(500);
  });

  test("through drizzle on the service's own database, with a closed database refused", async () => {
    const database: Database = await openDatabase({ dataDir: "memory://" });
    const at = new Date("2026-11-21T08:00:00.000Z");
    const [row] = rowsOf<{ at: string; ok: boolean }>(await database.db.execute(sql`select ${at}::timestamptz as at, ${true}::boolean as ok`));
    expect(new Date(row!.at).toISOString()).toBe(at.toISOString());
    expect(row!.ok).toBe(true);
    await database.close();
    await expect(database.db.execute(sql`select 1`)).rejects.toThrow();
  });
});
