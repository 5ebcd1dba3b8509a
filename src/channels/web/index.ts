import { Hono } from "hono";
import { auditFiles, wecomConfig, type Config } from "../../config";
import { createWecomClient } from "../wecom/client";
import { endWebSession } from "../../directory/web-sessions";
import { SendError, type ChannelDeps, type ChannelModule, type ChannelMount, type ChannelRouteDeps } from "../types";
import { assetRoutes } from "./assets";
import { errorPage, formBody, renderError, webGuard } from "./guard";
import { adminPages } from "./pages/admin";
import { editRequestPages, newRequestPages } from "./forms/pages";
import { filePages } from "./pages/files";
import { homePages } from "./pages/home";
import { inspectionPages } from "./pages/inspections";
import { loginPages } from "./pages/login";
import { noticePages } from "./pages/notices";
import { requestPages } from "./pages/requests";
import { auditPages } from "./pages/audit";
import { billingPages } from "./pages/billing";
import { catalogPages } from "./pages/catalog";
import { demandPages } from "./pages/demands";
import { documentPages } from "./pages/documents";
import { ledgerPages } from "./pages/ledger";
import { reportPages } from "./pages/reports";
import { searchPages } from "./pages/search";
import { securityPages } from "./pages/security";
import { systemPages } from "./pages/systems";
import { clearSessionCookie, requireCsrf, requireSession, sessionSecret, type WebDeps, type WebEnv, type WebSettings } from "./session";

/** The forms' pages: /new/<form>, /requests/<code>/edit, and 系统登记's forms (/systems, /systems/<id>/mlps|crypto). */
const FORM_PAGE = /^\/(new\/[^/]+|requests\/[^/]+\/edit|systems(\/[^/]+\/(mlps|crypto))?)$/;

/**
 * The portal's routes, mounted at "/". Each page area is a sub-app `(deps: WebDeps) => Hono<WebEnv>` in
 * ./pages/<area>.tsx, mounted below after the session and CSRF checks: its handlers find the signed-in
 * person's service context in c.get("ctx") and the CSRF token for their forms in c.get("session").csrf.
 */
export function webRoutes(settings: WebSettings) {
  return (routeDeps: ChannelRouteDeps) => {
    const deps: WebDeps = { ...routeDeps, settings };
    const app = new Hono<WebEnv>();
    app.onError(renderError(deps.log));
    app.notFound((c) => errorPage(c, 404, "没有这个页面，请从首页进入"));
    app.route("/assets", assetRoutes());
    app.use(webGuard({ publicUrl: settings.publicUrl }));
    const body = formBody({ uploadMaxMb: settings.uploadMaxMb, fieldsCheckedByPage: (path) => FORM_PAGE.test(path) });
    app.use("/login/*", body);
    app.route("/login", loginPages(deps));

    // Everything below needs a signed-in person, and every POST the session's CSRF token. The session comes
    // before the body is read: a post without one is sent to /login unread, whatever it carries. The CSRF token
    // rides in the body, so it is checked after; a post from another site was refused above by its origin.
    app.use(requireSession(deps), body, requireCsrf((c) => errorPage(c, 403, "页面已过期或来源无法确认（缺少校验码），操作未执行；请刷新页面后重试")));
    app.post("/logout", async (c) => {
      await endWebSession({ ctx: c.get("ctx"), input: { secret: sessionSecret(c)! } });
      clearSessionCookie(c);
      return c.redirect("/login?reason=bye", 303);
    });
    app.route("/", homePages(deps));
    app.route("/new", newRequestPages(deps));
    // /requests/<code>/edit before the request page's own routes.
    app.route("/requests", editRequestPages(deps));
    // The search first: the request pages' /:code would otherwise take /requests/export.csv.
    app.route("/requests", searchPages(deps));
    app.route("/requests", requestPages(deps));
    app.route("/reports", reportPages(deps));
    app.route("/resources", ledgerPages(deps));
    app.route("/billing", billingPages(deps));
    app.route("/catalog", catalogPages(deps));
    app.route("/demands", demandPages(deps));
    app.route("/audit", auditPages(deps));
    app.route("/security", securityPages(deps));
    app.route("/inspections", inspectionPages(deps));
    app.route("/notices", noticePages(deps));
    app.route("/systems", systemPages(deps));
    app.route("/files", filePages(deps));
    app.route("/documents", documentPages(deps));
    app.route("/admin", adminPages(deps));
    return app;
  };
}

/** The portal as the app mounts it: at "/", after the API and the other channels. */
export function webMount(settings: WebSettings): ChannelMount {
  return { key: "web", mountAt: "/", routes: webRoutes(settings) };
}

export function webSettings(config: Config, deps: ChannelDeps): WebSettings {
  const wecom = wecomConfig(config);
  // Its own client: it only asks WeCom who holds a sign-in code, when someone signs in.
  const client = wecom && createWecomClient({ apiBase: wecom.apiBase, corpId: wecom.corpId, secret: wecom.secret, agentId: wecom.agentId, clock: deps.clock, log: deps.log });
  return {
    publicUrl: config.PUBLIC_URL?.replace(/\/+$/, ""),
    idleHours: config.WEB_SESSION_IDLE_HOURS,
    uploadMaxMb: config.UPLOAD_MAX_MB,
    auditFiles: auditFiles(config),
    ...(wecom && client
      ? {
          wecom: {
            corpId: wecom.corpId,
            agentId: wecom.agentId,
            oauthBase: wecom.oauthBase,
            webLoginBase: wecom.webLoginBase,
            userIdFromOAuthCode: (code: string) => client.userIdFromOAuthCode(code),
          },
        }
      : {}),
  };
}

export const webChannel = {
  key: "web",
  // Nobody has an address on the portal: it shows what concerns a person when they look, and pushes nothing.
  addressField: null,
  configure: (config, deps) => ({
    ...webMount(webSettings(config, deps)),
    // The outbox queues a copy per channel in user_channels, where no person has a "web" row; a message
    // handed here is a fault to see in the outbox as failed, not one to report as delivered.
    sender: {
      name: "web",
      send: async () => {
        throw new SendError("网页端不推送消息", null, true);
      },
    },
    description: "网页端",
  }),
} satisfies ChannelModule;
