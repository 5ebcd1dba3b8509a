import { and, count, eq, inArray, like } from "drizzle-orm";
import { everyChannel } from "./harness";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, tasks, wecomCards } from "../db/schema";
import { verifyAuditChain } from "../src/audit/verify";
import { webMount } from "../src/channels/web";
import { createWecomChannel, wecomRoutes } from "../src/channels/wecom";
import type { WecomClient } from "../src/channels/wecom/client";
import { createWecomCrypto, wecomSignature } from "../src/channels/wecom/crypto";
import { buildWecomXml } from "../src/channels/wecom/xml";
import { COMMON_REASONS } from "../src/chat/commands";
import { dispatchOutbox } from "../src/jobs/outbox";
import { createTestApp, ok, sampleForm, securityTestForm, type TestApp, serveOnLoopback } from "./app-harness";
import { latestCard, wecomCallbacks } from "./fakes/wecom-callbacks";
import { startFakeWecom, type FakeWecom } from "./fakes/wecom-server";

// WeCom's official vector set A (wecom.md §1.8): the service is configured as that corp.
const SET_A = { token: "QDG6eK", encodingAesKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corpId: "wx5823bf96d3bd56c7" };
const AGENT_ID = 1000002;
const PUBLIC_URL = "https://yunshen.example.gov.cn";
const OAUTH_BASE = "https://open.weixin.qq.com";
const WEB_LOGIN_BASE = "https://login.work.weixin.qq.com";

let fake: FakeWecom;
let t: TestApp;
let base: string;
let closeServer: () => Promise<void>;
let wecom: ReturnType<typeof wecomCallbacks>;
let channel: ReturnType<typeof createWecomChannel>;
const logLines: string[] = [];

beforeAll(async () => {
  fake = await startFakeWecom({ corpId: SET_A.corpId, agentId: AGENT_ID });
  let client: WecomClient | null = null;
  t = await createTestApp({
    channels: [
      {
        key: "wecom",
        routes: wecomRoutes({
          crypto: createWecomCrypto({ ...SET_A, receiveId: SET_A.corpId }),
          corpId: SET_A.corpId,
        }),
        health: () => client!.health(),
      },
      // A card's 详情 opens the portal, signed in by WeCom's OAuth.
      webMount({
        idleHours: 8,
        uploadMaxMb: 20,
        publicUrl: PUBLIC_URL,
        wecom: { corpId: SET_A.corpId, agentId: AGENT_ID, oauthBase: OAUTH_BASE, webLoginBase: WEB_LOGIN_BASE, userIdFromOAuthCode: (code) => client!.userIdFromOAuthCode(code) },
      }),
    ],
  });
  channel = createWecomChannel(
    { ...SET_A, agentId: AGENT_ID, secret: fake.secret, apiBase: fake.url, oauthBase: OAUTH_BASE, webLoginBase: WEB_LOGIN_BASE, publicUrl: PUBLIC_URL },
    { db: t.db, clock: t.clock, log: (l) => logLines.push(l) },
  );
  client = channel.client;
  ({ base, close: closeServer } = await serveOnLoopback(t.app.fetch));
  wecom = wecomCallbacks({ endpoint: `${base}/wecom/callback`, ...SET_A, agentId: AGENT_ID });
});
afterAll(async () => {
  await closeServer?.();
  await fake?.close();
  await t?.close();
});

/** Drains the outbox through the WeCom sender, as the job loop does. */
async function deliver() {
  for (;;) {
    const round = await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(channel.sender) });
    if (round.sent + round.failed === 0) return;
  }
}

async function request(id: number) {
  const [row] = await t.db.select().from(requests).where(eq(requests.id, id));
  return row!;
}

async function submitAndDeliver(user = "yangfan") {
  const { id, code } = ok(await t.submit(user, sampleForm()), 201);
  await deliver();
  return { id: id as number, code: code as string };
}

