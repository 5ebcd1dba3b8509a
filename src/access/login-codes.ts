import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import { and, desc, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import { accessCodes, users, vmAccounts } from "../../db/schema";
import type { ServiceContext } from "../core/context";
import { maskMobile } from "../directory/queries";
import { mutate } from "../core/mutate";
import { conflict, forbidden, notFound, ServiceError, tooMany, unprocessable } from "../core/errors";
import { SmsError, type SmsGateway } from "../sms/gateways";
import { parseInput } from "../core/validation";
import { accountNameSchema, alertSecurityStaff } from "./accounts";
import { hostNameSchema } from "./hosts";
import { PROFILES } from "../../profiles";
import { acceptTotp, totpEnrolled } from "./totp";

// The rules of issue 4 (seed 004 第三十七条; NIST 800-63B §5.1.3, §5.2.2 for the limits).
export const CODE_TTL_MS = 5 * 60_000;
export const MAX_WRONG_TRIES_PER_CODE = 5;
export const LOCK_AFTER_FAILURES = 10;
export const RESEND_AFTER_MS = 60_000;
export const MAX_CODES_PER_HOUR = 10;
// A used code sent again within this time is refused as used, not counted as a guess (see verifyLoginCode).
export const SPENT_CODE_MEMORY_MS = 24 * 3_600_000;
const CODE_USED = "验证码已使用，无需重复提交；如需再次登录，请重新获取验证码";
const SECOND_FACTOR_MISSING = "您已启用身份验证器：请输入短信验证码，紧接着输入身份验证器的 6 位动态码（共 12 位）";

/** What login-code verbs need beyond the service context: the gateway, and the key codes are hashed with. */
export interface LoginCodeDeps {
  sms: SmsGateway;
  /** Kept outside the database, so a copy of the database alone cannot test guesses against stored hashes. */
  codeKey: Buffer;
  /** Seals TOTP secrets; null when ACCESS_CODE_KEY is not configured (then TOTP is off). */
  totpKey: Buffer | null;
}

const challengeInput = z.strictObject({ account: accountNameSchema, host: hostNameSchema });
// A wrong shape is still a guess: it is counted, not rejected as malformed input.
const verifyInput = challengeInput.extend({ code: z.string().max(64) });

function codeHash(key: Buffer, accountId: number, host: string, code: string): Buffer {
  return createHmac("sha256", key).update(`${accountId}\n${host}\n${code}`).digest();
}


/**
 * Whether `candidate` is a code this account already used on this host lately: the same code sent twice at
 * once (a double submit, a PAM client that retries) or replayed. Compared over keyed hashes in constant time.
 */
async function usedBefore(tx: ServiceContext["db"], key: Buffer, accountId: number, host: string, candidate: string, now: Date) {
  const used = await tx
    .select({ codeHash: accessCodes.codeHash })
    .from(accessCodes)
    .where(
      and(
        eq(accessCodes.vmAccountId, accountId),
        gt(accessCodes.createdAt, new Date(now.getTime() - SPENT_CODE_MEMORY_MS)),
        eq(accessCodes.hostId, host),
        eq(accessCodes.closedReason, "used"),
      ),
    );
  const hash = codeHash(key, accountId, host, candidate);
  let found = false;
  // Every row is compared, so the time taken does not tell which one matched.
  for (const row of used) if (timingSafeEqual(hash, Buffer.from(row.codeHash, "hex"))) found = true;
  return found;
}

/** The host a credential belongs to may only ask about its own accounts. */
function requireOwnHost(ctx: ServiceContext, host: string) {
  if (!ctx.host) throw forbidden("需要主机凭据");
  if (ctx.host !== host) throw forbidden(`本主机的凭据不能为主机 ${host} 的账号申请或校验验证码`);
}

async function activeAccount(ctx: ServiceContext, tx: ServiceContext["db"], host: string, account: string) {
  const [row] = await tx
    .select({ account: vmAccounts, name: users.name })
    .from(vmAccounts)
    .innerJoin(users, eq(users.id, vmAccounts.userId))
    .where(and(eq(vmAccounts.hostId, host), eq(vmAccounts.account, account), eq(vmAccounts.status, "active")))
    .for("update", { of: vmAccounts });
  if (!row) throw notFound(`主机 ${host} 上没有在用的账号 ${account}`);
  const now = ctx.clock.now();
  if (row.account.validUntil <= now) throw conflict("account_expired", `账号 ${account} 已到期，请申请续期`);
  if (row.account.lockedAt) throw conflict("account_locked", `账号 ${account} 因连续验证失败已锁定，请联系安全管理员解锁`);
  return row;
}

/**
 * POST /access/challenge: a fresh 6-digit code by SMS to the account's bound phone, replacing any earlier one.
 * The code is committed before it is sent, so a crash cannot send a code that does not exist; a code the
 * gateway certainly did not deliver is closed again.
 */
export async function sendLoginCode({ ctx, input, deps }: { ctx: ServiceContext; input: unknown; deps: LoginCodeDeps }) {
  const { account, host } = parseInput(challengeInput, input, "参数有误");
  const issued = await mutate(ctx, { action: "access.challenge" }, async (tx, j) => {
    requireOwnHost(ctx, host);
    const { account: row } = await activeAccount(ctx, tx, host, account);
    const now = ctx.clock.now();
    const recent = await tx
      .select({ createdAt: accessCodes.createdAt, closedReason: accessCodes.closedReason })
      .from(accessCodes)
      .where(and(eq(accessCodes.vmAccountId, row.id), gt(accessCodes.createdAt, new Date(now.getTime() - 3_600_000))))
      .orderBy(desc(accessCodes.createdAt));
    // A code the gateway never delivered does not make the person wait; it still counts towards the hour.
    const last = recent.find((r) => r.closedReason !== "undelivered")?.createdAt;
    if (last && now.getTime() - last.getTime() < RESEND_AFTER_MS)
      throw tooMany(`请 ${Math.ceil((RESEND_AFTER_MS - (now.getTime() - last.getTime())) / 1000)} 秒后再获取验证码`);
    if (recent.length >= MAX_CODES_PER_HOUR) throw tooMany(`一小时内最多获取 ${MAX_CODES_PER_HOUR} 次验证码，请稍后再试`);

    await tx
      .update(accessCodes)
      .set({ closedAt: now, closedReason: "replaced" })
      .where(and(eq(accessCodes.vmAccountId, row.id), isNull(accessCodes.closedAt)));
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const [created] = await tx
      .insert(accessCodes)
      .values({
        vmAccountId: row.id,
        hostId: host,
        codeHash: codeHash(deps.codeKey, row.id, host, code).toString("hex"),
        createdAt: now,
        expiresAt: new Date(now.getTime() + CODE_TTL_MS),
      })
      .returning({ id: accessCodes.id });
    j.add({ action: "access.challenge", details: { host, account, accountId: row.id, codeId: created!.id, to: maskMobile(row.mobile) } });
    const withAuthenticator = PROFILES[ctx.profile].vmLoginAuthenticator === "additional" && (await totpEnrolled(tx, deps.totpKey, row.userId));
    return { codeId: created!.id, mobile: row.mobile, code, withAuthenticator };
  });

  try {
    await deps.sms.sendCode({ mobile: issued.mobile, code: issued.code, minutes: CODE_TTL_MS / 60_000 });
  } catch (err) {
    const failure = err instanceof SmsError ? err : null;
    await mutate(ctx, { action: "access.challenge" }, async (tx, j) => {
      if (failure?.notSent)
        await tx.update(accessCodes).set({ closedAt: ctx.clock.now(), closedReason: "undelivered" }).where(eq(accessCodes.id, issued.codeId));
      j.add({
        action: "access.sms_failed",
        outcome: "refused",
        details: { host, account, codeId: issued.codeId, kind: failure?.kind ?? "unavailable", notSent: failure?.notSent ?? false },
      });
    });
    const message = failure?.userMessage ?? "短信服务暂时不可用，请稍后再试";
    throw failure?.kind === "rejected"
      ? unprocessable("sms_rejected", message)
      : failure?.kind === "throttled"
        ? tooMany(message)
        : new ServiceError("sms_unavailable", message, 503);
  }
  return { sentTo: maskMobile(issued.mobile), expiresInSeconds: CODE_TTL_MS / 1000, withAuthenticator: issued.withAuthenticator };
}

/**
 * An allowed login: the failure count starts again, and the account's first login is recorded. Where the
 * profile's document requires it (徽州 001 附件1 注2, "虚拟机首次登录后应及时修改密码"), the answer to that
 * first login says the initial password must be changed: the PAM script expires the password (`chage -d 0`),
 * so the system makes the person change it before the session opens, and keeps asking until they have. Only
 * the first login is told: after it the system's own expiry holds, not yunshen.
 */
async function letIn(ctx: ServiceContext, tx: ServiceContext["db"], row: typeof vmAccounts.$inferSelect, now: Date) {
  const first = row.firstLoginAt === null;
  await tx
    .update(vmAccounts)
    .set({ consecutiveFailures: 0, ...(first ? { firstLoginAt: now } : {}) })
    .where(eq(vmAccounts.id, row.id));
  const change = first && PROFILES[ctx.profile].vmFirstLoginPasswordChange !== null;
  return { audit: first ? { firstLogin: true } : {}, answer: change ? { changePassword: true as const } : {} };
}

/**
 * POST /access/verify: allow or deny one login. The code must be the account's current one, for this host,
 * unexpired and unused; comparison is over keyed hashes in constant time. Wrong answers count against the
 * code (5) and the account (10 in a row locks it until security staff unlock it). A code already used is
 * refused as such and counts for nothing: the verb runs under the account's row lock, so of the same right
 * code sent twice at once exactly one gets in.
 */
export async function verifyLoginCode({ ctx, input, deps }: { ctx: ServiceContext; input: unknown; deps: LoginCodeDeps }) {
  const { account, host, code } = parseInput(verifyInput, input, "参数有误");
  return mutate(ctx, { action: "access.verify" }, async (tx, j) => {
    requireOwnHost(ctx, host);
    const { account: row, name } = await activeAccount(ctx, tx, host, account);
    const now = ctx.clock.now();
    const [current] = await tx
      .select()
      .from(accessCodes)
      .where(and(eq(accessCodes.vmAccountId, row.id), eq(accessCodes.hostId, host), isNull(accessCodes.closedAt), gt(accessCodes.expiresAt, now)))
      .orderBy(desc(accessCodes.id))
      .limit(1);
    // A code that already let this login through (a double submit, a replay): refused as used, not a guess.
    const refusedAsUsed = (method: "sms" | "totp" | "sms+totp") => {
      j.add({
        action: "access.verify",
        outcome: "refused",
        details: { host, account, accountId: row.id, method, allow: false, reason: "code_used", consecutiveFailures: row.consecutiveFailures },
      });
      return { allow: false as const, account, host, code: "code_used" as const, reason: CODE_USED };
    };
    const typed = code.trim();
    // 004 第三十七条 (梅州): the SMS code at every login; a person's authenticator app, where they enrolled one,
    // adds its code after the SMS code (12 digits at the one prompt), and is never enough alone.
    const additional = PROFILES[ctx.profile].vmLoginAuthenticator === "additional";
    const secondFactor = additional && (await totpEnrolled(tx, deps.totpKey, row.userId));
    const twelve = secondFactor && /^\d{12}$/.test(typed);
    const candidate = twelve ? typed.slice(0, 6) : typed;
    const right =
      current !== undefined &&
      /^\d{6}$/.test(candidate) &&
      timingSafeEqual(codeHash(deps.codeKey, row.id, host, candidate), Buffer.from(current.codeHash, "hex"));

    // The right SMS code without the app's: asked for again, not counted as a guess, the SMS code kept.
    if (right && secondFactor && !twelve) {
      j.add({ action: "access.verify", outcome: "refused", details: { host, account, accountId: row.id, allow: false, reason: "second_factor_missing" } });
      return { allow: false as const, account, host, code: "second_factor_missing" as const, reason: SECOND_FACTOR_MISSING };
    }
    const app = right && twelve ? await acceptTotp(tx, deps.totpKey, row.userId, typed.slice(6), now) : null;
    if (app === "used") {
      return refusedAsUsed("sms+totp");
    }
    if (right && (app === null || app === "accepted")) {
      await tx.update(accessCodes).set({ closedAt: now, closedReason: "used" }).where(eq(accessCodes.id, current.id));
      const first = await letIn(ctx, tx, row, now);
      j.add({ action: "access.verify", details: { host, account, accountId: row.id, codeId: current.id, method: app ? "sms+totp" : "sms", allow: true, ...first.audit } });
      return { allow: true as const, account, host, user: name, ...first.answer };
    }
    // The right code again, after it let someone in: the same login submitted twice at once, or a replay.
    // Refused as used, and not a guess: it neither counts against the person nor locks the account.
    if (!right && /^\d{6}$/.test(candidate) && (await usedBefore(tx, deps.codeKey, row.id, host, candidate, now))) {
      return refusedAsUsed("sms");
    }
    // The person's authenticator app instead of the SMS code, where the profile allows it (for places SMS does not reach).
    const instead = additional || right ? null : await acceptTotp(tx, deps.totpKey, row.userId, candidate, now);
    if (instead === "used") {
      return refusedAsUsed("totp");
    }
    if (instead === "accepted") {
      const first = await letIn(ctx, tx, row, now);
      j.add({ action: "access.verify", details: { host, account, accountId: row.id, method: "totp", allow: true, ...first.audit } });
      return { allow: true as const, account, host, user: name, ...first.answer };
    }

    const failures = row.consecutiveFailures + 1;
    const locks = failures >= LOCK_AFTER_FAILURES;
    await tx
      .update(vmAccounts)
      .set({ consecutiveFailures: failures, ...(locks ? { lockedAt: now } : {}) })
      .where(eq(vmAccounts.id, row.id));
    let reason = current ? "验证码错误" : "没有有效的验证码，请重新获取";
    if (current) {
      const tries = current.wrongTries + 1;
      const spent = tries >= MAX_WRONG_TRIES_PER_CODE;
      await tx
        .update(accessCodes)
        .set({ wrongTries: tries, ...(spent ? { closedAt: now, closedReason: "tries" as const } : {}) })
        .where(eq(accessCodes.id, current.id));
      if (spent) reason = `验证码错误 ${MAX_WRONG_TRIES_PER_CODE} 次，已作废，请重新获取`;
    }
    j.add({
      action: "access.verify",
      outcome: "refused",
      details: { host, account, accountId: row.id, codeId: current?.id ?? null, allow: false, consecutiveFailures: failures },
    });
    if (locks) {
      reason = `连续验证失败 ${LOCK_AFTER_FAILURES} 次，账号已锁定，请联系安全管理员解锁`;
      j.add({ action: "access.lock", details: { host, account, accountId: row.id, consecutiveFailures: failures } });
      await alertSecurityStaff(tx, now, `lock:${row.id}:${now.getTime()}`, "虚拟机账号已锁定", `${name}的账号 ${account}@${host} 连续 ${failures} 次验证失败，已锁定`, [
        { label: "主机", value: host },
        { label: "账号", value: account },
        { label: "使用人", value: name },
      ]);
    }
    return { allow: false as const, account, host, code: "denied" as const, reason };
  });
}
