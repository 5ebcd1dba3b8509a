import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { loginLinks, units, users } from "../../db/schema";
import type { Actor, ServiceContext } from "../core/context";
import { notFound, ServiceError, unprocessable } from "../core/errors";
import { mutate } from "../core/mutate";
import { parseInput } from "../core/validation";
import { requireOperator, type Role } from "../core/roles";
import { openWebSession, type WebSessionStart } from "./web-sessions";

/** How long a one-time sign-in link works (issue 12: valid 24 h, usable once). */
export const LOGIN_LINK_HOURS = 24;
const HOUR_MS = 3_600_000;

// "ysl_" + 32 random bytes in base64url: told apart from API tokens (ys_) at a glance.
const LINK_PATTERN = /^ysl_[A-Za-z0-9_-]{43}$/;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const createLinkInput = z.strictObject({ userId: z.string().trim().min(1, { error: "请指定用户" }).max(64) });

/**
 * Issues a one-time sign-in link's secret for a user (the CLI operator or a manager). Only its SHA-256 is
 * stored; the secret is returned once, outside what mutate keeps.
 */
export async function createLoginLink({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<{ token: string; userId: string; expiresAt: Date }> {
  const token = `ysl_${randomBytes(32).toString("base64url")}`;
  const issued = await mutate(ctx, { action: "login_link.create" }, async (tx, j) => {
    requireOperator(ctx.actor, "loginLinks");
    const { userId } = parseInput(createLinkInput, input, "签发登录链接的参数有误");
    const [user] = await tx.select({ id: users.id, active: users.active }).from(users).where(eq(users.id, userId));
    if (!user) throw notFound(`用户 ${userId} 不存在`);
    if (!user.active) throw unprocessable("user_inactive", `用户 ${userId} 已停用，不能签发登录链接`);
    const now = ctx.clock.now();
    const expiresAt = new Date(now.getTime() + LOGIN_LINK_HOURS * HOUR_MS);
    await tx.insert(loginLinks).values({ tokenHash: sha256(token), userId, createdBy: ctx.actor?.userId ?? null, createdAt: now, expiresAt });
    j.add({ action: "login_link.create", details: { userId, expiresAt: expiresAt.toISOString() } });
    return { userId, expiresAt: expiresAt.toISOString() };
  });
  return { token, userId: issued.userId, expiresAt: new Date(issued.expiresAt) };
}

/** Who a link would sign in, as its page names them. */
export interface LinkHolder extends Actor {
  unitName: string;
}

// One message for unknown, used and expired alike would leave the person guessing; each says what to do. A 401
// is not audited by mutate: a stale link clicked again writes nothing.
const linkRefused = (message: string) => new ServiceError("link_invalid", message, 401);
const UNKNOWN = "登录链接无效，请核对链接是否完整，或请管理员重新签发";

/**
 * The person a link would sign in, read without using it up: chat apps fetch a link to preview it, so only
 * the POST of the page's button spends it. Refused (link_invalid) when unknown, used or expired.
 */
export async function peekLoginLink(db: Db, token: string, now: Date): Promise<LinkHolder> {
  if (!LINK_PATTERN.test(token)) throw linkRefused(UNKNOWN);
  const [row] = await db
    .select({
      usedAt: loginLinks.usedAt,
      expiresAt: loginLinks.expiresAt,
      userId: users.id,
      name: users.name,
      unitId: users.unitId,
      unitName: units.name,
      roles: users.roles,
      active: users.active,
    })
    .from(loginLinks)
    .innerJoin(users, eq(users.id, loginLinks.userId))
    .innerJoin(units, eq(units.id, users.unitId))
    .where(eq(loginLinks.tokenHash, sha256(token)));
  if (!row) throw linkRefused(UNKNOWN);
  if (row.usedAt) throw linkRefused("该登录链接已经用过，每个链接只能登录一次；请联系管理员重新签发");
  if (row.expiresAt.getTime() <= now.getTime()) throw linkRefused(`该登录链接已过期（有效期 ${LOGIN_LINK_HOURS} 小时），请联系管理员重新签发`);
  if (!row.active) throw linkRefused("该用户已在通讯录中停用，不能登录");
  return { userId: row.userId, name: row.name, unitId: row.unitId, unitName: row.unitName, roles: row.roles as Role[] };
}

/**
 * Spends a link and opens a web session for its holder, in one transaction audited as the holder. Of two
 * POSTs racing with the same link one wins: the conditional UPDATE lets exactly one row change.
 */
export async function signInWithLink({ ctx, input }: { ctx: ServiceContext; input: { token: string } }): Promise<WebSessionStart & { holder: LinkHolder }> {
  const holder = await peekLoginLink(ctx.db, input.token, ctx.clock.now());
  const { unitName: _, ...actor } = holder;
  const started = await openWebSession({ ctx: { ...ctx, actor }, input: { via: "link" } }, async (tx) => {
    const now = ctx.clock.now();
    const spent = await tx
      .update(loginLinks)
      .set({ usedAt: now })
      .where(and(eq(loginLinks.tokenHash, sha256(input.token)), isNull(loginLinks.usedAt), gt(loginLinks.expiresAt, now)))
      .returning({ userId: loginLinks.userId });
    if (spent.length === 0) throw linkRefused("该登录链接已经用过，每个链接只能登录一次；请联系管理员重新签发");
  });
  return { ...started, holder };
}
