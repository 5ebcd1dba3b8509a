import { createHash, randomBytes } from "node:crypto";
import { and, asc, count, eq, inArray, isNull, lt, or, sql, sum } from "drizzle-orm";
import type { Db } from "../../db/client";
import { files, requests, systems, units } from "../../db/schema";
import type { Actor, ServiceContext } from "../core/context";
import { conflict, forbidden, invalid, notFound, ServiceError, unprocessable, type FieldErrors } from "../core/errors";
import { mutate } from "../core/mutate";
import { requestVisibility } from "../core/request";
import { seesEveryUnit } from "../core/roles";
import { withoutForbidden } from "../core/validation";

// Attachments as real files (issue 12): kept in the database so every replica and a restart see them, checked
// by extension and by their first bytes, and readable by the uploader until a request names them, then by
// exactly those who may see that request. One no request names a day after its upload is deleted, and a person
// may hold only so many such files at once, so abandoned uploads cannot fill the database.

/** UPLOAD_MAX_MB's default: 20 MB a file. */
export const DEFAULT_UPLOAD_MAX_MB = 20;
export const MB = 1024 * 1024;

/**
 * How long a file may wait for a request to name it. The portal keeps an upload's id only in the page being
 * filled in, and an API client submits right after uploading: a file still unnamed after a day was given up.
 */
export const UNBOUND_FILE_HOURS = 24;
/** At most this many files no request names yet, per uploader: a whole application's worth (its form takes 50). */
export const PENDING_MAX_FILES = 50;
/** And at most this many files of the largest size (UPLOAD_MAX_MB) in bytes: 200 MB with the default 20 MB. */
export const PENDING_MAX_SIZES = 10;

const OLE2 = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const ZIP = [0x50, 0x4b, 0x03, 0x04];

