import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { openDatabase } from "./client";

// For tests and benchmarks on PostgreSQL: each gets a database of its own, so runs never see each other's rows.

/** A new, empty PostgreSQL database next to the admin one; drop() removes it even with connections left open. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = await openDatabase({ url: adminUrl, max: 1 });
  await admin.db.execute(sql.raw(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`));
      await admin.close();
    },
  };
}
