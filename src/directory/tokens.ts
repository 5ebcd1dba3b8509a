import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq, isNull, lt, or } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { apiTokens, users } from "../../db/schema";
import type { Actor, ServiceContext } from "../core/context";
import { addCalendarDays, endOfShanghaiDay, shanghaiDate, shanghaiDateTime } from "../core/calendar";
import { isIsoDate } from "../core/calendar-schedule";
import { conflict, forbidden, invalid, notFound, ServiceError, unauthenticated, unprocessable } from "../core/errors";
import { mutate } from "../core/mutate";
import { parseInput } from "../core/validation";
import { mayOperate, requireOperator, type Role } from "../core/roles";

export interface TokenInfo {
  id: string;
  userId: string;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** When it stops working: the stored expiry, or for a token issued before tokens expired, see tokenExpiry. */
  expiresAt: Date;
  /** True when the token has no stored expiry and expiresAt is its issue time plus the configured lifetime. */
  expiryAssumed: boolean;
}

/** How long a token works when neither `--expires` nor TOKEN_LIFETIME_DAYS says otherwise. */
export const DEFAULT_TOKEN_LIFETIME_DAYS = 90;
/** The longest lifetime a token may be given, as `--expires` or as TOKEN_LIFETIME_DAYS. */
export const MAX_TOKEN_LIFETIME_DAYS = 3650;
const DAY_MS = 86_400_000;

/**
 * When a token stops working. Tokens issued before tokens had an expiry (migration 0014) have none stored; they
 * are taken to have been issued for the configured lifetime, counted from when they were issued, rather than to
 * live for ever: a token nobody remembers issuing is the one most likely to have leaked, and the holder of one
 * still in use gets a message saying it expired and whom to ask for a new one.
 */
export function tokenExpiry(row: { createdAt: Date; expiresAt: Date | null }, lifetimeDays = DEFAULT_TOKEN_LIFETIME_DAYS): Date {
  return row.expiresAt ?? new Date(row.createdAt.getTime() + lifetimeDays * DAY_MS);
}

/**
 * The expiry `--expires` asks for: "30d" (30 days from now) or a date "2027-03-01" (the token works through that
 * day, Asia/Shanghai). Without one, `lifetimeDays` from now.
 */
export function expiryFrom(expires: string | undefined, now: Date, lifetimeDays = DEFAULT_TOKEN_LIFETIME_DAYS): Date {
  if (expires === undefined) return new Date(now.getTime() + lifetimeDays * DAY_MS);
  const days = /^(\d{1,5})d$/.exec(expires);
  const latest = addCalendarDays(shanghaiDate(now), MAX_TOKEN_LIFETIME_DAYS);
  if (days) {
    const n = Number(days[1]);
    if (n < 1 || n > MAX_TOKEN_LIFETIME_DAYS) throw invalid(`有效期应为 1–${MAX_TOKEN_LIFETIME_DAYS} 天，如 30d`, { expires: ["天数超出范围"] });
    return new Date(now.getTime() + n * DAY_MS);
  }
  if (isIsoDate(expires)) {
    const end = endOfShanghaiDay(expires);
    if (end.getTime() <= now.getTime()) throw invalid(`到期日 ${expires} 已过，请指定今天或以后的日期`, { expires: ["到期日已过"] });
    if (expires > latest) throw invalid(`到期日不能晚于 ${latest}（${MAX_TOKEN_LIFETIME_DAYS} 天内）`, { expires: ["到期日太远"] });
    return end;
  }
  throw invalid("有效期应为天数（如 30d）或到期日（如 2027-03-01）", { expires: ["格式应为 30d 或 YYYY-MM-DD"] });
}

/** An expiry as people read it: "2027-03-01 23:59（北京时间）". */
export const expiryText = (at: Date) => `${shanghaiDateTime(at)}（北京时间）`;

