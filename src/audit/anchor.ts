import { mkdirSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { desc } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { auditLog } from "../../db/schema";
import type { Clock } from "../core/context";
import { ServiceError } from "../core/errors";
import { parseJsonLine } from "../core/validation";
import { canonicalJson } from "../core/audit-canonical";
import type { AuditSigner } from "../core/audit-signing";

/**
 * A signed checkpoint of the chain's head, kept outside the database: at `at` the log held `seq` entries and
 * entry `seq` had `hash`. A log later found shorter, or with another hash at `seq`, was cut or rewritten.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
  at: string;
  sig: string;
}

/** What an anchor's signature covers: `{"at":…,"hash":…,"seq":…}`, keys sorted, no spaces (`jq -cSj '{at,hash,seq}'`). */
export function anchorMessage(anchor: Pick<AuditAnchor, "seq" | "hash" | "at">): string {
  return canonicalJson({ at: anchor.at, hash: anchor.hash, seq: anchor.seq });
}

const anchorSchema = z.object({
  seq: z.number().int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string().min(1),
  sig: z.string().min(1),
});

/** An anchor file's anchors, each with its line number; a line that is not an anchor is named. */
export function readAnchors(path: string): (AuditAnchor & { line: number })[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ServiceError("invalid_input", `无法读取锚点文件 ${path}`, 400);
  }
  const anchors: (AuditAnchor & { line: number })[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    if (raw.trim() === "") continue;
    const anchor = parseJsonLine(anchorSchema, raw);
    if (!anchor) throw new ServiceError("invalid_input", `锚点文件 ${path} 第 ${i + 1} 行不是有效的锚点（应为 {"seq","hash","at","sig"}）`, 400);
    anchors.push({ ...anchor, line: i + 1 });
  }
  return anchors;
}

function lastAnchorIn(path: string): AuditAnchor | null {
  try {
    const anchors = readAnchors(path);
    return anchors.reduce<AuditAnchor | null>((last, a) => (!last || a.seq >= last.seq ? a : last), null);
  } catch {
    return null; // no file yet, or one a person broke: the next anchor is written all the same
  }
}

export interface AuditAnchorDeps {
  db: Db;
  signer: AuditSigner;
  /** AUDIT_ANCHOR_FILE */
  file: string;
  clock: Clock;
}

/**
 * Appends a signed anchor of the current head to the anchor file, unless the head is the one last anchored.
 * Returns the anchor written, or null with the head that was already anchored (or none, for an empty log).
 */
export async function writeAuditAnchor(deps: AuditAnchorDeps): Promise<{ written: AuditAnchor | null; head: { seq: number; hash: string } | null }> {
  const [head] = await deps.db.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  if (!head) return { written: null, head: null };
  const last = lastAnchorIn(deps.file);
  if (last && last.seq === head.seq && last.hash === head.hash) return { written: null, head };
  const body = { seq: head.seq, hash: head.hash, at: deps.clock.now().toISOString() };
  const anchor: AuditAnchor = { ...body, sig: deps.signer.sign(anchorMessage(body)) };
  mkdirSync(dirname(deps.file), { recursive: true });
  // One write with O_APPEND, then fsync: an anchor that was reported written survives a power cut.
  const handle = await open(deps.file, "a");
  try {
    await handle.write(`${JSON.stringify(anchor)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { written: anchor, head };
}

/**
 * The job runner's anchoring: at most once per intervalMs, and only when the head moved. The first call after a
 * start anchors at once when the file's last anchor is older than the interval.
 */
export function auditAnchorSchedule(deps: AuditAnchorDeps & { intervalMs: number }) {
  let lastTry: number | null = null;
  return async function anchorWhenDue(): Promise<AuditAnchor | null> {
    const now = deps.clock.now().getTime();
    if (lastTry === null) {
      const last = lastAnchorIn(deps.file);
      lastTry = last ? Date.parse(last.at) : Number.NEGATIVE_INFINITY;
    }
    if (now - lastTry < deps.intervalMs) return null;
    lastTry = now;
    return (await writeAuditAnchor(deps)).written;
  };
}
