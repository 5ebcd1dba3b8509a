import { Hono } from "hono";
import { z } from "zod";
import { listAccountsQuery, listVmAccounts, revokeVmAccount, unlockVmAccount } from "../access/accounts";
import { listGrantsQuery, listPortGrants, revokePortGrant } from "../access/port-grants";
import type { Context } from "hono";
import { parseInput, parseJsonText } from "../core/validation";
import type { ApiEnv } from "./auth";

const reasonBody = z.object({ reason: z.string().trim().min(1).max(500).optional() });
const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The reason, which may be left out along with the whole body. */
async function reasonOf(c: Context<ApiEnv>) {
  const text = await c.req.text();
  return parseInput(reasonBody, text.trim() === "" ? {} : parseJsonText(text, "请求体"), "参数有误").reason;
}

/** /api/vm-accounts: the accounts 虚拟机账号申请 created; revoke (manager, security staff) and unlock (security staff). */
export function vmAccountRoutes() {
  return new Hono<ApiEnv>()
    .get("/", async (c) => {
      const input = parseInput(listAccountsQuery, c.req.query(), "查询参数有误");
      return c.json(await listVmAccounts({ ctx: c.get("ctx"), input }));
    })
    .post("/:id/revoke", async (c) => {
      const id = parseInput(idParam, c.req.param("id"), "账号 id 无效");
      const reason = await reasonOf(c);
      return c.json(await revokeVmAccount({ ctx: c.get("ctx"), input: { id, reason } }));
    })
    .post("/:id/unlock", async (c) => {
      const id = parseInput(idParam, c.req.param("id"), "账号 id 无效");
      const reason = await reasonOf(c);
      return c.json(await unlockVmAccount({ ctx: c.get("ctx"), input: { id, reason } }));
    });
}

/** /api/port-grants: every opened port with its sources and end date (报备); revoke (manager, security staff). */
export function portGrantRoutes() {
  return new Hono<ApiEnv>()
    .get("/", async (c) => {
      const input = parseInput(listGrantsQuery, c.req.query(), "查询参数有误");
      return c.json(await listPortGrants({ ctx: c.get("ctx"), input }));
    })
    .post("/:id/revoke", async (c) => {
      const id = parseInput(idParam, c.req.param("id"), "记录 id 无效");
      const reason = await reasonOf(c);
      return c.json(await revokePortGrant({ ctx: c.get("ctx"), input: { id, reason } }));
    });
}
