import { randomBytes } from "node:crypto";
import { parse, protocol, type PGlite } from "@electric-sql/pglite";

type QueryOptions = NonNullable<Parameters<PGlite["query"]>[2]>;
type Results = ReturnType<typeof parse.parseResults>[number];
type Queryable = Pick<PGlite, "query">;

// The column types drizzle reads as PGlite's raw text (timestamp, timestamptz, interval, date and their arrays,
// numeric[]): drizzle maps them itself.
const DRIZZLE_RAW_TYPES = [1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182];
const rawText = (value: string) => value;

// Prepared statements kept per database; the oldest is closed beyond this. A test file's whole run uses
// about 120 texts; each holds its plan in the embedded Postgres's memory, which never shrinks (a four-table
// join measured about 77 KB), so the bound keeps that under about 40 MB.
const MAX_PREPARED = 500;

/**
 * A parameter as text, which Postgres parses by the parameter's type, or bytes, sent in binary format (a bytea's
 * binary form is the bytes themselves); null is SQL NULL.
 */
type ParamText = string | Uint8Array | null;
/** A parameter only PGlite's typed path can serialize. */
const UNTYPED = Symbol("untyped");

function paramText(value: unknown): ParamText | typeof UNTYPED {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    default:
      // PGlite's own serializer for every date and time type is the ISO form.
      if (value instanceof Date) return value.toISOString();
      // An uploaded file (bytea): PGlite's typed path writes it out as hex a byte at a time, 30 s for 20 MB.
      if (value instanceof Uint8Array) return value;
      // Objects and arrays are serialized by the parameter's type, which only a describe tells.
      return UNTYPED;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * PGlite with drizzle's statements run as prepared statements, each execution one call into Postgres.
 *
 * PGlite's own `query()` makes six calls into its wasm Postgres per statement (parse, describe, bind, describe,
 * execute, sync), so that it can serialize each parameter by its type, and Postgres parses and plans the text
 * every time. drizzle's texts repeat and its parameters are plain strings, numbers, booleans and dates, which
 * Postgres reads as text by the parameter's type. So each text is prepared once under a name, and each
 * execution sends bind, describe, execute and sync in one call: a simple insert costs about a third of what it
 * did. A statement with any other kind of parameter goes through PGlite's own path, unchanged.
 *
 * drizzle also hands PGlite its type parsers with every query, which PGlite merged into its whole table of
 * some 300 parsers each time; they are installed once on the instance instead.
 */
export function withPreparedStatements(pg: PGlite): PGlite {
  pg.parsers = { ...pg.parsers, ...Object.fromEntries(DRIZZLE_RAW_TYPES.map((oid) => [oid, rawText])) };
  const prepared = new Map<string, string>();
  // Names to close with the next batch: evicted beyond the limit, or made stale by a change of table.
  const closing: string[] = [];
  // Its own prefix, so that two wrappers of one instance never reuse each other's names.
  const prefix = `ys_${randomBytes(4).toString("hex")}_`;
  let counter = 0;

  /**
   * One statement, run while the caller holds PGlite's query lock. `retry`: outside a transaction, a statement
   * whose table changed its columns since it was prepared is prepared again and run once more.
   */
  async function execute(text: string, values: ParamText[], options: QueryOptions | undefined, retry: boolean): Promise<Results> {
    const { serialize } = protocol;
    const parts = closing.splice(0).map((name) => serialize.close({ type: "S", name }));
    let name = prepared.get(text);
    const preparing = name === undefined;
    if (name === undefined) {
      name = `${prefix}${++counter}`;
      if (prepared.size >= MAX_PREPARED) {
        const [oldestText, oldest] = prepared.entries().next().value as [string, string];
        prepared.delete(oldestText);
        parts.push(serialize.close({ type: "S", name: oldest }));
      }
      parts.push(serialize.parse({ name, text }));
    }
    parts.push(serialize.bind({ statement: name, values }), serialize.describe({ type: "P" }), serialize.execute({}), serialize.sync());
    let messages;
    try {
      // The whole batch runs through to its sync even when a message fails, so PGlite is ready for the next.
      // A statement whose first execution failed is prepared afresh under a new name next time.
      messages = await pg.execProtocolStream(concat(parts), { syncToFs: false });
    } catch (err) {
      // "cached plan must not change result type": its table changed since (0A000).
      if (preparing || (err as { code?: string }).code !== "0A000") throw err;
      prepared.delete(text);
      closing.push(name);
      if (!retry) throw err;
      return execute(text, values, options, false);
    }
    if (preparing) prepared.set(text, name);
    return parse.parseResults(messages, pg.parsers, options)[0]!;
  }

  /** drizzle's `query`, on the instance (`topLevel`) or on a transaction's handle. */
  const queryOn = (topLevel: boolean, direct: Queryable) =>
    async function query(text: string, params: unknown[] = [], options?: QueryOptions) {
      const values = params.map(paramText);
      const typed = { ...options, parsers: undefined };
      if (values.includes(UNTYPED) || options?.blob) return direct.query(text, params, typed);
      if (!topLevel) {
        if ((direct as { closed?: boolean }).closed) throw new Error("Transaction is closed");
        return pg._runExclusiveQuery(() => execute(text, values as ParamText[], typed, false));
      }
      await pg._checkReady();
      // Outside a transaction, wait for any transaction in progress, as PGlite's query() does.
      const result = await pg._runExclusiveTransaction(() => pg._runExclusiveQuery(() => execute(text, values as ParamText[], typed, true)));
      await pg.syncToFs();
      return result;
    };

  // The functions are made once per instance or transaction, not on every statement.
  const wrap = <T extends Queryable>(target: T, overrides: Record<string | symbol, unknown>): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        if (prop in overrides) return overrides[prop];
        const value = Reflect.get(obj, prop, receiver);
        return typeof value === "function" ? value.bind(obj) : value;
      },
    });
  const transaction = <R>(fn: (tx: Queryable) => Promise<R>) => pg.transaction((tx) => fn(wrap(tx, { query: queryOn(false, tx) })));
  return wrap(pg, { query: queryOn(true, pg), transaction });
}
