import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { desc } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditLog } from "../../db/schema";
import { ServiceError } from "./errors";

/**
 * Signs audit entries and anchors with an Ed25519 key the database does not hold (design.md invariant 5).
 * The signed message is the UTF-8 text given (an entry's hex hash, an anchor's canonical JSON), and the
 * signature is base64, so `openssl pkeyutl -verify -rawin` checks it from an export.
 */
export interface AuditSigner {
  sign(message: string): string;
  readonly publicKey: KeyObject;
}

export function auditSignerFromKey(privateKey: KeyObject): AuditSigner {
  const publicKey = createPublicKey(privateKey);
  return { sign: (message) => sign(null, Buffer.from(message, "utf8"), privateKey).toString("base64"), publicKey };
}

/** A key that lives only in memory: tests and benchmarks, never the service. */
export function ephemeralAuditSigner(): AuditSigner {
  return auditSignerFromKey(generateKeyPairSync("ed25519").privateKey);
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: "spki", format: "pem" }).toString();
}

export function verifyAuditSignature(publicKey: KeyObject, message: string, signature: string): boolean {
  const bytes = Buffer.from(signature, "base64");
  // Ed25519 signatures are 64 bytes; anything else (or text that is not base64) is simply invalid.
  if (bytes.length !== 64) return false;
  return verify(null, Buffer.from(message, "utf8"), publicKey, bytes);
}

const badKeyFile = (path: string, what: string) =>
  new ServiceError("invalid_input", `${path} 不是有效的 Ed25519 ${what}（PEM 格式）`, 400);

/** The public key in a PEM file: a public key, or the private key file itself (its public half is derived). */
export function readPublicKey(path: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ServiceError("invalid_input", `无法读取公钥文件 ${path}`, 400);
  }
  try {
    const key = createPublicKey(text);
    if (key.asymmetricKeyType !== "ed25519") throw badKeyFile(path, "公钥");
    return key;
  } catch {
    throw badKeyFile(path, "公钥");
  }
}

function readPrivateKey(path: string, text: string): KeyObject {
  try {
    const key = createPrivateKey(text);
    if (key.asymmetricKeyType === "ed25519") return key;
  } catch {
    // named below
  }
  throw badKeyFile(path, "私钥");
}

function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ServiceError("invalid_input", `无法读取审计签名私钥 ${path}：请检查文件权限`, 400);
  }
}

/**
 * The service's signing key from AUDIT_SIGNING_KEY_FILE, created (mode 0600) when absent. A missing key next
 * to a log that already holds signed entries is a lost key, not a first start: a new one would make every
 * earlier signature look forged, so the caller is told to restore it instead.
 */
export async function openAuditSigner(opts: { file: string; db: Db; log: (line: string) => void }): Promise<AuditSigner> {
  const { file, db, log } = opts;
  const existing = readIfPresent(file);
  if (existing !== null) return auditSignerFromKey(readPrivateKey(file, existing));
  const [head] = await db.select({ seq: auditLog.seq, sig: auditLog.sig }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  if (head?.sig)
    throw new ServiceError(
      "audit_key_missing",
      `审计签名私钥 ${file} 不存在，但审计日志已有签名记录（最新第 ${head.seq} 条）：请从备份恢复该文件，或用 AUDIT_SIGNING_KEY_FILE 指向它`,
      503,
    );
  const { privateKey } = generateKeyPairSync("ed25519");
  mkdirSync(dirname(file), { recursive: true });
  try {
    // "wx": a process that created it meanwhile wins, and its key is the one used.
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new ServiceError("invalid_input", `无法创建审计签名私钥 ${file}：请检查目录权限`, 400);
    return auditSignerFromKey(readPrivateKey(file, readFileSync(file, "utf8")));
  }
  log(
    `已生成审计签名私钥 ${file}（仅本机可读）：请立即备份，并存放在数据库主机以外；丢失后无法再为审计日志签名，泄露后签名不再可信。公钥：yunshen audit public-key`,
  );
  return auditSignerFromKey(privateKey);
}

// ---------------------------------------------------------------------------------------------------------
// The signer travels with the Db handed to services: every transaction opened through it carries the signer,
// so auditAppendMany signs without each caller passing it along.
// ---------------------------------------------------------------------------------------------------------

const SIGNER = Symbol("yunshen.auditSigner");

type Tagged = { [SIGNER]?: AuditSigner };
type TransactionFn = (fn: (tx: Db) => Promise<unknown>, config?: unknown) => Promise<unknown>;

/** The signer of the Db or transaction, if it was opened through signingDb. */
export function auditSignerOf(tx: Db): AuditSigner | null {
  return (tx as Tagged)[SIGNER] ?? null;
}

function tag(tx: Db, signer: AuditSigner): Db {
  (tx as Tagged)[SIGNER] = signer;
  // Savepoints (tx.transaction) are new objects: they carry the signer too.
  const nested = (tx.transaction as unknown as TransactionFn).bind(tx);
  (tx as unknown as { transaction: TransactionFn }).transaction = (fn, config) => nested((sp) => fn(tag(sp, signer)), config);
  return tx;
}

/**
 * The Db, with every audit entry appended through it signed. `signer` may be a loader, called once at the first
 * transaction: a CLI command that appends nothing then never creates a key.
 */
export function signingDb(db: Db, signer: AuditSigner | (() => Promise<AuditSigner>)): Db {
  let loading: Promise<AuditSigner> | null = typeof signer === "function" ? null : Promise.resolve(signer);
  const load = () => (loading ??= (signer as () => Promise<AuditSigner>)());
  // Everything else (select, insert, execute, $client) is inherited from the Db itself.
  const wrapped = Object.create(db) as Db;
  if (typeof signer !== "function") (wrapped as Tagged)[SIGNER] = signer;
  const transaction: TransactionFn = async (fn, config) => {
    const resolved = await load().catch((err) => {
      loading = null; // a key that could not be read may be fixed and tried again
      throw err;
    });
    return (db.transaction as unknown as TransactionFn)((tx) => fn(tag(tx, resolved)), config);
  };
  (wrapped as unknown as { transaction: TransactionFn }).transaction = transaction;
  return wrapped;
}
