// A fake WeCom API server on loopback for tests: gettoken, message/send, message/update_template_card, and
// auth/getuserinfo (the OAuth code of a page opened from a card; unknown or used → 40029).
// It follows /work/shared/reference/wecom.md §2.1, §2.4 B, §3 and §4 where that text gives a rule and an
// error code. Where it doesn't, the choice is marked "fake's choice" below:
//   - agentid missing or not this app's on message/send → 40056 (invalid agentid)  [fake's choice]
//   - touser missing or empty on message/send           → 40058 (invalid parameter) [fake's choice]
//   - unknown msgtype                                   → 40008 (invalid message type) [fake's choice]
//   - body that is not a JSON object                    → 40058
//   - bad card_type, >6 buttons, key missing/>1024 B/duplicate, >6 horizontal items,
//     update without `button` or `template_card`      → 40058
//   - task_id missing/invalid characters/>128 B/reused  → 42014 ("taskid has existed or empty or exceed max len")
//   - text content empty → 44004, over 2048 bytes → 45002
//   - no visible recipient → 81013; some invisible → listed in `invaliduser`
//   - update_template_card: agentid not the sender's → 42015; response_code unknown or used → 60140
// Duplicate check (official text of 90236, quoted in wecom.md's sources: "当指定 enable_duplicate_check: 1 开启:
// 表示在一定时间间隔内，同样内容（请求json）的消息，不会重复收到；时间间隔可通过 duplicate_check_interval 指定，
// 默认1800秒", at most 4 hours): a message/send whose request JSON (the body; the token is in the query) is the
// same as one taken within the interval, both with the check on, is not delivered again. Since the flag is part
// of the JSON, a first send without the check and a repeat with it are different requests: both arrive.
//   - the duplicate's answer: errcode 0 with the first send's msgid, and no response_code   [fake's choice;
//     WeCom does not document it. `duplicateAnswer: "original"` answers as the first send did, response_code
//     included.] The check comes before the task_id rule, so a repeated card is not refused with 42014 [fake's choice]
//   - duplicate_check_interval outside 1 … 14400, or enable_duplicate_check not 0/1 → 40058   [fake's choice]
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { jsonReplies } from "./json-replies";

export type FakeWecomApi = "gettoken" | "send" | "update_template_card" | "getuserinfo";

export interface FakeWecom {
  /** http://127.0.0.1:PORT */
  url: string;
  corpId: string;
  secret: string;
  agentId: number;
  calls: { api: FakeWecomApi; body: any; query: Record<string, string>; at: number }[];
  /** successful message/send bodies: what people see (a duplicate WeCom dropped is not here) */
  sent: any[];
  /** message/send bodies WeCom answered but dropped as duplicates */
  duplicates: any[];
  /** Every interactive card delivered, by task_id: its recipients, and the label it was greyed out with (null: buttons live). */
  cards: Map<string, FakeCard>;
  /** Interactive cards whose buttons still work. */
  liveCards(): FakeCard[];
  /** Called as each request arrives, before it is answered (a test kills the caller mid-send from here). */
  onCall: ((call: { api: FakeWecomApi; body: any }) => void) | null;
  /** successful update_template_card bodies */
  updates: any[];
  tokensIssued: number;
  /** the next N calls to `api` answer these errcodes, in order (then normal again); 0 means "answer normally" */
  inject(api: FakeWecomApi, ...errcodes: number[]): void;
  /** every issued token becomes invalid (next use → 42001) */
  expireTokens(): void;
  /** answer every call after ms (for timeouts); 0 turns it off */
  delay(ms: number): void;
  /** A fresh response_code, as a click callback (`ResponseCode`) on the card `taskId` would carry; usable once for update_template_card. */
  issueResponseCode(taskId?: string): string;
  /** The `code` WeCom appends when a member opens an OAuth link (snsapi_base); usable once. */
  issueOAuthCode(userid: string): string;
  close(): Promise<void>;
}

const ERRMSG: Record<number, string> = {
  [-1]: "system busy",
  40001: "invalid credential",
  40008: "invalid message type",
  40013: "invalid corpid",
  40014: "invalid access_token",
  40029: "invalid code",
  40056: "invalid agentid",
  40058: "invalid parameter",
  41001: "access_token missing",
  42001: "access_token expired",
  42014: "taskid has existed or empty or exceed max len",
  42015: "invalid update agentid",
  44004: "empty content",
  45002: "content size out of limit",
  45009: "reach max api daily quota limit",
  45033: "api concurrent out of limit",
  48002: "api forbidden",
  60020: "not allow to access from your ip, hint: [fake], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=60020",
  60140: "invalid response_code",
  81013: "user & party & tag all invalid",
};

export interface FakeCard {
  taskId: string;
  touser: string;
  body: any;
  greyed: string | null;
}