describe("callback endpoint", () => {
  test("URL verification returns the decrypted echostr of the official vector exactly", async () => {
    const res = await fetch(
      `${base}/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1616140317555161061");
  });

  test("forged, foreign, broken and oversize callbacks get a 4xx, change nothing, and are audited", async () => {
    const before = {
      requests: (await t.db.select({ n: count() }).from(requests))[0]!.n,
      outbox: (await t.db.select({ n: count() }).from(outbox))[0]!.n,
    };
    const refusalsBefore = (await t.db.select({ n: count() }).from(auditLog).where(eq(auditLog.action, "wecom.callback")))[0]!.n;
    const ts = "1790000000";
    const nonce = "42";
    const signed = (encrypt: string) => `msg_signature=${wecomSignature(SET_A.token, ts, nonce, encrypt)}&timestamp=${ts}&nonce=${nonce}`;
    const envelope = (encrypt: string) => buildWecomXml({ ToUserName: SET_A.corpId, Encrypt: encrypt, AgentID: String(AGENT_ID) });
    const text = buildWecomXml({ ToUserName: SET_A.corpId, FromUserName: "ZhangWei", CreateTime: 1, MsgType: "text", Content: "待办", MsgId: "1" });
    const good = wecom.crypto.encrypt(text);
    const foreign = createWecomCrypto({ ...SET_A, receiveId: "wwSomeOtherCorp" }).encrypt(text);
    const junk = wecom.crypto.encrypt("<xml><a>");
    const cases: [string, Promise<{ status: number; body: string }>, number, string][] = [
      ["wrong signature", wecom.send(`msg_signature=${"0".repeat(40)}&timestamp=${ts}&nonce=${nonce}`, envelope(good)), 403, "signature_invalid"],
      ["another corp", wecom.send(signed(foreign), envelope(foreign)), 403, "receiver_mismatch"],
      ["broken base64", wecom.send(signed("@@@notbase64@@@"), envelope("@@@notbase64@@@")), 400, "undecryptable"],
      ["not XML", wecom.send(signed(good), "{ this is not xml"), 400, "malformed_envelope"],
      ["decrypts to junk", wecom.send(signed(junk), envelope(junk)), 400, "malformed_message"],
      ["no signature at all", wecom.send(`timestamp=${ts}`, envelope(good)), 400, "invalid_query"],
      ["oversize body", wecom.send(signed(good), `<xml>${"x".repeat(70 * 1024)}</xml>`), 413, "payload_too_large"],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, name).toBe(status);
      expect(JSON.parse(res.body).error.code, name).toBe(code);
      expect(res.body, name).not.toMatch(/at .*\.ts|stack/i);
    }
    const getForged = await fetch(`${base}/wecom/callback?msg_signature=${"a".repeat(40)}&timestamp=1&nonce=1&echostr=${encodeURIComponent(good)}`);
    expect(getForged.status).toBe(403);

    expect((await t.db.select({ n: count() }).from(requests))[0]!.n).toBe(before.requests);
    expect((await t.db.select({ n: count() }).from(outbox))[0]!.n).toBe(before.outbox);
    const refusals = (await t.db.select({ n: count() }).from(auditLog).where(eq(auditLog.action, "wecom.callback")))[0]!.n;
    expect(refusals - refusalsBefore).toBe(cases.length + 1);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  test("a callback that would overrun WeCom's window gets an empty 200 at once and still completes", async () => {
    const slow = await createTestApp({
      channels: [
        { key: "wecom", routes: wecomRoutes({ crypto: createWecomCrypto({ ...SET_A, receiveId: SET_A.corpId }), corpId: SET_A.corpId, replyWithinMs: 50 }) },
      ],
    });
    try {
      const { id } = ok(await slow.submit("yangfan", sampleForm()), 201);
      const [task] = await slow.db.select().from(tasks).where(and(eq(tasks.requestId, id), eq(tasks.userId, "xufeng")));
      const key = `ys1:approve:${task!.cardToken}`;
      const plain = buildWecomXml({
        ToUserName: SET_A.corpId, FromUserName: "XuFeng", CreateTime: 1, MsgType: "event", Event: "template_card_event",
        EventKey: key, TaskId: "ys-x", ResponseCode: "rc", AgentID: AGENT_ID,
      });
      const encrypt = wecom.crypto.encrypt(plain);
      const q = `msg_signature=${wecomSignature(SET_A.token, "1", "2", encrypt)}&timestamp=1&nonce=2`;
      // Someone else holds the request for a while (a slow transaction), so the decision has to wait.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = slow.db.transaction(async (tx) => {
        await tx.select().from(requests).where(eq(requests.id, id)).for("update");
        locked();
        await held;
      });
      await isLocked;
      const res = await slow.app.request(`/wecom/callback?${q}`, {
        method: "POST",
        body: buildWecomXml({ ToUserName: SET_A.corpId, Encrypt: encrypt, AgentID: String(AGENT_ID) }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("");
      release();
      await holder;
      for (let i = 0; i < 50 && (await slow.db.select().from(requests).where(eq(requests.id, id)))[0]!.currentStage === "evaluate"; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect((await slow.db.select().from(requests).where(eq(requests.id, id)))[0]!.currentStage).toBe("approve");
    } finally {
      await slow.close();
    }
  });

  test("without WeCom configured the endpoint says so", async () => {
    const plain = await createTestApp();
    try {
      const res = await plain.call(null, "GET", "/wecom/callback?x=1");
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("wecom_not_configured");
    } finally {
      await plain.close();
    }
  });
});

describe("cards", () => {
  test("a stage's assignees each get a button card with the request's key facts", async () => {
    const { code } = await submitAndDeliver();
    const card = latestCard(fake, "XuFeng")!;
    expect(card.title).toBe("待处理：需求评估");
    expect(card.fields).toMatchObject({ 单位: "梅州市人力资源和社会保障局", 资源: "3 台 / 16 核 / 48G 内存 / 400G 存储", 环节: "需求评估" });
    expect(card.fields["期限"]).toMatch(/^2026-11-26 前（3 个工作日）$/);
    // 详情 opens the portal's page of the request through WeCom's OAuth, which tells the portal who is looking.
    const link = new URL(card.links["详情"]!);
    expect(link.origin + link.pathname).toBe(`${OAUTH_BASE}/connect/oauth2/authorize`);
    expect(Object.fromEntries(link.searchParams)).toMatchObject({
      appid: SET_A.corpId,
      redirect_uri: `${PUBLIC_URL}/login/wecom?next=%2Frequests%2F${code}`,
      scope: "snsapi_base",
      agentid: String(AGENT_ID),
    });
    expect(link.hash).toBe("#wechat_redirect");
    expect(card.buttons.map((b) => b.text)).toEqual(["提交评估意见", "退回"]);
    // Each assignee's card carries their own token: the two providers' keys differ.
    expect(latestCard(fake, "LinNa")!.button("提交评估意见").key).not.toBe(card.button("提交评估意见").key);
  });

  test("a tap decides, the tapper's card changes at once, and every other copy is updated with who decided", async () => {
    const { id } = await submitAndDeliver();
    const xufeng = latestCard(fake, "XuFeng")!;
    const linnaCard = latestCard(fake, "LinNa")!;
    const code = fake.issueResponseCode();
    const res = await wecom.click("XuFeng", xufeng.button("提交评估意见"), code);
    expect(res.status).toBe(200);
    expect(res.reply).toMatchObject({ MsgType: "update_button", Button: { ReplaceName: "已处理" } });
    expect((await request(id)).currentStage).toBe("approve");

    const updatesBefore = fake.updates.length;
    await deliver();
    const updates = fake.updates.slice(updatesBefore);
    expect(updates).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userids: ["XuFeng"], response_code: code, button: { replace_name: "已由徐峰办理" } }),
        expect.objectContaining({ userids: ["LinNa"], button: { replace_name: "已由徐峰办理" } }),
      ]),
    );
    const [linnaRow] = await t.db.select().from(wecomCards).where(eq(wecomCards.wecomTaskId, linnaCard.taskId));
    expect(linnaRow!.settledAt).not.toBeNull();
    // The next stage's cards went out to both managers.
    expect(latestCard(fake, "ZhangWei")!.fields["环节"]).toBe("审批");
    expect(latestCard(fake, "ChenJing")!.buttons.map((b) => b.text)).toEqual(["同意", "驳回", "退回"]);
  });

  test("storm: two managers tap 同意 at once, each tap delivered three times, give one decision", async () => {
    const { id } = await submitAndDeliver();
    await wecom.click("XuFeng", latestCard(fake, "XuFeng")!.button("提交评估意见"), fake.issueResponseCode());
    await deliver();
    const zhang = latestCard(fake, "ZhangWei")!.button("同意");
    const chen = latestCard(fake, "ChenJing")!.button("同意");
    const zhangCode = fake.issueResponseCode();
    const chenCode = fake.issueResponseCode();
    const at = 1_790_100_000;
    const replies = await Promise.all([
      ...[1, 2, 3].map(() => wecom.click("ZhangWei", zhang, zhangCode, at)),
      ...[1, 2, 3].map(() => wecom.click("ChenJing", chen, chenCode, at)),
    ]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const decisions = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.requestId, id), eq(auditLog.action, "request.approve"), eq(auditLog.stage, "approve"), eq(auditLog.outcome, "ok")));
    expect(decisions).toHaveLength(1);
    const winner = decisions[0]!.actorId === "zhangwei" ? "张伟" : "陈静";
    const texts = replies.filter((r) => r.reply?.MsgType === "text").map((r) => r.reply!.Content);
    const buttons = replies.filter((r) => r.reply?.MsgType === "update_button");
    // The winner's three deliveries all answer as the decision; the loser's are told who decided.
    expect(buttons).toHaveLength(3);
    expect(texts).toHaveLength(3);
    expect(new Set(texts)).toEqual(new Set([`「审批」已由${winner}处理`]));
    // The loser's refusal is audited once, not once per retry.
    const refusals = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.requestId, id), eq(auditLog.outcome, "refused")));
    expect(refusals).toHaveLength(1);
    expect((await request(id)).currentStage).toBe("provision");
    expect((await verifyAuditChain(t.db)).ok).toBe(true);

    const updatesBefore = fake.updates.length;
    await deliver();
    const labels = fake.updates.slice(updatesBefore).filter((u) => ["ZhangWei", "ChenJing"].includes(u.userids[0]));
    expect(labels.map((u) => u.button.replace_name)).toEqual([`已由${winner}同意`, `已由${winner}同意`]);
  });

  test("one approver tapping two requests' cards in the same second decides both (no over-eager de-duplication)", async () => {
    const first = await submitAndDeliver();
    const firstCard = latestCard(fake, "XuFeng")!.button("提交评估意见");
    const second = await submitAndDeliver();
    const secondCard = latestCard(fake, "XuFeng")!.button("提交评估意见");
    const at = 1_790_200_000;
    const [a, b] = await Promise.all([
      wecom.click("XuFeng", firstCard, fake.issueResponseCode(), at),
      wecom.click("XuFeng", secondCard, fake.issueResponseCode(), at),
    ]);
    expect([a.reply!.MsgType, b.reply!.MsgType]).toEqual(["update_button", "update_button"]);
    expect((await request(first.id)).currentStage).toBe("approve");
    expect((await request(second.id)).currentStage).toBe("approve");
  });

  test("a tap on someone else's card, or on a card whose stage has moved on, is refused, explained and audited", async () => {
    const { id } = await submitAndDeliver();
    const xufeng = latestCard(fake, "XuFeng")!.button("提交评估意见");
    const stolen = await wecom.click("LinNa", xufeng, fake.issueResponseCode());
    expect(stolen.reply).toMatchObject({ MsgType: "text", Content: "这张卡片是发给徐峰的，您不能代为处理" });
    expect((await request(id)).currentStage).toBe("evaluate");

    await wecom.click("XuFeng", xufeng, fake.issueResponseCode());
    const late = await wecom.click("XuFeng", xufeng, fake.issueResponseCode());
    expect(late.reply!.Content).toBe("「需求评估」已由徐峰处理");
    const stranger = await wecom.click("NoSuchUser", xufeng, fake.issueResponseCode());
    expect(stranger.reply!.Content).toBe("您还不在云审通讯录中，请联系管理员");
    const forged = await wecom.click("XuFeng", { taskId: "ys-1", key: "ys1:approve:AAAAAAAAAAAAAAAA" }, fake.issueResponseCode());
    expect(forged.reply!.Content).toBe("这张卡片已失效");
    const junk = await wecom.click("XuFeng", { taskId: "ys-1", key: "whatever" }, fake.issueResponseCode());
    expect(junk.reply!.Content).toContain("无法识别的卡片按钮");

    const refused = await t.db.select().from(auditLog).where(and(eq(auditLog.channel, "wecom"), eq(auditLog.outcome, "refused")));
    expect(refused.map((r) => (r.details as { code: string }).code)).toEqual(
      expect.arrayContaining(["forbidden", "already_decided", "not_found", "unknown_button"]),
    );
    // Earlier tests in this file leave refusals of their own, so the stolen tap is found by its request.
    expect(refused.find((r) => (r.details as { code: string }).code === "forbidden" && r.requestId === id)).toMatchObject({
      actorId: "linna",
      channel: "wecom",
    });
  });

  test("驳回 asks for the reason in the chat and rejects once it is given", async () => {
    const { id } = await submitAndDeliver();
    await wecom.click("XuFeng", latestCard(fake, "XuFeng")!.button("提交评估意见"), fake.issueResponseCode());
    await deliver();
    const asked = await wecom.click("ZhangWei", latestCard(fake, "ZhangWei")!.button("驳回"), fake.issueResponseCode());
    expect(asked.reply!.Content).toContain("请回复驳回");
    expect(asked.reply!.Content).toContain(`1. ${COMMON_REASONS.reject[0]}`);
    expect((await request(id)).status).toBe("in_progress");

    const done = await wecom.text("ZhangWei", "1");
    expect(done.reply!.Content).toMatch(/^已驳回/);
    expect((await request(id)).status).toBe("rejected");
    const detail = ok(await t.show("zhangwei", id));
    const decided = detail.stages.find((s: { stage: string }) => s.stage === "approve").tasks.find((x: { userId: string }) => x.userId === "zhangwei");
    expect(decided).toMatchObject({ status: "rejected", note: COMMON_REASONS.reject[0] });

    await deliver();
    // The applicant hears the result; the other manager's card shows who decided.
    const toApplicant = fake.sent.filter((m) => m.touser === "YangFan").at(-1);
    expect(JSON.stringify(toApplicant)).toContain("申请已驳回");
    expect(fake.updates.at(-1)).toMatchObject({ button: { replace_name: "已由张伟驳回" } });
    // A reason after the fact is just text: the help comes back.
    expect((await wecom.text("ZhangWei", "还有别的理由")).reply!.Content).toContain("云审可以回答这些消息");
  });

  test("退回 with a typed reason, and 取消 leaves the card usable", async () => {
    const { id } = await submitAndDeliver();
    const button = latestCard(fake, "XuFeng")!.button("退回");
    await wecom.click("XuFeng", button, fake.issueResponseCode());
    expect((await wecom.text("XuFeng", "取消")).reply!.Content).toBe("已取消，卡片仍可继续处理");
    await wecom.click("XuFeng", button, fake.issueResponseCode());
    const done = await wecom.text("XuFeng", "系统名称与立项批复不一致，请核对");
    expect(done.reply!.Content).toBe("已退回申请人修改");
    expect((await request(id)).status).toBe("returned");
  });

  test("a whole application goes from submission to go-live by card taps, and the 附件6 on the portal (004 第十七条(二))", async () => {
    await t.recordCryptoAssessment("yangfan");
    const { id } = await submitAndDeliver();
    const wecomIds: Record<string, string> = { xufeng: "XuFeng", linna: "LinNa", zhangwei: "ZhangWei", chenjing: "ChenJing", yangfan: "YangFan", guojun: "GuoJun" };
    const walked: string[] = [];
    for (let step = 0; step < 20; step++) {
      const detail = ok(await t.show("zhangwei", id));
      if (detail.status !== "in_progress") break;
      // The first open stage someone holds: 发放核查 runs alongside the deployment (004 第十七条(一)) and is tapped first.
      const stage = detail.stages.find((s: { status: string; tasks: { status: string }[] }) => s.status === "open" && s.tasks.some((x) => x.status === "pending"));
      const holder = stage.tasks.find((x: { status: string }) => x.status === "pending").userId as string;
      const card = latestCard(fake, wecomIds[holder]!)!;
      walked.push(`${stage.stage}:${holder}`);
      if (stage.stage === "request_security_test") {
        // 004 第十七条(二): the application is the filled-in 附件6, which a tap cannot carry: the card offers no
        // approve button that would be refused, only the request's page on the portal (signed in by WeCom).
        expect(card.buttons.map((b) => b.text)).toEqual(["提交安全检测申请"]);
        const button = card.buttons[0] as { key?: string; url?: string };
        expect(button.key).toBeUndefined();
        const target = new URL(new URL(button.url!).searchParams.get("redirect_uri")!);
        expect(`${target.origin}${target.pathname}`).toBe(`${PUBLIC_URL}/login/wecom`);
        expect(target.searchParams.get("next")).toBe(`/requests/${detail.code}#actions`);
        ok(await t.act(holder, id, { action: "approve", stage: "request_security_test", form: securityTestForm({ contact: { name: "杨帆", mobile: "13800000002" } }) }));
        await deliver();
        continue;
      }
      const res = await wecom.click(wecomIds[holder]!, { taskId: card.taskId, key: card.buttons[0]!.key }, fake.issueResponseCode());
      expect(res.reply?.MsgType, JSON.stringify(res.reply)).toBe("update_button");
      await deliver();
    }
    expect((await request(id)).status).toBe("completed");
    expect(walked.map((w) => w.split(":")[0])).toEqual([
      "evaluate",
      "approve",
      "provision",
      "backup_check",
      "confirm_delivery",
      "verify_delivery",
      "deploy",
      "request_security_test",
      "security_test",
      "go_live",
    ]);
    expect(JSON.stringify(fake.sent.filter((m) => m.touser === "YangFan").at(-1))).toContain("申请已办结");
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});

describe("details page", () => {
  /**
   * A card's 详情 as WeCom opens it: the portal's sign-in (or an old card's /wecom/requests link) with WeCom's
   * code, followed through its redirects with the session cookie it hands out, as a browser would.
   */
  async function open(code: string, query: string, legacy = false) {
    let res = await t.app.request(legacy ? `/wecom/requests/${code}${query}` : `/login/wecom?${new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(query)), next: `/requests/${code}` })}`);
    let cookie = "";
    for (let hops = 0; hops < 3 && res.status >= 300 && res.status < 400 && res.headers.get("location")!.startsWith("/"); hops++) {
      cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
      res = await t.app.request(res.headers.get("location")!, { headers: cookie ? { cookie } : {} });
    }
    return { status: res.status, body: await res.text(), location: res.headers.get("location") };
  }

  test("opened from a card, the portal signs the member in by WeCom's OAuth and shows the request; the code is single-use", async () => {
    await t.registerSystem("yangfan", "人社<script>alert(1)</script>系统");
    const { code } = ok(await t.submit("yangfan", { ...sampleForm(), systemName: "人社<script>alert(1)</script>系统" }), 201);
    const oauth = fake.issueOAuthCode("YangFan");
    const res = await open(code, `?code=${oauth}&state=ys`);
    expect(res.status).toBe(200);
    expect(res.body).toContain("需求评估");
    expect(res.body).toContain("3 台 / 16 核 / 48G 内存 / 400G 存储");
    expect(res.body).toContain("人社&lt;script&gt;alert(1)&lt;/script&gt;系统");
    expect(res.body).not.toContain("<script>alert(1)");
    // The code is single-use: a reload has to come through WeCom again.
    const again = await open(code, `?code=${oauth}&state=ys`);
    expect(again.status).toBe(403);
    expect(again.body).toContain("企业微信登录已失效");
    const [signIn] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, "web.sign_in"), eq(auditLog.actorId, "yangfan")));
    expect(signIn).toMatchObject({ channel: "web", details: { via: "wecom_oauth" } });
  });

  test("an old card's /wecom/requests link still opens the request, now on the portal", async () => {
    const { code } = ok(await t.submit("yangfan", sampleForm()), 201);
    const res = await open(code, `?code=${fake.issueOAuthCode("YangFan")}&state=ys`, true);
    expect(res.status).toBe(200);
    expect(res.body).toContain(`${code} · 梅州市人力资源和社会保障局`);
  });

  test("the same visibility as the API: another unit's applicant sees nothing, and a bad link is refused", async () => {
    const { code } = ok(await t.submit("yangfan", sampleForm()), 201);
    const other = await open(code, `?code=${fake.issueOAuthCode("HeXin")}&state=ys`);
    expect(other.status).toBe(404);
    expect(other.body).toContain("不存在或您无权查看");
    // Without a code the portal starts WeCom's OAuth itself.
    const start = await open(code, "");
    expect(start.status).toBe(302);
    expect(start.location).toMatch(new RegExp(`^${OAUTH_BASE}/connect/oauth2/authorize\\?`));
    expect((await open(code, `?code=${encodeURIComponent("<bad>")}`)).status).toBe(400);
    expect((await open(code, `?code=${fake.issueOAuthCode("Stranger")}`)).status).toBe(403);
  });
});

