import { createRoute, z } from "@hono/zod-openapi";
import { addHost, hostNameSchema, listHosts, revokeHost, rotateHost } from "../access/hosts";
import { listPriceTables, loadPriceTable, priceTableSchema } from "../billing/prices";
import { listCalendarYears } from "../calendar/store";
import { yearScheduleSchema } from "../core/calendar";
import { requireOperator } from "../core/roles";
import { checkDirectoryImport, directoryFileSchema, importDirectory } from "../directory/import";
import { createLoginLink } from "../directory/login-links";
import { createToken, listTokens, revokeToken } from "../directory/tokens";
import { loadCalendarYearWithDeadlines } from "../engine";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyRoute, jsonContent } from "./contract";

// /api/admin: what the people who run yunshen do (issue 12, "Operators"), for the role admin and, task by task,
// the roles that did it before admin existed (core/roles OPERATOR_TASKS). Each route calls the service verb the
// CLI calls, which authorizes first. No route takes an Idempotency-Key: a replay would answer without the secret
// a token or host credential is shown with once.

const date = z.iso.datetime();
const counts = z.object({ created: z.int(), updated: z.int(), unchanged: z.int() });
const importResultSchema = z.object({ units: counts, users: counts }).openapi("DirectoryImportResult");

const problemSchema = z
  .object({
    path: z.string().openapi({ description: "字段路径，如 users[3].mobile" }),
    list: z.enum(["units", "users"]).nullable(),
    row: z.int().nullable().openapi({ description: "行号，从 1 起" }),
    id: z.string().nullable().openapi({ description: "该行的标识（可读时）" }),
    field: z.string().nullable().openapi({ description: "字段名称，如 手机号" }),
    message: z.string(),
  })
  .openapi("DirectoryProblem");

const checkSchema = z
  .object({
    valid: z.boolean(),
    problems: z.array(problemSchema),
    units: counts.nullable(),
    users: counts.nullable(),
  })
  .openapi("DirectoryCheck");

const directoryBody = checkedByTheVerb(directoryFileSchema);

const checkDirectory = createRoute({
  method: "post",
  path: "/directory/check",
  summary: "试导入通讯录：列出每一处错误（行号、字段），或导入将新增、更新多少；不写入任何数据",
  security: bearerSecurity,
  ...jsonBodyRoute(directoryBody),
  responses: { 200: jsonContent(checkSchema, "检查结果"), ...errorResponses(403) },
});

const runImport = createRoute({
  method: "post",
  path: "/directory/import",
  summary: "导入通讯录（单位和用户）：全部导入或全部不导入；有误时 400，fields 列出每处错误",
  security: bearerSecurity,
  ...jsonBodyRoute(directoryBody),
  responses: { 200: jsonContent(importResultSchema, "已导入"), ...errorResponses(403) },
});

const tokenInfoSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    name: z.string(),
    createdAt: date,
    expiresAt: date,
    expiryAssumed: z.boolean().openapi({ description: "签发时未设到期，按签发后 TOKEN_LIFETIME_DAYS 天计" }),
    lastUsedAt: date.nullable(),
    revokedAt: date.nullable(),
  })
  .openapi("TokenInfo");

const tokens = createRoute({
  method: "get",
  path: "/tokens",
  summary: "访问令牌列表：名称、签发、到期、最近使用、吊销时间（不含令牌本身）",
  security: bearerSecurity,
  request: { query: z.object({ user: z.string().max(64).optional().openapi({ description: "只列此用户的令牌" }) }) },
  responses: { 200: jsonContent(z.object({ items: z.array(tokenInfoSchema) }), "令牌列表"), ...errorResponses(403) },
});

const createTokenRoute = createRoute({
  method: "post",
  path: "/tokens",
  summary: "为用户签发访问令牌；令牌只在此答复中出现一次",
  security: bearerSecurity,
  ...jsonBodyRoute(
    checkedByTheVerb(
      z.object({
        userId: z.string(),
        name: z.string().optional(),
        expires: z.string().optional().meta({ description: "天数（30d）或到期日（2027-03-01）；默认 TOKEN_LIFETIME_DAYS 天" }),
      }),
    ),
  ),
  responses: {
    201: jsonContent(z.object({ id: z.string(), token: z.string().openapi({ description: "令牌（只显示这一次）" }), userId: z.string(), expiresAt: date }), "已签发"),
    ...errorResponses(403, 404, 409, 422),
  },
});

