import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Database } from "../db/client";
import { files } from "../db/schema";
import { systemClock } from "../src/core/context";
import { createApp, type AppDeps } from "../src/http/app";
import { drive, expectSuccess, runWhenMain, seedDemo, type Figures } from "./drive";

// A 20 MB attachment through POST /api/files on a real loopback socket (multipart parsing, the type and size
// checks, SHA-256, the insert and its audit entry in one transaction) against inserting the same bytes into the
// files table directly, on the same database in the same run.

export async function benchUploads(database: Database, opts: { count?: number; sizeMb?: number } = {}) {
  const count = opts.count ?? 5;
  const size = (opts.sizeMb ?? 20) * 1024 * 1024;
  const { calendar, tokenFor } = await seedDemo(database);
  const token = await tokenFor("lihua");
  const deps: AppDeps = { db: database.db, clock: systemClock, calendar: () => calendar, profile: "meizhou", log: () => {} };
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: createApp(deps).fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Random bytes after a PDF header: as incompressible as a real scanned PDF.
  const content = randomBytes(size);
  content.write("%PDF-1.7\n");
  try {
    const direct = async (i: number) => {
      await database.db.transaction((tx) =>
        tx.insert(files).values({
          id: `bench-${i}-${randomBytes(4).toString("hex")}`,
          name: "基线.pdf",
          contentType: "application/pdf",
          size,
          sha256: "0".repeat(64),
          content,
          // Another person's: lihua's own uploads, pending all run, must stay within her quota (10 × 20 MB).
          uploadedBy: "huangmin",
          unitId: "mx-sjj",
          uploadedAt: new Date(),
        }),
      );
    };
    const upload = async () => {
      const form = new FormData();
      form.set("file", new File([content], "迁云上云实施方案.pdf", { type: "application/pdf" }));
      form.set("purpose", "plan");
      await expectSuccess(await fetch(`${base}/api/files`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form }), "upload");
    };
    // Warm both paths once before measuring.
    await direct(-1);
    await upload();
    const baseline = await drive(count, 1, direct);
    const uploads = await drive(count, 1, upload);
    // Each takes a second or more: time per upload says more than operations per second.
    const row = (label: string, f: Figures) =>
      `${label.padEnd(30)} ${(f.ms / count).toFixed(0).padStart(6)} ms each   p99 ${f.p99.toFixed(0)} ms   ${((count * size) / 1024 / 1024 / (f.ms / 1000)).toFixed(1)} MB/s`;
    console.log(`uploads of ${size / 1024 / 1024} MB (${database.kind}, ${count} each, one at a time):`);
    console.log(row("  baseline: insert the bytes", baseline));
    console.log(row("  POST /api/files", uploads));
    console.log(`  ratio upload time / direct insert time: ${(uploads.ms / baseline.ms).toFixed(2)}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

await runWhenMain(import.meta.url, benchUploads);
