import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, isNull, lt } from "drizzle-orm";
import type { Db } from "../../db/client";
import { webSessions, users } from "../../db/schema";
import type { Actor, ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import type { Role } from "../core/roles";

/** How a person signed in to the portal (web_sessions.via). */
export type SignInVia = "link" | "wecom_oauth" | "wecom_qr";

/** What a new session gives the browser: the cookie's secret (never stored) and the session's CSRF token. */
export interface WebSessionStart {
  secret: string;
  csrf: string;
}

/** How long a session lives without a request when WEB_SESSION_IDLE_HOURS does not say (issue 12: 8 h). */
export const DEFAULT_WEB_SESSION_IDLE_HOURS = 8;
// last_seen_at is written at most once a minute, so a page's requests do not each write.
const SEEN_RESOLUTION_MS = 60_000;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * Opens a session for ctx.actor, audited as them ("web.sign_in"). `before` runs first in the same transaction
 * (spending a one-time link), so a refusal there opens nothing.
 */
export async function openWebSession(
  { ctx, input }: { ctx: ServiceContext; input: { via: SignInVia } },
  before?: (tx: Db) => Promise<void>,
): Promise<WebSessionStart> {
  const actor = ctx.actor!;
  const secret = randomBytes(32).toString("base64url");
  const csrf = randomBytes(24).toString("base64url");
  await mutate(ctx, { action: "web.sign_in" }, async (tx, j) => {
    await before?.(tx);
    const now = ctx.clock.now();
    await tx.insert(webSessions).values({ idHash: sha256(secret), userId: actor.userId, csrfToken: csrf, via: input.via, createdAt: now, lastSeenAt: now });
    j.add({ action: "web.sign_in", details: { via: input.via } });
  });
  return { secret, csrf };
}

/** Why a cookie does not stand for a session. */
export type SessionRefusal = "missing" | "expired";

/**
 * The person a session cookie stands for, with the session's CSRF token; refreshed (last_seen_at) at most once
 * a minute. Ended, idle longer than `idleHours`, unknown or of an inactive user: refused.
 */
export async function checkWebSession(
  db: Db,
  secret: string | undefined,
  now: Date,
  idleHours: number,
): Promise<{ actor: Actor; csrf: string } | { refused: SessionRefusal }> {
  if (!secret || !SECRET_PATTERN.test(secret)) return { refused: "missing" };
  const idHash = sha256(secret);
  const [row] = await db
    .select({
      csrf: webSessions.csrfToken,
      lastSeenAt: webSessions.lastSeenAt,
      endedAt: webSessions.endedAt,
      userId: users.id,
      name: users.name,
      unitId: users.unitId,
      roles: users.roles,
      active: users.active,
    })
    .from(webSessions)
    .innerJoin(users, eq(users.id, webSessions.userId))
    .where(eq(webSessions.idHash, idHash));
  if (!row || row.endedAt || !row.active) return { refused: "missing" };
  if (now.getTime() - row.lastSeenAt.getTime() >= idleHours * 3_600_000) return { refused: "expired" };
  if (now.getTime() - row.lastSeenAt.getTime() >= SEEN_RESOLUTION_MS)
    await db
      .update(webSessions)
      .set({ lastSeenAt: now })
      .where(and(eq(webSessions.idHash, idHash), lt(webSessions.lastSeenAt, new Date(now.getTime() - SEEN_RESOLUTION_MS + 1))));
  return { actor: { userId: row.userId, name: row.name, unitId: row.unitId, roles: row.roles as Role[] }, csrf: row.csrf };
}

/** True when `given` is the session's CSRF token; compared in constant time. */
export function csrfMatches(expected: string, given: unknown): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 退出: ends the session of this cookie, audited as its holder ("web.sign_out"). */
export async function endWebSession({ ctx, input }: { ctx: ServiceContext; input: { secret: string } }): Promise<void> {
  await mutate(ctx, { action: "web.sign_out" }, async (tx, j) => {
    const ended = await tx
      .update(webSessions)
      .set({ endedAt: ctx.clock.now() })
      .where(and(eq(webSessions.idHash, sha256(input.secret)), isNull(webSessions.endedAt)))
      .returning({ via: webSessions.via });
    if (ended.length > 0) j.add({ action: "web.sign_out", details: { via: ended[0]!.via } });
  });
}
