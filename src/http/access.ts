import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { authenticateHost } from "../access/hosts";
import { sendLoginCode, verifyLoginCode, type LoginCodeDeps } from "../access/login-codes";
import type { ServiceContext } from "../core/context";
import { unauthenticated } from "../core/errors";
import type { AppDeps } from "./app";
import { jsonBody } from "./auth";
import type { RefusalRecorder } from "../inbound/refusals";
import { sourceIp } from "../inbound/source";
import { z } from "zod";

type AccessEnv = { Variables: { ctx: ServiceContext } };

// Shape only; the verbs validate the fields themselves and count a malformed code as a wrong one.
const anyObject = z.record(z.string(), z.unknown());

/**
 * /access: what a bastion or a VM's PAM stack calls at each login. Authenticated by the host's own
 * credential (`yunshen host add NAME`), never by a person's token.
 */
export function accessRoutes(deps: AppDeps & { refusals: RefusalRecorder }, login: LoginCodeDeps) {
  const app = new Hono<AccessEnv>();
  app.use(
    createMiddleware<AccessEnv>(async (c, next) => {
      const base: ServiceContext = {
        db: deps.db,
        clock: deps.clock,
        calendar: deps.calendar(),
        profile: deps.profile,
        actor: null,
        channel: "access",
        sourceIp: sourceIp(c),
      };
      const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
      const host = match ? await authenticateHost(deps.db, match[1]!) : null;
      if (!host) {
        // A VM that lost its credential, or someone trying credentials: either way it is evidence, audited
        // at a bounded rate since nobody is identified (a storm of guesses is counted, not logged one by one).
        const err = unauthenticated("缺少或无效的主机凭据");
        await deps.refusals.refused({ action: "access.authenticate", channel: "access", sourceIp: base.sourceIp ?? null, code: err.code, message: err.message });
        c.header("WWW-Authenticate", 'Bearer realm="yunshen-access"');
        throw err;
      }
      c.set("ctx", { ...base, host });
      await next();
    }),
  );
  app.post("/challenge", async (c) => {
    const input = await jsonBody(c, anyObject);
    return c.json(await sendLoginCode({ ctx: c.get("ctx"), input, deps: login }));
  });
  app.post("/verify", async (c) => {
    const input = await jsonBody(c, anyObject);
    const result = await verifyLoginCode({ ctx: c.get("ctx"), input, deps: login });
    if (result.allow) return c.json({ allow: true, user: result.user });
    return c.json({ allow: false, error: { code: result.code, message: result.reason } }, 403);
  });
  return app;
}
