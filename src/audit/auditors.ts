import { existsSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { auditLog, requests, users } from "../../db/schema";
import { readAnchors, type AuditAnchor } from "./anchor";
import { exportAudit } from "./export";
import { verifyAuditChain, type AuditVerifyResult } from "./verify";
import { addCalendarDays, shanghaiDate, shanghaiInstant } from "../core/calendar";
import { csvHeaders } from "../core/csv";
import type { Actor, ServiceContext } from "../core/context";
import { readPublicKey } from "../core/audit-signing";
import { forbidden } from "../core/errors";
import { isoDateSchema } from "../core/validation";

// The audit log as auditors read it (the 统筹管理单位 and the 复核单位): filtered and paged, checked, exported.
// The CLI's `audit` command and the API share what is here, so both verify with the same key and anchors.

/** Auditors: the manager and the reviewer. Everyone else is refused, whatever they ask for. */
export function isAuditor(actor: Pick<Actor, "roles"> | null): boolean {
  return Boolean(actor?.roles.some((r) => r === "manager" || r === "reviewer"));
}

function assertAuditor(ctx: ServiceContext): void {
  if (!isAuditor(ctx.actor)) throw forbidden("审计日志仅统筹管理单位和复核单位可以查看");
}

export const auditQuerySchema = z
  .object({
    request: z
      .string()
      .trim()
      .regex(/^(\d{1,15}|[Yy][Ss]-\d{4}-\d{5,})$/, { error: "应为申请编号（如 YS-2026-00001）或数字 id" })
      .optional()
      .meta({ description: "申请 id 或编号" }),
    actor: z.string().trim().min(1).max(64).optional().meta({ description: "操作人的用户 id" }),
    from: isoDateSchema.optional().meta({ description: "日期自（含，北京时间）" }),
    to: isoDateSchema.optional().meta({ description: "日期至（含，北京时间）" }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional().meta({ description: "上一页最后一条的 seq" }),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { error: "结束日期不能早于开始日期", path: ["to"] });

export type AuditQuery = z.output<typeof auditQuerySchema>;

/** Entries matching the filters, newest first, paged by seq (`before` is the last seq of the previous page). */
export async function listAuditEntries({ ctx, input }: { ctx: ServiceContext; input: AuditQuery }) {
  assertAuditor(ctx);
  const where: (SQL | undefined)[] = [];
  if (input.request) {
    const requestId = await requestIdOf(ctx.db, input.request);
    if (requestId === null) return { items: [], next: null };
    where.push(eq(auditLog.requestId, requestId));
  }
  if (input.actor) where.push(eq(auditLog.actorId, input.actor));
  if (input.from) where.push(gte(auditLog.at, shanghaiInstant(input.from)));
  if (input.to) where.push(lt(auditLog.at, shanghaiInstant(addCalendarDays(input.to, 1))));
  if (input.before) where.push(lt(auditLog.seq, input.before));
  const items = await ctx.db
    .select({
      seq: auditLog.seq,
      at: auditLog.at,
      actorId: auditLog.actorId,
      actorName: users.name,
      actorRole: auditLog.actorRole,
      action: auditLog.action,
      requestId: auditLog.requestId,
      requestCode: requests.code,
      stage: auditLog.stage,
      outcome: auditLog.outcome,
      channel: auditLog.channel,
      sourceIp: auditLog.sourceIp,
      details: auditLog.details,
    })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.actorId))
    .leftJoin(requests, eq(requests.id, auditLog.requestId))
    .where(and(...where))
    .orderBy(desc(auditLog.seq))
    .limit(input.limit);
  return { items, next: items.length === input.limit ? items[items.length - 1]!.seq : null };
}

async function requestIdOf(db: Db, ref: string): Promise<number | null> {
  if (/^\d+$/.test(ref)) return Number(ref);
  const [row] = await db.select({ id: requests.id }).from(requests).where(eq(requests.code, ref.toUpperCase()));
  return row?.id ?? null;
}

/** Where the signing key and the anchors live (config's auditFiles). */
export interface AuditFiles {
  signingKey: string;
  anchors: string;
}

export interface AuditVerifyKeys {
  keyFile: string | null;
  publicKey: KeyObject | null;
  anchorFile: string | null;
  anchors: (AuditAnchor & { line: number })[];
}

/**
 * The public key and anchors a verification uses: those named, else the signing key file's public half and the
 * anchor file when this host has them. Without either, that check is left out and the result says so.
 */
export function auditVerifyKeys(files: AuditFiles | null, named: { publicKey?: string; anchors?: string } = {}): AuditVerifyKeys {
  const keyFile = named.publicKey ?? (files && existsSync(files.signingKey) ? files.signingKey : null);
  const anchorFile = named.anchors ?? (files && existsSync(files.anchors) ? files.anchors : null);
  return {
    keyFile,
    publicKey: keyFile ? readPublicKey(keyFile) : null,
    anchorFile,
    anchors: anchorFile ? readAnchors(anchorFile) : [],
  };
}

/** The chain, the signatures and the anchors checked, as `yunshen audit verify` checks them. */
export async function verifyAuditLog({ ctx, input }: { ctx: ServiceContext; input: { files: AuditFiles | null } }): Promise<AuditVerifyResult> {
  assertAuditor(ctx);
  const { publicKey, anchors } = auditVerifyKeys(input.files);
  return verifyAuditChain(ctx.db, { publicKey, anchors });
}

/**
 * The whole log as a download (the CLI's export: hashes and signatures, so it verifies offline), for an auditor:
 * the body streams a page of entries at a time, each read when the client has taken the one before.
 */
export function auditDownload({ ctx, input }: { ctx: ServiceContext; input: { format: "jsonl" | "csv" } }) {
  assertAuditor(ctx);
  const name = `yunshen-audit-${shanghaiDate(ctx.clock.now())}.${input.format}`;
  const headers =
    input.format === "csv" ? csvHeaders(name) : { "content-type": "application/jsonl; charset=utf-8", "content-disposition": `attachment; filename="${name}"` };
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  exportAudit(ctx.db, input.format, async (chunk) => {
    await writer.ready;
    await writer.write(encoder.encode(chunk));
  }).then(
    () => writer.close(),
    (err: unknown) => writer.abort(err),
  );
  return { body: readable, headers };
}
