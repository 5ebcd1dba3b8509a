import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { calendarHealth, type WorkCalendar } from "../core/calendar";
import type { Clock, ServiceContext } from "../core/context";
import { DATABASE_RETRY_AFTER_SECONDS, databaseUnavailable, describeInternalError, isDatabaseUnavailable, ServiceError } from "../core/errors";
import { wecomCallbackRoutes } from "../channels/wecom/callback";
import { wecomPageRoutes } from "../channels/wecom/pages";
import type { WecomHealth } from "../channels/wecom/client";
import type { WecomCrypto } from "../channels/wecom/crypto";
import { authenticate, type ApiEnv } from "./auth";
import { directoryRoutes } from "./directory";
import { openApiDocument } from "./openapi";
import { requestRoutes } from "./requests";
import { portGrantRoutes, vmAccountRoutes } from "./access-records";
import { totpRoutes } from "./totp";
import { metricsRoutes } from "./metrics";
import { resourceRoutes } from "./resources";
import { demandRoutes } from "./demands";
import { reportRoutes } from "./reports";
import { billingRoutes } from "./billing";
import { accessRoutes } from "./access";
import { inputGuard } from "./input-guard";
import { createRefusalRecorder, type RefusalRecorder } from "./refusals";
import type { LoginCodeDeps } from "../access/login-codes";

export interface AppDeps {
  db: Db;
  clock: Clock;
  /** The current calendar; a function because `calendar load` can replace it while the service runs. */
  calendar: () => WorkCalendar;
  profile: ServiceContext["profile"];
  log?: (line: string) => void;
  /** WeCom / 粤政易, when configured: the callback's crypto and how healthy the API client is. */
  wecom?: {
    crypto: WecomCrypto;
    corpId: string;
    health: () => WecomHealth;
    replyWithinMs?: number;
    /** For the details page a card links to: who opened it, by WeCom's OAuth code. */
    userIdFromOAuthCode?: (code: string) => Promise<string | null>;
  };
  /** A callback or an API call queued messages: the outbox may send them now rather than at its next round. */
  onQueued?: () => void;
  /** Login codes for bastions and VMs (/access): the SMS gateway and the key codes are hashed with. */
  access?: LoginCodeDeps;
  /** Where refusals of unidentified callers are audited, rate-limited; one per app unless given. */
  refusals?: RefusalRecorder;
  /** TOKEN_LIFETIME_DAYS: how long tokens issued before tokens carried an expiry are taken to last. */
  tokenLifetimeDays?: number;
}

const MAX_BODY_BYTES = 1024 * 1024;
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

function errorBody(code: string, message: string, fields?: Record<string, string[]>) {
  return { error: fields ? { code, message, fields } : { code, message } };
}

export function createApp(deps: AppDeps) {
  const log = deps.log ?? ((line: string) => console.error(line));
  const app = new Hono<ApiEnv>();
  app.use(secureHeaders());
  const refusals = deps.refusals ?? createRefusalRecorder({ db: deps.db, clock: deps.clock, log });
  // Counts of refusals whose window has closed are written on the next request, not left waiting for the next refusal.
  for (const path of ["/api/*", "/access/*", "/wecom/*"])
    app.use(path, async (_c, next) => {
      await refusals.flush();
      await next();
    });

  const databaseDown = outageLog(log);

  app.get("/healthz", async (c) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A load balancer's probe must be answered promptly even when the database hangs rather than refuses.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(databaseUnavailable()), HEALTH_TIMEOUT_MS);
      });
      await Promise.race([deps.db.execute(sql`select 1`), late]);
      // The service is up even when WeCom refuses it, or a calendar year is missing; the details say what to fix.
      const calendar = calendarHealth(deps.calendar(), deps.clock.now());
      return c.json(deps.wecom ? { status: "ok", wecom: deps.wecom.health(), ...calendar } : { status: "ok", ...calendar });
    } catch {
      const { code, message } = databaseUnavailable();
      c.header("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
      return c.json({ status: "unavailable", error: { code, message } }, 503);
    } finally {
      clearTimeout(timer);
    }
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  const api = new Hono<ApiEnv>();
  api.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(errorBody("payload_too_large", `请求体超过 ${MAX_BODY_BYTES / 1024} KB 上限`), 413),
    }),
  );
  api.use(inputGuard({ body: "json" }));
  api.use(authenticate(deps));
  // A change made through the API may have queued cards and notices: send them now, not at the next job round.
  api.use(async (c, next) => {
    await next();
    if (c.req.method !== "GET" && c.res.status < 400) deps.onQueued?.();
  });
  api.route("/requests", requestRoutes());
  api.route("/directory", directoryRoutes());
  api.route("/vm-accounts", vmAccountRoutes());
  api.route("/port-grants", portGrantRoutes());
  api.route("/me/totp", totpRoutes(deps.access ?? null));
  api.route("/metrics", metricsRoutes());
  api.route("/resources", resourceRoutes());
  api.route("/demands", demandRoutes());
  api.route("/reports", reportRoutes());
  api.route("/billing", billingRoutes());
  api.get("/me", (c) => c.json(c.get("ctx").actor));
  app.route("/api", api);
  if (deps.access) {
    const access = new Hono<ApiEnv>();
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
  if (deps.wecom) {
    // The callback checks its input itself, after its own body limit.
    app.route("/wecom/callback", wecomCallbackRoutes({ ...deps, ...deps.wecom, log, onQueued: deps.onQueued, refusals }));
    const { userIdFromOAuthCode } = deps.wecom;
    if (userIdFromOAuthCode) {
      app.use("/wecom/requests/*", inputGuard({ body: "json" }));
      app.route("/wecom/requests", wecomPageRoutes({ ...deps, userIdFromOAuthCode, log }));
    }
  }
  else
    app.all("/wecom/callback", (c) =>
      c.json(errorBody("wecom_not_configured", "本服务未配置企业微信（WECOM_CORP_ID 等），不接收回调"), 404),
    );

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

