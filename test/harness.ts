import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { inject } from "vitest";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { createScratchDatabase } from "../db/scratch";

export { createScratchDatabase };
import { ephemeralAuditSigner, signingDb } from "../src/core/audit-signing";
import { runCli } from "../src/cli/index";

/** This run's audit signing key, in memory only (a PEM private key is never committed): every test database signs with it. */
export const testAuditSigner = ephemeralAuditSigner();

/**
 * A database of this test file's own: a copy of the migrated PGlite template, or, when TEST_DATABASE_URL is
 * set, a new PostgreSQL database created for the file and dropped at close.
 */
export async function createTestDatabase(): Promise<Database & { url?: string }> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    const scratch = await createScratchDatabase(adminUrl, "yunshen_t");
    const database = await openDatabase({ url: scratch.url, max: 20 });
    await migrateDatabase(database, { url: scratch.url });
    return {
      ...database,
      db: signingDb(database.db, testAuditSigner),
      url: scratch.url,
      async close() {
        await database.close();
        await scratch.drop();
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const template = readFileSync(inject("pgliteTemplate"));
  const pglite = await PGlite.create({ loadDataDir: new Blob([template]) });
  const database = await openDatabase({ pglite });
  return { ...database, db: signingDb(database.db, testAuditSigner) };
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

/** A loopback port nobody is listening on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
