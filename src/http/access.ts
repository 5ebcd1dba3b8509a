import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { authenticateHost } from "../access/hosts";
import { sendLoginCode, verifyLoginCode, type LoginCodeDeps } from "../access/login-codes";
import type { ServiceContext } from "../core/context";
import { unauthenticated } from "../core/errors";
import type { AppDeps } from "./app";
import type { RefusalRecorder } from "../inbound/refusals";
import { sourceIp } from "../inbound/source";
import { checkedByTheVerb, contractApp, errorBodySchema, errorResponses, jsonBodyGate, jsonContent } from "./contract";

type AccessEnv = { Variables: { ctx: ServiceContext } };

// Shape only; the verbs validate the fields themselves and count a malformed code as a wrong one.
const loginBody = (withCode: boolean) => ({
  required: true,
  content: {
    "application/json": {
      schema: checkedByTheVerb(
        z.object({
          account: z.string().openapi({ example: "liuyang" }),
          host: z.string().openapi({ example: "vm-web-01" }),
          ...(withCode ? { code: z.string().openapi({ example: "123456", description: "短信验证码或动态口令" }) } : {}),
        }),
      ),
    },
  },
});
const hostCredential = [{ hostCredential: [] }];

const challenge = createRoute({
  method: "post",
  path: "/challenge",
  summary: "堡垒机 / 虚拟机 PAM：向账号绑定的手机发送验证码",
  security: hostCredential,
  middleware: [jsonBodyGate()] as const,
  request: { body: loginBody(false) },
  responses: {
    200: jsonContent(
      z.object({
        sentTo: z.string().openapi({ description: "脱敏手机号" }),
        expiresInSeconds: z.int(),
        withAuthenticator: z.boolean().openapi({ description: "为 true 时，登录须输入短信验证码后紧接身份验证器的 6 位动态码（共 12 位；004 第三十七条，梅州）" }),
      }),
      "已发送",
    ),
    ...errorResponses(403, 404, 409, 422, 429),
  },
});

const verify = createRoute({
  method: "post",
  path: "/verify",
  summary: "堡垒机 / 虚拟机 PAM：校验验证码（短信；身份验证器按政策代替短信码，或在梅州附加于其后共 12 位），200 放行，403 拒绝",
  security: hostCredential,
  middleware: [jsonBodyGate()] as const,
  request: { body: loginBody(true) },
  responses: {
    200: jsonContent(
      z.object({
        allow: z.literal(true),
        user: z.string(),
        changePassword: z
          .literal(true)
          .optional()
          .openapi({ description: "账号首次登录，须修改初始密码（001 附件1 注2，徽州）：PAM 脚本使密码立即过期，系统在本次登录时要求修改" }),
      }),
      "放行：账号所属的用户",
    ),
    403: jsonContent(z.object({ allow: z.literal(false), error: errorBodySchema.shape.error }), "拒绝：验证码错误、已用过或已过期"),
    ...errorResponses(404, 409),
  },
});

/**
 * /access: what a bastion or a VM's PAM stack calls at each login. Authenticated by the host's own
 * credential (`yunshen host add NAME`), never by a person's token.
 */
export function accessRoutes(deps: AppDeps & { refusals: RefusalRecorder }, login: LoginCodeDeps) {
  const app = contractApp<AccessEnv>();
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
  return app
    .openapi(challenge, async (c) => c.json(await sendLoginCode({ ctx: c.get("ctx"), input: c.req.valid("json"), deps: login }), 200))
    .openapi(verify, async (c) => {
      const result = await verifyLoginCode({ ctx: c.get("ctx"), input: c.req.valid("json"), deps: login });
      // 001 附件1 注2: the answer to a 徽州 account's first login says its initial password must be changed.
      if (result.allow) return c.json({ allow: true as const, user: result.user, ...(result.changePassword ? { changePassword: true as const } : {}) }, 200);
      return c.json({ allow: false as const, error: { code: result.code, message: result.reason } }, 403);
    });
}
