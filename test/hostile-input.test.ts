// Hostile input over the real HTTP stack (issue 10, defect 3): NUL, lone surrogates, control and bidi characters
// anywhere a text arrives, bodies nested thousands deep, and a storm of malformed requests. Each is refused with
// a 400 naming the field and writes nothing; unidentified refusals are audited at a bounded rate.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { randomBytes, randomInt } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { rowsOf } from "../db/client";
import { addHost } from "../src/access/hosts";
import { bindVmAccount } from "../src/access/accounts";
import { loadPriceTable } from "../src/billing/prices";
import { loadCalendarYear } from "../src/calendar/store";
import { wecomRoutes } from "../src/channels/wecom";
import { createWecomCrypto, wecomSignature } from "../src/channels/wecom/crypto";
import { buildWecomXml } from "../src/channels/wecom/xml";
import { importDirectory } from "../src/directory/import";
import { demoDirectory } from "../src/directory/demo";
import { mutate } from "../src/core/mutate";
import { ServiceError } from "../src/core/errors";
import { consoleGateway } from "../src/sms/gateways";
import { parseJsonText, ROOT_FIELD } from "../src/core/validation";
import { createRefusalRecorder } from "../src/inbound/refusals";
import { createTestApp, manualClock, ok, sampleForm, type TestApp, serveOnLoopback } from "./app-harness";
import { wecomCallbacks } from "./fakes/wecom-callbacks";

// WeCom's official vector set A (wecom.md §1.8): the service is configured as that corp.
const SET_A = { token: "QDG6eK", encodingAesKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corpId: "wx5823bf96d3bd56c7" };
const AGENT_ID = 1000002;

let t: TestApp;
let base: string;
let closeServer: () => Promise<void>;
let wecom: ReturnType<typeof wecomCallbacks>;
let hostCredential = "";
let requestId = 0;

beforeAll(async () => {
  t = await createTestApp({
    channels: [{ key: "wecom", routes: wecomRoutes({ crypto: createWecomCrypto({ ...SET_A, receiveId: SET_A.corpId }), corpId: SET_A.corpId }), health: () => ({ ok: true }) }],
    access: { sms: consoleGateway({ log: () => {}, sink: () => {} }), codeKey: randomBytes(32), totpKey: randomBytes(32) },
  });
  hostCredential = (await addHost({ ctx: t.ctx(), input: { name: "bastion-1" } })).credential;
  await mutate(t.ctx(), { action: "vm_account.bind" }, (tx, j) =>
    bindVmAccount(tx, j, { hostId: "bastion-1", account: "liuyang", userId: "liuyang", validUntil: new Date("2026-12-31T16:00:00Z"), requestId: null, at: t.clock.now() }),
  );
  requestId = ok(await t.submit("yangfan", sampleForm()), 201).id;
  ({ base, close: closeServer } = await serveOnLoopback(t.app.fetch));
  wecom = wecomCallbacks({ endpoint: `${base}/wecom/callback`, ...SET_A, agentId: AGENT_ID });
});
afterAll(async () => {
  await closeServer?.();
  await t?.close();
});

/** Rows of every table of the schema, so "nothing written" means nothing, wherever it might have gone. */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = rowsOf<{ name: string }>(
    await t.db.execute(sql`select tablename as name from pg_tables where schemaname = current_schema() order by tablename`),
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables)
    counts[name] = Number(rowsOf<{ n: number | string }>(await t.db.execute(sql`select count(*) as n from ${sql.identifier(name)}`))[0]!.n);
  return counts;
}

/** A request over the socket; the body as sent (a string is sent verbatim). */
async function http(method: string, path: string, opts: { user?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.user ? { authorization: `Bearer ${t.tokens[opts.user]}` } : {}),
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body };
}

