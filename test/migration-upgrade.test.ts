import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { migrationsFolder } from "../db/client";

// The migrations that fill a new column from what the database already holds (hand-written backfills) run on
// every deployment that upgrades; the other suites start from an empty database, where a backfill has nothing to
// do. Here a database is migrated to the version before them, given rows as that version's code wrote them, and
// then upgraded with every committed migration, as `npm start` does on a deployment's existing data.

const BEFORE = "0021_security_inspections";
let pg: PGlite;
let folder: string;

/** The committed migrations up to and including `last`, as a folder of their own. */
function migrationsThrough(last: string): string {
  const dir = mkdtempSync(join(tmpdir(), "yunshen-migrations-"));
  cpSync(migrationsFolder, dir, { recursive: true });
  const journalPath = join(dir, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  const end = journal.entries.findIndex((e) => e.tag === last);
  if (end < 0) throw new Error(`no migration ${last}`);
  journal.entries = journal.entries.slice(0, end + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

const at = (iso: string) => `'${iso}'::timestamptz`;

beforeAll(async () => {
  pg = new PGlite();
  folder = migrationsThrough(BEFORE);
  await migrate(drizzle({ client: pg }), { migrationsFolder: folder });
  // What a deployment at 0021 holds: a 巴中 application's resources (one deployed, one not), a 梅州 one's, a
  // 巴中 backup's; an inspection closed after two 整改完成 reports with its documents, one still rectifying; a VM
  // account that has let its holder in twice, one never used.
  await pg.exec(`
    insert into units (id, name, kind) values ('u1', '梅县区教育局', 'unit');
    insert into users (id, name, unit_id, mobile, roles) values ('lihua', '李华', 'u1', '13800000001', '["applicant"]');
    insert into requests (id, code, flow, profile, unit_id, applicant_id, title, form, facts, status, submitted_at, updated_at) values
      (1, 'BZ-1', 'application', 'bazhong', 'u1', 'lihua', '申请', '{}', '{}', 'completed', ${at("2026-03-02T01:00:00Z")}, ${at("2026-03-02T01:00:00Z")}),
      (2, 'MZ-2', 'application', 'meizhou', 'u1', 'lihua', '申请', '{}', '{}', 'completed', ${at("2026-03-02T01:00:00Z")}, ${at("2026-03-02T01:00:00Z")}),
      (3, 'BZ-3', 'backup', 'bazhong', 'u1', 'lihua', '备份', '{}', '{}', 'completed', ${at("2026-03-02T01:00:00Z")}, ${at("2026-03-02T01:00:00Z")});
    insert into resources (id, request_id, unit_id, system, kind, name, spec, status, delivered_at, deployed_at) values
      (1, 1, 'u1', '系统', 'vm', 'bz-vm-1', '{}', 'delivered', ${at("2026-03-05T02:00:00Z")}, ${at("2026-03-12T02:00:00Z")}),
      (2, 1, 'u1', '系统', 'vm', 'bz-vm-2', '{}', 'delivered', ${at("2026-03-05T02:00:00Z")}, null),
      (3, 2, 'u1', '系统', 'vm', 'mz-vm-1', '{}', 'delivered', ${at("2026-03-06T02:00:00Z")}, ${at("2026-03-13T02:00:00Z")}),
      (4, 3, 'u1', '系统', 'backup', 'bz-bak-1', '{}', 'delivered', ${at("2026-03-07T02:00:00Z")}, null);
    insert into files (id, name, content_type, size, sha256, content, uploaded_by, unit_id, uploaded_at) values
      ('f-doc', '检查记录.pdf', 'application/pdf', 1, 'x', '\\x00', 'lihua', 'u1', ${at("2026-04-01T02:00:00Z")}),
      ('f-fix', '整改报告.pdf', 'application/pdf', 1, 'x', '\\x00', 'lihua', 'u1', ${at("2026-04-08T02:00:00Z")}),
      ('f-loose', '未提交.pdf', 'application/pdf', 1, 'x', '\\x00', 'lihua', 'u1', ${at("2026-04-09T02:00:00Z")});
    insert into security_inspections (id, inspected_on, kind, scope, inspectors, result, findings, status, document_file_id, rectification_file_id, recorded_by, recorded_at, updated_at) values
      (1, '2026-04-01', 'inspection', '[]', '张伟', 'rectify', '[]', 'closed', 'f-doc', 'f-fix', 'lihua', ${at("2026-04-01T02:00:00Z")}, ${at("2026-04-10T02:00:00Z")}),
      (2, '2026-04-02', 'inspection', '[]', '张伟', 'rectify', '[]', 'rectifying', null, null, 'lihua', ${at("2026-04-02T02:00:00Z")}, ${at("2026-04-02T02:00:00Z")});
    insert into hosts (id, credential_hash, created_at) values ('vm-web-01', 'x', ${at("2026-03-01T00:00:00Z")});
    insert into vm_accounts (id, host_id, account, user_id, mobile, status, valid_until, created_at) values
      (1, 'vm-web-01', 'lihua', 'lihua', '13800000001', 'active', ${at("2027-03-01T00:00:00Z")}, ${at("2026-03-01T00:00:00Z")}),
      (2, 'vm-web-01', 'zhaolei', 'lihua', '13800000001', 'active', ${at("2027-03-01T00:00:00Z")}, ${at("2026-03-01T00:00:00Z")});
    insert into audit_log (seq, at, action, outcome, channel, details, prev_hash, hash) values
      (1, ${at("2026-04-05T02:00:00Z")}, 'inspection.report', 'ok', 'api', '{"id": 1}', '', 'h1'),
      (2, ${at("2026-04-11T02:00:00Z")}, 'inspection.report', 'refused', 'api', '{"id": 1}', 'h1', 'h2'),
      (3, ${at("2026-04-09T02:00:00Z")}, 'inspection.report', 'ok', 'api', '{"id": 1}', 'h2', 'h3'),
      (4, ${at("2026-03-10T02:00:00Z")}, 'access.verify', 'ok', 'api', '{"accountId": 1, "allow": false}', 'h3', 'h4'),
      (5, ${at("2026-03-11T02:00:00Z")}, 'access.verify', 'ok', 'api', '{"accountId": 1, "allow": true}', 'h4', 'h5'),
      (6, ${at("2026-03-12T02:00:00Z")}, 'access.verify', 'ok', 'api', '{"accountId": 1, "allow": true}', 'h5', 'h6');
  `);
  await migrate(drizzle({ client: pg }), { migrationsFolder });
});

afterAll(async () => {
  await pg?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const rows = async <T>(query: string) => (await pg.query<T>(query)).rows;
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe("upgrading a deployment's database: the backfills of the hand-written migrations", () => {
  test("0022: documents an inspection names are kept by it, so the purge of unsubmitted uploads leaves them", async () => {
    const held = await rows<{ id: string; held_by: string | null }>("select id, held_by from files order by id");
    expect(held).toEqual([
      { id: "f-doc", held_by: "inspection:1" },
      { id: "f-fix", held_by: "inspection:1" },
      { id: "f-loose", held_by: null },
    ]);
  });

  test("0023: an inspection reported before the column existed gets its last successful 整改完成 report's time", async () => {
    const reported = await rows<{ id: number; reported_at: Date | null }>("select id, reported_at from security_inspections order by id");
    expect(reported.map((r) => [Number(r.id), iso(r.reported_at)])).toEqual([
      [1, "2026-04-09T02:00:00.000Z"],
      [2, null],
    ]);
  });

  test("0025: 003 第四十三条 — a 巴中 application's resources are billed from deployment (none yet if undeployed); the rest from delivery", async () => {
    const billed = await rows<{ name: string; billed_from: Date | null }>("select name, billed_from from resources order by id");
    expect(billed.map((r) => [r.name, iso(r.billed_from)])).toEqual([
      ["bz-vm-1", "2026-03-12T02:00:00.000Z"],
      ["bz-vm-2", null],
      ["mz-vm-1", "2026-03-06T02:00:00.000Z"],
      ["bz-bak-1", "2026-03-07T02:00:00.000Z"],
    ]);
  });

  test("0027: 001 附件1 注2 — an account that already let its holder in has had its first login (the first allowed one); an unused one has not", async () => {
    const first = await rows<{ id: number; first_login_at: Date | null }>("select id, first_login_at from vm_accounts order by id");
    expect(first.map((r) => [Number(r.id), iso(r.first_login_at)])).toEqual([
      [1, "2026-03-11T02:00:00.000Z"],
      [2, null],
    ]);
  });

  test("the upgraded database has every migration applied, and the audit log still refuses changes", async () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as { entries: unknown[] };
    const [applied] = await rows<{ n: number }>("select count(*)::int as n from drizzle.__drizzle_migrations");
    expect(applied!.n).toBe(journal.entries.length);
    await expect(pg.query("delete from audit_log where seq = 1")).rejects.toThrow();
  });
});
