import { createRoute, z } from "@hono/zod-openapi";
import { listAccountsQuery, listVmAccounts, revokeVmAccount, unlockVmAccount } from "../access/accounts";
import { listGrantsQuery, listPortGrants, revokePortGrant } from "../access/port-grants";
import { bearerSecurity, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const reasonBody = {
  required: false,
  content: { "application/json": { schema: z.object({ reason: z.string().trim().min(1).max(500).optional() }) } },
};
const idParams = (description: string) =>
  z.object({ id: z.coerce.number<string>().int().positive().max(Number.MAX_SAFE_INTEGER).openapi({ type: "integer", description }) });
const date = z.iso.datetime();
const recordStatus = z.enum(["active", "revoked", "expired"]);

const accountSchema = z.object({
  id: z.int(),
  host: z.string(),
  account: z.string(),
  user: z.object({ id: z.string(), name: z.string() }),
  mobile: z.string().openapi({ description: "脱敏手机号" }),
  status: recordStatus,
  validUntil: date,
  locked: z.boolean(),
  firstLoginAt: date.nullable().openapi({ description: "首次登录时间；为空即尚未登录过，仍是初始密码（001 附件1 注2）" }),
  requestId: z.int().nullable(),
  authenticator: z.enum(["off", "permitted", "enrolled"]).openapi({ description: "动态口令：未开启 / 已开启待绑定 / 已绑定" }),
});
const accountRef = z.object({ id: z.int(), account: z.string(), host: z.string() });

const grantSchema = z.object({
  id: z.int(),
  host: z.string(),
  port: z.int(),
  protocol: z.enum(["tcp", "udp"]),
  sources: z.array(z.string()),
  reason: z.string(),
  status: recordStatus,
  validUntil: date,
  request: z.object({ id: z.int(), code: z.string(), requesterId: z.string() }),
});

const listAccounts = createRoute({
  method: "get",
  path: "/",
  summary: "虚拟机账号（手机号脱敏）：安全管理员与统筹管理单位看全部，其他人看本人的",
  security: bearerSecurity,
  request: { query: listAccountsQuery },
  responses: { 200: jsonContent(z.object({ items: z.array(accountSchema) }), "账号列表"), ...errorResponses() },
});

const accountAction = (path: "/{id}/revoke" | "/{id}/unlock", summary: string, description: string) =>
  createRoute({
    method: "post",
    path,
    summary,
    security: bearerSecurity,
    middleware: [jsonBodyGate({ optional: true })] as const,
    request: { params: idParams("账号 id"), body: reasonBody },
    responses: { 200: jsonContent(accountRef, description), ...errorResponses(403, 404, 409) },
  });
const revokeAccount = accountAction("/{id}/revoke", "撤销账号（统筹管理单位、安全管理员），立即生效", "已撤销");
const unlockAccount = accountAction("/{id}/unlock", "解锁账号（安全管理员）", "已解锁");

/** /api/vm-accounts: the accounts 虚拟机账号申请 created; revoke (manager, security staff) and unlock (security staff). */
export function vmAccountRoutes() {
  return contractApp()
    .openapi(listAccounts, async (c) => c.json(await listVmAccounts({ ctx: c.get("ctx"), input: c.req.valid("query") }), 200))
    .openapi(
      revokeAccount,
      async (c) => c.json(await revokeVmAccount({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id, reason: c.req.valid("json").reason } }), 200),
      refuseInvalid({ param: "账号 id 无效", json: "参数有误" }),
    )
    .openapi(
      unlockAccount,
      async (c) => c.json(await unlockVmAccount({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id, reason: c.req.valid("json").reason } }), 200),
      refuseInvalid({ param: "账号 id 无效", json: "参数有误" }),
    );
}

const listGrants = createRoute({
  method: "get",
  path: "/",
  summary: "端口开放记录（报备）：主机、端口、来源地址、到期日",
  security: bearerSecurity,
  request: { query: listGrantsQuery },
  responses: { 200: jsonContent(z.object({ items: z.array(grantSchema) }), "端口开放记录"), ...errorResponses() },
});

const revokeGrant = createRoute({
  method: "post",
  path: "/{id}/revoke",
  summary: "撤销端口开放（统筹管理单位、安全管理员），并通知关闭",
  security: bearerSecurity,
  middleware: [jsonBodyGate({ optional: true })] as const,
  request: { params: idParams("记录 id"), body: reasonBody },
  responses: { 200: jsonContent(z.object({ id: z.int(), status: z.string() }), "已撤销"), ...errorResponses(403, 404, 409) },
});

/** /api/port-grants: every opened port with its sources and end date (报备); revoke (manager, security staff). */
export function portGrantRoutes() {
  return contractApp()
    .openapi(listGrants, async (c) => c.json(await listPortGrants({ ctx: c.get("ctx"), input: c.req.valid("query") }), 200))
    .openapi(
      revokeGrant,
      async (c) => c.json(await revokePortGrant({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id, reason: c.req.valid("json").reason } }), 200),
      refuseInvalid({ param: "记录 id 无效", json: "参数有误" }),
    );
}