/** Asserts a 400 that names `field` with a message containing `says`. */
function refused(res: { status: number; body: any }, field: string, says: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe("invalid_input");
  expect(res.body.error.fields?.[field]?.join("；"), JSON.stringify(res.body)).toContain(says);
}

/** `levels` nested arrays around a string: "[[[…"x"…]]]", built as text (JSON.stringify would recurse). */
const nested = (levels: number) => `${"[".repeat(levels)}"x"${"]".repeat(levels)}`;

describe("every text is checked (NUL, lone surrogates, control and bidi characters)", () => {
  test("in JSON body strings and keys: a 400 naming the field, nothing written", async () => {
    const before = await rowCounts();
    const form = sampleForm();
    refused(await http("POST", "/api/requests", { user: "yangfan", body: { form: { ...form, systemName: "教育\u0000系统" } } }), "form.systemName", "含有不允许的控制字符（U+0000）");
    // A lone surrogate as a JSON escape, exactly as a client would send it.
    const lone = JSON.stringify({ form: { ...form, systemName: "SURROGATE" } }).replace("SURROGATE", "x\\ud800y");
    refused(await http("POST", "/api/requests", { user: "yangfan", body: lone }), "form.systemName", "不成对的代理字符（U+D800）");
    refused(await http("POST", "/api/requests", { user: "yangfan", body: { form: { ...form, contact: { ...form.contact, name: "李\udc00华" } } } }), "form.contact.name", "U+DC00");
    // U+202E turned 测试 into 试测 on a card.
    refused(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: { action: "comment", text: "测\u202E试" } }), "text", "双向文本控制字符（U+202E）");
    refused(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: { action: "comment", text: "\u2066隔离\u2069" } }), "text", "U+2066");
    refused(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: { action: "comment", text: "响铃\u0007" } }), "text", "U+0007");
    refused(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: { action: "comment", text: "C1\u0085" } }), "text", "U+0085");
    refused(await http("POST", "/api/requests", { user: "yangfan", body: { form, ["fl\u0000ow"]: "application" } }), "fl\\u0000ow", "字段名含有不允许的控制字符（U+0000）");
    // An unauthenticated caller is refused the same way, before its token is even looked at.
    refused(await http("POST", "/api/requests", { body: { form: { ...form, systemName: "\u0000" } } }), "form.systemName", "U+0000");
    // Tab, line feed and carriage return stay allowed in text.
    ok(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: { action: "comment", text: "第一行\r\n第二行\t完" } }));
    const after = await rowCounts();
    // The allowed comment wrote its rows; none of the refused requests did.
    ok(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: { action: "comment", text: "\u0000" } }), 400);
    expect(await rowCounts()).toEqual(after);
    expect(after.audit_log).toBeGreaterThan(before.audit_log!);
  });

  test("in query strings, path parameters and the Idempotency-Key header", async () => {
    const before = await rowCounts();
    refused(await http("GET", "/api/requests?status=%00", { user: "yangfan" }), "status", "U+0000");
    refused(await http("GET", "/api/requests?q%00=1", { user: "yangfan" }), "q\\u0000", "参数名含有不允许的控制字符（U+0000）");
    refused(await http("GET", "/api/directory/users/ab%00c", { user: "yangfan" }), "路径", "含有不允许的控制字符（U+0000）");
    refused(await http("GET", "/api/directory/units/%E2%80%AEabc", { user: "yangfan" }), "路径", "U+202E");
    refused(await http("GET", "/api/directory/users/%ED%A0%80", { user: "yangfan" }), "路径", "百分号编码");
    // fetch refuses NUL in a header; a control character it lets through is refused by the guard.
    const sent = await t.call("yangfan", "POST", `/api/requests/${requestId}/actions`, { action: "comment", text: "好" }, { "idempotency-key": "k\u0001y" });
    refused(sent, "Idempotency-Key", "可见 ASCII");
    expect(await rowCounts()).toEqual(before);
  });

  test("on /access: a host's body with NUL is refused before its credential is checked, and nothing is audited", async () => {
    const before = await rowCounts();
    const body = { account: "liu\u0000yang", host: "bastion-1", code: "123456" };
    refused(await http("POST", "/access/verify", { body, headers: { authorization: `Bearer ${hostCredential}` } }), "account", "U+0000");
    refused(await http("POST", "/access/challenge", { body: { account: "liuyang", host: "bastion\u202E-1" }, headers: { authorization: `Bearer ${hostCredential}` } }), "host", "U+202E");
    refused(await http("POST", "/access/verify", { body, headers: { authorization: "Bearer ysh_wrong" } }), "account", "U+0000");
    expect(await rowCounts()).toEqual(before);
  });

  test("in WeCom messages after decryption: a chat message is answered in the chat, a card event refused, nothing written", async () => {
    const before = await rowCounts();
    const chat = await wecom.text("YangFan", "查询\u202E测试");
    expect(chat.status).toBe(200);
    expect(chat.reply?.Content).toContain("含有不允许的双向文本控制字符（U+202E）");
    const nul = await wecom.text("YangFan", "查询\u0000");
    expect(nul.status).toBe(200);
    expect(nul.reply?.Content).toContain("U+0000");
    const click = await wecom.post(
      buildWecomXml({
        ToUserName: SET_A.corpId,
        FromUserName: "YangFan",
        CreateTime: 1_790_000_001,
        MsgType: "event",
        Event: "template_card_event",
        EventKey: "whatever",
        TaskId: "task-1",
        CardType: "button_interaction",
        ResponseCode: "rc\u0000x",
        AgentID: AGENT_ID,
      }),
    );
    expect(click.status).toBe(400);
    expect(JSON.parse(click.body).error.fields.ResponseCode.join()).toContain("U+0000");
    const sender = await wecom.text("Yang\u0000Fan", "查询");
    expect(sender.status).toBe(400);
    expect(JSON.parse(sender.body).error.fields.FromUserName.join()).toContain("U+0000");
    // The query is checked before the signature: a NUL there is a 400 naming it, not an audited refusal.
    const query = await wecom.send("msg_signature=" + "0".repeat(40) + "&timestamp=1&nonce=a%00b", "<xml></xml>");
    expect(query.status).toBe(400);
    expect(JSON.parse(query.body).error.fields.nonce.join()).toContain("U+0000");
    expect(await rowCounts()).toEqual(before);
  });

  test("in CLI files (directory import, calendar, price table): refused naming the field, nothing written", async () => {
    const before = await rowCounts();
    const attempt = async (run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (err) {
        return err;
      }
      return null;
    };
    const directory = JSON.stringify({ units: demoDirectory.units, users: [{ ...demoDirectory.users[0]!, name: "张\u0000伟" }] });
    const dirErr = await attempt(async () => importDirectory({ ctx: t.ctx(), input: parseJsonText(directory, "通讯录文件") }));
    expect(dirErr).toBeInstanceOf(ServiceError);
    expect((dirErr as ServiceError).fields?.["users[0].name"]?.join()).toContain("U+0000");

    const schedule = JSON.parse(readFileSync(new URL("../src/core/calendar-data/2026.json", import.meta.url), "utf8"));
    schedule.holidays[0].name = "元\u202E旦";
    const calErr = await attempt(async () => loadCalendarYear({ ctx: t.ctx(), input: parseJsonText(JSON.stringify(schedule), "放假安排文件") }));
    expect(calErr).toBeInstanceOf(ServiceError);
    expect((calErr as ServiceError).fields?.["holidays[0].name"]?.join()).toContain("U+202E");

    const prices = { version: "2027a", effectiveFrom: "2027-01-01", source: "某\u0000来源", prices: { vm: { vcpuDay: 1 } } };
    const priceErr = await attempt(async () => loadPriceTable({ ctx: t.ctx(), input: parseJsonText(JSON.stringify(prices), "单价表文件") }));
    expect(priceErr).toBeInstanceOf(ServiceError);
    expect((priceErr as ServiceError).fields?.source?.join()).toContain("U+0000");

    // A file nested 5,000 deep is refused on its text, before anything parses or walks it.
    const deepErr = await attempt(async () => parseJsonText(`{"units":${nested(5_000)},"users":[]}`, "通讯录文件"));
    expect((deepErr as ServiceError).fields?.[ROOT_FIELD]?.join()).toContain("嵌套超过 32 层");
    expect(await rowCounts()).toEqual(before);
  });
});

