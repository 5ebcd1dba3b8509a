import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, desc, eq, gte, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/client";
import { auditLog } from "../db/schema";
import { auditAnchorSchedule, readAnchors, writeAuditAnchor, type AuditAnchor } from "../src/audit/anchor";
import { auditAppendMany, auditEntryHash, type AuditInput, type AuditRecord } from "../src/core/audit-append";
import { exportAudit } from "../src/audit/export";
import { openAuditSigner, publicKeyPem, verifyAuditSignature } from "../src/core/audit-signing";
import { verifyAuditChain, type AuditVerifyOptions } from "../src/audit/verify";
import { consoleSender } from "../src/jobs/outbox";
import { calendarStore, runJobsOnce } from "../src/jobs/runner";
import { manualClock } from "./app-harness";
import { captureCli, createTestDatabase, testAuditSigner } from "./harness";

// Defect 4 of issue 10: someone with write access to the database (a superuser who disables the triggers)
// rewrites, appends to or truncates the audit log and recomputes the unkeyed hashes. The chain alone cannot
// tell; the signatures (a key the database does not hold) and the anchors (kept outside it) must, and
// `audit verify` must name what was done.

const work = mkdtempSync(join(tmpdir(), "yunshen-audit-forgery-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ENTRIES = 1000;
const T0 = Date.UTC(2026, 2, 2, 1, 0, 0);
const publicKey = testAuditSigner.publicKey;

function input(i: number): AuditInput {
  return {
    actorId: `u${i % 7}`,
    actorRole: i % 2 === 0 ? "reviewer" : "applicant",
    action: i % 2 === 0 ? "request.approve" : "request.submit",
    requestId: Math.ceil(i / 4),
    stage: i % 2 === 0 ? "review" : null,
    channel: "api",
    sourceIp: "10.0.0.8",
    details: { note: `第 ${i} 次操作`, amount: i * 12.5 },
  };
}

/** Appends entries from..to through the test database's signing Db, a hundred per transaction. */
async function append(database: Database, from: number, to: number) {
  for (let start = from; start <= to; start += 100) {
    const batch = Array.from({ length: Math.min(100, to - start + 1) }, (_, k) => ({
      at: new Date(T0 + (start + k) * 60_000),
      input: input(start + k),
    }));
    await database.db.transaction((tx) => auditAppendMany(tx, batch));
  }
}

interface Log {
  database: Database;
  anchorFile: string;
  options: AuditVerifyOptions;
}

let logCount = 0;
/**
 * A signed log of 1,000 entries, anchored by the service's anchoring at entry 600 and again at 1,000, with the
 * triggers disabled the way a superuser would.
 */
async function anchoredLog(): Promise<Log> {
  const database = await createTestDatabase();
  const anchorFile = join(work, `anchors-${++logCount}.jsonl`);
  const clock = manualClock("2026-03-02T09:00:00Z");
  const anchor = () => writeAuditAnchor({ db: database.db, signer: testAuditSigner, file: anchorFile, clock });
  await append(database, 1, 600);
  await anchor();
  clock.set("2026-03-02T10:00:00Z");
  await append(database, 601, ENTRIES);
  await anchor();
  await database.db.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER ALL"));
  return { database, anchorFile, options: { publicKey, anchors: readAnchors(anchorFile) } };
}

async function rowsFrom(db: Database["db"], seq: number): Promise<AuditRecord[]> {
  return db.select().from(auditLog).where(gte(auditLog.seq, seq)).orderBy(asc(auditLog.seq));
}

/**
 * The forger's rewrite: entry `seq` changed, and it and every later entry rehashed with the public, unkeyed
 * algorithm, so the chain links up again. The signatures are left as they were, or cleared.
 */
async function rewriteFrom(db: Database["db"], seq: number, opts: { clearSignatures?: boolean; clearEarlierSignatures?: boolean } = {}) {
  const rows = await rowsFrom(db, seq);
  let prevHash = rows[0]!.prevHash;
  await db.transaction(async (tx) => {
    for (const row of rows) {
      const { hash: _hash, sig, ...body } = row;
      const forged = { ...body, prevHash, ...(row.seq === seq ? { outcome: "ok" as const, details: { ...body.details, amount: 1 } } : {}) };
      const hash = auditEntryHash(forged);
      const newSig = opts.clearSignatures ? null : sig;
      await tx.execute(
        sql`update audit_log set outcome = ${forged.outcome}, details = ${JSON.stringify(forged.details)}::jsonb, prev_hash = ${prevHash}, hash = ${hash}, sig = ${newSig} where seq = ${row.seq}`,
      );
      prevHash = hash;
    }
    if (opts.clearEarlierSignatures) await tx.execute(sql`update audit_log set sig = null where seq < ${seq}`);
  });
}

/** The forger's append: a plausible approval at the head, with a correct unkeyed hash. */
async function appendForgedApproval(db: Database["db"], sig: (head: AuditRecord) => string | null) {
  const [head] = await db.select().from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  const body = {
    ...head!,
    seq: head!.seq + 1,
    at: new Date(head!.at.getTime() + 60_000),
    action: "request.approve",
    actorId: "zhangwei",
    outcome: "ok" as const,
    details: { note: "同意" },
    prevHash: head!.hash,
  };
  const { hash: _hash, sig: _sig, ...hashed } = body;
  const hash = auditEntryHash(hashed);
  await db.insert(auditLog).values({ ...hashed, hash, sig: sig(head!) });
}

const anchorAt = (log: Log, seq: number) => log.options.anchors!.find((a) => a.seq === seq)!;
const anchorName = (log: Log, seq: number) => {
  const a = anchorAt(log, seq) as AuditAnchor & { line: number };
  return `锚点文件第 ${a.line} 行的锚点（${a.at}）`;
};

describe("a signed and anchored log", () => {
  let log: Log;
  beforeAll(async () => {
    log = await anchoredLog();
  });
  afterAll(() => log.database.close());

  it("verifies: chain, 1,000 signatures, two anchors", async () => {
    expect(readFileSync(log.anchorFile, "utf8").trimEnd().split("\n")).toHaveLength(2);
    expect(await verifyAuditChain(log.database.db, log.options)).toEqual({
      ok: true,
      count: ENTRIES,
      signed: ENTRIES,
      unsignedBefore: 0,
      signaturesChecked: true,
      anchors: 2,
      lastAnchor: { seq: ENTRIES, at: "2026-03-02T10:00:00.000Z" },
    });
  });

  it("writes no second anchor while the head has not moved", async () => {
    const again = await writeAuditAnchor({ db: log.database.db, signer: testAuditSigner, file: log.anchorFile, clock: manualClock("2026-03-03T00:00:00Z") });
    expect(again.written).toBeNull();
    expect(again.head?.seq).toBe(ENTRIES);
    expect(readAnchors(log.anchorFile)).toHaveLength(2);
  });
});

describe("forgeries by a database superuser", () => {
  const forged = async (forge: (log: Log) => Promise<void>) => {
    const log = await anchoredLog();
    try {
      await forge(log);
      return { log, result: await verifyAuditChain(log.database.db, log.options) };
    } finally {
      await log.database.close();
    }
  };

  it("(a) entry 500 changed and every later hash recomputed: named at 500 by its signature", async () => {
    const { log, result } = await forged(({ database }) => rewriteFrom(database.db, 500));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.count).toBe(499);
    expect(result.firstBad).toEqual({
      seq: 500,
      reason: "第 500 条记录的签名无效（记录被改动后重算了哈希，或签名被改动，或公钥不是本服务的）",
    });
    // The anchor at 600 would have caught it too; the walk stops at the first entry it cannot trust.
    expect(result.findings).toHaveLength(1);
    expect(anchorAt(log, 600)).toBeDefined();
  });

  it("(a) the same rewrite with the signatures removed: named at 500 as unsigned", async () => {
    const { result } = await forged(({ database }) => rewriteFrom(database.db, 500, { clearSignatures: true }));
    expect(result).toMatchObject({
      ok: false,
      count: 499,
      firstBad: { seq: 500, reason: "第 500 条记录没有签名，而它之前已有签名记录或锚点（疑为伪造追加，或签名被删除）" },
    });
  });

  it("(a) every signature removed, so the log looks older than signing: the anchor at 600 names it", async () => {
    const { log, result } = await forged(({ database }) => rewriteFrom(database.db, 500, { clearSignatures: true, clearEarlierSignatures: true }));
    expect(result).toMatchObject({
      ok: false,
      count: 599,
      firstBad: { seq: 600, reason: `第 600 条记录的哈希与${anchorName(log, 600)}不符（该条或它之前的记录被改写）` },
    });
  });

  it("(b) a forged approval appended with a valid hash and no signature: named", async () => {
    const { result } = await forged(({ database }) => appendForgedApproval(database.db, () => null));
    expect(result).toMatchObject({
      ok: false,
      count: ENTRIES,
      firstBad: { seq: 1001, reason: "第 1001 条记录没有签名，而它之前已有签名记录或锚点（疑为伪造追加，或签名被删除）" },
    });
  });

  it("(b) a forged approval carrying the previous entry's signature: named", async () => {
    const { result } = await forged(({ database }) => appendForgedApproval(database.db, (head) => head.sig!));
    expect(result).toMatchObject({
      ok: false,
      count: ENTRIES,
      firstBad: { seq: 1001, reason: "第 1001 条记录的签名无效（记录被改动后重算了哈希，或签名被改动，或公钥不是本服务的）" },
    });
  });

  it("(c) trigger disabled and the log truncated: named as truncated against the anchor, not 完整：0 条", async () => {
    const { log, result } = await forged(async ({ database }) => {
      await database.db.execute(sql.raw("TRUNCATE audit_log"));
    });
    const reason = `审计日志被截断：${anchorName(log, ENTRIES)}记录日志当时已有 1000 条，现在只有 0 条（第 1 至 1000 条被删除）`;
    expect(result).toEqual({ ok: false, count: 0, firstBad: { seq: 1, reason }, findings: [{ seq: 1, reason }] });
  });

  it("(c) the newest 200 entries deleted: named from 801", async () => {
    const { log, result } = await forged(async ({ database }) => {
      await database.db.execute(sql`delete from audit_log where seq > 800`);
    });
    expect(result).toMatchObject({
      ok: false,
      count: 800,
      firstBad: { seq: 801, reason: `审计日志被截断：${anchorName(log, ENTRIES)}记录日志当时已有 1000 条，现在只有 800 条（第 801 至 1000 条被删除）` },
    });
  });

  it("an anchor line forged or altered in the anchor file is named and vouches for nothing", async () => {
    const log = await anchoredLog();
    try {
      const anchors = readAnchors(log.anchorFile);
      const altered = anchors.map((a) => (a.seq === ENTRIES ? { ...a, seq: 5000 } : a));
      const result = await verifyAuditChain(log.database.db, { publicKey, anchors: altered });
      expect(result).toMatchObject({
        ok: false,
        firstBad: { seq: 5000, reason: `锚点文件第 2 行的锚点（${anchors[1]!.at}）签名无效（锚点被伪造或改动）` },
      });
    } finally {
      await log.database.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The auditor's side: nothing but the export, the public key and the anchors.
// ---------------------------------------------------------------------------------------------------------

describe("offline verification from an export", () => {
  let log: Log;
  let exportFile: string;
  let lines: string[];
  const publicKeyFile = join(work, "audit-public-key.pem");
  // No database anywhere: DATA_DIR names a directory that must still not exist afterwards.
  const noDatabase = { DATA_DIR: join(work, "auditor-has-no-data-dir") };

  beforeAll(async () => {
    log = await anchoredLog();
    exportFile = join(work, "audit.jsonl");
    const chunks: string[] = [];
    await exportAudit(log.database.db, "jsonl", (chunk) => void chunks.push(chunk));
    writeFileSync(exportFile, chunks.join(""));
    lines = chunks.join("").trimEnd().split("\n");
    writeFileSync(publicKeyFile, publicKeyPem(publicKey));
  });
  afterAll(() => log.database.close());

  const verifyFile = (file: string) =>
    captureCli(["audit", "verify", "--export", file, "--public-key", publicKeyFile, "--anchors", log.anchorFile], noDatabase);

  it("verifies the export without any database", async () => {
    const r = await verifyFile(exportFile);
    expect(r).toEqual({
      code: 0,
      out:
        "审计日志完整：1000 条记录，哈希链校验通过\n" +
        `签名：1000 条全部有效（公钥 ${publicKeyFile}）\n` +
        `锚点：与 2 个锚点相符，最近一个为第 1000 条（2026-03-02T10:00:00.000Z，${log.anchorFile}）\n`,
      err: "",
    });
    expect(existsSync(noDatabase.DATA_DIR)).toBe(false);
  });

  it("names an entry rewritten in the export with its hashes recomputed", async () => {
    let prevHash = "";
    const forgedLines = lines.map((line) => {
      const entry = JSON.parse(line) as Omit<AuditRecord, "at"> & { at: string };
      if (entry.seq < 500) return line;
      const { hash: _h, sig, ...body } = entry;
      const changed = { ...body, ...(entry.seq === 500 ? { actorId: "forger" } : {}), ...(prevHash ? { prevHash } : {}) };
      const hash = auditEntryHash({ ...changed, at: new Date(changed.at) });
      prevHash = hash;
      return JSON.stringify({ ...changed, hash, sig });
    });
    const file = join(work, "audit-forged.jsonl");
    writeFileSync(file, `${forgedLines.join("\n")}\n`);
    const r = await verifyFile(file);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      "审计日志校验失败：第 500 条记录的签名无效（记录被改动后重算了哈希，或签名被改动，或公钥不是本服务的）（第 500 条；已校验 499 条）\n",
    );
  });

  it("names an export cut short against the anchors", async () => {
    const file = join(work, "audit-short.jsonl");
    writeFileSync(file, `${lines.slice(0, 700).join("\n")}\n`);
    const r = await verifyFile(file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `审计日志校验失败：审计日志被截断：${anchorName(log, ENTRIES)}记录日志当时已有 1000 条，现在只有 700 条（第 701 至 1000 条被删除）（第 701 条；已校验 700 条）\n`,
    );
  });

  it("says which line of the export is not an entry", async () => {
    const file = join(work, "audit-garbled.jsonl");
    writeFileSync(file, `${lines[0]}\nnot json\n`);
    const r = await verifyFile(file);
    expect(r).toEqual({ code: 1, out: "", err: `导出文件 ${file} 第 2 行不是审计记录（应为 audit export --format jsonl 的一行）\n` });
  });

  // The README's recipe for an auditor without yunshen: jq, sha256sum, base64 and OpenSSL 3.
  const hasTools = ["bash", "jq", "sha256sum", "base64", "openssl"].every((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });

  it.skipIf(!hasTools)("checks with jq, sha256sum and openssl as the README says", () => {
    const sh = (script: string) => execFileSync("sh", ["-c", script], { cwd: work, encoding: "utf8" });
    writeFileSync(join(work, "audit-anchors.jsonl"), readFileSync(log.anchorFile));
    // One entry: its hash over the entry without hash and sig, and its signature.
    const entry = sh(
      `line=$(sed -n 500p audit.jsonl)
       printf '%s' "$line" | jq -cSj 'del(.hash, .sig)' | sha256sum | cut -c1-64
       printf '%s' "$line" | jq -r .hash
       printf '%s' "$line" | jq -j .hash > msg.txt
       printf '%s' "$line" | jq -r .sig | base64 -d > sig.bin
       openssl pkeyutl -verify -pubin -inkey audit-public-key.pem -rawin -in msg.txt -sigfile sig.bin`,
    ).split("\n");
    expect(entry[0]).toBe(entry[1]);
    expect(entry[2]).toBe("Signature Verified Successfully");
    // The README's script, as written there.
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const script = /```sh\n(# Every hash, and every link[\s\S]*?)```/.exec(readme)?.[1];
    expect(script, "README.md has the auditor's script").toBeDefined();
    const out = execFileSync("bash", ["-c", script!], { cwd: work, encoding: "utf8" }).trimEnd().split("\n");
    const lastAnchor = readAnchors(log.anchorFile).at(-1)!;
    expect(out).toEqual([
      "hashes-ok",
      "links-ok",
      "Signature Verified Successfully",
      "Signature Verified Successfully",
      lastAnchor.hash,
      expect.stringMatching(/^\s*1000$/),
    ]);
  }, 180_000); // one openssl process per line of the export: slow on a loaded CI machine, never a failure of ours
});

// ---------------------------------------------------------------------------------------------------------
// The key and the anchoring schedule
// ---------------------------------------------------------------------------------------------------------

describe("the signing key file", () => {
  it("is created once, mode 0600, with one line saying where and to back it up; a lost key is refused", async () => {
    const database = await createTestDatabase();
    try {
      const file = join(work, "keys", "audit-signing-key.pem");
      const lines: string[] = [];
      const signer = await openAuditSigner({ file, db: database.db, log: (line) => lines.push(line) });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(lines).toEqual([
        `已生成审计签名私钥 ${file}（仅本机可读）：请立即备份，并存放在数据库主机以外；丢失后无法再为审计日志签名，泄露后签名不再可信。公钥：yunshen audit public-key`,
      ]);
      const again = await openAuditSigner({ file, db: database.db, log: (line) => lines.push(line) });
      expect(lines).toHaveLength(1);
      expect(publicKeyPem(again.publicKey)).toBe(publicKeyPem(signer.publicKey));
      expect(verifyAuditSignature(signer.publicKey, "abc", again.sign("abc"))).toBe(true);

      // The log now holds signed entries: a missing key is a lost one, not a first start.
      await append(database, 1, 3);
      await expect(openAuditSigner({ file: join(work, "keys", "elsewhere.pem"), db: database.db, log: () => {} })).rejects.toThrow(
        `审计签名私钥 ${join(work, "keys", "elsewhere.pem")} 不存在，但审计日志已有签名记录（最新第 3 条）：请从备份恢复该文件，或用 AUDIT_SIGNING_KEY_FILE 指向它`,
      );
      expect(existsSync(join(work, "keys", "elsewhere.pem"))).toBe(false);
    } finally {
      await database.close();
    }
  });
});

describe("anchoring by the job runner", () => {
  it("anchors at the first round, then only once the interval has passed and the head moved", async () => {
    const database = await createTestDatabase();
    try {
      const file = join(work, "runner-anchors.jsonl");
      const clock = manualClock("2026-03-02T01:00:00Z");
      const deps = {
        db: database.db,
        clock,
        calendars: await calendarStore(database.db),
        profile: "meizhou" as const,
        sender: consoleSender(() => {}),
        log: () => {},
        anchorAudit: auditAnchorSchedule({ db: database.db, signer: testAuditSigner, file, clock, intervalMs: 3_600_000 }),
      };
      const anchoredSeqs = () => (existsSync(file) ? readAnchors(file).map((a) => a.seq) : []);
      await runJobsOnce(deps);
      expect(anchoredSeqs()).toEqual([]); // an empty log has no head to anchor
      await append(database, 1, 5);
      clock.set("2026-03-02T02:00:00Z");
      await runJobsOnce(deps);
      expect(anchoredSeqs()).toEqual([5]);
      await append(database, 6, 8);
      clock.set("2026-03-02T02:30:00Z");
      await runJobsOnce(deps);
      expect(anchoredSeqs()).toEqual([5]); // not due
      clock.set("2026-03-02T03:00:00Z");
      await runJobsOnce(deps);
      expect(anchoredSeqs()).toEqual([5, 8]);
      clock.set("2026-03-02T04:00:00Z");
      await runJobsOnce(deps);
      expect(anchoredSeqs()).toEqual([5, 8]); // due, but the head has not moved

      const anchors = readAnchors(file);
      expect(anchors[1]).toMatchObject({ seq: 8, at: "2026-03-02T03:00:00.000Z" });
      const [row] = await database.db.select().from(auditLog).where(eq(auditLog.seq, 8));
      expect(anchors[1]!.hash).toBe(row!.hash);

      // A restarted service takes the schedule up from the file: its last anchor is less than an hour old.
      await append(database, 9, 9);
      clock.set("2026-03-02T03:30:00Z");
      const restarted = auditAnchorSchedule({ db: database.db, signer: testAuditSigner, file, clock, intervalMs: 3_600_000 });
      expect(await restarted()).toBeNull();
      clock.set("2026-03-02T04:00:00Z");
      expect(await restarted()).toMatchObject({ seq: 9 });
    } finally {
      await database.close();
    }
  });
});