describe("delivery", () => {
  test("a card still waiting after 20 hours is sent again, and the decision greys out the fresh copy", async () => {
    const { id } = await submitAndDeliver();
    const first = latestCard(fake, "XuFeng")!;
    t.clock.set(new Date(t.clock.now().getTime() + 25 * 3_600_000).toISOString());
    await channel.sender.upkeep!();
    await channel.sender.upkeep!(); // a second round adds nothing
    await deliver();
    const fresh = latestCard(fake, "XuFeng")!;
    expect(fresh.taskId).not.toBe(first.taskId);
    expect(fake.sent.filter((m) => m.template_card?.task_id === fresh.taskId)).toHaveLength(1);
    // The token is the task's: the old card's buttons still work, and so do the new one's.
    expect(fresh.button("提交评估意见").key).toBe(first.button("提交评估意见").key);
    const [freshRow] = await t.db.select().from(wecomCards).where(eq(wecomCards.wecomTaskId, fresh.taskId));

    ok(await t.act("linna", id, { action: "approve", note: "评估通过" }));
    const updatesBefore = fake.updates.length;
    await deliver();
    const mine = fake.updates.slice(updatesBefore).filter((u) => u.userids[0] === "XuFeng");
    // Only the fresh card has a live code; the lapsed one is not tried (it would fail with 60140).
    expect(mine).toEqual([expect.objectContaining({ response_code: freshRow!.responseCode, button: { replace_name: "已由林娜办理" } })]);
  });

  test("a card handed to WeCom just before a crash is not delivered twice", async () => {
    ok(await t.submit("yangfan", sampleForm()), 201);
    const [row] = await t.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.status, "pending"), eq(outbox.userId, "xufeng")));
    await deliver();
    const delivered = fake.sent.filter((m) => m.template_card?.task_id === `ys-${row!.id}`);
    expect(delivered).toHaveLength(1);
    // What a crash between the send and recording it leaves: the row still "sending", its lease lapsed.
    await t.db.delete(wecomCards).where(eq(wecomCards.outboxId, row!.id));
    await t.db.update(outbox).set({ status: "sending", nextAttemptAt: t.clock.now() }).where(eq(outbox.id, row!.id));
    await deliver();
    expect(fake.sent.filter((m) => m.template_card?.task_id === `ys-${row!.id}`)).toHaveLength(1);
    const [after] = await t.db.select().from(outbox).where(eq(outbox.id, row!.id));
    expect(after).toMatchObject({ status: "sent", attempts: 2 });
    // The card is on record again (without the lost response code), so its clicks and re-issue still work.
    const cards = await t.db.select().from(wecomCards).where(eq(wecomCards.outboxId, row!.id));
    expect(cards).toMatchObject([{ wecomTaskId: `ys-${row!.id}`, responseCode: null }]);
  });
});

