import { Hono } from "hono";
import { wecomConfig, type WecomConfig } from "../../config";
import type { Channel, ChannelDeps, ChannelModule, ChannelRouteDeps } from "../types";
import { wecomCallbackRoutes } from "./callback";
import { createWecomClient, type WecomClient } from "./client";
import { createWecomCrypto, type WecomCrypto } from "./crypto";
import { legacyDetailRoutes, oauthLink } from "./pages";
import { wecomSender } from "./sender";

export interface WecomRouteOptions {
  crypto: WecomCrypto;
  corpId: string;
  /** How long a callback may take before WeCom gets an empty 200 (tests shorten it). */
  replyWithinMs?: number;
}

/** /wecom/callback (card clicks and chat) and /wecom/requests/:code (old cards' 详情, sent on to the portal). */
export function wecomRoutes(opts: WecomRouteOptions) {
  return (deps: ChannelRouteDeps) => {
    const app = new Hono();
    // The callback checks its input itself, after its own body limit.
    app.route("/callback", wecomCallbackRoutes({ ...deps, ...opts }));
    app.route("/requests", legacyDetailRoutes());
    return app;
  };
}

/** Everything the service needs for WeCom / 粤政易 from one configuration: callback crypto, API client, sender. */
export function createWecomChannel(config: WecomConfig, deps: ChannelDeps & { fetch?: typeof fetch }): Channel & { client: WecomClient } {
  const crypto = createWecomCrypto({ token: config.token, encodingAesKey: config.encodingAesKey, receiveId: config.corpId });
  const client = createWecomClient({
    apiBase: config.apiBase,
    corpId: config.corpId,
    secret: config.secret,
    agentId: config.agentId,
    clock: deps.clock,
    log: deps.log,
    fetch: deps.fetch,
  });
  return {
    key: "wecom",
    client,
    sender: wecomSender({ db: deps.db, client, clock: deps.clock, detailLink: detailLink(config), pageUrl: pageUrl(config) }),
    routes: wecomRoutes({ crypto, corpId: config.corpId }),
    health: () => client.health(),
    description: `企业微信（${config.apiBase}）`,
  };
}

export const wecomChannel = {
  key: "wecom",
  addressField: "wecomUserId",
  configure: (config, deps) => {
    const settings = wecomConfig(config);
    return settings ? createWecomChannel(settings, deps) : null;
  },
  notConfigured: { code: "wecom_not_configured", message: "本服务未配置企业微信（WECOM_CORP_ID 等），不接收回调" },
} satisfies ChannelModule;

/**
 * A portal page's address, for a card whose step is done there (修改后重新提交), signed in by WeCom's OAuth like
 * 详情; none without PUBLIC_URL.
 */
function pageUrl(config: WecomConfig): ((path: string) => string) | undefined {
  const { publicUrl } = config;
  if (!publicUrl) return undefined;
  return (path) => oauthLink({ oauthBase: config.oauthBase, corpId: config.corpId, agentId: config.agentId, target: portalSignIn(publicUrl, path) });
}

/**
 * Where a card's 详情 leads: the deployment's own portal (WECOM_DETAIL_URL), else this service's web portal,
 * signed in by WeCom's OAuth, on the request's page (PUBLIC_URL), else nowhere (the card says to type 查询).
 */
function detailLink(config: WecomConfig): ((ref: { code: string; id: number }) => string) | undefined {
  const { detailUrl, publicUrl } = config;
  if (detailUrl) return (ref) => detailUrl.replaceAll("{code}", encodeURIComponent(ref.code)).replaceAll("{id}", String(ref.id));
  if (publicUrl)
    return (ref) =>
      oauthLink({ oauthBase: config.oauthBase, corpId: config.corpId, agentId: config.agentId, target: portalSignIn(publicUrl, `/requests/${ref.code}`) });
  return undefined;
}

/** The portal's WeCom sign-in, which opens `next` once WeCom has said who the member is. */
export const portalSignIn = (base: string, next: string) => `${base}/login/wecom?${new URLSearchParams({ next })}`;
