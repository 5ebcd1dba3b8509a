import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { inject } from "vitest";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { runCli } from "../src/cli";

/**
 * A database of this test file's own: a copy of the migrated PGlite template, or, when TEST_DATABASE_URL is
 * set, a new PostgreSQL database created for the file and dropped at close.
 */
export async function createTestDatabase(): Promise<Database & { url?: string }> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    const name = `yunshen_t_${randomBytes(6).toString("hex")}`;
    const admin = await openDatabase({ url: adminUrl, max: 1 });
    const { sql } = await import("drizzle-orm");
    await admin.db.execute(sql.raw(`create database "${name}"`));
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const database = await openDatabase({ url: url.toString(), max: 20 });
    await migrateDatabase(database, { url: url.toString() });
    return {
      ...database,
      url: url.toString(),
      async close() {
        await database.close();
        await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`));
        await admin.close();
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const template = readFileSync(inject("pgliteTemplate"));
  const pglite = await PGlite.create({ loadDataDir: new Blob([template]) });
  return openDatabase({ pglite });
}

export const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

/** Runs the `yunshen` command in-process and keeps what it printed. */
export async function captureCli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    isTTY: false,
    env,
  });
  return { code, out, err };
}
