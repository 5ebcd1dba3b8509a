// WeCom (企业微信) / 粤政易 server API client: access_token, message/send, message/update_template_card.
// Wire facts: /work/shared/reference/wecom.md §2.1, §2.4 B, §3, §4.
//
// Secrets: the corp secret travels only in the gettoken query, the access_token only in API queries.
// Neither ever reaches an error message or a log line: URLs are never printed, and every text that leaves
// this module goes through `redact()` as a second line of defence.

import { z } from "zod";
import type { Clock } from "../../core/context";

export interface WecomClientConfig {
  /** e.g. https://qyapi.weixin.qq.com (粤政易 sets its own host); paths are /cgi-bin/... */
  apiBase: string;
  corpId: string;
  secret: string;
  agentId: number;
  clock: Clock;
  /** defaults to global fetch */
  fetch?: typeof fetch;
  /** per HTTP call, default 10_000 (AbortSignal.timeout) */
  timeoutMs?: number;
  /** operator log; never receives the secret or an access_token */
  log?: (line: string) => void;
  /** injectable for tests; defaults to setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Pseudo error code for anything that is not a WeCom answer: network error, timeout, non-2xx HTTP status,
 * or a body that is not the JSON WeCom documents. WeCom's own codes are ≥ -1, so -2 cannot collide.
 */
export const WECOM_TRANSPORT_ERROR = -2;

/**
 * A failed WeCom call.
 * - `retryAfterMs` set: transient; the outbox should try again, not before that many ms.
 * - `operator` true: configuration must be fixed by a person (trusted IP, visible range, permission, secret);
 *   retrying will not help until then. `retryAfterMs` is null.
 * - neither: the request itself is wrong (e.g. 42014 duplicate task_id, 40058 bad parameter, 60140 used
 *   response_code); retrying the same request will fail the same way.
 */
export class WecomApiError extends Error {
  readonly errcode: number;
  readonly api: string;
  /** the outbox should try again later, not before this many ms */
  readonly retryAfterMs: number | null;
  /** an operator must fix configuration (60020 IP not trusted, 81013 recipient not visible, 48002 no permission, 40001/40013 bad secret/corpid on gettoken) */
  readonly operator: boolean;

  constructor(init: { api: string; errcode: number; message: string; retryAfterMs: number | null; operator?: boolean }) {
    super(init.message);
    this.name = "WecomApiError";
    this.api = init.api;
    this.errcode = init.errcode;
    this.retryAfterMs = init.retryAfterMs;
    this.operator = init.operator ?? false;
  }
}

export interface SendResult {
  msgid: string;
  responseCode: string | null;
  invalidUsers: string[];
}

/** `message` is Simplified Chinese, for /healthz details. */
export interface WecomHealth {
  ok: boolean;
  problem?: { errcode: number; message: string; at: string };
}

/** WeCom's longest duplicate-check interval: 4 hours. */
export const MAX_DUPLICATE_CHECK_SECONDS = 4 * 3600;

export interface SendOptions {
  /**
   * Turn on WeCom's duplicate check for this interval (1 s … 4 h): WeCom drops a request whose JSON is
   * identical to one it took within the interval, so the person gets a repeated send once. Omitted: the body
   * goes as given.
   */
  duplicateCheckSeconds?: number;
}

export interface WecomClient {
  /** POST /cgi-bin/message/send; body without agentid (client adds it). */
  send(body: Record<string, unknown>, options?: SendOptions): Promise<SendResult>;
  /** POST /cgi-bin/message/update_template_card; client adds agentid. */
  updateTemplateCard(body: Record<string, unknown>): Promise<void>;
  /** The member behind a web page opened through WeCom's OAuth (snsapi_base); null for a non-member. */
  userIdFromOAuthCode(code: string): Promise<string | null>;
  health(): WecomHealth;
}

type Api = "gettoken" | "message/send" | "message/update_template_card" | "auth/getuserinfo";

/** Refresh this long before WeCom says the token expires. */
const TOKEN_MARGIN_MS = 5 * 60_000;
/** 40014 invalid, 41001 missing, 42001 expired: drop the token, fetch a new one, retry once. */
const TOKEN_ERRORS = new Set([40014, 41001, 42001]);
/** -1 system busy: at most this many attempts in total, sleeping BUSY_BACKOFF_MS[i] between them. */
const BUSY_ATTEMPTS = 3;
const BUSY_BACKOFF_MS = [200, 400];

const RETRY_AFTER: Record<number, number> = {
  [-1]: 30_000,
  [WECOM_TRANSPORT_ERROR]: 30_000,
  45009: 60_000, // frequency limit; a per-minute window blocks for 60 s
  45033: 1_000, // concurrency limit
  40014: 30_000, // token trouble that survived one refresh
  41001: 30_000,
  42001: 30_000,
};

/** Codes an operator must fix, and what to tell them. `api` is where the code was seen. */
function operatorAdvice(api: Api, errcode: number, errmsg: string): string | null {
  const fromIp = /from ip:\s*([0-9A-Fa-f.:]+)/.exec(errmsg)?.[1];
  switch (errcode) {
    case 60020:
      return `企业微信拒绝了本服务器的 IP（60020）：请在应用的「企业可信IP」中加入本机出口 IP${fromIp ? ` ${fromIp}` : ""}，约 1 分钟后生效`;
    case 81013:
      return "企业微信消息的接收人全部无效或不在应用的可见范围内（81013）：请在应用的「可见范围」中加入这些成员，或核对用户的企业微信账号";
    case 48002:
      return "企业微信应用没有调用该接口的权限（48002）：请在管理后台检查应用的接口权限，并确认 Secret 属于本应用";
  }
  if (api !== "gettoken") return null;
  switch (errcode) {
    case 40001:
    case 40091:
      return `企业微信拒绝了应用 Secret（${errcode}）：请核对应用的 Secret；反复使用错误的 Secret 会使本机 IP 被封禁 1 小时`;
    case 40013:
      return "企业微信拒绝了企业 ID（40013）：请核对 CorpID（管理后台「我的企业」页底部）";
  }
  return null;
}

// Response shapes. WeCom always answers JSON with `errcode`; the rest depends on the API.
const errorShape = z.object({ errcode: z.number().int(), errmsg: z.string().optional() });
const tokenShape = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });
// Members come back as `userid` (older answers: `UserId`); people outside the organisation only have an openid.
const oauthShape = z.object({ userid: z.string().min(1).optional(), UserId: z.string().min(1).optional() });
const sendShape = z.object({
  msgid: z.union([z.string(), z.number()]).transform(String),
  invaliduser: z.string().optional(),
  response_code: z.string().optional(),
});

