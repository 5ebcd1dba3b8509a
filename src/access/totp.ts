import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { and, desc, eq, inArray, isNotNull } from "drizzle-orm";
import { generateSecret, generateURI, verify } from "otplib";
import { z } from "zod";
import type { Db } from "../../db/client";
import { totpEnrolments, totpPermissions, users, vmAccounts } from "../../db/schema";
import { PROFILES } from "../../profiles";
import { maskMobile } from "../directory/queries";
import { SmsError } from "../sms/gateways";
import type { LoginCodeDeps } from "./login-codes";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { conflict, forbidden, notFound, ServiceError, tooMany } from "../core/errors";
import { parseInput } from "../core/validation";

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

/** What enrolment needs (the seal key, and the gateway and key for the code texted to the bound phone): the login codes' own. */
export type TotpDeps = LoginCodeDeps;

function requireKey(key: Buffer | null): Buffer {
  if (!key) throw new ServiceError("totp_unavailable", "服务未配置 ACCESS_CODE_KEY，不能启用动态口令（TOTP）", 503);
  return key;
}

function requirePerson(ctx: ServiceContext) {
  if (!ctx.actor) throw forbidden("动态口令只能由本人启用");
  return ctx.actor;
}

/** Wrong codes across all of a person's accounts before the authenticator is switched off. */
const TOTP_FAILURE_LIMIT = 10;
/** Wrong texted codes before an enrolment must be started again. */
const MAX_CONFIRM_TRIES = 5;
const ENROL_SMS_TTL_MS = 10 * 60_000;
const ENROL_RESEND_MS = 60_000;

const smsHash = (key: Buffer, userId: string, code: string) =>
  createHmac("sha256", key).update(`totp-enrol\n${userId}\n${code}`).digest("hex");

/**
 * Starts enrolling an authenticator app for the calling person: a new secret, shown once (as an otpauth://
 * link for a QR code), and a code texted to the phone their VM accounts are bound to. Both are needed to
 * confirm, so a stolen API token alone cannot add a way in. A confirmed authenticator is not replaced here:
 * it has to be removed first.
 */
export async function startTotpEnrolment({ ctx, deps }: { ctx: ServiceContext; deps: TotpDeps }) {
  const actor = requirePerson(ctx);
  const sealKey = requireKey(deps.totpKey);
  const started = await mutate(ctx, { action: "totp.start" }, async (tx, j) => {
    if (officerTurnsOn(ctx)) {
      const [permitted] = await tx.select().from(totpPermissions).where(eq(totpPermissions.userId, actor.userId));
      if (!permitted) throw forbidden("本地区每次登录均须短信验证码（004 第三十七条），动态口令只作附加验证，须由安全管理员为您开启后才能启用");
    }
    const [existing] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.userId, actor.userId)).for("update");
    if (existing?.confirmedAt) throw conflict("totp_confirmed", "动态口令已启用；如需更换手机，请先停用再重新启用");
    const now = ctx.clock.now();
    if (existing && now.getTime() - existing.createdAt.getTime() < ENROL_RESEND_MS) throw tooMany("请 1 分钟后再试");
    const [bound] = await tx
      .select({ mobile: vmAccounts.mobile })
      .from(vmAccounts)
      .where(and(eq(vmAccounts.userId, actor.userId), eq(vmAccounts.status, "active")))
      .orderBy(desc(vmAccounts.id))
      .limit(1);
    if (!bound) throw conflict("no_account", "您没有在用的虚拟机账号，无需启用动态口令");
    const secret = generateSecret();
    const smsCode = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const row = {
      secretEnc: seal(sealKey, secret),
      createdAt: now,
      confirmedAt: null,
      lastTimeStep: null,
      smsCodeHash: smsHash(deps.codeKey, actor.userId, smsCode),
      smsCodeExpiresAt: new Date(now.getTime() + ENROL_SMS_TTL_MS),
      failures: 0,
    };
    await tx.insert(totpEnrolments).values({ userId: actor.userId, ...row }).onConflictDoUpdate({ target: totpEnrolments.userId, set: row });
    j.add({ action: "totp.start", details: { userId: actor.userId, to: maskMobile(bound.mobile) } });
    return { secret, mobile: bound.mobile, smsCode };
  });
  try {
    await deps.sms.sendCode({ mobile: started.mobile, code: started.smsCode, minutes: ENROL_SMS_TTL_MS / 60_000 });
  } catch (err) {
    const message = err instanceof SmsError ? err.userMessage : "短信服务暂时不可用，请稍后再试";
    throw new ServiceError("sms_unavailable", message, 503);
  }
  return {
    secret: started.secret,
    otpauthUrl: generateURI({ issuer: ISSUER, label: actor.userId, secret: started.secret }),
    smsSentTo: maskMobile(started.mobile),
  };
}

