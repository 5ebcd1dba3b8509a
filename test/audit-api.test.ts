import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog } from "../db/schema";
import { writeAuditAnchor } from "../src/audit/anchor";
import { auditEntryHash } from "../src/core/audit-append";
import { publicKeyPem } from "../src/core/audit-signing";
import { builtinSchedules, WorkCalendar } from "../src/core/calendar";
import { BOM } from "../src/core/csv";
import { createApp } from "../src/http/app";
import { DEFAULT_PROFILE } from "../profiles";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";
import { testAuditSigner } from "./harness";

// Issue 12, 审计: the manager and the reviewer read the audit log filtered by request, person and date, run the
// chain verification of `yunshen audit verify` from the API and export the log; nobody else sees it.
const work = mkdtempSync(join(tmpdir(), "yunshen-audit-api-"));
let t: TestApp;
let app: ReturnType<typeof createApp>;
const files = { signingKey: join(work, "audit-public-key.pem"), anchors: join(work, "audit-anchors.jsonl") };
let edu: { id: number; code: string };
let social: { id: number; code: string };

beforeAll(async () => {
  t = await createTestApp({ now: "2026-11-23T01:00:00Z" });
  // The service's key file holds the private key; its public half is all verification reads.
  writeFileSync(files.signingKey, publicKeyPem(testAuditSigner.publicKey));
  const calendar = new WorkCalendar(builtinSchedules());
  app = createApp({ db: t.db, clock: t.clock, calendar: () => calendar, profile: DEFAULT_PROFILE, log: () => {}, auditFiles: files });
  edu = ok(await t.submit("lihua", sampleForm()), 201);
  t.clock.set("2026-11-24T02:00:00Z");
  ok(await t.act("huangmin", edu.id, { action: "approve" }));
  t.clock.set("2026-11-26T02:00:00Z");
  await t.registerSystem("yangfan", "社保卡管理系统");
  social = ok(await t.submit("yangfan", { ...sampleForm(), systemName: "社保卡管理系统" }), 201);
  await writeAuditAnchor({ db: t.db, signer: testAuditSigner, file: files.anchors, clock: t.clock });
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

async function call(user: string | null, method: string, path: string) {
  const res = await app.request(path, { method, headers: user ? { authorization: `Bearer ${t.tokens[user]}` } : {} });
  // Decoded keeping a byte order mark, which res.text() would drop: the CSV's BOM is what is checked.
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, text, body: /^application\/json(;|$)/.test(res.headers.get("content-type") ?? "") ? JSON.parse(text) : null };
}

const entries = async (user: string, query: string) => ok(await call(user, "GET", `/api/audit?${query}`));
const total = async () => Number((await t.db.select({ n: count() }).from(auditLog))[0]!.n);

describe("who may read the audit log", () => {
  test("the manager and the reviewer may; an applicant, a county bureau, the provider and the security officer get 403", async () => {
    for (const auditor of ["zhangwei", "guojun"]) expect((await call(auditor, "GET", "/api/audit")).status, auditor).toBe(200);
    for (const user of ["lihua", "huangmin", "xufeng", "liuyang"])
      for (const [method, path] of [
        ["GET", "/api/audit"],
        ["POST", "/api/audit/verify"],
        ["GET", "/api/audit/export"],
      ] as const) {
        const res = await call(user, method, path);
        expect(res.status, `${user} ${method} ${path}`).toBe(403);
        expect(res.body.error.message).toBe("审计日志仅统筹管理单位和复核单位可以查看");
      }
    expect((await call(null, "GET", "/api/audit")).status).toBe(401);
  });
});

describe("filters", () => {
  test("by request (id or code), newest first; by person; by Beijing date", async () => {
    const byCode = await entries("zhangwei", `request=${edu.code.toLowerCase()}`);
    expect(byCode.items.map((e: { action: string }) => e.action)).toEqual(["request.approve", "request.submit"]);
    expect(byCode.items[0]).toMatchObject({ actorId: "huangmin", actorName: "黄敏", requestCode: edu.code, outcome: "ok" });
    expect((await entries("zhangwei", `request=${edu.id}`)).items).toEqual(byCode.items);
    expect((await entries("zhangwei", "request=YS-2026-99999")).items).toEqual([]);

    const byPerson = await entries("guojun", "actor=yangfan");
    // Her request, and the registrations of her unit's systems (004 第二条) before it, newest first.
    expect(byPerson.items.map((e: { action: string; requestCode: string | null }) => `${e.action} ${e.requestCode}`)).toEqual([
      `request.submit ${social.code}`,
      "system.register null",
      "system.register null",
    ]);

    const onTheDay = await entries("guojun", "from=2026-11-24&to=2026-11-24");
    expect(onTheDay.items.map((e: { action: string; actorId: string }) => `${e.actorId} ${e.action}`)).toEqual(["huangmin request.approve"]);
    expect((await entries("guojun", "from=2026-11-25")).items.every((e: { at: string }) => e.at >= "2026-11-24T16:00:00.000Z")).toBe(true);
  });

  test("paged by seq: every entry once, in order, across pages", async () => {
    const seen: number[] = [];
    let before: number | null = null;
    do {
      const page: { items: { seq: number }[]; next: number | null } = await entries("zhangwei", `limit=2${before ? `&before=${before}` : ""}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.seq));
      before = page.next;
    } while (before);
    const all = await t.db.select({ seq: auditLog.seq }).from(auditLog).orderBy(asc(auditLog.seq));
    expect(seen.reverse()).toEqual(all.map((e) => e.seq));
  });

  test("bad filters are a 400 naming the field, and nothing is read", async () => {
    for (const [query, field] of [
      ["request=abc", "request"],
      ["from=2026-13-01", "from"],
      ["from=2026-11-25&to=2026-11-01", "to"],
      ["limit=0", "limit"],
    ] as const) {
      const res = await call("zhangwei", "GET", `/api/audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(Object.keys(res.body.error.fields), query).toEqual([field]);
    }
  });
});

describe("export", () => {
  test("CSV with a BOM and the CLI's columns, every entry once; JSON Lines each carrying its hash and signature", async () => {
    const n = await total();
    const csv = await call("guojun", "GET", "/api/audit/export?format=csv");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.text.startsWith(BOM)).toBe(true);
    const lines = csv.text.slice(1).trimEnd().split("\r\n");
    expect(lines[0]).toBe("seq,at,actorId,actorRole,action,requestId,stage,outcome,channel,sourceIp,details,prevHash,hash,sig");
    expect(lines).toHaveLength(n + 1);

    const jsonl = await call("zhangwei", "GET", "/api/audit/export");
    expect(jsonl.headers.get("content-disposition")).toBe('attachment; filename="yunshen-audit-2026-11-26.jsonl"');
    const rows = jsonl.text.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.hash) && typeof r.sig === "string")).toBe(true);
  });
});

