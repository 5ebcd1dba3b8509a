import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { generateSecret, generateURI, verify } from "otplib";
import { z } from "zod";
import type { Db } from "../../db/client";
import { totpEnrolments } from "../../db/schema";
import type { ServiceContext } from "../context";
import { mutate } from "../engine/mutate";
import { conflict, forbidden, notFound, ServiceError, unprocessable } from "../errors";
import { parseInput } from "../validation";

// RFC 6238 defaults authenticator apps expect: SHA-1, 6 digits, 30 s. One step either side for clock drift.
const DRIFT_SECONDS = 30;
const ISSUER = "云审";

/** The key TOTP secrets are sealed with, derived from ACCESS_CODE_KEY; null when that is not configured. */
export function totpKeyFrom(codeKey: Buffer | null): Buffer | null {
  return codeKey ? Buffer.from(hkdfSync("sha256", codeKey, Buffer.alloc(0), "yunshen totp secret", 32)) : null;
}

function seal(key: Buffer, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

function open(key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

function requireKey(key: Buffer | null): Buffer {
  if (!key) throw new ServiceError("totp_unavailable", "服务未配置 ACCESS_CODE_KEY，不能启用动态口令（TOTP）", 503);
  return key;
}

function requirePerson(ctx: ServiceContext) {
  if (!ctx.actor) throw forbidden("动态口令只能由本人启用");
  return ctx.actor;
}

/**
 * Starts enrolling an authenticator app for the calling person: a new secret, shown once (as an otpauth://
 * link for a QR code). It takes effect once confirmed with a first code, so a mis-scanned secret locks no one out.
 */
export async function startTotpEnrolment({ ctx, key }: { ctx: ServiceContext; key: Buffer | null }) {
  const actor = requirePerson(ctx);
  const sealKey = requireKey(key);
  return mutate(ctx, { action: "totp.start" }, async (tx, j) => {
    const secret = generateSecret();
    const row = { secretEnc: seal(sealKey, secret), createdAt: ctx.clock.now(), confirmedAt: null, lastTimeStep: null };
    await tx.insert(totpEnrolments).values({ userId: actor.userId, ...row }).onConflictDoUpdate({ target: totpEnrolments.userId, set: row });
    j.add({ action: "totp.start", details: { userId: actor.userId } });
    return { secret, otpauthUrl: generateURI({ issuer: ISSUER, label: actor.userId, secret }) };
  });
}

const codeInput = z.strictObject({ code: z.string().trim().regex(/^\d{6}$/, { error: "应为 6 位数字" }) });

/** Confirms the enrolment with the first code the app shows. */
export async function confirmTotpEnrolment({ ctx, input, key }: { ctx: ServiceContext; input: unknown; key: Buffer | null }) {
  const actor = requirePerson(ctx);
  const sealKey = requireKey(key);
  const { code } = parseInput(codeInput, input, "参数有误");
  return mutate(ctx, { action: "totp.confirm" }, async (tx, j) => {
    const [row] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.userId, actor.userId)).for("update");
    if (!row) throw notFound("尚未开始启用动态口令");
    if (row.confirmedAt) throw conflict("totp_confirmed", "动态口令已启用");
    const step = await checkTotp(sealKey, row, code, ctx.clock.now());
    if (step === null) throw unprocessable("totp_wrong", "动态口令不正确，请核对手机时间后重试");
    await tx.update(totpEnrolments).set({ confirmedAt: ctx.clock.now(), lastTimeStep: step }).where(eq(totpEnrolments.userId, actor.userId));
    j.add({ action: "totp.confirm", details: { userId: actor.userId } });
    return { enrolled: true };
  });
}

/** Removes the calling person's authenticator; SMS remains. */
export async function removeTotpEnrolment({ ctx }: { ctx: ServiceContext }) {
  const actor = requirePerson(ctx);
  return mutate(ctx, { action: "totp.remove" }, async (tx, j) => {
    const gone = await tx.delete(totpEnrolments).where(eq(totpEnrolments.userId, actor.userId)).returning({ userId: totpEnrolments.userId });
    if (gone.length === 0) throw notFound("未启用动态口令");
    j.add({ action: "totp.remove", details: { userId: actor.userId } });
    return { enrolled: false };
  });
}

/** The time step a code is valid for, or null. Steps at or before the last used one are refused (single use). */
async function checkTotp(key: Buffer, row: typeof totpEnrolments.$inferSelect, code: string, now: Date): Promise<number | null> {
  const result = await verify({
    secret: open(key, row.secretEnc),
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: DRIFT_SECONDS,
    ...(row.lastTimeStep !== null ? { afterTimeStep: row.lastTimeStep } : {}),
  });
  // otplib's result type covers HOTP too; a TOTP match carries its time step.
  return result.valid && "timeStep" in result ? result.timeStep : null;
}

/**
 * At login: whether `code` is the person's current TOTP code. Inside the verifying transaction, which holds
 * the account row; the enrolment row is locked too, so one code lets one login through.
 */
export async function acceptTotp(tx: Db, key: Buffer | null, userId: string, code: string, now: Date): Promise<boolean> {
  if (!key || !/^\d{6}$/.test(code)) return false;
  const [row] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.userId, userId)).for("update");
  if (!row?.confirmedAt) return false;
  const step = await checkTotp(key, row, code, now);
  if (step === null) return false;
  await tx.update(totpEnrolments).set({ lastTimeStep: step }).where(eq(totpEnrolments.userId, userId));
  return true;
}