describe("nesting depth is bounded before anything recursive runs", () => {
  test("a 5,000-level body with an Idempotency-Key is a 400, not a stack overflow, whoever sends it", async () => {
    const before = await rowCounts();
    const body = `{"action":"resubmit","form":{"deep":${nested(5_000)}}}`;
    for (const user of ["yangfan", "liuyang", undefined]) {
      const res = await http("POST", `/api/requests/${requestId}/actions`, { user, body, headers: { "idempotency-key": `deep-${user}` } });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.message).toContain("嵌套超过 32 层");
    }
    // Brackets inside strings are text, not nesting.
    const inString = { action: "comment", text: "[".repeat(100) };
    ok(await http("POST", `/api/requests/${requestId}/actions`, { user: "yangfan", body: inString, headers: { "idempotency-key": "brackets" } }));
    // The same depth through /access and the service boundary.
    const access = await http("POST", "/access/verify", { body: `{"account":${nested(5_000)}}`, headers: { authorization: `Bearer ${hostCredential}` } });
    expect(access.status).toBe(400);
    const after = await rowCounts();
    expect(after.inbound_events).toBe(before.inbound_events! + 1); // the comment's key, nothing else
  });
});

describe("the refusal recorder", () => {
  test("per source and kind: the first few one by one, the rest in one summary per window; many sources share one", async () => {
    const clock = manualClock("2026-11-23T02:00:00Z");
    const refusals = createRefusalRecorder({ db: t.db, clock, log: () => {}, perWindow: 2, windowMs: 60_000, maxSources: 3 });
    const lastSeq = async () => Number(rowsOf<{ n: number | string | null }>(await t.db.execute(sql`select coalesce(max(seq), 0) as n from audit_log`))[0]!.n);
    const since = await lastSeq();
    const entries = async () =>
      rowsOf<{ source_ip: string | null; details: any }>(
        await t.db.execute(sql`select source_ip, details from audit_log where action = 'test.refusal' and seq > ${since} order by seq`),
      );
    const refuse = (sourceIp: string, code = "bad") => refusals.refused({ action: "test.refusal", channel: "test", sourceIp, code, message: "测试拒绝" });

    for (let i = 0; i < 10; i++) await refuse("10.0.0.1");
    for (let i = 0; i < 4; i++) await refuse("10.0.0.1", "other");
    expect((await entries()).length).toBe(4); // 2 of each kind
    // Five more sources while two windows are open: one gets its own (the third), the other four share one.
    for (const ip of ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]) for (let i = 0; i < 3; i++) await refuse(ip);
    const during = await entries();
    expect(during.length).toBe(4 + 2 + 2); // the shared window audits 2 in all, like one source
    await refusals.flush();
    expect((await entries()).length).toBe(during.length); // the window is still open: nothing to summarise yet

    clock.set("2026-11-23T02:01:00Z");
    await refusals.flush();
    const summaries = (await entries()).slice(during.length);
    expect(summaries.map((s) => [s.source_ip, s.details.count, s.details.message])).toEqual([
      ["10.0.0.1", 8, "该来源 1 分钟内另有 8 次同类请求被拒绝（测试拒绝）"],
      ["10.0.0.1", 2, "该来源 1 分钟内另有 2 次同类请求被拒绝（测试拒绝）"],
      ["10.0.0.2", 1, "该来源 1 分钟内另有 1 次同类请求被拒绝（测试拒绝）"],
      [null, 10, "其他来源 1 分钟内另有 10 次同类请求被拒绝（测试拒绝）"],
    ]);
    // A new window starts over, and a flush with nothing counted writes nothing.
    await refuse("10.0.0.1");
    await refusals.flush(true);
    expect((await entries()).length).toBe(during.length + summaries.length + 1);
  });
});

