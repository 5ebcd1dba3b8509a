import type { KeyObject } from "node:crypto";
import { asc, count, gt, max } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditLog } from "../../db/schema";
import { anchorMessage, type AuditAnchor } from "./anchor";
import { auditEntryHash, type AuditRecord } from "../core/audit-append";
import { GENESIS_HASH } from "../core/audit-canonical";
import { verifyAuditSignature } from "../core/audit-signing";

/** One thing found wrong: the seq it concerns and, in plain Chinese, which check failed and what it means. */
export interface AuditFinding {
  seq: number;
  reason: string;
}

export type AuditVerifyResult =
  | {
      ok: true;
      count: number;
      /** Entries carrying a signature (all checked when a public key was given). */
      signed: number;
      /** Unsigned entries from before signing began, vouched for by the first signed entry or anchor after them. */
      unsignedBefore: number;
      signaturesChecked: boolean;
      /** Anchors the log was checked against, and the latest of them. */
      anchors: number;
      lastAnchor: { seq: number; at: string } | null;
    }
  | { ok: false; count: number; firstBad: AuditFinding; findings: AuditFinding[] };

export interface AuditScanOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AuditVerifyOptions extends AuditScanOptions {
  /** The signing key's public half. Without it signatures are not checked (only that none is missing). */
  publicKey?: KeyObject | null;
  /** Checkpoints of the head kept outside the database; `line` is where each was read, to name it. */
  anchors?: (AuditAnchor & { line?: number })[];
}

const DEFAULT_BATCH_SIZE = 5000;

/**
 * The size of the log when a scan starts. Scans stop at lastSeq, so entries appended meanwhile neither
 * keep a scan running nor push its progress past total.
 */
export async function auditExtent(db: Db): Promise<{ total: number; lastSeq: number }> {
  const [row] = await db.select({ total: count(), lastSeq: max(auditLog.seq) }).from(auditLog);
  return { total: Number(row?.total ?? 0), lastSeq: row?.lastSeq ?? 0 };
}

/**
 * Entries up to lastSeq in seq order, one keyset page at a time, so memory holds one batch whatever the log's
 * size. The first page has no lower bound: a row forged with seq ≤ 0 must be seen, not skipped. lastSeq is
 * applied here rather than in SQL: without fresh statistics (PGlite has no autovacuum) a two-sided range
 * looks tiny to the planner, which then sorts every remaining row for each page instead of walking the key.
 */
export async function* auditPages(
  db: Db,
  lastSeq: number,
  batchSize = DEFAULT_BATCH_SIZE,
): AsyncGenerator<AuditRecord[]> {
  const fetchAfter = (after: number | null): Promise<AuditRecord[]> =>
    db
      .select()
      .from(auditLog)
      .where(after === null ? undefined : gt(auditLog.seq, after))
      .orderBy(asc(auditLog.seq))
      .limit(batchSize)
      .execute();
  // The next page is already on its way while the caller works through this one.
  let next: Promise<AuditRecord[]> | null = fetchAfter(null);
  try {
    while (next) {
      const page: AuditRecord[] = await next;
      next = null;
      const last = page[page.length - 1];
      if (!last) return;
      if (last.seq >= lastSeq) {
        yield page.filter((entry) => entry.seq <= lastSeq);
        return;
      }
      if (page.length === batchSize) next = fetchAfter(last.seq);
      yield page;
    }
  } finally {
    // A caller that stops early (a broken chain) must not leave a query failing unobserved.
    await next?.catch(() => {});
  }
}

/** Walks the whole chain in the database: see verifyAuditEntries. */
export async function verifyAuditChain(db: Db, opts: AuditVerifyOptions = {}): Promise<AuditVerifyResult> {
  const { total, lastSeq } = await auditExtent(db);
  return verifyAuditEntries(auditPages(db, lastSeq, opts.batchSize), total, opts);
}

type Anchor = AuditAnchor & { line?: number };

const anchorName = (a: Anchor) => `${a.line ? `锚点文件第 ${a.line} 行的` : ""}锚点（${a.at}）`;

/**
 * Checks entries in seq order, from the database or an export: the hash chain; the signatures (with a public
 * key: each page's last one, and every one of a page whose last fails, so a signature garbled on an entry
 * whose content is intact goes unreported when a later one in its page vouches for it); that no entry after the first signed one (or after the first anchor) lacks one; and the log against
 * every anchor: the entry at anchor.seq has anchor.hash, and the log is not shorter than the latest anchor.
 * The walk stops at the first entry found wrong, since nothing after it can be trusted; `count` is the number of
 * entries found intact before it (all of them when ok).
 */