// What a file's first bytes must be for its extension: the legacy Office formats are OLE2 compound files, the
// Office Open XML ones ZIP archives, so an .exe renamed .pdf (it starts MZ) is refused.
const FILE_TYPES: Record<string, { contentType: string; magic: number[]; kind: string }> = {
  pdf: { contentType: "application/pdf", magic: [0x25, 0x50, 0x44, 0x46, 0x2d], kind: "PDF" },
  doc: { contentType: "application/msword", magic: OLE2, kind: "Word 97-2003" },
  docx: { contentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", magic: ZIP, kind: "Word" },
  xls: { contentType: "application/vnd.ms-excel", magic: OLE2, kind: "Excel 97-2003" },
  xlsx: { contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", magic: ZIP, kind: "Excel" },
  jpg: { contentType: "image/jpeg", magic: [0xff, 0xd8, 0xff], kind: "JPEG 图片" },
  jpeg: { contentType: "image/jpeg", magic: [0xff, 0xd8, 0xff], kind: "JPEG 图片" },
  png: { contentType: "image/png", magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], kind: "PNG 图片" },
  zip: { contentType: "application/zip", magic: ZIP, kind: "ZIP 压缩包" },
};

/** The allow-list as people read it. */
export const ALLOWED_TYPES = "pdf、doc、docx、xls、xlsx、jpg、png、zip";

const MAX_NAME_LENGTH = 200;

/** A file's id: 128 random bits, so an id found in a log or a guess opens nothing. */
const FILE_ID = /^f_[A-Za-z0-9_-]{22}$/;
export const FILE_ID_PATTERN = FILE_ID.source;
const newFileId = () => `f_${randomBytes(16).toString("base64url")}`;

/**
 * The name a file is kept and offered under: its last path part only (a browser may send C:\…\x.pdf, a
 * client ../../x.pdf), without control or bidirectional formatting characters (U+202E shows "exe.pdf" as
 * "fdp.exe"), characters Windows cannot save in a name, or leading dots; at most 200 characters, its extension kept.
 */
export function cleanFileName(raw: string): string {
  const last = raw.normalize("NFC").split(/[/\\]/).pop() ?? "";
  let name = withoutForbidden(last)
    .replace(/[<>:"|?*]/g, "_")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^[.\s]+/, "");
  if (name.length > MAX_NAME_LENGTH) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : "";
    name = name.slice(0, MAX_NAME_LENGTH - ext.length) + ext;
  }
  return name;
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** The cleaned name and the content type, or the refusal a person can act on; nothing is written either way. */
export function checkUpload(rawName: string, bytes: Uint8Array, maxBytes: number): { name: string; contentType: string } {
  if (bytes.length > maxBytes) throw new ServiceError("payload_too_large", `文件超过 ${maxBytes / MB} MB 上限`, 413);
  const name = cleanFileName(rawName);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  if (!name || !ext) throw invalid(`文件名无效：请使用带扩展名的文件名，仅支持 ${ALLOWED_TYPES}`, { file: ["文件名无效"] });
  const type = FILE_TYPES[ext];
  if (!type)
    throw new ServiceError("file_type_not_allowed", `不支持的文件类型：.${ext}，仅支持 ${ALLOWED_TYPES}`, 400, { file: [`不支持 .${ext}`] });
  if (bytes.length === 0) throw invalid("文件为空，请重新选择文件", { file: ["文件为空"] });
  if (!startsWith(bytes, type.magic))
    throw new ServiceError("file_type_not_allowed", `文件内容与扩展名不符：「${name}」不是 ${type.kind} 文件`, 400, {
      file: [`内容不是 ${type.kind}`],
    });
  return { name, contentType: type.contentType };
}

export interface UploadInput {
  /** The name the client gave; cleaned before it is kept. */
  name: string;
  content: Uint8Array;
  /**
   * What the file is for (form.attachments[].purpose), checked by the caller against ATTACHMENT_PURPOSES: kept
   * with the file, and a form may name it under this purpose only; recorded in the audit entry.
   */
  purpose: string;
}

export interface StoredFile {
  id: string;
  name: string;
  size: number;
  sha256: string;
  contentType: string;
}

// The two-key advisory lock space of one uploader's pending files (the one-key space is the directory import's).
const PENDING_LOCK = 0x66696c65; // "file"

/**
 * The uploader's files no request names yet, with this one, must stay within PENDING_MAX_FILES and
 * PENDING_MAX_SIZES × maxBytes. Checked under a lock on the uploader, so two uploads at once cannot both pass.
 */
async function checkPending(tx: Db, userId: string, adding: number, maxBytes: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${PENDING_LOCK}::int, hashtext(${userId}::text))`);
  const [pending] = await tx
    .select({ n: count(), bytes: sum(files.size).mapWith(Number) })
    .from(files)
    .where(and(eq(files.uploadedBy, userId), isNull(files.requestId)));
  const held = pending?.n ?? 0;
  const bytes = pending?.bytes ?? 0;
  const maxPending = PENDING_MAX_SIZES * maxBytes;
  const why = `未提交的附件保留 ${UNBOUND_FILE_HOURS} 小时：请先提交使用这些附件的申请，或等待其自动删除后再上传`;
  if (held + 1 > PENDING_MAX_FILES)
    throw conflict("upload_quota_exceeded", `您已上传 ${held} 个尚未提交的附件，最多 ${PENDING_MAX_FILES} 个。${why}`);
  if (bytes + adding > maxPending)
    throw conflict(
      "upload_quota_exceeded",
      `您尚未提交的附件已有 ${(bytes / MB).toFixed(1)} MB，加上此文件将超过 ${maxPending / MB} MB 上限。${why}`,
    );
}

/**
 * 上传附件: checked first (size, type, name), so a refusal writes nothing; then, within the uploader's quota of
 * pending files, the bytes, their purpose and an audit entry with the name, size, content type, purpose and
 * SHA-256, in one transaction. The file is the uploader's, and their unit's to attach, until a request names it.
 */
export async function uploadFile({ ctx, input, maxBytes = DEFAULT_UPLOAD_MAX_MB * MB }: { ctx: ServiceContext; input: UploadInput; maxBytes?: number }): Promise<StoredFile> {
  const actor = ctx.actor;
  if (!actor) throw forbidden("上传文件需要以具体用户身份进行");
  const { name, contentType } = checkUpload(input.name, input.content, maxBytes);
  const sha256 = createHash("sha256").update(input.content).digest("hex");
  const stored: StoredFile = { id: newFileId(), name, size: input.content.length, sha256, contentType };
  const { purpose } = input;
  return mutate(ctx, { action: "file.upload" }, async (tx, j) => {
    await checkPending(tx, actor.userId, stored.size, maxBytes);
    await tx.insert(files).values({
      ...stored,
      purpose,
      content: Buffer.from(input.content.buffer, input.content.byteOffset, input.content.byteLength),
      uploadedBy: actor.userId,
      unitId: actor.unitId,
      uploadedAt: ctx.clock.now(),
    });
    j.add({ action: "file.upload", details: { fileId: stored.id, name, size: stored.size, contentType, sha256, purpose } });
    return stored;
  });
}

// A stored file as it is described: everything but its bytes.
const DESCRIBED = { id: files.id, name: files.name, size: files.size, sha256: files.sha256, contentType: files.contentType };

export interface FileContent extends StoredFile {
  content: Buffer;
  uploadedAt: Date;
  requestId: number | null;
}

/**
 * 下载附件: the uploader may read a file no request names yet; once a request names it, exactly those who may see
 * that request (the rule of the request's own page). Anyone else is told it is not there, as for an id that never was.
 */
export async function readFile({ ctx, input }: { ctx: ServiceContext; input: { id: string } }): Promise<FileContent> {
  const actor = ctx.actor;
  if (!actor) throw forbidden("下载文件需要以具体用户身份进行");
  const missing = notFound("文件不存在或您无权查看");
  if (!FILE_ID.test(input.id)) throw missing;
  const [file] = await ctx.db
    .select({
      ...DESCRIBED,
      uploadedBy: files.uploadedBy,
      uploadedAt: files.uploadedAt,
      requestId: files.requestId,
      heldBy: files.heldBy,
      // As base64 text: PGlite parses a bytea's hex text a byte at a time (6 s for 20 MB), Node decodes base64 at once.
      content: sql<string>`encode(${files.content}, 'base64')`,
    })
    .from(files)
    .where(eq(files.id, input.id));
  if (!file) throw missing;
  if (file.requestId === null) {
    if (file.uploadedBy !== actor.userId && !(file.heldBy !== null && (await mayReadHeld(ctx.db, actor, file.heldBy)))) throw missing;
  } else {
    const [seen] = await ctx.db
      .select({ id: requests.id })
      .from(requests)
      .where(and(eq(requests.id, file.requestId), await requestVisibility(ctx.db, actor)));
    if (!seen) throw missing;
  }
  const { id, name, size, sha256, contentType, content, uploadedAt, requestId } = file;
  return { id, name, size, sha256, contentType, content: Buffer.from(content, "base64"), uploadedAt, requestId };
}

/** The headers a download is answered with: its type, its name for saving (RFC 6266 / RFC 5987) and no sniffing. */
export function downloadHeaders(file: Pick<StoredFile, "name" | "contentType" | "size" | "sha256">): Record<string, string> {
  // Old clients read filename=, which must be ASCII; every other client takes filename*, the real name in UTF-8.
  const ascii = file.name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(file.name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return {
    "content-type": file.contentType,
    "content-length": String(file.size),
    "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`,
    "x-content-type-options": "nosniff",
    "cache-control": "private, no-store",
    etag: `"${file.sha256}"`,
  };
}

/** An attachment as a form names it, and as it is kept once checked: the file's own name, size and digest. */
export interface AttachmentRef<P extends string = string> {
  purpose: P;
  fileId: string;
}
export interface Attached<P extends string = string> extends AttachmentRef<P> {
  name: string;
  size: number;
  sha256: string;
  contentType: string;
}

/**
 * The files a submission names, locked until it commits: each must exist, be of the submitter's unit, be named
 * under the purpose it was uploaded for, and not be named by another request (on a resubmission, the request's
 * own files stay usable). `field` names the form's attachment list in refusals, `purposes` the purposes' names.
 */
export async function attachFiles<P extends string>(
  tx: Db,
  actor: Actor,
  refs: readonly AttachmentRef<P>[],
  opts: { field: string; purposes: Readonly<Record<P, string>>; requestId?: number },
): Promise<Attached<P>[]> {
  const ids = [...new Set(refs.map((r) => r.fileId))];
  if (ids.length === 0) return [];
  const rows = await tx
    .select({
      ...DESCRIBED,
      unitId: files.unitId,
      requestId: files.requestId,
      heldBy: files.heldBy,
      purpose: files.purpose,
    })
    .from(files)
    .where(inArray(files.id, ids))
    .for("update");
  const byId = new Map(rows.map((r) => [r.id, r]));
  const unknown: FieldErrors = {};
  const taken: FieldErrors = {};
  const mislabelled: FieldErrors = {};
  const named = (purpose: string) => opts.purposes[purpose as P] ?? purpose;
  refs.forEach((ref, i) => {
    const file = byId.get(ref.fileId);
    const at = `${opts.field}[${i}].fileId`;
    if (!file || file.unitId !== actor.unitId)
      unknown[at] = [`文件 ${ref.fileId} 不存在（未提交的附件 ${UNBOUND_FILE_HOURS} 小时后删除）或不是本单位上传的，请重新上传`];
    else if (file.requestId !== null && file.requestId !== opts.requestId) taken[at] = [`「${file.name}」已附在另一份申请上，请重新上传`];
    else if (file.heldBy !== null) taken[at] = [`「${file.name}」已作为${HOLDER_NAMES[file.heldBy.split(":")[0]!] ?? "其他记录"}的材料保存，请重新上传`];
    // A required document counts only as what it was uploaded as; a file kept before purposes were (null) as declared.
    else if (file.purpose !== null && file.purpose !== ref.purpose)
      mislabelled[at] = [
        `「${file.name}」上传时的材料类型为「${named(file.purpose)}」，不能作为「${named(ref.purpose)}」提交；请改回原材料类型，或以「${named(ref.purpose)}」重新上传`,
      ];
  });
  if (Object.keys(unknown).length > 0)
    throw unprocessable("unknown_file", `附件文件不存在或不是本单位上传的（未提交的附件 ${UNBOUND_FILE_HOURS} 小时后删除），请先上传（POST /api/files）`, unknown);
  if (Object.keys(mislabelled).length > 0)
    throw unprocessable("file_purpose_mismatch", "附件的材料类型与上传时选择的不一致，请按上传时的材料类型填写，或重新上传", mislabelled);
  if (Object.keys(taken).length > 0) {
    const err = conflict("file_attached_elsewhere", "附件文件已附在另一份申请上，同一文件不能用于两份申请，请重新上传");
    throw new ServiceError(err.code, err.message, err.status, taken);
  }
  return refs.map((ref) => {
    const { name, size, sha256, contentType } = byId.get(ref.fileId)!;
    return { purpose: ref.purpose, fileId: ref.fileId, name, size, sha256, contentType };
  });
}

const HOLDER_NAMES: Record<string, string> = { system: "系统登记", inspection: "安全督查与检查记录", plan: "年度计划审定同意", stage: "审批环节" };

/**
 * Who may read a file a record keeps: a system's documents as its unit's own records, an inspection's as the
 * inspection, the city government's consent of a year's plan (003 第十四条) as the city's roles see the plan.
 */
async function mayReadHeld(db: Db, actor: Actor, heldBy: string): Promise<boolean> {
  const [kind, id] = heldBy.split(":");
  if (kind === "plan") return seesEveryUnit(actor);
  if (kind === "inspection") return actor.roles.some((r) => r === "manager" || r === "reviewer" || r === "provider");
  if (kind !== "system" || seesEveryUnit(actor)) return kind === "system";
  const [system] = await db.select({ unitId: systems.unitId, parentId: units.parentId }).from(systems).innerJoin(units, eq(units.id, systems.unitId)).where(eq(systems.id, Number(id)));
  return !!system && (system.unitId === actor.unitId || (actor.roles.includes("county_bureau") && system.parentId === actor.unitId));
}

/**
 * Keeps a file the actor's unit uploaded as a record's document (`holder`, "system:3"): it must not be named by a
 * request or kept by another record, and must have been uploaded as `purpose`. From then on it is never purged.
 * With `requestId` it is also the request's (a stage's document, "stage:12"), read by whoever may see the request.
 */
export async function holdFile(
  tx: Db,
  actor: Actor,
  fileId: string,
  opts: { holder: string; field: string; purpose?: string; purposeName?: string; requestId?: number },
): Promise<{ name: string; size: number; sha256: string }> {
  const [file] = await tx
    .select({ name: files.name, size: files.size, sha256: files.sha256, unitId: files.unitId, requestId: files.requestId, heldBy: files.heldBy, purpose: files.purpose })
    .from(files)
    .where(eq(files.id, fileId))
    .for("update");
  if (!file || file.unitId !== actor.unitId)
    throw unprocessable("unknown_file", "文件不存在或不是本单位上传的，请先上传（POST /api/files）", {
      [opts.field]: [`文件 ${fileId} 不存在（未提交的附件 ${UNBOUND_FILE_HOURS} 小时后删除）或不是本单位上传的`],
    });
  if (file.requestId !== null || (file.heldBy !== null && file.heldBy !== opts.holder)) {
    const err = conflict("file_attached_elsewhere", "该文件已用于其他申请或记录，请重新上传");
    throw new ServiceError(err.code, err.message, err.status, { [opts.field]: [`「${file.name}」已用于其他申请或记录，请重新上传`] });
  }
  if (opts.purpose && file.purpose !== null && file.purpose !== opts.purpose)
    throw unprocessable("file_purpose_mismatch", "文件上传时选择的材料类型不符", { [opts.field]: [`「${file.name}」应以「${opts.purposeName ?? opts.purpose}」上传`] });
  await tx.update(files).set({ heldBy: opts.holder, ...(opts.requestId === undefined ? {} : { requestId: opts.requestId }) }).where(eq(files.id, fileId));
  return { name: file.name, size: file.size, sha256: file.sha256 };
}

/** Names the files as the request's, in the submitting transaction: from now on its viewers may read them. */
export async function bindFiles(tx: Db, attached: readonly Attached[], requestId: number): Promise<void> {
  const ids = [...new Set(attached.map((a) => a.fileId))];
  if (ids.length === 0) return;
  const bound = await tx
    .update(files)
    .set({ requestId })
    .where(and(inArray(files.id, ids), or(isNull(files.requestId), eq(files.requestId, requestId))))
    .returning({ id: files.id });
  // attachFiles locked the rows: another request cannot have taken one since.
  if (bound.length !== ids.length) throw new Error("attached files changed under their lock");
}

/** Files deleted in one transaction of purgeUnboundFiles; the next batch follows at once. */
const PURGE_BATCH = 100;

/**
 * 清理未提交的附件: files no request named within UNBOUND_FILE_HOURS of their upload are deleted, each with an
 * audit entry naming it, its SHA-256 and its uploader, since the upload's own entry says it was kept. Rows a
 * submission holds locked are skipped (it may be naming them) and several replicas take disjoint batches.
 */
export async function purgeUnboundFiles(ctx: ServiceContext): Promise<{ deleted: number }> {
  const before = new Date(ctx.clock.now().getTime() - UNBOUND_FILE_HOURS * 3_600_000);
  let deleted = 0;
  for (;;) {
    const batch = await mutate(ctx, { action: "file.expire" }, async (tx, j) => {
      const due = await tx
        .select({ ...DESCRIBED, purpose: files.purpose, uploadedBy: files.uploadedBy, uploadedAt: files.uploadedAt })
        .from(files)
        .where(and(isNull(files.requestId), isNull(files.heldBy), lt(files.uploadedAt, before)))
        .orderBy(asc(files.uploadedAt))
        .limit(PURGE_BATCH)
        .for("update", { skipLocked: true });
      if (due.length === 0) return 0;
      await tx.delete(files).where(inArray(files.id, due.map((f) => f.id)));
      for (const f of due)
        j.add({
          action: "file.expire",
          details: { fileId: f.id, name: f.name, size: f.size, sha256: f.sha256, purpose: f.purpose, uploadedBy: f.uploadedBy, uploadedAt: f.uploadedAt.toISOString(), hours: UNBOUND_FILE_HOURS },
        });
      return due.length;
    });
    deleted += batch;
    if (batch < PURGE_BATCH) return { deleted };
  }
}