describe("chat", () => {
  beforeEach(() => {
    t.clock.set("2026-11-23T01:00:00Z");
  });

  test("我的申请, 查询, 待办 and the help answer in the chat", async () => {
    const { code } = await submitAndDeliver();
    const mine = (await wecom.text("YangFan", "我的申请")).reply!.Content as string;
    expect(mine).toMatch(/^您有 \d+ 个办理中的申请：/);
    expect(mine).toContain(code);

    const shown = (await wecom.text("YangFan", `查询 ${code}`)).reply!.Content as string;
    expect(shown).toContain("当前环节：需求评估");
    expect(shown).toMatch(/处理人：(徐峰、林娜|林娜、徐峰)\n/);
    expect(shown).toContain("剩 3 个工作日");
    expect(shown).toMatch(/\n最近：\d{4}-\d{2}-\d{2} 提交申请$/);
    // Forgiving: full-width characters, lower case, no prefix, the bare number.
    const number = Number(code.slice(-5));
    for (const typed of [`查询　${code.toLowerCase()}`, `查 ${code.slice(3)}`, `查询${number}`, code])
      expect((await wecom.text("YangFan", typed)).reply!.Content, typed).toContain("当前环节：需求评估");
    expect((await wecom.text("YangFan", "查询 YS-2026-99999")).reply!.Content).toBe("没有找到申请 YS-2026-99999，或您无权查看");
    expect((await wecom.text("YangFan", "查询")).reply!.Content).toContain("请在“查询”后写申请编号");

    const todo = (await wecom.text("XuFeng", "待办")).reply!.Content as string;
    expect(todo).toContain(code);
    expect((await wecom.text("YangFan", "你好")).reply!.Content).toContain("云审可以回答这些消息");
    expect((await wecom.text("Stranger", "我的申请")).reply!.Content).toContain("不在云审通讯录中");
  });

  test("催办 reaches the holders once per working day, and a retried message nudges once", async () => {
    const { code, id } = await submitAndDeliver();
    const sentBefore = fake.sent.length;
    const first = await wecom.text("YangFan", `催办 ${code}`, "777001");
    expect(first.reply!.Content).toBe("已催办「需求评估」的处理人");
    // WeCom retrying the same message (same MsgId) changes nothing and answers the same.
    expect((await wecom.text("YangFan", `催办 ${code}`, "777001")).reply!.Content).toBe("已催办「需求评估」的处理人");
    expect((await wecom.text("YangFan", `催办 ${code}`)).reply!.Content).toContain("今天已催办过");
    await deliver();
    const nudges = fake.sent.slice(sentBefore).filter((m) => JSON.stringify(m).includes("催办"));
    expect(nudges.map((m) => m.touser).sort()).toEqual(["LinNa", "XuFeng"]);
    const audited = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "request.nudge")));
    // One nudge, and one refusal (the second message of the day); the retried message added nothing.
    expect(audited.map((a) => a.outcome).sort()).toEqual(["ok", "refused"]);
    // The next working day (2026-11-24 is a Tuesday) allows one more.
    t.clock.set("2026-11-24T01:00:00Z");
    expect((await wecom.text("YangFan", `催办 ${code}`)).reply!.Content).toBe("已催办「需求评估」的处理人");
    // Someone with no part in the request may not.
    expect((await wecom.text("HeXin", `催办 ${code}`)).reply!.Content).toContain("只有申请单位");
  });

  test("replies stay within WeCom's 2048 bytes", async () => {
    for (let i = 0; i < 12; i++) {
      const systemName = `梅州市自然资源局不动产登记信息管理平台第${i}期扩容工程`;
      await t.registerSystem("zhaolei", systemName);
      ok(await t.submit("zhaolei", { ...sampleForm(), systemName }), 201);
    }
    const reply = (await wecom.text("ZhaoLei", "我的申请")).reply!.Content as string;
    expect(Buffer.byteLength(reply, "utf8")).toBeLessThanOrEqual(2048);
    expect(reply).toContain("另有");
  });
});