export const confirmTotpInput = z.strictObject({
  code: z.string().trim().regex(/^\d{6}$/, { error: "应为 6 位数字" }),
  smsCode: z.string().trim().regex(/^\d{6}$/, { error: "应为 6 位数字" }),
});

/** Confirms the enrolment with the first code the app shows and the code texted to the bound phone. */
export async function confirmTotpEnrolment({ ctx, input, deps }: { ctx: ServiceContext; input: unknown; deps: TotpDeps }) {
  const actor = requirePerson(ctx);
  const sealKey = requireKey(deps.totpKey);
  const { code, smsCode } = parseInput(confirmTotpInput, input, "参数有误");
  return mutate(ctx, { action: "totp.confirm" }, async (tx, j) => {
    const [row] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.userId, actor.userId)).for("update");
    if (!row) throw notFound("尚未开始启用动态口令");
    if (row.confirmedAt) throw conflict("totp_confirmed", "动态口令已启用");
    const now = ctx.clock.now();
    const smsOk =
      row.smsCodeHash !== null &&
      row.smsCodeExpiresAt !== null &&
      row.smsCodeExpiresAt > now &&
      timingSafeEqual(Buffer.from(smsHash(deps.codeKey, actor.userId, smsCode), "hex"), Buffer.from(row.smsCodeHash, "hex"));
    const step = smsOk ? await checkTotp(sealKey, row, code, now) : null;
    if (step === null) {
      // Every wrong pair counts; enough of them and the enrolment has to start again (with a new text).
      const failures = row.failures + 1;
      const spent = failures >= MAX_CONFIRM_TRIES;
      await tx
        .update(totpEnrolments)
        .set({ failures, ...(spent ? { smsCodeHash: null, smsCodeExpiresAt: null } : {}) })
        .where(eq(totpEnrolments.userId, actor.userId));
      j.add({ action: "totp.confirm", outcome: "refused", details: { userId: actor.userId, failures } });
      return { enrolled: false as const, message: spent ? "错误次数过多，请重新开始启用" : smsOk ? "动态口令不正确，请核对手机时间后重试" : "短信验证码不正确或已过期" };
    }
    await tx
      .update(totpEnrolments)
      .set({ confirmedAt: now, lastTimeStep: step, smsCodeHash: null, smsCodeExpiresAt: null, failures: 0 })
      .where(eq(totpEnrolments.userId, actor.userId));
    j.add({ action: "totp.confirm", details: { userId: actor.userId } });
    return { enrolled: true as const };
  });
}

/**
 * 004 第三十七条 "每次登陆均要短信下发随机密码": where the profile keeps the SMS code at every login, an app is a
 * second factor on top of it, and a security officer decides who has one (turns it on before the person enrols).
 * Elsewhere the app may replace a text that does not arrive, and each person enrols their own.
 */
const officerTurnsOn = (ctx: ServiceContext) => PROFILES[ctx.profile].vmLoginAuthenticator === "additional";

export const authenticatorPermissionInput = z.strictObject({
  userId: z.string().trim().min(1).max(64),
  reason: z.string().trim().min(1).max(500).optional(),
});

function requireSecurityOfficer(ctx: ServiceContext, verb: string) {
  if (ctx.actor && !ctx.actor.roles.includes("security_officer")) throw forbidden(`只有安全管理员可以${verb}动态口令`);
  if (!officerTurnsOn(ctx)) throw conflict("not_allowed", "本地区由本人自行启用动态口令，无需安全管理员开启");
}

