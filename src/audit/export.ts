import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import type { Db } from "../../db/client";
import { BOM, csvRow } from "../core/csv";
import { ServiceError } from "../core/errors";
import { parseJsonLine } from "../core/validation";
import type { AuditRecord } from "../core/audit-append";
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
  "sig",
] as const;

/**
 * Writes the whole log in seq order, one chunk per batch, and returns the number of entries written.
 * A jsonl line holds the hashed fields, the hash and the signature, so sha256(canonicalJson(line without hash
 * and sig)) = hash, the signature checks against the public key, and the export can be verified without this
 * service (`yunshen audit verify --export`, or openssl and sha256sum: README "Audit log").
 */
export async function exportAudit(
  db: Db,
  format: "jsonl" | "csv",
  write: (chunk: string) => void | Promise<void>,
  opts: AuditScanOptions = {},
): Promise<number> {
  const { total, lastSeq } = await auditExtent(db);
  const line = format === "csv" ? csvLine : jsonLine;
  if (format === "csv") await write(BOM + csvRow(FIELDS));
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
    sig: entry.sig ?? null,
  };
}

function jsonLine(entry: AuditRecord): string {
  return `${JSON.stringify(exported(entry))}\n`;
}

function csvLine(entry: AuditRecord): string {
  const fields = exported(entry);
  return csvRow(FIELDS.map((name) => fields[name]));
}

const exportedLine = z.object({
  seq: z.number().int(),
  at: z.string().refine((at) => !Number.isNaN(Date.parse(at))),
  actorId: z.string().nullable(),
  actorRole: z.string().nullable(),
  action: z.string(),
  requestId: z.number().int().nullable(),
  stage: z.string().nullable(),
  outcome: z.enum(["ok", "refused"]),
  channel: z.string(),
  sourceIp: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
  sig: z.string().nullable().optional(),
});

/** The entries of a jsonl export, in the file's order, one batch at a time; a line that is not an entry is named. */
export async function* readAuditExport(path: string, batchSize = 5000): AsyncGenerator<AuditRecord[]> {
  const input = createReadStream(path, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    input.once("open", () => resolve());
    input.once("error", () => reject(new ServiceError("invalid_input", `无法读取导出文件 ${path}`, 400)));
  });
  await opened;
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    yield* auditExportEntries(lines, `导出文件 ${path}`, batchSize);
  } catch (err) {
    // A read failing part-way (a directory, a disk error) is named like a file that would not open.
    if (err instanceof ServiceError) throw err;
    throw new ServiceError("invalid_input", `无法读取导出文件 ${path}`, 400);
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * The entries of jsonl export lines, wherever they come from (a file, or the running service's
 * GET /api/audit/export as it arrives), one batch at a time; `source` names them when a line is not an entry.
 */
export async function* auditExportEntries(lines: AsyncIterable<string>, source: string, batchSize = 5000): AsyncGenerator<AuditRecord[]> {
  let page: AuditRecord[] = [];
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    const entry = parseJsonLine(exportedLine, line);
    if (!entry) throw new ServiceError("invalid_input", `${source} 第 ${lineNo} 行不是审计记录（应为 audit export --format jsonl 的一行）`, 400);
    page.push({ ...entry, at: new Date(entry.at) });
    if (page.length >= batchSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
