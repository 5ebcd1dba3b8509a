import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq, isNull, lt, or } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { apiTokens, users } from "../../db/schema";
import { auditAppend } from "../audit/append";
import type { Actor, ServiceContext } from "../context";
import { conflict, forbidden, notFound, unprocessable } from "../errors";
import { parseInput } from "../validation";
import type { Role } from "./roles";

export interface TokenInfo {
  id: string;
  userId: string;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

// "ys_" + 32 random bytes in base64url (43 characters): a prefix that secret scanners and people recognise.
const TOKEN_PATTERN = /^ys_[A-Za-z0-9_-]{43}$/;
// last_used_at is for "is this token still in use?", so minute precision saves a write per request.
const LAST_USED_RESOLUTION_MS = 60_000;

const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

const createTokenInput = z.strictObject({
  userId: z.string().trim().min(1, { error: "请指定用户" }),
  name: z.string().trim().max(100, { error: "令牌名称不能超过 100 个字符" }).default(""),
});

const revokeTokenInput = z.strictObject({
  id: z.string().trim().min(1, { error: "请指定令牌" }),
});

/** Issues an API token for a user. The secret is returned once and only its SHA-256 is stored. */
export async function createToken({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: unknown;
}): Promise<{ id: string; token: string; userId: string }> {
  if (ctx.actor && !ctx.actor.roles.includes("manager")) throw forbidden("只有统筹管理单位可以签发访问令牌");
  const { userId, name } = parseInput(createTokenInput, input, "签发令牌的参数有误");

  return ctx.db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, userId));
    if (!user) throw notFound(`用户 ${userId} 不存在`);
    if (!user.active) throw unprocessable("user_inactive", `用户 ${userId} 已停用，不能签发访问令牌`);

    const now = ctx.clock.now();
    const token = `ys_${randomBytes(32).toString("base64url")}`;
    // 8 hex digits can collide once tokens number in the tens of thousands; try again rather than fail.
    let id: string | null = null;
    for (let attempt = 0; attempt < 5 && id === null; attempt++) {
      const candidate = `tok_${randomBytes(4).toString("hex")}`;
      const inserted = await tx
        .insert(apiTokens)
        .values({ id: candidate, userId, name, tokenHash: hashToken(token), createdAt: now })
        .onConflictDoNothing({ target: apiTokens.id })
        .returning({ id: apiTokens.id });
      if (inserted.length > 0) id = candidate;
    }
    if (id === null) throw conflict("token_id_exhausted", "未能生成唯一的令牌编号，请重试");

    await auditAppend(tx, now, {
      action: "token.create",
      channel: ctx.channel,
      actorId: ctx.actor?.userId ?? null,
      actorRole: ctx.actor ? "manager" : null,
      sourceIp: ctx.sourceIp ?? null,
      details: { tokenId: id, userId, name },
    });
    return { id, token, userId };
  });
}

/** Revokes a token: by the CLI operator, a manager, or the token's own user. */
export async function revokeToken({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: unknown;
}): Promise<{ id: string; userId: string; revokedAt: Date }> {
  // Anyone may revoke their own token; whose it is is known only once the row is read below.
  const isManager = ctx.actor === null || ctx.actor.roles.includes("manager");
  const { id } = parseInput(revokeTokenInput, input, "吊销令牌的参数有误");

  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .select({ id: apiTokens.id, userId: apiTokens.userId, revokedAt: apiTokens.revokedAt })
      .from(apiTokens)
      .where(eq(apiTokens.id, id))
      .for("update");
    if (!row) throw notFound(`访问令牌 ${id} 不存在`);
    if (!isManager && row.userId !== ctx.actor?.userId) throw forbidden("只能吊销自己的访问令牌");
    if (row.revokedAt) throw conflict("token_revoked", `访问令牌 ${id} 已被吊销`);

    const now = ctx.clock.now();
    await tx.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, id));
    await auditAppend(tx, now, {
      action: "token.revoke",
      channel: ctx.channel,
      actorId: ctx.actor?.userId ?? null,
      actorRole: ctx.actor?.roles.includes("manager") ? "manager" : null,
      sourceIp: ctx.sourceIp ?? null,
      details: { tokenId: id, userId: row.userId },
    });
    return { id, userId: row.userId, revokedAt: now };
  });
}

/** Tokens, newest last, without their hashes. */
export async function listTokens(db: Db, userId?: string): Promise<TokenInfo[]> {
  return db
    .select({
      id: apiTokens.id,
      userId: apiTokens.userId,
      name: apiTokens.name,
      createdAt: apiTokens.createdAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .where(userId === undefined ? undefined : eq(apiTokens.userId, userId))
    .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
}

/**
 * The actor a bearer token stands for, or null for an unknown or revoked token or an inactive user.
 * Lookup is by the token's SHA-256, so no comparison ever runs over the secret itself.
 */
export async function authenticateToken(db: Db, token: string, now: Date): Promise<Actor | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .select({
      tokenId: apiTokens.id,
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
  if (!row || row.revokedAt !== null || !row.active) return null;

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
  return { userId: row.userId, name: row.name, unitId: row.unitId, roles: row.roles as Role[] };
}
