import type { Db } from "../../db/client";
import { BOM, csvRow } from "../csv";
import type { AuditRecord } from "./append";
import { auditExtent, auditPages, type AuditScanOptions } from "./verify";

const FIELDS = [
  "seq",
  "at",
  "actorId",
  "actorRole",
  "action",
  "requestId",
  "stage",
  "outcome",
  "channel",
  "sourceIp",
  "details",
  "prevHash",
  "hash",
] as const;


/**
 * Writes the whole log in seq order, one chunk per batch, and returns the number of entries written.
 * A jsonl line holds exactly the hashed fields, so sha256(canonicalJson(line without hash)) = hash and the
 * export can be checked without this service.
 */
export async function exportAudit(
  db: Db,
  format: "jsonl" | "csv",
  write: (chunk: string) => void | Promise<void>,
  opts: AuditScanOptions = {},
): Promise<number> {
  const { total, lastSeq } = await auditExtent(db);
  const line = format === "csv" ? csvLine : jsonLine;
  if (format === "csv") await write(`${BOM}${FIELDS.join(",")}\r\n`);
  let done = 0;
  for await (const page of auditPages(db, lastSeq, opts.batchSize)) {
    await write(page.map(line).join(""));
    done += page.length;
    opts.onProgress?.(done, total);
  }
  return done;
}

function exported(entry: AuditRecord): Record<(typeof FIELDS)[number], unknown> {
  return {
    seq: entry.seq,
    at: entry.at.toISOString(),
    actorId: entry.actorId,
    actorRole: entry.actorRole,
    action: entry.action,
    requestId: entry.requestId,
    stage: entry.stage,
    outcome: entry.outcome,
    channel: entry.channel,
    sourceIp: entry.sourceIp,
    details: entry.details,
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}

function jsonLine(entry: AuditRecord): string {
  return `${JSON.stringify(exported(entry))}\n`;
}

function csvLine(entry: AuditRecord): string {
  const fields = exported(entry);
  return csvRow(FIELDS.map((name) => fields[name]));
}
