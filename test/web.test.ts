import { and, count, eq, like } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, files, loginLinks, webSessions } from "../db/schema";
import { ok, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

let t: WebTestApp;
beforeAll(async () => {
  t = await createWebTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** Everything a refused step must leave as it was: audit entries, sessions, spent links. */
async function written() {
  const [audit] = await t.db.select({ n: count() }).from(auditLog);
  const [sessions] = await t.db.select({ n: count() }).from(webSessions);
  const spent = await t.db.select({ usedAt: loginLinks.usedAt }).from(loginLinks);
  return { audit: audit!.n, sessions: sessions!.n, spent: spent.filter((l) => l.usedAt).length };
}

describe("the portal is mounted at / without taking the API's answers (issue 12)", () => {
  test("GET / sends a visitor to the sign-in page, which says how to sign in", async () => {
    const a = t.agent();
    const home = await a.get("/");
    expect(home.status).toBe(303);
    expect(home.location).toBe("/login?next=%2F");
    const login = await a.get(home.location!);
    expect(login.status).toBe(200);
    expect(login.headers.get("content-type")).toMatch(/text\/html/);
    expect(login.html).toContain("yunshen login-link --user");
  });

  test("an unknown /api path is still the JSON 404, /healthz and /openapi.json still the API's", async () => {
    const api = await t.call("lihua", "GET", "/api/nope");
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe("not_found");
    expect((await t.call(null, "GET", "/healthz")).body.status).toBe("ok");
    expect((await t.call(null, "GET", "/openapi.json")).body.openapi).toBe("3.1.0");
  });

  test("an unknown page is a Chinese 404 page in the layout, not JSON", async () => {
    const a = await t.signedIn("lihua");
    const res = await a.get("/no-such-page");
    expect(res.status).toBe(404);
    expect(res.html).toContain("没有这个页面");
    expect(res.html).toContain("李华（梅州市梅县区教育局）");
  });

  test("the stylesheets are served by the service itself, cached for a year", async () => {
    const a = t.agent();
    const login = await a.get("/login");
    const hrefs = [...login.html.matchAll(/href="(\/assets\/[^"]+)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"));
    expect(hrefs.map((h) => h.split("?")[0])).toEqual(["/assets/weui.min.css", "/assets/portal.css"]);
    for (const href of hrefs) {
      const css = await a.get(href);
      expect(css.status).toBe(200);
      expect(css.headers.get("cache-control")).toContain("max-age=31536000");
      expect(css.headers.get("content-type")).toMatch(/text\/css/);
    }
    expect(login.html).not.toMatch(/https?:\/\/(?!localhost)/);
  });
});

describe("signing in with a one-time link (issue 12 Signing in)", () => {
  test("the link's page names the person and does not use the link; its button signs in", async () => {
    const token = await t.linkFor("lihua");
    const a = t.agent();
    for (let i = 0; i < 2; i++) {
      // A chat app's link preview fetches the GET: it must leave the link usable.
      const page = await a.get(`/login/${token}`);
      expect(page.status).toBe(200);
      expect(page.html).toContain("以 李华（梅州市梅县区教育局）身份登录");
    }
    const signedIn = await a.post(`/login/${token}`, {}, { csrf: false });
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe("/");
    const cookie = signedIn.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^ys_session=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).not.toContain("Secure");
    const home = await a.get("/");
    expect(home.status).toBe(200);
    expect(home.html).toContain("待办");
    expect(home.html).toContain("李华（梅州市梅县区教育局）");
    // Only the cookie secret's hash is stored.
    const rows = await t.db.select().from(webSessions).where(eq(webSessions.userId, "lihua"));
    expect(rows.map((r) => r.idHash)).not.toContain(a.cookie!.split("=")[1]);
  });

  test("a used link is refused with a clear page and nothing written", async () => {
    const token = await t.linkFor("wangfang");
    expect((await t.agent().post(`/login/${token}`, {}, { csrf: false })).status).toBe(303);
    const before = await written();
    for (const res of [await t.agent().get(`/login/${token}`), await t.agent().post(`/login/${token}`, {}, { csrf: false })]) {
      expect(res.status).toBe(401);
      expect(res.html).toContain("该登录链接已经用过");
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    expect(await written()).toEqual(before);
  });

  test("two POSTs racing with one link: exactly one signs in", async () => {
    const token = await t.linkFor("hexin");
    const results = await Promise.all([0, 1, 2].map(() => t.agent().post(`/login/${token}`, {}, { csrf: false })));
    expect(results.map((r) => r.status).sort()).toEqual([303, 401, 401]);
    const sessions = await t.db.select().from(webSessions).where(eq(webSessions.userId, "hexin"));
    expect(sessions).toHaveLength(1);
    const signIns = await t.db.select().from(auditLog).where(eq(auditLog.actorId, "hexin"));
    expect(signIns.filter((e) => e.action === "web.sign_in")).toHaveLength(1);
  });

  test("an expired link (after 24 h) and an unknown one are refused, nothing written", async () => {
    const token = await t.linkFor("luoqiang");
    const start = t.clock.now().toISOString();
    t.clock.set(new Date(t.clock.now().getTime() + 24 * 3_600_000 + 1000).toISOString());
    try {
      const before = await written();
      const expired = await t.agent().post(`/login/${token}`, {}, { csrf: false });
      expect(expired.status).toBe(401);
      expect(expired.html).toContain("已过期");
      const unknown = await t.agent().get(`/login/ysl_${"A".repeat(43)}`);
      expect(unknown.status).toBe(401);
      expect(unknown.html).toContain("登录链接无效");
      expect((await t.agent().get("/login/garbage")).html).toContain("登录链接无效");
      expect(await written()).toEqual(before);
    } finally {
      t.clock.set(start);
    }
  });

  test("sign-in and sign-out are audited as the person, on channel web", async () => {
    const a = await t.signedIn("yangfan");
    const out = await a.post("/logout");
    expect(out.status).toBe(303);
    expect(out.location).toBe("/login?reason=bye");
    expect((await a.get(out.location!)).html).toContain("您已退出云审");
    const entries = await t.db.select().from(auditLog).where(like(auditLog.action, "web.%"));
    const mine = entries.filter((e) => e.actorId === "yangfan").map((e) => ({ action: e.action, channel: e.channel, outcome: e.outcome, via: e.details.via }));
    expect(mine).toEqual([
      { action: "web.sign_in", channel: "web", outcome: "ok", via: "link" },
      { action: "web.sign_out", channel: "web", outcome: "ok", via: "link" },
    ]);
    // The old cookie no longer opens anything.
    const after = await a.get("/");
    expect(after.status).toBe(303);
  });
});

describe("sessions and CSRF", () => {
  test("a session idle longer than WEB_SESSION_IDLE_HOURS ends: the next page asks to sign in again", async () => {
    const a = await t.signedIn("zhaolei");
    const start = t.clock.now().toISOString();
    try {
      // Seven hours later the session is still there, and that visit restarts the idle time.
      t.clock.set(new Date(t.clock.now().getTime() + 7 * 3_600_000).toISOString());
      expect((await a.get("/")).status).toBe(200);
      t.clock.set(new Date(t.clock.now().getTime() + 7 * 3_600_000).toISOString());
      expect((await a.get("/")).status).toBe(200);
      t.clock.set(new Date(t.clock.now().getTime() + 8 * 3_600_000 + 60_000).toISOString());
      const res = await a.get("/requests/YS-2026-00001");
      expect(res.status).toBe(303);
      expect(res.location).toBe("/login?reason=expired&next=%2Frequests%2FYS-2026-00001");
      const page = await a.get(res.location!);
      expect(page.html).toContain("登录已超时");
    } finally {
      t.clock.set(start);
    }
  });

  test("a POST without the CSRF token (or with another session's) is refused with a 403 page, nothing written", async () => {
    const a = await t.signedIn("chenjing");
    const other = await t.signedIn("zhangwei");
    const before = await written();
    const missing = await a.post("/logout", {}, { csrf: false });
    expect(missing.status).toBe(403);
    expect(missing.html).toContain("缺少校验码");
    const foreign = await a.post("/logout", { _csrf: other.csrf! });
    expect(foreign.status).toBe(403);
    expect(await written()).toEqual(before);
    expect((await a.get("/")).status).toBe(200);
  });

  test("a POST from another site (its Origin) is refused before anything runs", async () => {
    const token = await t.linkFor("zhongli");
    const before = await written();
    const res = await t.agent().post(`/login/${token}`, {}, { csrf: false, headers: { origin: "https://evil.example" } });
    expect(res.status).toBe(403);
    expect(await written()).toEqual(before);
  });
});

describe("the request page and its actions (issue 12 Everyone / Approvers)", () => {
  /** A fresh 云资源申请 by 李华 (梅县区教育局), waiting for 黄敏 of the 梅县区 bureau. */
  async function filed() {
    const form = sampleForm();
    form.attachments.push(await t.attachment("lihua", "plan", "迁云上云实施方案.pdf"));
    const res = ok(await t.submit("lihua", form), 201);
    expect(res.currentStage).toBe("county_review");
    return { id: res.id as number, code: res.code as string };
  }
  const stageOf = async (id: number) => (await t.show("zhangwei", id)).body.currentStage?.stage ?? null;

  test("the approver's 待办 lists it with its working days left; the page shows the form in official words; 同意 moves it on", async () => {
    const r = await filed();
    const a = await t.signedIn("huangmin");
    const home = await a.get("/");
    expect(home.html).toContain(`/requests/${r.code}`);
    expect(home.html).toMatch(/剩余 \d+ 个工作日/);
    const page = await a.get(`/requests/${r.code}`);
    expect(page.status).toBe(200);
    for (const words of ["系统名称", "建设单位", "梅州市梅县区教育局", "网络区域", "政务外网", "应用服务器", "内存(GB)", "合计：3 台", "迁云上云实施方案.pdf", "办理环节", "县级"])
      expect(page.html, words).toContain(words);
    expect(page.html).not.toContain("gov_extranet");
    // The plan is a real file the approver can open from the page.
    const plan = /href="(\/files\/f_[^"]+)"/.exec(page.html)![1]!;
    const download = await a.get(plan);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/pdf");
    expect(download.headers.get("content-disposition")).toContain(encodeURIComponent("迁云上云实施方案.pdf"));
    expect(page.html).toContain('value="approve"');
    const done = await a.post(`/requests/${r.code}/actions`, { action: "approve", stageRunId: /name="stageRunId" value="(\d+)"/.exec(page.html)![1]!, note: "同意上报" });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`/requests/${r.code}?done=approve`);
    expect((await a.get(done.location!)).html).toContain("已提交您的意见");
    expect(await stageOf(r.id)).not.toBe("county_review");
    const [entry] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, r.id), eq(auditLog.action, "request.approve")));
    expect(entry).toMatchObject({ actorId: "huangmin", channel: "web", outcome: "ok" });
  });

  test("someone of another unit cannot open the request (404 page) nor act on it, and nothing is written", async () => {
    const r = await filed();
    const stranger = await t.signedIn("hexin");
    const before = await written();
    const page = await stranger.get(`/requests/${r.code}`);
    expect(page.status).toBe(404);
    expect(page.html).toContain("不存在或您无权查看");
    expect(page.html).not.toContain("梅县区教育资助管理系统");
    const act = await stranger.post(`/requests/${r.code}/actions`, { action: "comment", text: "看看" });
    expect(act.status).toBe(404);
    expect(await written()).toEqual(before);
    expect((await stranger.get("/requests/YS-2099-99999")).status).toBe(404);
    const [plan] = await t.db.select({ id: files.id }).from(files).where(eq(files.requestId, r.id));
    const download = await stranger.get(`/files/${plan!.id}`);
    expect(download.status).toBe(404);
    expect(download.html).toContain("文件不存在或您无权查看");
    expect((await stranger.get("/files/../etc/passwd")).status).toBe(404);
    expect((await stranger.get("/requests/not-a-code")).status).toBe(404);
  });

  test("an action the engine refuses shows its Chinese message on the page; a missing reason is asked for in plain words", async () => {
    const r = await filed();
    const approver = await t.signedIn("huangmin");
    const page = await approver.get(`/requests/${r.code}`);
    const runId = /name="stageRunId" value="(\d+)"/.exec(page.html)![1]!;
    const before = await written();
    const noReason = await approver.post(`/requests/${r.code}/actions`, { action: "reject", stageRunId: runId, reason: "  " });
    expect(noReason.status).toBe(400);
    expect(noReason.html).toContain("请填写驳回理由");
    expect(noReason.html).toContain("梅县区教育资助管理系统");
    expect(await written()).toEqual(before);
    // The applicant cannot decide the bureau's stage: the engine says so, and the stage stays where it was.
    const applicant = await t.signedIn("lihua");
    const refused = await applicant.post(`/requests/${r.code}/actions`, { action: "approve", stageRunId: runId });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.html).toMatch(/class="ys-error"[^>]*>[^<]*[\u4e00-\u9fa5]/);
    expect(await stageOf(r.id)).toBe("county_review");
  });

  test("转交 offers the others of the holder's role; the stage moves to the one chosen", async () => {
    const filed = ok(await t.submit("yangfan", sampleForm()), 201);
    expect(filed.currentStage).toBe("evaluate");
    const xufeng = await t.signedIn("xufeng");
    const page = await xufeng.get(`/requests/${filed.code}`);
    const select = /<select name="toUserId">(.*?)<\/select>/.exec(page.html)![1]!;
    expect([...select.matchAll(/<option value="([a-z]+)">([^<]+)<\/option>/g)].map((m) => `${m[1]} ${m[2]}`)).toEqual(["linna 林娜（政务云梅州节点运营商（数字广东））"]);
    const runId = /name="stageRunId" value="(\d+)"/.exec(page.html)![1]!;
    expect((await xufeng.post(`/requests/${filed.code}/actions`, { action: "transfer", stageRunId: runId, toUserId: "linna", reason: "请林娜评估" })).status).toBe(303);
    const linna = await t.signedIn("linna");
    expect((await linna.get("/")).html).toContain(`/requests/${filed.code}`);
    expect((await xufeng.get(`/requests/${filed.code}`)).html).toContain("徐峰：已转交");
    // 黄敏 is the only one of 梅县区's data bureau: nobody to hand 县级数据局初审 to, so no 转交 is offered.
    const county = ok(await t.submit("lihua", sampleForm()), 201);
    const huangmin = await t.signedIn("huangmin");
    const bureauPage = (await huangmin.get(`/requests/${county.code}`)).html;
    expect(bureauPage).toContain('value="approve"');
    expect(bureauPage).not.toContain('value="transfer"');
  });

  test("the applicant's 催办, 评论 and 撤回 from the page; the comment shows in the history", async () => {
    const r = await filed();
    const a = await t.signedIn("lihua");
    const page = await a.get(`/requests/${r.code}`);
    for (const label of ["催办", "发表评论", "撤回申请"]) expect(page.html).toContain(label);
    expect(page.html).not.toContain('value="approve"');
    expect((await a.post(`/requests/${r.code}/actions`, { action: "nudge" })).status).toBe(303);
    expect((await a.post(`/requests/${r.code}/actions`, { action: "comment", text: "请尽快审核，谢谢" })).status).toBe(303);
    const after = await a.get(`/requests/${r.code}`);
    expect(after.html).toContain("请尽快审核，谢谢");
    expect((await a.post(`/requests/${r.code}/actions`, { action: "withdraw", reason: "重复提交" })).status).toBe(303);
    expect((await t.show("lihua", r.id)).body.status).toBe("withdrawn");
  });

  test("hostile input on the forms: NUL, bidi controls and huge bodies are refused with a page, nothing written", async () => {
    const r = await filed();
    const a = await t.signedIn("lihua");
    await a.get(`/requests/${r.code}`);
    const before = await written();
    for (const text of ["abc\u0000def", "正常\u202E文字"]) {
      const res = await a.post(`/requests/${r.code}/actions`, { action: "comment", text });
      expect(res.status).toBe(400);
      expect(res.html).toMatch(/不允许的(控制|双向文本控制)字符/);
    }
    const huge = await a.post(`/requests/${r.code}/actions`, { action: "comment", text: "长".repeat(100_000) });
    expect(huge.status).toBe(413);
    expect(huge.html).toContain("超过");
    const tooLong = await a.post(`/requests/${r.code}/actions`, { action: "comment", text: "长".repeat(3000) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.html).toContain("不能超过 2000 字");
    const json = await a.raw("POST", `/requests/${r.code}/actions`, { form: "{}", headers: { "content-type": "application/json" } });
    expect(json.status).toBe(415);
    const badQuery = await a.get(`/requests/${r.code}?x=%00`);
    expect(badQuery.status).toBe(400);
    expect(await written()).toEqual(before);
  });
});

