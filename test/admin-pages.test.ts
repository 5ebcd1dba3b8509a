import { count, gt, max } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { apiTokens, auditLog, calendarYears, hosts, loginLinks, priceTables, units, users } from "../db/schema";
import { ok, sampleForm } from "./app-harness";
import { schedule2027 } from "./schedule-2027";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// Issue 12, "Operators": the pages under /admin, through app.request as a browser sends them (a session cookie,
// the CSRF token of the last page, multipart uploads). Each page calls the verb /api/admin calls.

let t: WebTestApp;
let admin: Awaited<ReturnType<WebTestApp["signedIn"]>>;
let applicant: Awaited<ReturnType<WebTestApp["signedIn"]>>;

beforeAll(async () => {
  t = await createWebTestApp();
  admin = await t.signedIn("zhoumin");
  applicant = await t.signedIn("lihua");
});
afterAll(() => t?.close());

type Agent = typeof admin;

/** A multipart body as a browser sends a form with a file: the fields, then `file` (when given). */
function multipart(fields: Record<string, string>, file?: { name: string; content: string }) {
  const boundary = "----yunshenTestBoundary7MA4YWxk";
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  if (file)
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: application/json\r\n\r\n${file.content}\r\n`);
  return { body: `${parts.join("")}--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Uploads `content` as the form's file, with the agent's CSRF token unless `csrf` is false. */
function upload(agent: Agent, path: string, content: string | null, fields: Record<string, string> = {}, csrf = true) {
  const { body, contentType } = multipart({ ...(csrf ? { _csrf: agent.csrf ?? "" } : {}), ...fields }, content === null ? undefined : { name: "file.json", content });
  return agent.raw("POST", path, { form: body, headers: { "content-type": contentType } });
}

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").replace(/\s+/g, " ");

/** The value of a hidden field of a page, as the browser would send it back. */
const hidden = (html: string, name: string) => {
  const raw = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  return raw === undefined ? undefined : raw.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
};

/** Every table an operator page writes, and the audit log: what "nothing written" compares. */
async function footprint() {
  const rows = async (table: PgTable) => (await t.db.select({ n: count() }).from(table))[0]!.n;
  return {
    units: JSON.stringify(await t.db.select().from(units).orderBy(units.id)),
    users: JSON.stringify(await t.db.select().from(users).orderBy(users.id)),
    tokens: JSON.stringify(await t.db.select({ id: apiTokens.id, revokedAt: apiTokens.revokedAt }).from(apiTokens).orderBy(apiTokens.id)),
    hosts: JSON.stringify(await t.db.select().from(hosts).orderBy(hosts.id)),
    links: await rows(loginLinks),
    calendar: await rows(calendarYears),
    prices: await rows(priceTables),
  };
}

async function auditedSince(seq: number) {
  const rows = await t.db.select().from(auditLog).where(gt(auditLog.seq, seq)).orderBy(auditLog.seq);
  return rows.map(({ action, actorId, channel, outcome }) => ({ action, actorId, channel, outcome }));
}
const lastSeq = async () => (await t.db.select({ seq: max(auditLog.seq) }).from(auditLog))[0]?.seq ?? 0;

const pingyuan = {
  units: [
    { id: "py-sjj", name: "平远县政务服务数据管理局", kind: "county", parent: "mz-sjj" },
    { id: "py-jyj", name: "平远县教育局", kind: "unit", parent: "py-sjj" },
  ],
  users: [{ id: "zhoujie", name: "周杰", unit: "py-jyj", mobile: "13807530061", roles: ["applicant"] }],
};
const badPingyuan = {
  units: [...pingyuan.units, { id: "py-gaj", name: "平远县公安局", kind: "unit", parent: "no-such-unit" }],
  users: [
    { id: "lihua", name: "李华（改名）" },
    { id: "wuqian", name: "吴倩", unit: "py-sjj", mobile: "12345", roles: ["applicant"] },
    { id: "sunli", name: "孙丽", unit: "py-sjj", mobile: "13807530063", roles: ["boss"] },
  ],
};
const priceTable = { version: "2026-v1", effectiveFrom: "2026-01-01", source: "2026 年服务目录单价", prices: { vm: { vcpuDay: 0.8 } } };

describe("who may open /admin", () => {
  test("the admin sees every operator area", async () => {
    const page = await admin.get("/admin");
    expect(page.status).toBe(200);
    for (const label of ["通讯录", "访问令牌", "主机凭据", "工作日历", "单价表"]) expect(page.html).toContain(label);
    // The nav names 系统管理 for the admin.
    expect(page.html).toContain('href="/admin"');
  });

  test.each(["/admin", "/admin/directory", "/admin/tokens", "/admin/hosts", "/admin/calendar", "/admin/prices"])("an applicant gets a 403 page at %s", async (path) => {
    const page = await applicant.get(path);
    expect(page.status).toBe(403);
    expect(page.html).toContain("无权操作");
    expect(page.html).toContain("只有系统管理员");
  });

  test("an applicant's upload is refused (403 page), nothing is written, the refusal is audited", async () => {
    await applicant.get("/");
    const before = await footprint();
    const seq = await lastSeq();
    const page = await upload(applicant, "/admin/prices", JSON.stringify(priceTable));
    expect(page.status).toBe(403);
    expect(text(page.html)).toContain("只有系统管理员或统筹管理单位可以加载单价表");
    expect(await footprint()).toEqual(before);
    expect(await auditedSince(seq)).toEqual([{ action: "prices.load", actorId: "lihua", channel: "web", outcome: "refused" }]);
  });

  test("the manager keeps the directory; security staff the hosts only; 系统管理 is in the nav of those who may do a task", async () => {
    const manager = await t.signedIn("zhangwei");
    expect((await manager.get("/admin/directory")).status).toBe(200);
    expect((await manager.get("/admin/hosts")).status).toBe(403);
    expect((await manager.get("/")).html).toContain('href="/admin"');
    expect((await applicant.get("/")).html).not.toContain('href="/admin"');
    const security = await t.signedIn("liuyang");
    expect((await security.get("/admin/hosts")).status).toBe(200);
    const index = await security.get("/admin");
    expect(index.html).toContain("主机凭据");
    expect(index.html).not.toContain('href="/admin/directory"');
  });
});

describe("directory import: upload, every bad row, then confirm", () => {
  test("a file with bad rows shows every one (row, id, field, reason) and writes nothing", async () => {
    await admin.get("/admin/directory");
    const before = await footprint();
    const seq = await lastSeq();
    const page = await upload(admin, "/admin/directory/check", JSON.stringify(badPingyuan));
    expect(page.status).toBe(200);
    const shown = text(page.html);
    expect(shown).toContain("通讯录文件有 3 处错误，没有导入任何数据");
    expect(shown).toContain("单位第 3 行 py-gaj 上级单位 上级单位 no-such-unit 不存在（文件和现有通讯录中都没有）");
    expect(shown).toContain("用户第 2 行 wuqian 手机号 手机号应为 11 位中国大陆手机号码，如 13800138000");
    expect(shown).toContain("用户第 3 行 sunli 角色");
    expect(page.html).not.toContain('action="/admin/directory/import"');
    expect(await footprint()).toEqual(before);
    expect(await auditedSince(seq)).toEqual([]);
  });

  test("an upload that is not a directory file is shown as such: no file, not JSON, not an object", async () => {
    const before = await footprint();
    const none = await upload(admin, "/admin/directory/check", null);
    expect(none.status).toBe(400);
    expect(text(none.html)).toContain("请选择要上传的通讯录文件");
    const broken = await upload(admin, "/admin/directory/check", "{ units: [");
    expect(broken.status).toBe(400);
    expect(text(broken.html)).toContain("通讯录文件不是有效的 JSON");
    const list = await upload(admin, "/admin/directory/check", "[1, 2]");
    expect(list.status).toBe(200);
    expect(text(list.html)).toContain("整个文件");
    expect(await footprint()).toEqual(before);
  });

  test("a valid file is checked first (nothing written), then imported on confirmation, audited as the admin on the web", async () => {
    const before = await footprint();
    const checked = await upload(admin, "/admin/directory/check", JSON.stringify(pingyuan));
    expect(checked.status).toBe(200);
    expect(text(checked.html)).toContain("检查通过，尚未导入");
    expect(text(checked.html)).toContain("单位 新增 2，更新 0，未变 0");
    expect(await footprint()).toEqual(before);

    const seq = await lastSeq();
    const content = hidden(checked.html, "content")!;
    expect(JSON.parse(content)).toEqual(pingyuan);
    const done = await upload(admin, "/admin/directory/import", null, { content });
    expect(done.status).toBe(200);
    expect(text(done.html)).toContain("通讯录已导入。单位：新增 2，更新 0，未变 0；用户：新增 1，更新 0，未变 0。");
    expect(await auditedSince(seq)).toEqual([{ action: "directory.import", actorId: "zhoumin", channel: "web", outcome: "ok" }]);
  });

  test("a confirmation whose file no longer fits the directory shows its problems and imports nothing", async () => {
    const before = await footprint();
    const stale = JSON.stringify({ users: [{ id: "newbie", name: "新人", unit: "no-such-unit", mobile: "13807530077", roles: ["applicant"] }] });
    const page = await upload(admin, "/admin/directory/import", null, { content: stale });
    expect(page.status).toBe(400);
    expect(text(page.html)).toContain("用户第 1 行 newbie 所属单位");
    expect(await footprint()).toEqual(before);
  });

  test("a POST without the CSRF token is refused before anything is read or written", async () => {
    const before = await footprint();
    const page = await upload(admin, "/admin/directory/import", null, { content: JSON.stringify(pingyuan) }, false);
    expect(page.status).toBe(403);
    expect(page.html).toContain("缺少校验码");
    expect(await footprint()).toEqual(before);
  });
});

describe("tokens, sign-in links and hosts", () => {
  test("a token is shown once; the list never shows it; revoking ends it", async () => {
    await admin.get("/admin/tokens");
    const issued = await admin.post("/admin/tokens", { userId: "hexin", name: "对接系统", expires: "30d" });
    expect(issued.status).toBe(201);
    const token = /ys_[A-Za-z0-9_-]{43}/.exec(issued.html)?.[0];
    expect(token).toBeDefined();
    expect(text(issued.html)).toContain("只显示这一次");
    expect((await t.call(null, "GET", "/api/me", undefined, { authorization: `Bearer ${token}` })).body.userId).toBe("hexin");

    const list = await admin.get("/admin/tokens?user=hexin");
    expect(list.html).not.toContain(token);
    expect(text(list.html)).toContain("对接系统");
    const id = /令牌 (tok_[0-9a-f]{8}) 已签发给 hexin/.exec(text(issued.html))?.[1];
    expect(list.html).toContain(`action="/admin/tokens/${id}/revoke"`);
    const revoked = await admin.post(`/admin/tokens/${id}/revoke`);
    expect(revoked.status).toBe(303);
    expect(revoked.location).toBe("/admin/tokens?done=revoked");
    expect((await t.call(null, "GET", "/api/me", undefined, { authorization: `Bearer ${token}` })).body.error.code).toBe("token_revoked");
  });

  test("a bad token request is shown on the page, nothing written", async () => {
    const before = await footprint();
    const page = await admin.post("/admin/tokens", { userId: "hexin", expires: "forever" });
    expect(page.status).toBe(400);
    expect(text(page.html)).toContain("有效期应为天数（如 30d）或到期日（如 2027-03-01）");
    const unknown = await admin.post("/admin/tokens", { userId: "nobody" });
    expect(unknown.status).toBe(404);
    expect(text(unknown.html)).toContain("用户 nobody 不存在");
    expect(await footprint()).toEqual(before);
  });

  test("a one-time sign-in link is shown once", async () => {
    await admin.get("/admin/tokens");
    const page = await admin.post("/admin/login-links", { userId: "hexin" });
    expect(page.status).toBe(201);
    expect(page.html).toMatch(/http:\/\/localhost\/login\/ysl_[A-Za-z0-9_-]{43}/);
  });

  test("a host is registered with its credential shown once, rotated and revoked", async () => {
    await admin.get("/admin/hosts");
    const added = await admin.post("/admin/hosts", { name: "bastion-01" });
    expect(added.status).toBe(201);
    const credential = /ysh_[A-Za-z0-9_-]{43}/.exec(added.html)?.[0];
    expect(credential).toBeDefined();
    expect(text(added.html)).toContain("/etc/yunshen/host.token");
    const again = await admin.post("/admin/hosts", { name: "bastion-01" });
    expect(again.status).toBe(409);
    expect(text(again.html)).toContain("主机 bastion-01 已登记");
    const bad = await admin.post("/admin/hosts", { name: "-bad name" });
    expect(bad.status).toBe(400);

    const rotated = await admin.post("/admin/hosts/bastion-01/rotate");
    expect(rotated.status).toBe(201);
    expect(rotated.html).not.toContain(credential);
    const revoked = await admin.post("/admin/hosts/bastion-01/revoke");
    expect(revoked.location).toBe("/admin/hosts?done=revoked");
    const list = await admin.get("/admin/hosts?done=revoked");
    expect(text(list.html)).toContain("主机凭据已吊销");
    expect(list.html).not.toMatch(/ysh_[A-Za-z0-9_-]{43}/);
  });
});

describe("the calendar and price tables", () => {
  test("next year's schedule: refused without the seven holidays, loaded with a reason, replaced by the full one", async () => {
    await admin.get("/admin/calendar");
    const before = await footprint();
    const partial = JSON.stringify({ ...schedule2027, holidays: schedule2027.holidays.slice(0, 1) });
    const refused = await upload(admin, "/admin/calendar", partial);
    expect(refused.status).toBe(400);
    expect(text(refused.html)).toContain("2027 年工作日历缺少法定节假日：春节、清明节、劳动节、端午节、中秋节、国庆节");
    expect(await footprint()).toEqual(before);

    // 系统部署 (20 working days after 2026-12-14) ends in 2027: its date waits for the year, and comes the moment
    // the page has loaded it, in this same service.
    const deployBy = async () =>
      (ok(await t.call("lihua", "POST", "/api/requests/preview", { flow: "application", form: sampleForm() })).stages as { name: string; by: string | null }[]).find(
        (s) => s.name === "系统部署",
      )!.by;
    expect(await deployBy()).toBeNull();
    const loaded = await upload(admin, "/admin/calendar", partial, { override: "通知尚未公布" });
    expect(loaded.status).toBe(200);
    expect(await deployBy()).toBe("2027-01-05"); // 20 wd from the delivery (004 第十七条(一))
    expect(text(loaded.html)).toContain("2027 年工作日历已加载；按原因加载，缺少 春节、清明节、劳动节、端午节、中秋节、国庆节");
    const full = await upload(admin, "/admin/calendar", JSON.stringify(schedule2027));
    expect(text(full.html)).toContain("2027 年工作日历已更新");
    expect(text(full.html)).toContain(schedule2027.source);
  });

  test("a price table is loaded once per version and listed", async () => {
    await admin.get("/admin/prices");
    const loaded = await upload(admin, "/admin/prices", JSON.stringify(priceTable));
    expect(loaded.status).toBe(200);
    expect(text(loaded.html)).toContain("单价表 2026-v1 已加载，自 2026-01-01 起执行");
    expect(text(loaded.html)).toContain("虚拟机：vCPU（元/核/天） 0.8");
    const twice = await upload(admin, "/admin/prices", JSON.stringify(priceTable));
    expect(twice.status).toBe(409);
    expect(text(twice.html)).toContain("单价表 2026-v1 已加载；更正请用新的版本号");
    const bad = await upload(admin, "/admin/prices", JSON.stringify({ ...priceTable, version: "v2", effectiveFrom: "2026-13-01" }));
    expect(bad.status).toBe(400);
    expect(text(bad.html)).toContain("effectiveFrom");
  });
});
