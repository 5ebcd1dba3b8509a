import { Hono } from "hono";
import { z } from "zod";
import { confirmTotpEnrolment, removeTotpEnrolment, startTotpEnrolment } from "../access/totp";
import { jsonBody, type ApiEnv } from "./auth";

/** /api/me/totp: the calling person enrols an authenticator app for VM logins (SMS stays the default). */
export function totpRoutes(key: Buffer | null) {
  return new Hono<ApiEnv>()
    .post("/", async (c) => c.json(await startTotpEnrolment({ ctx: c.get("ctx"), key }), 201))
    .post("/confirm", async (c) => {
      const input = await jsonBody(c, z.record(z.string(), z.unknown()));
      return c.json(await confirmTotpEnrolment({ ctx: c.get("ctx"), input, key }));
    })
    .delete("/", async (c) => c.json(await removeTotpEnrolment({ ctx: c.get("ctx") })));
}
