import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { migrateDatabase, openDatabase } from "../db/client";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

// A fresh PGlite costs ~4 s of initdb; a migrated template copied per test file loads in well under 1 s.
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "yunshen-test-"));
  const database = await openDatabase({ dataDir: "memory://" });
  await migrateDatabase(database);
  const client = (database.db as unknown as { $client: import("@electric-sql/pglite").PGlite }).$client;
  const dump = await client.dumpDataDir("none");
  const file = join(dir, "template.tar");
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await database.close();
  project.provide("pgliteTemplate", file);
  return () => rmSync(dir, { recursive: true, force: true });
}