const revokeTokenRoute = createRoute({
  method: "post",
  path: "/tokens/{id}/revoke",
  summary: "吊销访问令牌",
  security: bearerSecurity,
  request: { params: z.object({ id: z.string().openapi({ description: "令牌 id（tok_…）" }) }) },
  responses: { 200: jsonContent(z.object({ id: z.string(), userId: z.string(), revokedAt: date }), "已吊销"), ...errorResponses(403, 404, 409) },
});

const createLoginLinkRoute = createRoute({
  method: "post",
  path: "/login-links",
  summary: "签发网页端一次性登录链接（<网址>/login/<token>，24 小时内有效，只能使用一次）；token 只在此答复中出现一次",
  security: bearerSecurity,
  ...jsonBodyRoute(checkedByTheVerb(z.object({ userId: z.string() }))),
  responses: {
    201: jsonContent(z.object({ token: z.string(), path: z.string().openapi({ example: "/login/ysl_…" }), userId: z.string(), expiresAt: date }), "已签发"),
    ...errorResponses(403, 404, 422),
  },
});

const hostSchema = z.object({ name: z.string(), createdAt: date, revokedAt: date.nullable() }).openapi("Host");
const credentialSchema = z.object({ name: z.string(), credential: z.string().openapi({ description: "主机凭据（ysh_…，只显示这一次）" }) });
const hostParams = z.object({ name: z.string().openapi({ description: "主机名" }) });

const hosts = createRoute({
  method: "get",
  path: "/hosts",
  summary: "登录验证所用的主机（堡垒机、虚拟机）列表",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ items: z.array(hostSchema) }), "主机列表"), ...errorResponses(403) },
});

const addHostRoute = createRoute({
  method: "post",
  path: "/hosts",
  summary: "登记主机并签发它调用 /access 的凭据；凭据只在此答复中出现一次",
  security: bearerSecurity,
  ...jsonBodyRoute(checkedByTheVerb(z.object({ name: hostNameSchema }))),
  responses: { 201: jsonContent(credentialSchema, "已登记"), ...errorResponses(403, 409) },
});

const rotateHostRoute = createRoute({
  method: "post",
  path: "/hosts/{name}/rotate",
  summary: "为主机换发新凭据（旧凭据立即失效）；新凭据只在此答复中出现一次",
  security: bearerSecurity,
  request: { params: hostParams },
  responses: { 200: jsonContent(credentialSchema, "已换发"), ...errorResponses(403, 404) },
});

const revokeHostRoute = createRoute({
  method: "post",
  path: "/hosts/{name}/revoke",
  summary: "吊销主机凭据",
  security: bearerSecurity,
  request: { params: hostParams },
  responses: { 200: jsonContent(z.object({ name: z.string() }), "已吊销"), ...errorResponses(403, 404, 409) },
});

const calendarYearSchema = z
  .object({
    year: z.int(),
    source: z.string(),
    url: z.string(),
    holidays: z.int().openapi({ description: "放假安排条数" }),
    workdays: z.int().openapi({ description: "调休上班日数" }),
    builtIn: z.boolean().openapi({ description: "随本版本发布（未另行加载）" }),
    loadedAt: date.nullable(),
    missing: z.array(z.string()).openapi({ description: "缺少的法定节假日（按原因加载的）" }),
  })
  .openapi("CalendarYear");

const calendarYears = createRoute({
  method: "get",
  path: "/calendar",
  summary: "工作日历已有的年份及来源",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ years: z.array(calendarYearSchema) }), "年份列表"), ...errorResponses(403) },
});

const loadCalendarRoute = createRoute({
  method: "post",
  path: "/calendar",
  summary: "加载一年的放假安排（国务院办公厅通知）：须含七个法定节假日，缺少时须写明原因（override）；替换该年已有的安排",
  security: bearerSecurity,
  ...jsonBodyRoute(
    z.object({
      schedule: checkedByTheVerb(yearScheduleSchema),
      override: z.string().optional().openapi({ description: "缺少法定节假日时仍加载的原因（记入审计日志）" }),
    }),
  ),
  responses: {
    200: jsonContent(
      z.object({
        year: z.int(),
        replaced: z.boolean(),
        missing: z.array(z.string()),
        recomputed: z.int().openapi({ description: "因此算出期限的待定环节数" }),
      }),
      "已加载",
    ),
    ...errorResponses(403),
  },
});