// "ys_" + 32 random bytes in base64url (43 characters): a prefix that secret scanners and people recognise.
const TOKEN_PATTERN = /^ys_[A-Za-z0-9_-]{43}$/;
// last_used_at is for "is this token still in use?", so minute precision saves a write per request.
const LAST_USED_RESOLUTION_MS = 60_000;

const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

const createTokenInput = z.strictObject({
  userId: z.string().trim().min(1, { error: "请指定用户" }),
  name: z.string().trim().max(100, { error: "令牌名称不能超过 100 个字符" }).default(""),
  expires: z.string({ error: "有效期应为天数（如 30d）或到期日（如 2027-03-01）" }).trim().optional(),
});

const revokeTokenInput = z.strictObject({
  id: z.string().trim().min(1, { error: "请指定令牌" }),
});

/**
 * Issues an API token for a user. The secret is returned once and only its SHA-256 is stored. It expires after
 * `input.expires` ("30d" or "2027-03-01"), or else after `lifetimeDays` (TOKEN_LIFETIME_DAYS).
 */
export async function createToken({
  ctx,
  input,
  lifetimeDays,
}: {
  ctx: ServiceContext;
  input: unknown;
  lifetimeDays?: number;
}): Promise<{ id: string; token: string; userId: string; expiresAt: Date }> {
  // The secret stays out of what mutate returns, which it would keep as a replay's answer.
  const token = `ys_${randomBytes(32).toString("base64url")}`;
  // Inside mutate, so a refusal is audited like any other (malformed input, a 400, writes nothing).
  const issued = await mutate(ctx, { action: "token.create" }, async (tx, j) => {
    requireOperator(ctx.actor, "tokens");
    const { userId, name, expires } = parseInput(createTokenInput, input, "签发令牌的参数有误");
    const expiresAt = expiryFrom(expires, ctx.clock.now(), lifetimeDays);
    const [user] = await tx.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, userId));
    if (!user) throw notFound(`用户 ${userId} 不存在`);
    if (!user.active) throw unprocessable("user_inactive", `用户 ${userId} 已停用，不能签发访问令牌`);

    const now = ctx.clock.now();
    // 8 hex digits can collide once tokens number in the tens of thousands; try again rather than fail.
    let id: string | null = null;
    for (let attempt = 0; attempt < 5 && id === null; attempt++) {
      const candidate = `tok_${randomBytes(4).toString("hex")}`;
      const inserted = await tx
        .insert(apiTokens)
        .values({ id: candidate, userId, name, tokenHash: hashToken(token), createdAt: now, expiresAt })
        .onConflictDoNothing({ target: apiTokens.id })
        .returning({ id: apiTokens.id });
      if (inserted.length > 0) id = candidate;
    }
    if (id === null) throw conflict("token_id_exhausted", "未能生成唯一的令牌编号，请重试");

    j.add({ action: "token.create", details: { tokenId: id, userId, name, expiresAt: expiresAt.toISOString() } });
    return { id, userId, expiresAt: expiresAt.toISOString() };
  });
  return { ...issued, token, expiresAt: new Date(issued.expiresAt) };
}

/** Revokes a token: by the CLI operator, an admin or manager, or the token's own user. */
export async function revokeToken({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: unknown;
}): Promise<{ id: string; userId: string; revokedAt: Date }> {
  // Anyone may revoke their own token; whose it is is known only once the row is read below.
  const isOperator = mayOperate(ctx.actor, "tokens");
  const { id } = parseInput(revokeTokenInput, input, "吊销令牌的参数有误");
  // Inside mutate, so a refusal (someone else's token, an unknown or revoked one) is audited like any other.
  const revoked = await mutate(ctx, { action: "token.revoke" }, async (tx, j) => {
    const [row] = await tx
      .select({ id: apiTokens.id, userId: apiTokens.userId, revokedAt: apiTokens.revokedAt })
      .from(apiTokens)
      .where(eq(apiTokens.id, id))
      .for("update");
    if (!row) throw notFound(`访问令牌 ${id} 不存在`);
    if (!isOperator && row.userId !== ctx.actor?.userId) throw forbidden("只能吊销自己的访问令牌");
    if (row.revokedAt) throw conflict("token_revoked", `访问令牌 ${id} 已被吊销`);

    const now = ctx.clock.now();
    await tx.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, id));
    j.add({ action: "token.revoke", details: { tokenId: id, userId: row.userId } });
    return { id, userId: row.userId, revokedAt: now.toISOString() };
  });
  return { ...revoked, revokedAt: new Date(revoked.revokedAt) };
}

