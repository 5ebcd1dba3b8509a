import { Hono } from "hono";
import { z } from "zod";
import { confirmTotpEnrolment, removeTotpEnrolment, startTotpEnrolment, type TotpDeps } from "../access/totp";
import { ServiceError } from "../core/errors";
import { jsonBody, type ApiEnv } from "./auth";

/**
 * /api/me/totp: the calling person enrols an authenticator app for VM logins (SMS stays the default).
 * Without login codes configured there is nothing to enrol for.
 */
export function totpRoutes(deps: TotpDeps | null) {
  const app = new Hono<ApiEnv>();
  if (!deps) {
    app.all("*", () => {
      throw new ServiceError("totp_unavailable", "本服务未启用虚拟机登录验证码，不能启用动态口令", 503);
    });
    return app;
  }
  return app
    .post("/", async (c) => c.json(await startTotpEnrolment({ ctx: c.get("ctx"), deps }), 201))
    .post("/confirm", async (c) => {
      const input = await jsonBody(c, z.record(z.string(), z.unknown()));
      const result = await confirmTotpEnrolment({ ctx: c.get("ctx"), input, deps });
      return result.enrolled ? c.json(result) : c.json({ error: { code: "totp_wrong", message: result.message } }, 422);
    })
    .delete("/", async (c) => c.json(await removeTotpEnrolment({ ctx: c.get("ctx") })));
}
