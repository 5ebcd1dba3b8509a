import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { calendarHealth, type WorkCalendar } from "../core/calendar";
import type { Clock, ServiceContext } from "../core/context";
import { DATABASE_RETRY_AFTER_SECONDS, databaseUnavailable, describeInternalError, ERROR_CODES, isDatabaseUnavailable, ServiceError, type ErrorCode } from "../core/errors";
import { CHANNEL_KEYS, type ChannelMount } from "../channels/types";
import { authenticate, type ApiEnv } from "./auth";
import { directoryRoutes } from "./directory";
import { bearerSecurity, contractApp, errorBodySchema, errorResponses, jsonContent } from "./contract";
import { roleSchema } from "../core/roles";
import { docsRoutes } from "./docs";
import { requestRoutes } from "./requests";
import { portGrantRoutes, vmAccountRoutes } from "./access-records";
import { authenticatorPermissionRoutes, totpRoutes } from "./totp";
import { metricsRoutes } from "./metrics";
import { resourceRoutes } from "./resources";
import { demandRoutes } from "./demands";
import { inspectionRoutes } from "./inspections";
import { systemRoutes } from "./systems";
import { incidentRoutes, maintenanceRoutes } from "./notices";
import { reportRoutes } from "./reports";
import { billingRoutes } from "./billing";
import { accessRoutes } from "./access";
import { fileRoutes, uploadBodyLimit } from "./files";
import { DEFAULT_UPLOAD_MAX_MB } from "../files";
import { adminRoutes } from "./admin";
import { auditRoutes } from "./audit";
import { calendarRoutes } from "./calendar";
import { catalogRoutes } from "./catalog";
import type { AuditFiles } from "../audit/auditors";
import { inputGuard } from "../inbound/input-guard";
import { createRefusalRecorder, type RefusalRecorder } from "../inbound/refusals";
import type { LoginCodeDeps } from "../access/login-codes";

export interface AppDeps {
  db: Db;
  clock: Clock;
  /** The current calendar; a function because `calendar load` can replace it while the service runs. */
  calendar: () => WorkCalendar;
  profile: ServiceContext["profile"];
  log?: (line: string) => void;
  /** Each channel's routes, mounted at /<key>, and its health; the composition root decides which (src/channels). */
  channels?: readonly ChannelMount[];
  /** A callback or an API call queued messages: the outbox may send them now rather than at its next round. */
  onQueued?: () => void;
  /** Login codes for bastions and VMs (/access): the SMS gateway and the key codes are hashed with. */
  access?: LoginCodeDeps;
  /** Where refusals of unidentified callers are audited, rate-limited; one per app unless given. */
  refusals?: RefusalRecorder;
  /** TOKEN_LIFETIME_DAYS: how long tokens issued before tokens carried an expiry are taken to last. */
  tokenLifetimeDays?: number;
  /** UPLOAD_MAX_MB: the largest attachment, 20 MB unless configured. */
  uploadMaxMb?: number;
  /** Reloads the calendar `calendar` returns, after a year is loaded through the API (jobs/runner calendarStore). */
  refreshCalendar?: () => Promise<unknown>;
  /** The audit signing key and anchor file that /api/audit/verify checks against, as `audit verify` does. */
  auditFiles?: AuditFiles;
}

const MAX_BODY_BYTES = 1024 * 1024;
/** Where a metrics file is streamed up (http/metrics.ts importFile). */
const METRICS_FILE_PATH = "/api/metrics/file";
// A push may carry 20,000 samples (metrics/import pushMetricsSchema), each up to about 180 bytes of JSON with
// its disk readings and a long VM id: more than a JSON body's 1 MB.
const METRICS_PUSH_MAX_BYTES = 4 * 1024 * 1024;
const HEALTH_TIMEOUT_MS = 3_000;
const OUTAGE_LOG_EVERY_MS = 60_000;

/**
 * The operator hears of an outage from its first refused request, then at most once a minute with the count
 * since, not once per request: a minute of outage under load is thousands of 503s.
 */
function outageLog(log: (line: string) => void) {
  let lastAt = 0;
  let since = 0;
  return (err: unknown) => {
    since++;
    const now = Date.now();
    if (now - lastAt < OUTAGE_LOG_EVERY_MS) return;
    const first = now - lastAt >= 2 * OUTAGE_LOG_EVERY_MS;
    log(`数据库暂时无法访问，接口答复 503（${first ? "首次" : `最近一分钟 ${since} 次`}）：${describeInternalError(err).split("\n")[0]}`);
    lastAt = now;
    since = 0;
  };
}

function errorBody(code: ErrorCode, message: string, fields?: Record<string, string[]>) {
  return { error: fields ? { code, message, fields } : { code, message } };
}