const prices = createRoute({
  method: "get",
  path: "/prices",
  summary: "已加载的单价表，按生效日期",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ items: z.array(checkedByTheVerb(priceTableSchema)) }), "单价表"), ...errorResponses(403) },
});

const loadPricesRoute = createRoute({
  method: "post",
  path: "/prices",
  summary: "加载单价表；同一版本只加载一次，更正请用新的版本号",
  security: bearerSecurity,
  ...jsonBodyRoute(checkedByTheVerb(priceTableSchema)),
  responses: { 201: jsonContent(z.object({ version: z.string(), effectiveFrom: z.iso.date() }), "已加载"), ...errorResponses(403, 409) },
});

export interface AdminDeps {
  /** TOKEN_LIFETIME_DAYS: how long a token lasts when the request names no expiry. */
  tokenLifetimeDays?: number;
  /** Makes the running service see a calendar year just loaded at once, not at its next job round. */
  refreshCalendar?: () => Promise<unknown>;
}

export function adminRoutes(deps: AdminDeps = {}) {
  return contractApp()
    .openapi(checkDirectory, async (c) => c.json(await checkDirectoryImport({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200))
    .openapi(runImport, async (c) => c.json(await importDirectory({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200))
    .openapi(tokens, async (c) => {
      const ctx = c.get("ctx");
      requireOperator(ctx.actor, "tokens");
      const items = await listTokens(ctx.db, c.req.valid("query").user, { lifetimeDays: deps.tokenLifetimeDays });
      return c.json({ items }, 200);
    })
    .openapi(createTokenRoute, async (c) => {
      const issued = await createToken({ ctx: c.get("ctx"), input: c.req.valid("json"), lifetimeDays: deps.tokenLifetimeDays });
      return c.json(issued, 201);
    })
    .openapi(revokeTokenRoute, async (c) => c.json(await revokeToken({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } }), 200))
    .openapi(createLoginLinkRoute, async (c) => {
      const link = await createLoginLink({ ctx: c.get("ctx"), input: c.req.valid("json") });
      return c.json({ ...link, path: `/login/${link.token}` }, 201);
    })
    .openapi(hosts, async (c) => {
      const ctx = c.get("ctx");
      requireOperator(ctx.actor, "hosts");
      return c.json({ items: await listHosts(ctx.db) }, 200);
    })
    .openapi(addHostRoute, async (c) => c.json(await addHost({ ctx: c.get("ctx"), input: c.req.valid("json") }), 201))
    .openapi(rotateHostRoute, async (c) => c.json(await rotateHost({ ctx: c.get("ctx"), input: { name: c.req.valid("param").name } }), 200))
    .openapi(revokeHostRoute, async (c) => c.json(await revokeHost({ ctx: c.get("ctx"), input: { name: c.req.valid("param").name } }), 200))
    .openapi(calendarYears, async (c) => {
      const ctx = c.get("ctx");
      requireOperator(ctx.actor, "calendar");
      return c.json({ years: await listCalendarYears(ctx.db) }, 200);
    })
    .openapi(loadCalendarRoute, async (c) => {
      const ctx = c.get("ctx");
      const { schedule, override } = c.req.valid("json");
      const loaded = await loadCalendarYearWithDeadlines({ ctx, input: schedule, override });
      // This service counts with the year at once. Other replicas (several services on one PostgreSQL) read it
      // from the database at their next job round, which refreshes the calendar first (jobs/runner runRound).
      await deps.refreshCalendar?.();
      return c.json(loaded, 200);
    })
    .openapi(prices, async (c) => {
      const ctx = c.get("ctx");
      requireOperator(ctx.actor, "prices");
      return c.json({ items: await listPriceTables(ctx.db) }, 200);
    })
    .openapi(loadPricesRoute, async (c) => c.json(await loadPriceTable({ ctx: c.get("ctx"), input: c.req.valid("json") }), 201));
}