/** 开启动态口令: a security officer lets a person add an authenticator app to the SMS code (004 第三十七条). */
export async function permitAuthenticator({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const { userId, reason } = parseInput(authenticatorPermissionInput, input, "参数有误");
  return mutate(ctx, { action: "totp.permit" }, async (tx, j) => {
    requireSecurityOfficer(ctx, "开启");
    const [person] = await tx.select({ id: users.id, name: users.name }).from(users).where(eq(users.id, userId));
    if (!person) throw new ServiceError("unknown_user", `没有用户 ${userId}`, 404);
    const granted = await tx
      .insert(totpPermissions)
      .values({ userId, grantedBy: ctx.actor?.userId ?? "system", grantedAt: ctx.clock.now() })
      .onConflictDoNothing()
      .returning({ userId: totpPermissions.userId });
    // Turning on what is on (a double click) changes nothing and writes nothing.
    if (granted.length > 0) j.add({ action: "totp.permit", details: { userId, reason } });
    return { userId, permitted: true as const };
  });
}

/** 关闭动态口令: the permission and any enrolled app go; the person's logins are by SMS code alone again. */
export async function withdrawAuthenticator({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const { userId, reason } = parseInput(authenticatorPermissionInput, input, "参数有误");
  return mutate(ctx, { action: "totp.withdraw" }, async (tx, j) => {
    requireSecurityOfficer(ctx, "关闭");
    const gone = await tx.delete(totpPermissions).where(eq(totpPermissions.userId, userId)).returning({ userId: totpPermissions.userId });
    if (gone.length === 0) throw notFound("该用户未开启动态口令");
    const app = await tx.delete(totpEnrolments).where(eq(totpEnrolments.userId, userId)).returning({ userId: totpEnrolments.userId });
    j.add({ action: "totp.withdraw", details: { userId, reason, enrolmentRemoved: app.length > 0 } });
    return { userId, permitted: false as const };
  });
}

/** The people a security officer has turned the authenticator on for, and whether each has enrolled it. */
export async function authenticatorStates(tx: Db, userIds: readonly string[]): Promise<Map<string, "permitted" | "enrolled">> {
  const states = new Map<string, "permitted" | "enrolled">();
  if (userIds.length === 0) return states;
  const permitted = await tx.select({ userId: totpPermissions.userId }).from(totpPermissions).where(inArray(totpPermissions.userId, [...userIds]));
  const enrolled = await tx
    .select({ userId: totpEnrolments.userId })
    .from(totpEnrolments)
    .where(and(inArray(totpEnrolments.userId, [...userIds]), isNotNull(totpEnrolments.confirmedAt)));
  for (const p of permitted) states.set(p.userId, "permitted");
  for (const e of enrolled) states.set(e.userId, "enrolled");
  return states;
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

/**
 * The time step a code is valid for, or null. Steps at or before the last used one are refused (single use),
 * unless `replays` asks whether the code is one of those.
 */
async function checkTotp(key: Buffer, row: typeof totpEnrolments.$inferSelect, code: string, now: Date, replays = false): Promise<number | null> {
  const result = await verify({
    secret: open(key, row.secretEnc),
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: DRIFT_SECONDS,
    ...(row.lastTimeStep !== null && !replays ? { afterTimeStep: row.lastTimeStep } : {}),
  });
  // otplib's result type covers HOTP too; a TOTP match carries its time step.
  return result.valid && "timeStep" in result ? result.timeStep : null;
}

/**
 * At login: whether `code` is the person's current TOTP code. Inside the verifying transaction, which holds
 * the account row; the enrolment row is locked too, so one code lets one login through.
 */
/** Whether the person has a confirmed authenticator that can be checked (the key configured). */
export async function totpEnrolled(tx: Db, key: Buffer | null, userId: string): Promise<boolean> {
  if (!key) return false;
  const [row] = await tx.select({ confirmedAt: totpEnrolments.confirmedAt }).from(totpEnrolments).where(eq(totpEnrolments.userId, userId));
  return row?.confirmedAt != null;
}

export async function acceptTotp(
  tx: Db,
  key: Buffer | null,
  userId: string,
  code: string,
  now: Date,
): Promise<"accepted" | "rejected" | "used" | "not_enrolled"> {
  if (!key) return "not_enrolled";
  const [row] = await tx.select().from(totpEnrolments).where(eq(totpEnrolments.userId, userId)).for("update");
  if (!row?.confirmedAt) return "not_enrolled";
  const step = /^\d{6}$/.test(code) ? await checkTotp(key, row, code, now) : null;
  if (step !== null) {
    await tx.update(totpEnrolments).set({ lastTimeStep: step, failures: 0 }).where(eq(totpEnrolments.userId, userId));
    return "accepted";
  }
  // The code that just let a login through, sent again (a double submit): used, not a wrong guess.
  const replayed = step === null && row.lastTimeStep !== null && /^\d{6}$/.test(code) ? await checkTotp(key, row, code, now, true) : null;
  if (replayed !== null && replayed <= row.lastTimeStep!) return "used";
  // One secret answers for every account and host the person has, so its wrong guesses add up across all of
  // them; at the limit it is switched off (SMS still works) and has to be enrolled again.
  const failures = row.failures + 1;
  if (failures >= TOTP_FAILURE_LIMIT) await tx.delete(totpEnrolments).where(eq(totpEnrolments.userId, userId));
  else await tx.update(totpEnrolments).set({ failures }).where(eq(totpEnrolments.userId, userId));
  return "rejected";
}