describe("API problems", () => {
  test("an untrusted server IP (60020) shows in /healthz and the message waits instead of being lost", async () => {
    // Past the earlier tests' per-member send limits, with the queue empty.
    t.clock.set("2026-12-01T01:00:00Z");
    await deliver();
    // Both providers' cards meet the refusal.
    fake.inject("send", 60020, 60020);
    ok(await t.submit("yangfan", sampleForm()), 201);
    await deliver();
    const health = ok(await t.call(null, "GET", "/healthz"));
    expect(health.status).toBe("ok");
    expect(health.wecom.ok).toBe(false);
    expect(health.wecom.problem.errcode).toBe(60020);
    expect(health.wecom.problem.message).toContain("可信IP");
    const refused = await t.db.select().from(outbox).where(and(eq(outbox.status, "pending"), like(outbox.lastError, "%60020%")));
    expect(refused).toHaveLength(2);
    expect(logLines.join("\n")).not.toContain(fake.secret);
    // Once the operator has fixed it, a later round delivers and health recovers. (Later by hours: the
    // earlier tests sent the providers more cards within the hour than WeCom's per-member limit allows.)
    t.clock.set(new Date(t.clock.now().getTime() + 2 * 3_600_000).toISOString());
    await deliver();
    expect(ok(await t.call(null, "GET", "/healthz")).wecom.ok).toBe(true);
    const after = await t.db.select().from(outbox).where(inArray(outbox.id, refused.map((r) => r.id)));
    expect(after.map((r) => r.status)).toEqual(["sent", "sent"]);
  });
});