describe("校验", () => {
  test("an intact log: the count, signatures checked with the key file, the anchor matched", async () => {
    expect(ok(await call("zhangwei", "POST", "/api/audit/verify"))).toEqual({
      ok: true,
      count: await total(),
      firstBad: null,
      findings: [],
      signaturesChecked: true,
      anchors: 1,
    });
  });

  // Staged as test/audit-forgery.test.ts stages a superuser's forgery: the triggers disabled, a row rewritten.
  test("an entry changed in the database is named, and so is a rewrite that recomputed the hashes", async () => {
    await t.db.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER ALL"));
    const [approval] = await t.db.select().from(auditLog).where(eq(auditLog.action, "request.approve"));
    await t.db.execute(sql`update audit_log set actor_id = 'zhangwei' where seq = ${approval!.seq}`);
    const changed = ok(await call("guojun", "POST", "/api/audit/verify"));
    expect(changed).toMatchObject({ ok: false, count: approval!.seq - 1 });
    expect(changed.firstBad.seq).toBe(approval!.seq);
    expect(changed.firstBad.reason).toContain(`第 ${approval!.seq} 条`);

    // The forger recomputes this entry's hash and every later one, so the chain links up again; the signature cannot follow.
    const rows = await t.db.select().from(auditLog).orderBy(asc(auditLog.seq));
    let prevHash = rows.find((r) => r.seq === approval!.seq)!.prevHash;
    for (const row of rows.filter((r) => r.seq >= approval!.seq)) {
      const { hash: _hash, sig: _sig, ...body } = row;
      const hash = auditEntryHash({ ...body, prevHash });
      await t.db.execute(sql`update audit_log set prev_hash = ${prevHash}, hash = ${hash} where seq = ${row.seq}`);
      prevHash = hash;
    }
    const rewritten = ok(await call("guojun", "POST", "/api/audit/verify"));
    expect(rewritten.ok).toBe(false);
    expect(rewritten.firstBad.seq).toBe(approval!.seq);
    expect(rewritten.firstBad.reason).toContain("签名无效");
  });
});
