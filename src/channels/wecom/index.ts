import type { Db } from "../../../db/client";
import type { WecomConfig } from "../../config";
import type { Clock } from "../../core/context";
import { createWecomClient } from "./client";
import { createWecomCrypto } from "./crypto";
import { oauthLink } from "./pages";
import { wecomSender } from "./sender";

/** Everything the service needs for WeCom / 粤政易 from one configuration: callback crypto, API client, sender. */
export function createWecomChannel(config: WecomConfig, deps: { db: Db; clock: Clock; log: (line: string) => void; fetch?: typeof fetch }) {
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
  const sender = wecomSender({ db: deps.db, client, clock: deps.clock, detailLink: detailLink(config) });
  return {
    crypto,
    client,
    sender,
    corpId: config.corpId,
    health: () => client.health(),
    userIdFromOAuthCode: (code: string) => client.userIdFromOAuthCode(code),
  };
}

/**
 * Where a card's 详情 leads: the deployment's own portal (WECOM_DETAIL_URL), else this service's page behind
 * WeCom's OAuth (PUBLIC_URL), else nowhere (the card says to type 查询 instead).
 */
function detailLink(config: WecomConfig): ((ref: { code: string; id: number }) => string) | undefined {
  const { detailUrl, publicUrl } = config;
  if (detailUrl) return (ref) => detailUrl.replaceAll("{code}", encodeURIComponent(ref.code)).replaceAll("{id}", String(ref.id));
  if (publicUrl)
    return (ref) =>
      oauthLink({ oauthBase: config.oauthBase, corpId: config.corpId, agentId: config.agentId, target: `${publicUrl}/wecom/requests/${ref.code}` });
  return undefined;
}
