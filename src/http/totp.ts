import { createRoute, z } from "@hono/zod-openapi";
import {
  confirmTotpEnrolment,
  confirmTotpInput,
  permitAuthenticator,
  removeTotpEnrolment,
  startTotpEnrolment,
  type TotpDeps,
  withdrawAuthenticator,
} from "../access/totp";
import { ServiceError } from "../core/errors";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const start = createRoute({
  method: "post",
  path: "/",
  summary: "开始启用动态口令（TOTP）：返回密钥与 otpauth:// 链接（只显示一次），并向绑定手机发送短信验证码",
  security: bearerSecurity,
  responses: {
    201: jsonContent(z.object({ secret: z.string(), otpauthUrl: z.string(), smsSentTo: z.string().openapi({ description: "脱敏手机号" }) }), "密钥与链接"),
    ...errorResponses(403, 409, 429),
  },
});

const confirm = createRoute({
  method: "post",
  path: "/confirm",
  summary: "用应用显示的第一个口令和短信验证码确认启用",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { body: { required: true, content: { "application/json": { schema: checkedByTheVerb(confirmTotpInput) } } } },
  responses: { 200: jsonContent(z.object({ enrolled: z.literal(true) }), "已启用"), ...errorResponses(403, 404, 409, 422) },
});

const remove = createRoute({
  method: "delete",
  path: "/",
  summary: "停用动态口令",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ enrolled: z.boolean() }), "已停用"), ...errorResponses(404) },
});

const unavailable = () => new ServiceError("totp_unavailable", "本服务未启用虚拟机登录验证码，不能启用动态口令", 503);

/**
 * /api/me/totp: the calling person enrols an authenticator app for VM logins (SMS stays the default).
 * Without login codes configured there is nothing to enrol for.
 */
export function totpRoutes(deps: TotpDeps | null) {
  const app = contractApp();
  // First, so that without login codes every call is told so before any route reads its input.
  if (!deps)
    app.all("*", () => {
      throw unavailable();
    });
  const configured = (): TotpDeps => {
    if (!deps) throw unavailable();
    return deps;
  };
  return app
    .openapi(start, async (c) => c.json(await startTotpEnrolment({ ctx: c.get("ctx"), deps: configured() }), 201))
    .openapi(confirm, async (c) => {
      const result = await confirmTotpEnrolment({ ctx: c.get("ctx"), input: c.req.valid("json"), deps: configured() });
      return result.enrolled ? c.json({ enrolled: true as const }, 200) : c.json({ error: { code: "totp_wrong" as const, message: result.message } }, 422);
    })
    .openapi(remove, async (c) => c.json(await removeTotpEnrolment({ ctx: c.get("ctx") }), 200));
}

const permission = (path: "/{userId}" | "/{userId}/withdraw", summary: string, description: string) =>
  createRoute({
    method: "post",
    path,
    summary,
    security: bearerSecurity,
    middleware: [jsonBodyGate({ optional: true })] as const,
    request: {
      params: z.object({ userId: z.string().trim().min(1).max(64).openapi({ description: "用户 id" }) }),
      body: { required: false, content: { "application/json": { schema: z.object({ reason: z.string().trim().min(1).max(500).optional() }) } } },
    },
    responses: { 200: jsonContent(z.object({ userId: z.string(), permitted: z.boolean() }), description), ...errorResponses(403, 404, 409) },
  });

/**
 * /api/authenticators: where every VM login needs the SMS code (梅州 004 第三十七条), a security officer turns an
 * authenticator app on for a person as an extra factor, or off again (which removes the app they enrolled).
 */
export function authenticatorPermissionRoutes() {
  return contractApp()
    .openapi(
      permission("/{userId}", "为某人开启动态口令，作为短信验证码之外的附加验证（安全管理员）", "已开启"),
      async (c) => c.json(await permitAuthenticator({ ctx: c.get("ctx"), input: { userId: c.req.valid("param").userId, reason: c.req.valid("json").reason } }), 200),
      refuseInvalid({ param: "用户 id 无效", json: "参数有误" }),
    )
    .openapi(
      permission("/{userId}/withdraw", "关闭某人的动态口令并删除其已绑定的应用（安全管理员）", "已关闭"),
      async (c) => c.json(await withdrawAuthenticator({ ctx: c.get("ctx"), input: { userId: c.req.valid("param").userId, reason: c.req.valid("json").reason } }), 200),
      refuseInvalid({ param: "用户 id 无效", json: "参数有误" }),
    );
}
