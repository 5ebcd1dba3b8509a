// The WeCom side of callbacks: encrypts and signs events exactly as WeCom does (wecom.md §1.5, §2.3, §4) and
// POSTs them to our endpoint over real HTTP; decrypts our passive replies. Built on the crypto module, which
// is itself checked against WeCom's official vectors.
import { randomInt } from "node:crypto";
import { createWecomCrypto, wecomSignature } from "../../src/channels/wecom/crypto";
import { buildWecomXml, parseWecomXml, xmlText } from "../../src/channels/wecom/xml";
import type { FakeWecom } from "./wecom-server";

export interface CallbackReply {
  status: number;
  /** The decrypted passive reply as fields (MsgType, Content, Button…), or null for an empty 200. */
  reply: Record<string, any> | null;
  body: string;
}

export function wecomCallbacks(opts: { endpoint: string; token: string; encodingAesKey: string; corpId: string; agentId: number }) {
  const crypto = createWecomCrypto({ token: opts.token, encodingAesKey: opts.encodingAesKey, receiveId: opts.corpId });
  let createTime = 1_790_000_000;

  async function post(plainXml: string): Promise<CallbackReply> {
    const encrypt = crypto.encrypt(plainXml);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = String(randomInt(1e9));
    const signature = wecomSignature(opts.token, timestamp, nonce, encrypt);
    const envelope = buildWecomXml({ ToUserName: opts.corpId, Encrypt: encrypt, AgentID: String(opts.agentId) });
    return send(`msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, envelope);
  }

  async function send(query: string, body: string): Promise<CallbackReply> {
    const res = await fetch(`${opts.endpoint}?${query}`, { method: "POST", headers: { "content-type": "text/xml" }, body });
    const text = await res.text();
    if (res.status !== 200 || text === "") return { status: res.status, reply: null, body: text };
    const envelope = parseWecomXml(text);
    const plain = crypto.decrypt(xmlText(envelope, "Encrypt")!);
    return { status: res.status, reply: parseWecomXml(plain), body: text };
  }

  return {
    post,
    send,
    /** A tap on a card button, as template_card_event; each tap carries a fresh ResponseCode. */
    click(fromUser: string, card: { taskId: string; key: string }, responseCode: string, at = ++createTime) {
      return post(
        buildWecomXml({
          ToUserName: opts.corpId,
          FromUserName: fromUser,
          CreateTime: at,
          MsgType: "event",
          Event: "template_card_event",
          EventKey: card.key,
          TaskId: card.taskId,
          CardType: "button_interaction",
          ResponseCode: responseCode,
          AgentID: opts.agentId,
        }),
      );
    },
    /** A typed message; MsgId is a 64-bit integer. */
    text(fromUser: string, content: string, msgId = `${randomInt(1e9)}${randomInt(1e9)}`) {
      return post(
        buildWecomXml({
          ToUserName: opts.corpId,
          FromUserName: fromUser,
          CreateTime: ++createTime,
          MsgType: "text",
          Content: content,
          MsgId: msgId,
          AgentID: opts.agentId,
        }),
      );
    },
    crypto,
  };
}

/** The newest button card WeCom delivered to a user, with its task_id and the key of the button labelled `text`. */
export function latestCard(fake: FakeWecom, wecomUserId: string) {
  const card = [...fake.sent].reverse().find((m) => m.touser === wecomUserId && m.template_card?.card_type === "button_interaction");
  if (!card) return null;
  const tc = card.template_card;
  return {
    taskId: tc.task_id as string,
    title: tc.main_title.title as string,
    buttons: tc.button_list as { text: string; key: string }[],
    button(text: string) {
      const b = tc.button_list.find((x: { text: string }) => x.text === text);
      if (!b) throw new Error(`no button ${text} on ${tc.main_title.title}: ${tc.button_list.map((x: { text: string }) => x.text).join(",")}`);
      return { taskId: tc.task_id as string, key: b.key as string };
    },
    fields: Object.fromEntries(tc.horizontal_content_list.map((h: { keyname: string; value: string }) => [h.keyname, h.value])),
    links: Object.fromEntries(
      tc.horizontal_content_list.filter((h: { url?: string }) => h.url).map((h: { keyname: string; url: string }) => [h.keyname, h.url]),
    ) as Record<string, string>,
  };
}