const channelHealthSchema = z.object({
  ok: z.boolean(),
  problem: z.object({ errcode: z.number().optional(), message: z.string(), at: z.string() }).optional(),
});

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "健康检查：数据库可用；企业微信与工作日历的问题在详情中说明",
  responses: {
    200: jsonContent(
      z.object({
        status: z.literal("ok"),
        calendar: z.object({ missingYear: z.int(), message: z.string() }).optional(),
        // Each configured channel that reports its health, under its own key ("wecom").
        ...Object.fromEntries(CHANNEL_KEYS.map((key) => [key, channelHealthSchema.optional()])),
      }),
      "服务可用",
    ),
    503: jsonContent(z.object({ status: z.literal("unavailable"), error: errorBodySchema.shape.error }), "数据库不可用"),
  },
});

const meRoute = createRoute({
  method: "get",
  path: "/me",
  summary: "当前用户：令牌对应的用户及角色",
  security: bearerSecurity,
  responses: {
    200: jsonContent(z.object({ userId: z.string(), name: z.string(), unitId: z.string(), roles: z.array(roleSchema) }), "当前用户"),
    ...errorResponses(),
  },
});

export function createApp(deps: AppDeps) {
  const log = deps.log ?? ((line: string) => console.error(line));
  const app = new OpenAPIHono<ApiEnv>();
  app.use(secureHeaders());
  const refusals = deps.refusals ?? createRefusalRecorder({ db: deps.db, clock: deps.clock, log });
  const channels = deps.channels ?? [];
  // Counts of refusals whose window has closed are written on the next request, not left waiting for the next refusal.
  for (const path of ["/api/*", "/access/*", ...channels.map((ch) => `/${ch.key}/*`)])
    app.use(path, async (_c, next) => {
      await refusals.flush();
      await next();
    });

  const databaseDown = outageLog(log);

  app.openapi(healthRoute, async (c) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A load balancer's probe must be answered promptly even when the database hangs rather than refuses.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(databaseUnavailable()), HEALTH_TIMEOUT_MS);
      });
      await Promise.race([deps.db.execute(sql`select 1`), late]);
      // The service is up even when a channel (WeCom) refuses it, or a calendar year is missing; the details say what to fix.
      const calendar = calendarHealth(deps.calendar(), deps.clock.now());
      const channelHealth = Object.fromEntries(channels.flatMap((ch) => (ch.health ? [[ch.key, ch.health()]] : [])));
      return c.json({ status: "ok" as const, ...channelHealth, ...calendar }, 200);
    } catch {
      const { code, message } = databaseUnavailable();
      c.header("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
      return c.json({ status: "unavailable" as const, error: { code, message } }, 503);
    } finally {
      clearTimeout(timer);
    }
  });

  const api = contractApp();
  const jsonLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json(errorBody("payload_too_large", `请求体超过 ${MAX_BODY_BYTES / 1024} KB 上限`), 413),
  });
  // An upload has its own limit; a declared Content-Length over it is refused before a byte is read.
  const uploadMaxMb = deps.uploadMaxMb ?? DEFAULT_UPLOAD_MAX_MB;
  const uploadLimit = bodyLimit({
    maxSize: uploadBodyLimit(uploadMaxMb),
    onError: (c) => c.json(errorBody("payload_too_large", `文件超过 ${uploadMaxMb} MB 上限`), 413),
  });
  const pushLimit = bodyLimit({
    maxSize: METRICS_PUSH_MAX_BYTES,
    onError: (c) => c.json(errorBody("payload_too_large", `请求体超过 ${METRICS_PUSH_MAX_BYTES / 1024 / 1024} MB 上限`), 413),
  });
  const jsonGuard = inputGuard({ body: "json" });
  const auth = authenticate(deps);
  const chains = {
    // A JSON body (1 MB at most; a metrics push 4 MB) is checked before the token is.
    json: every(jsonLimit, jsonGuard, auth),
    push: every(pushLimit, jsonGuard, auth),
    // An upload's body is up to 20 MB: its token is checked first, so a caller without one is answered 401
    // before a byte of the body is read or buffered.
    upload: every(auth, uploadLimit, jsonGuard),
    // A metrics file streams through its route line by line, whatever its size: neither limited to a JSON
    // body's size nor read whole by the guard (its path and query are still checked).
    streamed: every(inputGuard({ body: "none" }), auth),
  };
  api.use((c, next) => {
    const post = c.req.method === "POST";
    const path = c.req.path;
    const chain = !post ? chains.json : path === "/api/files" ? chains.upload : path === METRICS_FILE_PATH ? chains.streamed : path === "/api/metrics" ? chains.push : chains.json;
    return chain(c, next);
  });
  // A change made through the API may have queued cards and notices: send them now, not at the next job round.
  api.use(async (c, next) => {
    await next();
    if (c.req.method !== "GET" && c.res.status < 400) deps.onQueued?.();
  });
  api.route("/requests", requestRoutes());
  api.route("/directory", directoryRoutes());
  api.route("/vm-accounts", vmAccountRoutes());
  api.route("/authenticators", authenticatorPermissionRoutes());
  api.route("/port-grants", portGrantRoutes());
  api.route("/me/totp", totpRoutes(deps.access ?? null));
  api.route("/metrics", metricsRoutes());
  api.route("/resources", resourceRoutes());
  api.route("/demands", demandRoutes());
  api.route("/inspections", inspectionRoutes());
  api.route("/systems", systemRoutes());
  api.route("/incidents", incidentRoutes());
  api.route("/maintenance", maintenanceRoutes());
  api.route("/reports", reportRoutes());
  api.route("/billing", billingRoutes());
  api.route("/files", fileRoutes({ maxMb: uploadMaxMb }));
  api.route("/admin", adminRoutes({ tokenLifetimeDays: deps.tokenLifetimeDays, refreshCalendar: deps.refreshCalendar }));
  api.route("/audit", auditRoutes(deps.auditFiles ?? null));
  api.route("/calendar", calendarRoutes());
  api.route("/catalog", catalogRoutes());
  api.openapi(meRoute, (c) => c.json(c.get("ctx").actor!, 200));
  app.route("/api", api);
  if (deps.access) {
    const access = contractApp();
    access.use(
      bodyLimit({
        maxSize: 16 * 1024,
        onError: (c) => c.json(errorBody("payload_too_large", "请求体过大"), 413),
      }),
    );
    access.use(inputGuard({ body: "json" }));
    access.route("/", accessRoutes({ ...deps, refusals }, deps.access));
    app.route("/access", access);
  }
  // A channel's routes guard their own input: a platform's callback has its own body limit and format.
  const routeDeps = {
    db: deps.db,
    clock: deps.clock,
    calendar: deps.calendar,
    profile: deps.profile,
    log,
    onQueued: deps.onQueued,
    refusals,
    refreshCalendar: deps.refreshCalendar,
  };
  for (const ch of channels) if (ch.routes && !ch.mountAt) app.route(`/${ch.key}`, ch.routes(routeDeps));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "用户令牌（yunshen token create 签发，ys_…）" });
  app.openAPIRegistry.registerComponent("securitySchemes", "hostCredential", { type: "http", scheme: "bearer", description: "主机凭据（yunshen host add 签发，ysh_…）" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "云审 yunshen API",
      version: "0.1.0",
      description: `政务云资源申请审批：提交、办理、查询与通讯录；虚拟机账号与登录验证码。/api 接口需用户 Bearer 令牌，/access 接口需主机凭据。错误答复为 {error:{code,message,fields?}}，code 为以下之一：${ERROR_CODES.join("、")}。`,
    },
    // Relative, so the document holds behind a reverse proxy that serves the service under another address.
    servers: [{ url: "/", description: "本服务" }],
  });
  app.route("/docs", docsRoutes());
  // A channel at its own root (the web portal at "/") comes last and gets only what nothing above answers, so an
  // unknown /api/x is still the JSON 404 and /healthz stays the probe's.
  const reserved = ["/api", "/access", "/openapi.json", "/docs", "/healthz", ...channels.filter((ch) => !ch.mountAt).map((ch) => `/${ch.key}`)];
  const isReserved = (path: string) => reserved.some((p) => path === p || path.startsWith(`${p}/`));
  for (const ch of channels)
    if (ch.routes && ch.mountAt) {
      const root = ch.routes(routeDeps);
      const at = ch.mountAt;
      app.all("*", (c) => (isReserved(c.req.path) || !c.req.path.startsWith(at) ? c.notFound() : root.fetch(c.req.raw, c.env)));
    }

  app.notFound((c) => c.json(errorBody("not_found", `没有这个接口：${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof ServiceError) return c.json(errorBody(err.code, err.message, err.fields), err.status);
    if (err instanceof HTTPException) return c.json(errorBody("http_error", err.message || "请求无效"), err.status);
    // The database restarting or out of reach: a 503 the client may retry, not a fault of ours (issue 10).
    // The transaction rolled back, so nothing of the request was written.
    if (isDatabaseUnavailable(err)) {
      databaseDown(err);
      const unavailable = databaseUnavailable();
      c.header("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
      return c.json(errorBody(unavailable.code, unavailable.message), 503);
    }
    // Details go to the operator's log, never to the user (invariant 7).
    log(`internal error on ${c.req.method} ${c.req.path}: ${describeInternalError(err)}`);
    return c.json(errorBody("internal", "服务内部错误，请稍后重试或联系管理员"), 500);
  });
  return app;
}

