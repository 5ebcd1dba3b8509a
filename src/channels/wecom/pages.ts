import { Hono } from "hono";

/**
 * The link a card's 详情 opens inside WeCom: WeCom's OAuth (snsapi_base) sends the member back to `target` with
 * a one-time code, so the portal knows who is looking without any login of ours.
 */
export function oauthLink(opts: { oauthBase: string; corpId: string; agentId: number; target: string; state?: string }): string {
  const query = new URLSearchParams({
    appid: opts.corpId,
    redirect_uri: opts.target,
    response_type: "code",
    scope: "snsapi_base",
    state: opts.state ?? "ys",
    agentid: String(opts.agentId),
  });
  return `${opts.oauthBase}/connect/oauth2/authorize?${query}#wechat_redirect`;
}

const requestCode = /^YS-\d{4}-\d{5,}$/;

/**
 * GET /wecom/requests/:code — where cards sent before the portal linked. The request's page is now the portal's:
 * the old link goes on to the portal's WeCom sign-in with WeCom's code, which then opens /requests/<code>.
 */
export function legacyDetailRoutes() {
  return new Hono().get("/:code", (c) => {
    const code = c.req.param("code").toUpperCase();
    const next = requestCode.test(code) ? `/requests/${code}` : "/";
    const query = new URLSearchParams({ ...c.req.query(), next });
    return c.redirect(`/login/wecom?${query}`, 301);
  });
}
