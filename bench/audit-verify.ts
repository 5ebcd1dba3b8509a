import { desc } from "drizzle-orm";
import type { Database } from "../db/client";
import { auditLog } from "../db/schema";
import { auditEntryHash, type AuditRecord } from "../src/core/audit-append";
import { anchorMessage } from "../src/audit/anchor";
import { GENESIS_HASH } from "../src/core/audit-canonical";
import { ephemeralAuditSigner } from "../src/core/audit-signing";
import { auditExtent, auditPages, verifyAuditChain } from "../src/audit/verify";
import { runWhenMain } from "./drive";

const ENTRIES = 100_000;
// 14 columns × 2000 rows stays well under PostgreSQL's 65,535 bind parameters per statement.
const INSERT_BATCH = 2000;

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const fmt = (n: number) => n.toLocaleString("en-US");

/**
 * Appends 100,000 chained, signed entries after the current head, then times a plain read, the chain alone, and
 * a full verification (chain, every Ed25519 signature, an anchor at the head).
 */
export async function benchAuditVerify(database: Database): Promise<void> {
  const { db } = database;
  const signer = ephemeralAuditSigner();
  const fillStart = performance.now();
  const [head] = await db.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const t0 = Date.UTC(2025, 0, 2, 1, 0, 0);
  // Bulk inserts of pre-chained rows, because auditAppend's lock and head lookup per entry would dominate.
  for (let done = 0; done < ENTRIES; ) {
    const rows: AuditRecord[] = [];
    for (const end = Math.min(done + INSERT_BATCH, ENTRIES); done < end; done++) {
      seq++;
      const body: Omit<AuditRecord, "hash"> = {
        seq,
        at: new Date(t0 + seq * 1000),
        actorId: `u${seq % 500}`,
        actorRole: seq % 3 === 0 ? "reviewer" : "applicant",
        action: seq % 2 === 0 ? "request.approve" : "request.submit",
        requestId: Math.ceil(seq / 4),
        stage: seq % 2 === 0 ? "county_review" : null,
        outcome: seq % 50 === 0 ? "refused" : "ok",
        channel: seq % 4 === 0 ? "wecom" : "api",
        sourceIp: "10.20.30.40",
        details: { note: `第 ${seq} 次操作：同意，按规定办理`, amount: seq * 12.5, items: [{ name: "云主机", qty: seq % 7 }] },
        prevHash,
      };
      prevHash = auditEntryHash(body);
      rows.push({ ...body, hash: prevHash, sig: signer.sign(prevHash) });
    }
    await db.insert(auditLog).values(rows);
  }
  const fillMs = performance.now() - fillStart;

  const readStart = performance.now();
  let read = 0;
  for await (const page of auditPages(db, (await auditExtent(db)).lastSeq)) read += page.length;
  const readMs = performance.now() - readStart;

  const chainStart = performance.now();
  const chain = await verifyAuditChain(db);
  const chainMs = performance.now() - chainStart;
  if (!chain.ok) throw new Error(`审计链校验失败：${chain.firstBad.reason}`);

  const anchorBody = { seq, hash: prevHash, at: new Date().toISOString() };
  const anchors = [{ ...anchorBody, sig: signer.sign(anchorMessage(anchorBody)) }];
  const verifyStart = performance.now();
  const result = await verifyAuditChain(db, { publicKey: signer.publicKey, anchors });
  const verifyMs = performance.now() - verifyStart;
  if (!result.ok) throw new Error(`审计链校验失败：${result.firstBad.reason}`);

  console.log(`audit fill: ${fmt(ENTRIES)} signed entries in ${(fillMs / 1000).toFixed(2)} s (${database.kind})`);
  console.log(
    `audit verify: ${result.count} entries in ${(verifyMs / 1000).toFixed(2)} s = ${fmt(rate(result.count, verifyMs))} entries/s ` +
      `(chain, signatures, anchor); chain only ${fmt(rate(chain.count, chainMs))} entries/s; ` +
      `baseline read-only ${fmt(rate(read, readMs))} rows/s; ratio ${(readMs / verifyMs).toFixed(2)}`,
  );
}

await runWhenMain(import.meta.url, benchAuditVerify);
