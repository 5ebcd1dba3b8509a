import { asc, count, gt, max } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditLog } from "../../db/schema";
import { auditEntryHash, type AuditRecord } from "./append";
import { GENESIS_HASH } from "./canonical";

export type AuditVerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; firstBad: { seq: number; reason: string } };

export interface AuditScanOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
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

/**
 * Walks the whole chain in seq order. `count` is the number of entries found intact before the first break
 * (all of them when ok). A removed tail cannot be seen from the chain alone: compare the head with a copy
 * kept elsewhere for that.
 */
export async function verifyAuditChain(db: Db, opts: AuditScanOptions = {}): Promise<AuditVerifyResult> {
  const { total, lastSeq } = await auditExtent(db);
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  for await (const page of auditPages(db, lastSeq, opts.batchSize)) {
    for (const entry of page) {
      const firstBad = findFault(entry, prevSeq, prevHash);
      if (firstBad) return { ok: false, count: checked, firstBad };
      prevSeq = entry.seq;
      prevHash = entry.hash;
      checked++;
    }
    opts.onProgress?.(checked, total);
  }
  return { ok: true, count: checked };
}

// Order of the checks: a gap first (the missing seq is the finding), then the link to the previous entry
// (a reordered entry is reported as such, not merely as modified), then the entry's own content.
function findFault(entry: AuditRecord, prevSeq: number, prevHash: string): { seq: number; reason: string } | null {
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
