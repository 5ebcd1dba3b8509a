import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createWecomClient, WecomApiError, type WecomClient, type WecomClientConfig } from "../src/channels/wecom/client";
import { startFakeWecom, type FakeWecom } from "./fakes/wecom-server";
import { freePort } from "./harness";

const T0 = Date.parse("2026-11-20T07:00:00Z");

function manualClock(start = T0) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

interface Rig {
  fake: FakeWecom;
  client: WecomClient;
  clock: ReturnType<typeof manualClock>;
  logs: string[];
  sleeps: number[];
}

let fake: FakeWecom | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

async function rig(fakeOpts: Parameters<typeof startFakeWecom>[0] = {}, overrides: Partial<WecomClientConfig> = {}): Promise<Rig> {
  fake = await startFakeWecom(fakeOpts);
  const clock = manualClock();
  const logs: string[] = [];
  const sleeps: number[] = [];
  const client = createWecomClient({
    apiBase: fake.url,
    corpId: fake.corpId,
    secret: fake.secret,
    agentId: fake.agentId,
    clock,
    log: (line) => logs.push(line),
    sleep: async (ms) => void sleeps.push(ms),
    ...overrides,
  });
  return { fake, client, clock, logs, sleeps };
}

const text = (touser = "zhangsan", content = "审批 123：已同意") => ({ touser, msgtype: "text", text: { content } });

let cardSeq = 0;
function card(overrides: Record<string, unknown> = {}) {
  const n = ++cardSeq;
  return {
    touser: "zhangsan|lisi",
    msgtype: "template_card",
    template_card: {
      card_type: "button_interaction",
      main_title: { title: "请假审批", desc: "申请人：王五" },
      horizontal_content_list: [{ keyname: "开始", value: "2024-05-01" }],
      task_id: `appr-${n}-v1`,
      button_list: [
        { text: "同意", style: 1, key: `approve:${n}` },
        { text: "驳回", style: 2, key: `reject:${n}` },
      ],
      ...overrides,
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<WecomApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WecomApiError);
    return err as WecomApiError;
  }
  throw new Error("expected a WecomApiError");
}

const issuedTokens = (f: FakeWecom) => f.calls.filter((c) => c.query.access_token).map((c) => c.query.access_token!);
const count = (f: FakeWecom, api: string) => f.calls.filter((c) => c.api === api).length;