/** JSON with object keys in order: two requests are "the same content" whatever order their keys came in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

const CARD_TYPES = new Set(["text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"]);
const INTERACTIVE = new Set(["button_interaction", "vote_interaction", "multiple_interaction"]);
const TASK_ID = /^[A-Za-z0-9_@-]+$/;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const random = (n: number) => randomBytes(n).toString("base64url");

class Reject extends Error {
  constructor(readonly errcode: number) {
    super(ERRMSG[errcode] ?? `error ${errcode}`);
  }
}

function answer(errcode: number, extra: Record<string, unknown> = {}) {
  return { errcode, errmsg: errcode === 0 ? "ok" : (ERRMSG[errcode] ?? `error ${errcode}`), ...extra };
}

export async function startFakeWecom(
  opts: {
    corpId?: string;
    secret?: string;
    agentId?: number;
    visibleUsers?: string[];
    /** How a duplicate the check dropped is answered (see the top of this file). */
    duplicateAnswer?: "bare" | "original";
    /** WeCom's clock, for the duplicate-check interval; defaults to Date.now. */
    now?: () => number;
  } = {},
): Promise<FakeWecom> {
  const corpId = opts.corpId ?? "wwfake0000corp";
  const secret = opts.secret ?? `fake-secret-${random(12)}`;
  const agentId = opts.agentId ?? 1000002;
  const visible = opts.visibleUsers ? new Set(opts.visibleUsers) : null;

  /** token → expired? */
  const tokens = new Map<string, boolean>();
  const taskIds = new Set<string>();
  /** response_code → used? */
  const responseCodes = new Map<string, boolean>();
  /** response_code → the card (task_id) it updates */
  const codeCards = new Map<string, string>();
  /** canonical request JSON → when it was taken and what was answered */
  const taken = new Map<string, { at: number; answer: Record<string, unknown> }>();
  const clock = opts.now ?? Date.now;
  const injected: Record<FakeWecomApi, number[]> = { gettoken: [], send: [], update_template_card: [], getuserinfo: [] };
  /** OAuth code → the member it stands for, until used. */
  const oauthCodes = new Map<string, string>();
  const replies = jsonReplies();
  const reply = replies.reply;

  function issueResponseCode(taskId?: string) {
    const code = random(24);
    responseCodes.set(code, false);
    if (taskId) codeCards.set(code, taskId);
    return code;
  }

  /** The answer to a repeat the duplicate check drops, or null when the request is new. */
  function duplicateOf(body: any): Record<string, unknown> | null {
    const check = body.enable_duplicate_check ?? 0;
    if (check !== 0 && check !== 1) throw new Reject(40058);
    const interval = body.duplicate_check_interval ?? 1800;
    if (!Number.isInteger(interval) || interval < 1 || interval > 14_400) throw new Reject(40058);
    if (check !== 1) return null;
    const earlier = taken.get(canonical(body));
    if (!earlier || clock() - earlier.at >= interval * 1000) return null;
    if (opts.duplicateAnswer === "original") return earlier.answer;
    return answer(0, { invaliduser: earlier.answer.invaliduser, invalidparty: "", invalidtag: "", unlicenseduser: "", msgid: earlier.answer.msgid });
  }

  function checkToken(query: Record<string, string>) {
    const token = query.access_token;
    if (!token) throw new Reject(41001);
    const expired = tokens.get(token);
    if (expired === undefined) throw new Reject(40014);
    if (expired) throw new Reject(42001);
  }

  function gettoken(query: Record<string, string>) {
    if (query.corpid !== corpId) throw new Reject(40013);
    if (query.corpsecret !== secret) throw new Reject(40001);
    const token = random(48);
    tokens.set(token, false);
    fake.tokensIssued++;
    return answer(0, { access_token: token, expires_in: 7200 });
  }

  function checkCard(card: any) {
    if (!card || typeof card !== "object" || !CARD_TYPES.has(card.card_type)) throw new Reject(40058);
    const needsTask = INTERACTIVE.has(card.card_type) || card.action_menu !== undefined;
    if (needsTask || card.task_id !== undefined) {
      const taskId = card.task_id;
      if (typeof taskId !== "string" || !TASK_ID.test(taskId) || bytes(taskId) > 128 || taskIds.has(taskId)) throw new Reject(42014);
    }
    if (card.button_list !== undefined) {
      if (!Array.isArray(card.button_list) || card.button_list.length > 6) throw new Reject(40058);
      const keys = new Set<string>();
      for (const button of card.button_list) {
        if (!button || typeof button !== "object") throw new Reject(40058);
        if ((button.type ?? 0) !== 0) continue;
        const key = button.key;
        if (typeof key !== "string" || key === "" || bytes(key) > 1024 || keys.has(key)) throw new Reject(40058);
        keys.add(key);
      }
    } else if (card.card_type === "button_interaction") throw new Reject(40058);
    if (card.horizontal_content_list !== undefined) {
      if (!Array.isArray(card.horizontal_content_list) || card.horizontal_content_list.length > 6) throw new Reject(40058);
    }
  }

  function send(query: Record<string, string>, body: any) {
    checkToken(query);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new Reject(40058);
    if (body.agentid !== agentId) throw new Reject(40056);
    const duplicate = duplicateOf(body);
    if (duplicate) {
      fake.duplicates.push(body);
      return duplicate;
    }
    if (typeof body.touser !== "string" || body.touser === "") throw new Reject(40058);
    if (body.msgtype === "text") {
      const content = body.text?.content;
      if (typeof content !== "string" || content === "") throw new Reject(44004);
      if (bytes(content) > 2048) throw new Reject(45002);
    } else if (body.msgtype === "template_card") {
      checkCard(body.template_card);
    } else throw new Reject(40008);
    const users = body.touser.split("|").filter((u: string) => u !== "");
    if (users.length === 0) throw new Reject(40058);
    const invalid = visible && body.touser !== "@all" ? users.filter((u: string) => !visible.has(u)) : [];
    if (invalid.length === users.length) throw new Reject(81013);
    const extra: Record<string, unknown> = { invaliduser: invalid.join("|"), invalidparty: "", invalidtag: "", unlicenseduser: "", msgid: random(18) };
    if (body.msgtype === "template_card") {
      const taskId = body.template_card.task_id;
      if (typeof taskId === "string") taskIds.add(taskId);
      if (INTERACTIVE.has(body.template_card.card_type)) {
        extra.response_code = issueResponseCode(taskId);
        fake.cards.set(taskId, { taskId, touser: body.touser, body, greyed: null });
      }
    }
    fake.sent.push(body);
    const out = answer(0, extra);
    if (body.enable_duplicate_check === 1) taken.set(canonical(body), { at: clock(), answer: out });
    return out;
  }

  function getuserinfo(query: Record<string, string>) {
    checkToken(query);
    const userid = oauthCodes.get(query.code ?? "");
    if (!userid) throw new Reject(40029);
    oauthCodes.delete(query.code!);
    return answer(0, { userid, user_ticket: random(16), expires_in: 1800 });
  }

  function update(query: Record<string, string>, body: any) {
    checkToken(query);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new Reject(40058);
    if (body.agentid !== agentId) throw new Reject(42015);
    const code = body.response_code;
    if (typeof code !== "string" || responseCodes.get(code) !== false) throw new Reject(60140);
    if (body.button === undefined && body.template_card === undefined) throw new Reject(40058);
    if (body.template_card !== undefined && (!body.template_card || !CARD_TYPES.has(body.template_card.card_type))) throw new Reject(40058);
    responseCodes.set(code, true);
    const card = fake.cards.get(codeCards.get(code) ?? "");
    if (card) card.greyed = body.button?.replace_name ?? body.template_card?.button_list?.[0]?.text ?? "（已更新）";
    fake.updates.push(body);
    return answer(0);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }


  const routes: Record<string, { method: string; api: FakeWecomApi }> = {
    "/cgi-bin/gettoken": { method: "GET", api: "gettoken" },
    "/cgi-bin/message/send": { method: "POST", api: "send" },
    "/cgi-bin/message/update_template_card": { method: "POST", api: "update_template_card" },
    "/cgi-bin/auth/getuserinfo": { method: "GET", api: "getuserinfo" },
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const route = routes[url.pathname];
    if (!route || req.method !== route.method) return reply(res, 404, { error: "not found" });
    const query = Object.fromEntries(url.searchParams);
    const raw = route.method === "POST" ? await readBody(req) : "";
    let body: any = null;
    let badJson = false;
    if (raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        badJson = true;
      }
    }
    fake.calls.push({ api: route.api, body, query, at: Date.now() });
    fake.onCall?.({ api: route.api, body });
    const forced = injected[route.api].shift();
    if (forced !== undefined && forced !== 0) return reply(res, 200, answer(forced));
    try {
      if (badJson) throw new Reject(40058);
      const handlers: Record<FakeWecomApi, () => unknown> = {
        gettoken: () => gettoken(query),
        send: () => send(query, body),
        update_template_card: () => update(query, body),
        getuserinfo: () => getuserinfo(query),
      };
      const out = handlers[route.api]();
      reply(res, 200, out);
    } catch (err) {
      if (err instanceof Reject) return reply(res, 200, answer(err.errcode));
      reply(res, 500, { error: String(err) });
    }
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeWecom = {
    url: `http://127.0.0.1:${port}`,
    corpId,
    secret,
    agentId,
    calls: [],
    sent: [],
    duplicates: [],
    cards: new Map(),
    liveCards: () => [...fake.cards.values()].filter((c) => c.greyed === null),
    onCall: null,
    updates: [],
    tokensIssued: 0,
    inject(api, ...errcodes) {
      injected[api].push(...errcodes);
    },
    expireTokens() {
      for (const token of tokens.keys()) tokens.set(token, true);
    },
    delay(ms) {
      replies.delay(ms);
    },
    issueResponseCode,
    issueOAuthCode(userid) {
      const code = random(32);
      oauthCodes.set(code, userid);
      return code;
    },
    async close() {
      replies.cancel();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  return fake;
}
