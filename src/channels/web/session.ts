import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { ServiceContext } from "../../core/context";
import { checkWebSession, csrfMatches, type WebSessionStart } from "../../directory/web-sessions";
import { sourceIp } from "../../inbound/source";
import type { ChannelRouteDeps } from "../types";
import type { AuditFiles } from "../../audit/auditors";

/** Every portal page's variables: the service context (channel "web") and the session's CSRF token. */
export type WebEnv = { Variables: { ctx: ServiceContext; session: { csrf: string; userId: string } } };

/** What the portal is configured with. */
export interface WebSettings {
  /** PUBLIC_URL without its trailing slash: an https one makes the cookie Secure. */
  publicUrl?: string;
  /** WEB_SESSION_IDLE_HOURS. */
  idleHours: number;
  /** UPLOAD_MAX_MB: the largest attachment a form may carry, as on the API. */
  uploadMaxMb: number;
  /** Signing in through WeCom (in-app OAuth, the desktop QR-code login), when WeCom is configured. */
  wecom?: WecomSignIn;
  /** The audit signing key and anchor file the 审计 page's 校验 checks against (config's auditFiles). */
  auditFiles?: AuditFiles;
}

export interface WecomSignIn {
  corpId: string;
  agentId: number;
  /** WECOM_OAUTH_BASE: in-app OAuth (snsapi_base). */
  oauthBase: string;
  /** WECOM_WEB_LOGIN_BASE: the QR code a desktop browser shows. */
  webLoginBase: string;
  /** WeCom's answer to a code of either: the member's WeCom userid, or null. */
  userIdFromOAuthCode: (code: string) => Promise<string | null>;
}

/** What every page area is given. */
export interface WebDeps extends ChannelRouteDeps {
  settings: WebSettings;
}

export const SESSION_COOKIE = "ys_session";

/** A service context for the portal: who is signed in, channel "web" in every audit entry. */
export function webContext(deps: WebDeps, c: Context, actor: ServiceContext["actor"]): ServiceContext {
  return { db: deps.db, clock: deps.clock, calendar: deps.calendar(), profile: deps.profile, actor, channel: "web", sourceIp: sourceIp(c) };
}

/** Hands the browser its session cookie: HttpOnly, SameSite=Lax, Secure behind https. */
export function setSessionCookie(c: Context, deps: WebDeps, started: WebSessionStart) {
  setCookie(c, SESSION_COOKIE, started.secret, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: deps.settings.publicUrl?.startsWith("https://") ?? false,
  });
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
}

export const sessionSecret = (c: Context) => getCookie(c, SESSION_COOKIE);

/**
 * Loads the session of the cookie; without one (or an idle one) the person is sent to /login, which says why
 * and brings them back to the page they asked for after signing in.
 */
export function requireSession(deps: WebDeps) {
  return createMiddleware<WebEnv>(async (c, next) => {
    const checked = await checkWebSession(deps.db, sessionSecret(c), deps.clock.now(), deps.settings.idleHours);
    if ("refused" in checked) {
      if (checked.refused === "expired") clearSessionCookie(c);
      const back = c.req.method === "GET" ? c.req.path + (new URL(c.req.url).search || "") : "/";
      // Inside WeCom's own browser the member is signed in by WeCom at once, with no page to read first.
      if (deps.settings.wecom && /wxwork/i.test(c.req.header("user-agent") ?? "")) return c.redirect(`/login/wecom?${new URLSearchParams({ next: back })}`, 303);
      const query = new URLSearchParams({ ...(checked.refused === "expired" ? { reason: "expired" } : {}), next: back });
      return c.redirect(`/login?${query}`, 303);
    }
    c.set("ctx", webContext(deps, c, checked.actor));
    c.set("session", { csrf: checked.csrf, userId: checked.actor.userId });
    await next();
  });
}

/**
 * Every POST carries the session's CSRF token in the hidden field `_csrf`; without it the POST is refused
 * with a 403 page before its handler runs, so nothing is written. The parsed body is cached by Hono, so the
 * handler reads it again for free.
 */
export function requireCsrf(refuse: (c: Context<WebEnv>) => Response | Promise<Response>) {
  return createMiddleware<WebEnv>(async (c, next) => {
    if (c.req.method === "POST") {
      const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      if (!csrfMatches(c.get("session").csrf, body._csrf)) return refuse(c);
    }
    await next();
  });
}