describe("access_token", () => {
  test("is fetched once and reused; the client adds agentid", async () => {
    const { fake, client } = await rig();
    for (let i = 0; i < 3; i++) await client.send(text());
    expect(fake.tokensIssued).toBe(1);
    expect(count(fake, "gettoken")).toBe(1);
    expect(fake.calls[0]!.query).toEqual({ corpid: fake.corpId, corpsecret: fake.secret });
    expect(fake.sent).toHaveLength(3);
    expect(fake.sent[0]).toMatchObject({ touser: "zhangsan", msgtype: "text", agentid: fake.agentId });
    expect(new Set(issuedTokens(fake)).size).toBe(1);
  });

  test("20 concurrent sends share one gettoken", async () => {
    const { fake, client } = await rig();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.send(text(`user${i}`))));
    expect(fake.tokensIssued).toBe(1);
    expect(fake.sent).toHaveLength(20);
    expect(new Set(results.map((r) => r.msgid)).size).toBe(20);
  });

  test("is refreshed 5 minutes before it expires (by the injected clock)", async () => {
    const { fake, client, clock } = await rig();
    await client.send(text());
    clock.advance((7200 - 300) * 1000 - 1000); // 1 s before the refresh point
    await client.send(text());
    expect(fake.tokensIssued).toBe(1);
    clock.advance(1000);
    await client.send(text());
    expect(fake.tokensIssued).toBe(2);
    const [first, , third] = issuedTokens(fake);
    expect(third).not.toBe(first);
  });

  test("a failed refresh is not cached", async () => {
    const { fake, client } = await rig();
    fake.inject("gettoken", 45009);
    const err = await failure(client.send(text()));
    expect(err.api).toBe("gettoken");
    expect(err.retryAfterMs).toBe(60_000);
    await client.send(text());
    expect(fake.tokensIssued).toBe(1);
    expect(count(fake, "gettoken")).toBe(2);
  });

  test("expired token (42001): refresh and retry once", async () => {
    const { fake, client } = await rig();
    await client.send(text());
    fake.expireTokens();
    await client.send(text());
    expect(fake.tokensIssued).toBe(2);
    expect(count(fake, "send")).toBe(3);
    expect(fake.sent).toHaveLength(2);
  });

  test("42001 for 20 concurrent senders still means one refresh", async () => {
    const { fake, client } = await rig();
    await client.send(text());
    fake.expireTokens();
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.send(text(`user${i}`))));
    expect(fake.tokensIssued).toBe(2);
    expect(fake.sent).toHaveLength(21);
  });

  test.each([40014, 41001, 42001])("%i: refresh and retry once", async (errcode) => {
    const { fake, client, logs } = await rig();
    await client.send(text());
    fake.inject("send", errcode);
    const result = await client.send(text());
    expect(result.msgid).toBeTruthy();
    expect(fake.tokensIssued).toBe(2);
    expect(logs.some((l) => l.includes(String(errcode)))).toBe(true);
  });

  test("a second token failure surfaces", async () => {
    const { fake, client } = await rig();
    fake.inject("send", 42001, 40014);
    const err = await failure(client.send(text()));
    expect(err.errcode).toBe(40014);
    expect(err.api).toBe("message/send");
    expect(err.operator).toBe(false);
    expect(count(fake, "send")).toBe(2);
    expect(fake.tokensIssued).toBe(2);
  });

  test("wrong secret: 40001 is an operator problem, not cached, and clears when the secret works", async () => {
    fake = await startFakeWecom();
    const logs: string[] = [];
    const clock = manualClock();
    const bad = createWecomClient({ apiBase: fake.url, corpId: fake.corpId, secret: "wrong-secret-xyz", agentId: fake.agentId, clock, log: (l) => logs.push(l) });
    const err = await failure(bad.send(text()));
    expect(err).toMatchObject({ errcode: 40001, api: "gettoken", operator: true, retryAfterMs: null });
    expect(bad.health()).toMatchObject({ ok: false, problem: { errcode: 40001 } });
    expect(logs.join("\n")).not.toContain("wrong-secret-xyz");
    expect(err.message).not.toContain("wrong-secret-xyz");

    const badCorp = createWecomClient({ apiBase: fake.url, corpId: "wwnope", secret: fake.secret, agentId: fake.agentId, clock });
    expect(await failure(badCorp.send(text()))).toMatchObject({ errcode: 40013, operator: true });
  });
});