describe("signing in through WeCom (issue 12 Signing in)", () => {
  let w: WebTestApp;
  // WeCom's answer to a code, single-use as WeCom's are; the real client against the fake server is in wecom.test.ts.
  const codes = new Map<string, string>();
  beforeAll(async () => {
    w = await createWebTestApp({
      web: {
        publicUrl: "https://yunshen.example.gov.cn",
        wecom: {
          corpId: "wwcorp",
          agentId: 1000002,
          oauthBase: "https://open.weixin.qq.com",
          webLoginBase: "https://login.work.weixin.qq.com",
          userIdFromOAuthCode: async (code) => {
            const userid = codes.get(code) ?? null;
            codes.delete(code);
            return userid;
          },
        },
      },
    });
  });
  afterAll(async () => {
    await w?.close();
  });

  test("the sign-in page offers WeCom's QR-code login, which comes back signed in as wecom_qr; the cookie is Secure behind https", async () => {
    const login = await w.agent().get("/login?next=%2Frequests%2FYS-2026-00001");
    const href = /href="(https:\/\/login\.work\.weixin\.qq\.com\/wwlogin\/sso\/login\?[^"]+)"/.exec(login.html)![1]!.replaceAll("&amp;", "&");
    const query = Object.fromEntries(new URL(href).searchParams);
    expect(query).toMatchObject({ login_type: "CorpApp", appid: "wwcorp", agentid: "1000002", state: "ysqr" });
    expect(query.redirect_uri).toBe("https://yunshen.example.gov.cn/login/wecom?next=%2Frequests%2FYS-2026-00001");
    codes.set("qr-code-1", "ZhangWei");
    const a = w.agent();
    const back = await a.get(`/login/wecom?code=qr-code-1&state=ysqr&next=${encodeURIComponent("/requests/YS-2026-00001")}`);
    expect(back.status).toBe(303);
    expect(back.location).toBe("/requests/YS-2026-00001");
    expect(back.headers.get("set-cookie")).toContain("Secure");
    expect((await a.get("/")).html).toContain("张伟（梅州市政务服务数据管理局）");
    const [entry] = await w.db.select().from(auditLog).where(and(eq(auditLog.action, "web.sign_in"), eq(auditLog.actorId, "zhangwei")));
    expect(entry).toMatchObject({ channel: "web", details: { via: "wecom_qr" } });
  });

  test("inside WeCom's browser a visitor goes straight to WeCom's OAuth, and `next` never leads off the site", async () => {
    const a = w.agent();
    const home = await a.get("/requests/YS-2026-00001", { "user-agent": "Mozilla/5.0 (Linux; Android 14) wxwork/4.1.30 MicroMessenger/7.0.1" });
    expect(home.status).toBe(303);
    expect(home.location).toBe("/login/wecom?next=%2Frequests%2FYS-2026-00001");
    const start = await a.get(home.location!);
    expect(start.status).toBe(302);
    expect(start.location).toMatch(/^https:\/\/open\.weixin\.qq\.com\/connect\/oauth2\/authorize\?.*scope=snsapi_base/);
    codes.set("evil-next", "LiHua");
    const evil = await a.get("/login/wecom?code=evil-next&next=%2F%2Fevil.example%2F");
    expect(evil.location).toBe("/");
  });

  test("without WeCom configured /login/wecom says so; a member not in the directory is refused, nothing written", async () => {
    expect((await t.agent().get("/login/wecom?code=x")).html).toContain("本服务未配置企业微信");
    codes.set("stranger", "NoSuchMember");
    const before = await w.db.select({ n: count() }).from(webSessions);
    const res = await w.agent().get("/login/wecom?code=stranger");
    expect(res.status).toBe(403);
    expect(res.html).toContain("不在云审通讯录中");
    expect(await w.db.select({ n: count() }).from(webSessions)).toEqual(before);
  });
});