export async function verifyAuditEntries(
  pages: AsyncIterable<AuditRecord[]>,
  total: number,
  opts: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  const publicKey = opts.publicKey ?? null;
  const findings: AuditFinding[] = [];
  // An anchor whose own signature fails vouches for nothing: it is named and set aside.
  const anchors: Anchor[] = [];
  for (const anchor of opts.anchors ?? []) {
    if (publicKey && !verifyAuditSignature(publicKey, anchorMessage(anchor), anchor.sig))
      findings.push({ seq: anchor.seq, reason: `${anchorName(anchor)}签名无效（锚点被伪造或改动）` });
    else anchors.push(anchor);
  }
  const anchorsAt = new Map<number, Anchor[]>();
  for (const anchor of anchors) anchorsAt.set(anchor.seq, [...(anchorsAt.get(anchor.seq) ?? []), anchor]);
  const latest = anchors.reduce<Anchor | null>((last, a) => (!last || a.seq > last.seq ? a : last), null);
  // Anchors exist only since signing does: every entry after the first anchored one must be signed.
  const firstAnchorSeq = anchors.reduce((min, a) => Math.min(min, a.seq), Number.POSITIVE_INFINITY);

  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  let signed = 0;
  let unsignedBefore = 0;
  let stopped: AuditFinding | null = null;
  // Signatures are checked a page at a time: a valid signature on the page's last signed entry vouches, through
  // the hash chain just checked, for every entry up to it, so one Ed25519 check stands for a page. Only when it
  // fails are the page's signatures checked one by one, to name the first entry that is wrong.
  const signaturesHold = (pageSigned: AuditRecord[]): AuditFinding | null => {
    const last = pageSigned.at(-1);
    if (!publicKey || !last || verifyAuditSignature(publicKey, last.hash, last.sig!)) return null;
    for (const entry of pageSigned) {
      const fault = signatureFault(entry, publicKey, true);
      if (fault) return fault;
    }
    return null;
  };
  scan: for await (const page of pages) {
    const pageSigned: AuditRecord[] = [];
    for (const entry of page) {
      stopped =
        findFault(entry, prevSeq, prevHash) ??
        signatureFault(entry, null, signed > 0 || entry.seq > firstAnchorSeq) ??
        anchorFault(entry, anchorsAt.get(entry.seq));
      if (stopped) {
        // A signature already wrong before this fault is the earlier finding.
        const earlier = signaturesHold(pageSigned);
        if (earlier) {
          stopped = earlier;
          checked = earlier.seq - 1;
        }
        break scan;
      }
      if (entry.sig) {
        signed++;
        pageSigned.push(entry);
      } else unsignedBefore++;
      prevSeq = entry.seq;
      prevHash = entry.hash;
      checked++;
    }
    stopped = signaturesHold(pageSigned);
    if (stopped) {
      // Seqs run 1, 2, 3… unbroken up to here (the chain checks held): the entries before it are intact.
      checked = stopped.seq - 1;
      break;
    }
    opts.onProgress?.(checked, total);
  }
  if (stopped) findings.unshift(stopped);
  else {
    if (latest && latest.seq > prevSeq)
      findings.push({
        seq: prevSeq + 1,
        reason:
          `审计日志被截断：${anchorName(latest)}记录日志当时已有 ${latest.seq} 条，现在只有 ${prevSeq} 条` +
          `（第 ${prevSeq + 1} 至 ${latest.seq} 条被删除）`,
      });
  }
  if (findings.length > 0) return { ok: false, count: checked, firstBad: findings[0]!, findings };
  return {
    ok: true,
    count: checked,
    signed,
    unsignedBefore,
    signaturesChecked: publicKey !== null,
    anchors: anchors.length,
    lastAnchor: latest ? { seq: latest.seq, at: latest.at } : null,
  };
}

// Order of the checks: a gap first (the missing seq is the finding), then the link to the previous entry
// (a reordered entry is reported as such, not merely as modified), then the entry's own content.
function findFault(entry: AuditRecord, prevSeq: number, prevHash: string): AuditFinding | null {
  const expected = prevSeq + 1;
  if (entry.seq > expected) return { seq: expected, reason: `第 ${expected} 条记录缺失（被删除）` };
  if (entry.seq < expected) {
    return { seq: entry.seq, reason: `第 ${entry.seq} 条记录的序号无效，序号应从 1 开始（疑为伪造插入）` };
  }
  if (entry.prevHash !== prevHash) {
    const reason =
      entry.seq === 1
        ? "第 1 条记录的前序哈希不是链首的初始值（链首被改动）"
        : `第 ${entry.seq} 条记录的前序哈希与第 ${prevSeq} 条不符（顺序被改动或被插入）`;
    return { seq: entry.seq, reason };
  }
  const { hash, ...body } = entry;
  if (auditEntryHash(body) !== hash) return { seq: entry.seq, reason: `第 ${entry.seq} 条记录的内容与其哈希不符（被修改）` };
  return null;
}

// A hash anyone can recompute; a signature only the key's holder can make. So a rewrite that recomputed the
// hashes shows here, at the first entry it touched.
function signatureFault(entry: AuditRecord, publicKey: KeyObject | null, mustBeSigned: boolean): AuditFinding | null {
  if (!entry.sig) {
    if (!mustBeSigned) return null;
    return { seq: entry.seq, reason: `第 ${entry.seq} 条记录没有签名，而它之前已有签名记录或锚点（疑为伪造追加，或签名被删除）` };
  }
  if (publicKey && !verifyAuditSignature(publicKey, entry.hash, entry.sig))
    return { seq: entry.seq, reason: `第 ${entry.seq} 条记录的签名无效（记录被改动后重算了哈希，或签名被改动，或公钥不是本服务的）` };
  return null;
}

function anchorFault(entry: AuditRecord, anchors: Anchor[] | undefined): AuditFinding | null {
  const other = anchors?.find((a) => a.hash !== entry.hash);
  if (!other) return null;
  return { seq: entry.seq, reason: `第 ${entry.seq} 条记录的哈希与${anchorName(other)}不符（该条或它之前的记录被改写）` };
}