describe("errors and retries", () => {
  test("-1 (system busy) is retried with backoff and then succeeds", async () => {
    const { fake, client, sleeps } = await rig();
    fake.inject("send", -1, -1);
    await client.send(text());
    expect(sleeps).toEqual([200, 400]);
    expect(count(fake, "send")).toBe(3);
    expect(fake.sent).toHaveLength(1);
  });

  test("-1 three times in total: give up with retryAfterMs 30 s", async () => {
    const { fake, client, sleeps } = await rig();
    fake.inject("send", -1, -1, -1);
    const err = await failure(client.send(text()));
    expect(err).toMatchObject({ errcode: -1, retryAfterMs: 30_000, operator: false });
    expect(count(fake, "send")).toBe(3);
    expect(sleeps).toEqual([200, 400]);
  });

  test("-1 on gettoken is retried too", async () => {
    const { fake, client } = await rig();
    fake.inject("gettoken", -1);
    await client.send(text());
    expect(count(fake, "gettoken")).toBe(2);
  });

  test("45009 → retryAfterMs 60 s; 45033 → 1 s", async () => {
    const { fake, client } = await rig();
    fake.inject("send", 45009, 45033);
    expect(await failure(client.send(text()))).toMatchObject({ errcode: 45009, retryAfterMs: 60_000, operator: false });
    expect(await failure(client.send(text()))).toMatchObject({ errcode: 45033, retryAfterMs: 1_000, operator: false });
    expect(client.health().ok).toBe(true);
  });

  test("60020: operator error, health names it in Chinese, recovers after a later success", async () => {
    const { fake, client, logs, clock } = await rig();
    expect(client.health()).toEqual({ ok: true });
    fake.inject("send", 60020, 60020);
    const err = await failure(client.send(text()));
    expect(err).toMatchObject({ errcode: 60020, operator: true, retryAfterMs: null, api: "message/send" });
    expect(err.message).toContain("企业可信IP");
    const health = client.health();
    expect(health.ok).toBe(false);
    expect(health.problem).toMatchObject({ errcode: 60020, at: clock.now().toISOString() });
    expect(health.problem!.message).toMatch(/60020/);
    expect(health.problem!.message).toMatch(/可信IP/);
    expect(health.problem!.message).toContain("127.0.0.1"); // the IP WeCom saw, from errmsg
    expect(logs.filter((l) => l.includes("60020"))).toHaveLength(1);

    await failure(client.send(text())); // still refused: no second log line for the same problem
    expect(logs.filter((l) => l.includes("60020"))).toHaveLength(1);
    expect(client.health().ok).toBe(false);

    await client.send(text());
    expect(client.health()).toEqual({ ok: true });
  });

  test("48002: operator", async () => {
    const { fake, client } = await rig();
    fake.inject("update_template_card", 48002);
    const err = await failure(client.updateTemplateCard({ response_code: "x", button: { replace_name: "已同意" } }));
    expect(err).toMatchObject({ errcode: 48002, operator: true, retryAfterMs: null, api: "message/update_template_card" });
    expect(client.health().problem?.errcode).toBe(48002);
  });

  test("81013: no recipient in the visible range is an operator problem", async () => {
    const { client, logs } = await rig({ visibleUsers: ["zhangsan", "lisi"] });
    const err = await failure(client.send(text("wangwu|zhaoliu")));
    expect(err).toMatchObject({ errcode: 81013, operator: true, retryAfterMs: null });
    expect(client.health()).toMatchObject({ ok: false, problem: { errcode: 81013 } });
    expect(client.health().problem!.message).toContain("可见范围");
    expect(logs.some((l) => l.includes("81013"))).toBe(true);
  });

  test("invaliduser is split on '|'", async () => {
    const { client } = await rig({ visibleUsers: ["zhangsan", "lisi"] });
    const result = await client.send(text("zhangsan|wangwu|zhaoliu"));
    expect(result.invalidUsers).toEqual(["wangwu", "zhaoliu"]);
    expect(result.responseCode).toBeNull();
    expect((await client.send(text("lisi"))).invalidUsers).toEqual([]);
  });

  test("timeout → WecomApiError(-2) without the token in the message", async () => {
    const { fake, client } = await rig({}, { timeoutMs: 100 });
    await client.send(text()); // token cached
    const [token] = issuedTokens(fake);
    fake.delay(1_000);
    const err = await failure(client.send(text()));
    expect(err).toMatchObject({ errcode: -2, retryAfterMs: 30_000, operator: false });
    expect(err.message).not.toContain(token!);
    expect(err.message).not.toContain("access_token");
    expect(JSON.stringify(err)).not.toContain(token!);
    expect(err.cause).toBeUndefined();
  });

  test("connection refused and non-2xx → -2", async () => {
    const { fake, client } = await rig();
    const port = await freePort();
    const refused = createWecomClient({ apiBase: `http://127.0.0.1:${port}`, corpId: fake.corpId, secret: fake.secret, agentId: 1, clock: manualClock() });
    const err1 = await failure(refused.send(text()));
    expect(err1).toMatchObject({ errcode: -2, retryAfterMs: 30_000, api: "gettoken" });
    expect(err1.message).toContain("ECONNREFUSED");
    expect(err1.message).not.toContain(fake.secret);

    const c404 = createWecomClient({ apiBase: `${fake.url}/not-here`, corpId: fake.corpId, secret: fake.secret, agentId: 1, clock: manualClock() });
    const err2 = await failure(c404.send(text()));
    expect(err2.errcode).toBe(-2);
    expect(err2.message).toContain("404");
    expect(err2.message).not.toContain(fake.secret);
    await client.send(text()); // the fake itself is fine
  });

  test("malformed answers → -2", async () => {
    const answers: unknown[] = [
      "not json at all",
      { errcode: "0" },
      { errcode: 0, errmsg: "ok", expires_in: 7200 }, // gettoken without access_token
    ];
    for (const body of answers) {
      const client = createWecomClient({
        apiBase: "https://wecom.invalid",
        corpId: "ww1",
        secret: "s3cret-value",
        agentId: 1,
        clock: manualClock(),
        fetch: async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status: 200 }),
      });
      expect(await failure(client.send(text()))).toMatchObject({ errcode: -2, retryAfterMs: 30_000 });
    }
    // send answered 0 but without msgid
    let n = 0;
    const client = createWecomClient({
      apiBase: "https://wecom.invalid",
      corpId: "ww1",
      secret: "s3cret-value",
      agentId: 1,
      clock: manualClock(),
      fetch: async () =>
        Response.json(n++ === 0 ? { errcode: 0, errmsg: "ok", access_token: "tok-abcdef", expires_in: 7200 } : { errcode: 0, errmsg: "ok" }),
    });
    expect(await failure(client.send(text()))).toMatchObject({ errcode: -2, api: "message/send" });
  });

  test("neither the secret nor any token reaches the log or an error message", async () => {
    const { fake, client, logs } = await rig({ visibleUsers: ["zhangsan"] }, { timeoutMs: 100 });
    const messages: string[] = [];
    const attempt = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        messages.push((err as Error).message, JSON.stringify(err));
      }
    };
    fake.inject("gettoken", -1, 45009);
    await attempt(client.send(text()));
    await attempt(client.send(text()));
    fake.inject("send", -1, 42001, 60020);
    await attempt(client.send(text()));
    await attempt(client.send(text("nobody")));
    fake.expireTokens();
    fake.inject("send", 40014);
    await attempt(client.send(text()));
    await attempt(client.updateTemplateCard({ response_code: "nope", button: { replace_name: "x" } }));
    fake.delay(1_000);
    await attempt(client.send(text()));
    fake.delay(0);

    const tokens = [...new Set(issuedTokens(fake))];
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(logs.length).toBeGreaterThan(3);
    expect(messages.length).toBeGreaterThan(3);
    for (const line of [...logs, ...messages]) {
      expect(line).not.toContain(fake.secret);
      for (const token of tokens) expect(line).not.toContain(token);
    }
  });
});

