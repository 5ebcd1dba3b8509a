import { sql } from "drizzle-orm";
import { rowsOf, type Db } from "../../db/client";
import { auditLog } from "../../db/schema";
import { canonicalJson, GENESIS_HASH, sha256Hex } from "./audit-canonical";
import { auditSignerOf } from "./audit-signing";

export interface AuditInput {
  actorId?: string | null;
  actorRole?: string | null;
  action: string;
  requestId?: number | null;
  stage?: string | null;
  outcome?: "ok" | "refused";
  channel: string;
  sourceIp?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  at: Date;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  requestId: number | null;
  stage: string | null;
  outcome: "ok" | "refused";
  channel: string;
  sourceIp: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
  /** Signature of `hash` (migration 0014); not part of what the hash covers. */
  sig?: string | null;
}

// Serialises appenders for the rest of the caller's transaction, so seq and prev_hash never fork.
const AUDIT_CHAIN_LOCK_KEY = 7_216_551_002;

/** The hash of one entry: SHA-256 over the canonical encoding of every field but the hash itself. */
export function auditEntryHash(entry: Omit<AuditRecord, "hash">): string {
  const { sig: _sig, ...hashed } = entry;
  return sha256Hex(canonicalJson({ ...hashed, at: entry.at.toISOString() }));
}

/**
 * Appends entries, in order, inside the caller's transaction (design.md invariant 1): they commit or roll back
 * with the change they describe. The chain lock is held from here to commit, so call it last in the
 * transaction, after the caller's row locks: lock order stays "request rows, then the chain", and the
 * section every writer must pass through one at a time stays short.
 * Entries are signed when the transaction was opened through signingDb (the service and the CLI always do).
 */
export async function auditAppendMany(tx: Db, entries: { at: Date; input: AuditInput }[]): Promise<AuditRecord[]> {
  if (entries.length === 0) return [];
  // Takes the chain lock, then reads the head as it stands once the lock is held (migration 0012).
  const [last] = rowsOf<{ seq: string | number; hash: string }>(
    await tx.execute(sql`select seq, hash from audit_chain_head(${AUDIT_CHAIN_LOCK_KEY})`),
  );
  let seq = last ? Number(last.seq) : 0;
  let prevHash = last?.hash ?? GENESIS_HASH;
  const signer = auditSignerOf(tx);
  const records = entries.map(({ at, input }) => {
    const body: Omit<AuditRecord, "hash"> = {
      seq: ++seq,
      at,
      actorId: input.actorId ?? null,
      actorRole: input.actorRole ?? null,
      action: input.action,
      requestId: input.requestId ?? null,
      stage: input.stage ?? null,
      outcome: input.outcome ?? "ok",
      channel: input.channel,
      sourceIp: input.sourceIp ?? null,
      details: input.details ?? {},
      prevHash,
    };
    const hash = auditEntryHash(body);
    const record: AuditRecord = { ...body, hash, sig: signer ? signer.sign(hash) : null };
    prevHash = record.hash;
    return record;
  });
  await tx.insert(auditLog).values(records);
  return records;
}

export async function auditAppend(tx: Db, at: Date, input: AuditInput): Promise<AuditRecord> {
  const [record] = await auditAppendMany(tx, [{ at, input }]);
  return record!;
}
