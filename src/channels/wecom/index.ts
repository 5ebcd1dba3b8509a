import type { Db } from "../../../db/client";
import type { WecomConfig } from "../../config";
import type { Clock } from "../../context";
import { createWecomClient } from "./client";
import { createWecomCrypto } from "./crypto";
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
  const sender = wecomSender({ db: deps.db, client, clock: deps.clock, detailUrl: config.detailUrl });
  return { crypto, client, sender, corpId: config.corpId, health: () => client.health() };
}