describe("template cards", () => {
  test("button card → response_code → update_template_card, which is single use", async () => {
    const { fake, client } = await rig();
    const sent = await client.send(card());
    expect(sent.responseCode).toEqual(expect.any(String));
    await client.updateTemplateCard({ response_code: sent.responseCode, atall: 1, button: { replace_name: "已由张三同意" } });
    expect(fake.updates).toHaveLength(1);
    expect(fake.updates[0]).toMatchObject({ agentid: fake.agentId, atall: 1 });

    const err = await failure(client.updateTemplateCard({ response_code: sent.responseCode, atall: 1, button: { replace_name: "again" } }));
    expect(err).toMatchObject({ errcode: 60140, operator: false, retryAfterMs: null });
    expect(client.health().ok).toBe(true);

    // a click callback's code works too
    await client.updateTemplateCard({ response_code: fake.issueResponseCode(), button: { replace_name: "已驳回" } });
    expect(fake.updates).toHaveLength(2);
  });

  test("text_notice without task_id is fine and has no response_code", async () => {
    const { client } = await rig();
    const result = await client.send({
      touser: "zhangsan",
      msgtype: "template_card",
      template_card: { card_type: "text_notice", main_title: { title: "通知" }, card_action: { type: 1, url: "https://example/x" } },
    });
    expect(result.responseCode).toBeNull();
  });

  test("fake rules: task_id must be valid and unique (42014)", async () => {
    const { client } = await rig();
    await client.send(card({ task_id: "dup-1" }));
    expect((await failure(client.send(card({ task_id: "dup-1" })))).errcode).toBe(42014);
    expect((await failure(client.send(card({ task_id: undefined })))).errcode).toBe(42014);
    expect((await failure(client.send(card({ task_id: "有中文" })))).errcode).toBe(42014);
    expect((await failure(client.send(card({ task_id: "a".repeat(129) })))).errcode).toBe(42014);
    await client.send(card({ task_id: "a@b_c-" + "d".repeat(122) })); // exactly 128 bytes
  });

  test("fake rules: buttons, keys, horizontal list (40058)", async () => {
    const { client } = await rig();
    const buttons = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `b${i}`, key: `k${i}` }));
    await client.send(card({ button_list: buttons(6) }));
    expect((await failure(client.send(card({ button_list: buttons(7) })))).errcode).toBe(40058);
    expect((await failure(client.send(card({ button_list: [{ text: "a", key: "k" }, { text: "b", key: "k" }] })))).errcode).toBe(40058);
    expect((await failure(client.send(card({ button_list: [{ text: "a", key: "k".repeat(1025) }] })))).errcode).toBe(40058);
    expect((await failure(client.send(card({ card_type: "fancy" })))).errcode).toBe(40058);
    const items = Array.from({ length: 7 }, (_, i) => ({ keyname: `k${i}`, value: "v" }));
    expect((await failure(client.send(card({ horizontal_content_list: items })))).errcode).toBe(40058);
  });

  test("fake rules: text length, agentid", async () => {
    const { fake, client } = await rig();
    await client.send(text("zhangsan", "审".repeat(682))); // 2046 bytes
    expect((await failure(client.send(text("zhangsan", "审".repeat(683))))).errcode).toBe(45002);
    expect((await failure(client.send(text("zhangsan", "")))).errcode).toBe(44004);
    expect((await failure(client.send(text("")))).errcode).toBe(40058);

    const other = createWecomClient({ apiBase: fake.url, corpId: fake.corpId, secret: fake.secret, agentId: 999, clock: manualClock() });
    expect((await failure(other.send(text()))).errcode).toBe(40056);
    const { responseCode } = await client.send(card());
    expect((await failure(other.updateTemplateCard({ response_code: responseCode, button: { replace_name: "x" } }))).errcode).toBe(42015);
    await client.updateTemplateCard({ response_code: responseCode, button: { replace_name: "x" } }); // still unused
  });
});

describe("fake bookkeeping", () => {
  let f: FakeWecom;
  beforeEach(async () => {
    f = await startFakeWecom({ secret: "abc" });
  });
  afterEach(() => f.close());

  test("records every call with its query", async () => {
    const res = await fetch(`${f.url}/cgi-bin/gettoken?corpid=${f.corpId}&corpsecret=abc`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(7200);
    const r2 = await fetch(`${f.url}/cgi-bin/message/send`, { method: "POST", body: "{}" });
    expect(await r2.json()).toMatchObject({ errcode: 41001 });
    const r3 = await fetch(`${f.url}/cgi-bin/message/send?access_token=bogus`, { method: "POST", body: "{}" });
    expect(await r3.json()).toMatchObject({ errcode: 40014 });
    expect(f.calls.map((c) => c.api)).toEqual(["gettoken", "send", "send"]);
    expect(f.calls[2]!.query).toEqual({ access_token: "bogus" });
    expect(f.tokensIssued).toBe(1);
  });
});