describe("a storm of malformed requests", () => {
  test("10,000 malformed requests: no 5xx, and unidentified refusals audited at a bounded rate", { timeout: 600_000 }, async () => {
    const before = await rowCounts();
    const lastSeq = async () => Number(rowsOf<{ n: number | string | null }>(await t.db.execute(sql`select coalesce(max(seq), 0) as n from audit_log`))[0]!.n);
    const seqBefore = await lastSeq();
    const crypto = createWecomCrypto({ ...SET_A, receiveId: SET_A.corpId });
    const encrypt = crypto.encrypt(buildWecomXml({ ToUserName: SET_A.corpId, FromUserName: "YangFan", CreateTime: 1, MsgType: "text", Content: "查询", MsgId: "1" }));
    const envelope = buildWecomXml({ ToUserName: SET_A.corpId, Encrypt: encrypt, AgentID: String(AGENT_ID) });
    const goodSignature = wecomSignature(SET_A.token, "1700000000", "n1", encrypt);
    const badSignature = goodSignature.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const form = sampleForm();
    const callback = (query: string, body: string) => fetch(`${base}/wecom/callback?${query}`, { method: "POST", headers: { "content-type": "text/xml" }, body });
    const api = (path: string, init: RequestInit) => fetch(`${base}${path}`, init);
    const json = { "content-type": "application/json" };
    // Each kind of malformed request; the storm cycles through them.
    const kinds: { name: string; send: (i: number) => Promise<Response> }[] = [
      { name: "bad JSON", send: () => api("/api/requests", { method: "POST", headers: json, body: '{"form":' }) },
      { name: "bad bearer", send: () => api("/api/me", { headers: { authorization: `Bearer ys_${randomBytes(32).toString("base64url")}` } }) },
      { name: "no bearer, valid body", send: () => api("/api/requests", { method: "POST", headers: json, body: JSON.stringify({ form }) }) },
      { name: "callback bad signature", send: () => callback(`msg_signature=${badSignature}&timestamp=1700000000&nonce=n1`, envelope) },
      { name: "callback no query", send: () => callback("", envelope) },
      { name: "callback not XML", send: () => callback(`msg_signature=${goodSignature}&timestamp=1700000000&nonce=n1`, "<xml><Encrypt>") },
      { name: "access bad host", send: () => api("/access/verify", { method: "POST", headers: { ...json, authorization: `Bearer ysh_${randomBytes(32).toString("base64url").slice(0, 43)}` }, body: JSON.stringify({ account: "liuyang", host: "bastion-1", code: String(randomInt(1e6)) }) }) },
      { name: "access bad JSON", send: () => api("/access/verify", { method: "POST", headers: { ...json, authorization: "Bearer nope" }, body: "{" }) },
      { name: "NUL", send: () => api("/api/requests?status=%00", { headers: { authorization: "Bearer nope" } }) },
      { name: "NUL in body", send: () => api("/access/challenge", { method: "POST", headers: json, body: '{"account":"\\u0000","host":"x"}' }) },
      { name: "deep", send: () => api(`/api/requests/${requestId}/actions`, { method: "POST", headers: { ...json, "idempotency-key": "storm", authorization: `Bearer ${t.tokens.yangfan}` }, body: `{"action":"resubmit","form":{"x":${nested(5_000)}}}` }) },
      {
        name: "huge",
        send: (i) =>
          Math.floor(i / 100) % 2 === 0
            ? alone("/api/requests", "application/json", "x".repeat(1024 * 1024 + 1))
            : alone(`/wecom/callback?msg_signature=${badSignature}&timestamp=1700000000&nonce=n1`, "text/xml", "x".repeat(65 * 1024)),
      },
    ];
    const TOTAL = 10_000;
    const CONCURRENCY = 12;
    const statuses = new Map<number, number>();
    let next = 0;
    let hugeSent = 0;
    async function worker() {
      for (;;) {
        const i = next++;
        if (i >= TOTAL) return;
        // Huge bodies are 1 in 100, so the storm moves megabytes, not gigabytes.
        let kind = kinds[i % (kinds.length - 1)]!;
        if (i % 100 === 99) kind = kinds[kinds.length - 1]!;
        if (kind.name === "huge") hugeSent++;
        const res = await kind.send(i);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(TOTAL);
    expect(hugeSent).toBe(100);
    const serverErrors = [...statuses].filter(([s]) => s >= 500);
    expect(serverErrors, JSON.stringify(Object.fromEntries(statuses))).toEqual([]);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500), JSON.stringify(Object.fromEntries(statuses))).toBe(true);

    // One source, one window (the clock stands still): at most 3 entries per kind of unidentified refusal.
    // Kinds: the callback's signature_invalid, invalid_query, malformed_envelope, payload_too_large; a bad host.
    const during = await rowCounts();
    const added = during.audit_log! - before.audit_log!;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(5 * 3);
    expect({ ...during, audit_log: 0 }).toEqual({ ...before, audit_log: 0 });

    // When the window closes, the next request writes one summary per kind with what was counted.
    t.clock.set(new Date(t.clock.now().getTime() + 61_000).toISOString());
    await http("GET", "/api/me", { user: "yangfan" });
    const summaries = rowsOf<{ action: string; details: any }>(
      await t.db.execute(
        sql`select action, details from audit_log where outcome = 'refused' and details->>'message' like '该来源%' and seq > ${seqBefore} order by seq`,
      ),
    );
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.length).toBeLessThanOrEqual(5);
    for (const s of summaries) expect(s.details.message).toMatch(/^该来源 1 分钟内另有 \d+ 次同类请求被拒绝/);
    const individually = added;
    const counted = summaries.reduce((n, s) => n + Number(s.details.count), 0);
    // Every unidentified refusal is accounted for: audited alone or counted in a summary.
    const unidentified = rowsOf<{ n: number | string }>(
      await t.db.execute(sql`select count(*) as n from audit_log where outcome = 'refused' and action in ('wecom.callback', 'access.authenticate') and seq > ${seqBefore}`),
    );
    expect(Number(unidentified[0]!.n)).toBe(individually + summaries.length);
    // 4 of the 11 rotating kinds are audited refusals, plus the huge callbacks: a known number in all.
    const perRound = TOTAL / 100;
    expect(individually + counted).toBe(expectedRefusals(TOTAL, kinds.length - 1, [3, 4, 5, 6]) + perRound / 2);
  });
});

/**
 * A POST on a connection of its own. The server answers 413 on Content-Length alone and closes the connection
 * while a huge body is still being written; on a shared keep-alive connection the next request would fail.
 */
function alone(path: string, contentType: string, body: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: "POST", agent: false, headers: { "content-type": contentType, "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(new Response(null, { status: res.statusCode! })));
    });
    // Writing the rest of the body after the answer may fail once the server has closed: the answer is what counts.
    req.on("error", (err) => (req.writableEnded ? undefined : reject(err)));
    req.end(body);
  });
}

/** How many of `total` requests fall on the audited kinds (indices of the rotation), the huge ones excepted. */
function expectedRefusals(total: number, rotation: number, audited: number[]): number {
  let n = 0;
  for (let i = 0; i < total; i++) if (i % 100 !== 99 && audited.includes(i % rotation)) n++;
  return n;
}
