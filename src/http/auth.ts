import { createHash } from "node:crypto";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { canonicalJson } from "../core/audit-canonical";
import type { ServiceContext } from "../core/context";
import { checkToken, tokenRefusalError } from "../directory/tokens";
import { invalid } from "../core/errors";
import { IDEMPOTENCY_KEY, sourceIp } from "../inbound/source";
import type { AppDeps } from "./app";

export type ApiEnv = { Variables: { ctx: ServiceContext } };

/** Every /api call carries `Authorization: Bearer <token>`; the actor and a service context ride on `c`. */
export function authenticate(deps: AppDeps) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // A revoked or expired token is told so, so that its holder knows to ask for a new one.
    const checked = await checkToken(deps.db, match?.[1], deps.clock.now(), { lifetimeDays: deps.tokenLifetimeDays });
    if (!("actor" in checked)) {
      c.header("WWW-Authenticate", 'Bearer realm="yunshen"');
      throw tokenRefusalError(checked);
    }
    const { actor } = checked;
    c.set("ctx", {
      db: deps.db,
      clock: deps.clock,
      calendar: deps.calendar(),
      profile: deps.profile,
      actor,
      channel: "api",
      sourceIp: sourceIp(c),
    });
    await next();
  });
}


/**
 * `Idempotency-Key` on a POST: a retry with the same key and body returns the first result; the same key with
 * another body is refused. Keys are per user and per target (by default the method and path).
 */
export function withIdempotency(c: Context<ApiEnv>, body: unknown, target = `${c.req.method} ${c.req.path}`): ServiceContext {
  const ctx = c.get("ctx");
  const key = c.req.header("idempotency-key");
  if (key === undefined) return ctx;
  if (!IDEMPOTENCY_KEY.test(key)) throw invalid("Idempotency-Key 应为 1–200 个可见 ASCII 字符");
  const fingerprint = createHash("sha256").update(canonicalJson(body ?? null)).digest("hex");
  return { ...ctx, dedupe: { scope: `api:${ctx.actor!.userId}:${target}`, key, fingerprint } };
}