export function createWecomClient(config: WecomClientConfig): WecomClient {
  const doFetch = config.fetch ?? globalThis.fetch;
  const timeoutMs = config.timeoutMs ?? 10_000;
  const sleep = config.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const base = config.apiBase.replace(/\/+$/, "");

  let cached: { token: string; refreshAt: number } | null = null;
  let refreshing: Promise<string> | null = null;
  /** Every token this client has held, so none can slip into a message or a log line. */
  const knownTokens = new Set<string>();
  let problem: (WecomHealth["problem"] & { api: Api }) | null = null;

  function redact(text: string): string {
    let out = text;
    const secrets = [config.secret, ...knownTokens].filter((s) => s.length >= 4);
    for (const secret of secrets) out = out.split(secret).join("***");
    return out.replace(/(access_token|corpsecret)=[^&\s"']*/gi, "$1=***");
  }

  function log(line: string) {
    config.log?.(redact(line));
  }

  function fail(api: Api, errcode: number, message: string, retryAfterMs: number | null, operator = false): WecomApiError {
    return new WecomApiError({ api, errcode, message: redact(message), retryAfterMs, operator });
  }

  function succeeded(api: Api) {
    // A gettoken success proves the secret, not the IP or visible range; an API success proves everything.
    if (problem && (api !== "gettoken" || problem.api === "gettoken")) {
      log(`企业微信接口已恢复正常（此前错误 ${problem.errcode}）`);
      problem = null;
    }
  }

  /** One HTTP exchange. Returns the parsed JSON body; anything else becomes WecomApiError(-2). */
  async function exchange(api: Api, url: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await doFetch(url, {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? undefined : { "content-type": "application/json; charset=utf-8" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // Deliberately not chained as `cause`: some fetch errors carry the URL, which carries the token.
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      const code = errorCode(err);
      const reason = timedOut ? `${timeoutMs} 毫秒内无应答` : `网络错误${code ? `（${code}）` : ""}`;
      throw fail(api, WECOM_TRANSPORT_ERROR, `企业微信接口 ${api} 调用失败：${reason}`, RETRY_AFTER[WECOM_TRANSPORT_ERROR]!);
    }
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw fail(api, WECOM_TRANSPORT_ERROR, `企业微信接口 ${api} 调用失败：读取应答时连接中断`, RETRY_AFTER[WECOM_TRANSPORT_ERROR]!);
    }
    if (!response.ok)
      throw fail(api, WECOM_TRANSPORT_ERROR, `企业微信接口 ${api} 调用失败：HTTP ${response.status}`, RETRY_AFTER[WECOM_TRANSPORT_ERROR]!);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw malformed(api);
    }
  }

  function malformed(api: Api) {
    return fail(api, WECOM_TRANSPORT_ERROR, `企业微信接口 ${api} 调用失败：应答不是预期的 JSON`, RETRY_AFTER[WECOM_TRANSPORT_ERROR]!);
  }

  function parse<T>(api: Api, schema: z.ZodType<T>, json: unknown): T {
    const result = schema.safeParse(json);
    if (!result.success) throw malformed(api);
    return result.data;
  }

  /** Turns a non-zero errcode into the error to throw (and records operator problems). */
  function apiError(api: Api, errcode: number, errmsg: string): WecomApiError {
    const advice = operatorAdvice(api, errcode, errmsg);
    if (advice) {
      const at = config.clock.now().toISOString();
      if (problem?.errcode !== errcode) log(`[企业微信] ${advice}`);
      problem = { api, errcode, message: advice, at };
      return fail(api, errcode, advice, null, true);
    }
    const retryAfterMs = RETRY_AFTER[errcode] ?? null;
    if (errcode === 45009) log(`[企业微信] 接口 ${api} 调用频率超限（45009），${retryAfterMs! / 1000} 秒后再试`);
    return fail(api, errcode, `企业微信接口 ${api} 返回错误 ${errcode}：${errmsg || "（无说明）"}`, retryAfterMs);
  }

  /**
   * Calls WeCom and returns the body of a successful (errcode 0) answer. Retries -1 (system busy) up to
   * BUSY_ATTEMPTS in total; `onError` may ask for one more attempt (token refresh).
   */
  async function call(api: Api, attempt: () => Promise<unknown>, onError?: (errcode: number) => boolean): Promise<unknown> {
    let busy = 0;
    for (;;) {
      const json = await attempt();
      const head = parse(api, errorShape, json);
      if (head.errcode === 0) {
        succeeded(api);
        return json;
      }
      if (head.errcode === -1 && ++busy < BUSY_ATTEMPTS) {
        const wait = BUSY_BACKOFF_MS[busy - 1] ?? BUSY_BACKOFF_MS[BUSY_BACKOFF_MS.length - 1]!;
        log(`[企业微信] 接口 ${api} 系统繁忙（-1），${wait} 毫秒后第 ${busy + 1} 次尝试`);
        await sleep(wait);
        continue;
      }
      if (onError?.(head.errcode)) continue;
      throw apiError(api, head.errcode, head.errmsg ?? "");
    }
  }

  async function refreshToken(): Promise<string> {
    const query = new URLSearchParams({ corpid: config.corpId, corpsecret: config.secret });
    const json = await call("gettoken", () => exchange("gettoken", `${base}/cgi-bin/gettoken?${query}`));
    const { access_token, expires_in } = parse("gettoken", tokenShape, json);
    knownTokens.add(access_token);
    const lifetimeMs = expires_in * 1000;
    // Normally 5 minutes early; a (never seen) very short lifetime is refreshed halfway through instead.
    const refreshAt = config.clock.now().getTime() + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2);
    cached = { token: access_token, refreshAt };
    return access_token;
  }

  /** The cached token, or the single in-flight refresh shared by every concurrent caller. */
  function getToken(): Promise<string> {
    if (cached && config.clock.now().getTime() < cached.refreshAt) return Promise.resolve(cached.token);
    if (!refreshing) {
      refreshing = refreshToken().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  function dropToken(token: string) {
    // Only if nobody has replaced it yet; a concurrent caller may already hold a fresh one.
    if (cached?.token === token) cached = null;
  }

  /** An API call with the access token: a POST of `body` (agentid added), or a GET with `params` when body is undefined. */
  async function withToken(api: Exclude<Api, "gettoken">, body: Record<string, unknown> | undefined, params: Record<string, string> = {}): Promise<unknown> {
    const payload = body === undefined ? undefined : { ...body, agentid: config.agentId };
    let token = "";
    let refreshed = false;
    return call(
      api,
      async () => {
        token = await getToken();
        const query = new URLSearchParams({ access_token: token, ...params });
        return exchange(api, `${base}/cgi-bin/${api}?${query}`, payload);
      },
      (errcode) => {
        if (!TOKEN_ERRORS.has(errcode) || refreshed) return false;
        refreshed = true;
        dropToken(token);
        log(`[企业微信] access_token 失效（${errcode}），重新获取后重试一次`);
        return true;
      },
    );
  }

  return {
    async send(body, options = {}) {
      const seconds = options.duplicateCheckSeconds;
      const checked =
        seconds === undefined
          ? body
          : // Set in place of any value the body had, so the JSON is the same on every repeat.
            { ...body, enable_duplicate_check: 1, duplicate_check_interval: Math.min(Math.max(1, Math.round(seconds)), MAX_DUPLICATE_CHECK_SECONDS) };
      const json = await withToken("message/send", checked);
      const result = parse("message/send", sendShape, json);
      return {
        msgid: result.msgid,
        responseCode: result.response_code ? result.response_code : null,
        invalidUsers: (result.invaliduser ?? "").split("|").filter((u) => u !== ""),
      };
    },
    async updateTemplateCard(body) {
      await withToken("message/update_template_card", body);
    },
    async userIdFromOAuthCode(code) {
      const json = await withToken("auth/getuserinfo", undefined, { code });
      const result = parse("auth/getuserinfo", oauthShape, json);
      return result.userid ?? result.UserId ?? null;
    },
    health() {
      if (!problem) return { ok: true };
      return { ok: false, problem: { errcode: problem.errcode, message: problem.message, at: problem.at } };
    },
  };
}

/** `ECONNREFUSED` and friends from a fetch failure (undici puts them on `cause`). */
function errorCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return code;
  }
  return null;
}