/** Tokens, newest last, without their hashes, each with when it expires. */
export async function listTokens(db: Db, userId?: string, opts: { lifetimeDays?: number } = {}): Promise<TokenInfo[]> {
  const rows = await db
    .select({
      id: apiTokens.id,
      userId: apiTokens.userId,
      name: apiTokens.name,
      createdAt: apiTokens.createdAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
      expiresAt: apiTokens.expiresAt,
    })
    .from(apiTokens)
    .where(userId === undefined ? undefined : eq(apiTokens.userId, userId))
    .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
  return rows.map((r) => ({ ...r, expiresAt: tokenExpiry(r, opts.lifetimeDays), expiryAssumed: r.expiresAt === null }));
}

/** Why a bearer token was not accepted; each gets its own message, so its holder knows what to do. */
export type TokenRefusal =
  | { reason: "missing" }
  | { reason: "unknown" }
  | { reason: "revoked" }
  | { reason: "expired"; expiredAt: Date }
  | { reason: "inactive" };

/** The 401 for a refused token. "missing" and "unknown" read alike: a guess learns nothing. */
export function tokenRefusalError(refusal: TokenRefusal): ServiceError {
  switch (refusal.reason) {
    case "missing":
    case "unknown":
      return unauthenticated();
    case "revoked":
      return new ServiceError("token_revoked", "访问令牌已被吊销，请联系管理员重新签发", 401);
    case "expired":
      return new ServiceError("token_expired", `访问令牌已于 ${expiryText(refusal.expiredAt)}过期，请联系管理员重新签发`, 401);
    case "inactive":
      return new ServiceError("user_inactive", "该令牌所属用户已在通讯录中停用，令牌不再有效；如有疑问请联系管理员", 401);
  }
}

/** The actor a bearer token stands for, or null for an unknown, revoked or expired token or an inactive user. */
export async function authenticateToken(db: Db, token: string, now: Date, opts: { lifetimeDays?: number } = {}): Promise<Actor | null> {
  const checked = await checkToken(db, token, now, opts);
  return "actor" in checked ? checked.actor : null;
}

/**
 * The actor a bearer token stands for, or why it is refused. Lookup is by the token's SHA-256, so no
 * comparison ever runs over the secret itself.
 */
export async function checkToken(
  db: Db,
  token: string | undefined,
  now: Date,
  opts: { lifetimeDays?: number } = {},
): Promise<{ actor: Actor } | TokenRefusal> {
  if (token === undefined || token === "") return { reason: "missing" };
  if (!TOKEN_PATTERN.test(token)) return { reason: "unknown" };
  const [row] = await db
    .select({
      tokenId: apiTokens.id,
      createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
      userId: users.id,
      name: users.name,
      unitId: users.unitId,
      roles: users.roles,
      active: users.active,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  if (!row) return { reason: "unknown" };
  if (row.revokedAt !== null) return { reason: "revoked" };
  const expiredAt = tokenExpiry(row, opts.lifetimeDays);
  if (expiredAt.getTime() <= now.getTime()) return { reason: "expired", expiredAt };
  if (!row.active) return { reason: "inactive" };

  if (row.lastUsedAt === null || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    // The condition repeats in SQL so that concurrent requests of the same minute write once.
    const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS + 1);
    await db
      .update(apiTokens)
      .set({ lastUsedAt: now })
      .where(
        and(
          eq(apiTokens.id, row.tokenId),
          or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, staleBefore)),
        ),
      );
  }
  return { actor: { userId: row.userId, name: row.name, unitId: row.unitId, roles: row.roles as Role[] } };
}
