import { count, gt, max } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { apiTokens, auditLog, calendarYears, hosts, priceTables, units, userChannels, users } from "../db/schema";
import { demoDirectory } from "../src/directory/demo";
import { lockPath } from "../db/lock";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";
import { captureCli, freePort, onPostgres } from "./harness";
import { exitWithin, killStarted, startServiceWithDemo, STOP_TIMEOUT_MS, TEST_TIMEOUT, type Service } from "./service-process";
import { schedule2027 } from "./schedule-2027";

// Issue 12, "Operators": the role admin (系统管理员) and /api/admin, for what used to need the CLI and a stopped
// service. Each endpoint calls the service verb the CLI calls; a refusal is audited (design.md invariant 4) and a
// malformed input writes nothing (invariant 7).

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const priceTable = {
  version: "2026-v1",
  effectiveFrom: "2026-01-01",
  source: "2026 年服务目录单价",
  prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 }, backup: { instanceDay: 5 } },
};

/** Rows of every table an operator task writes, and the audit log's length: what "nothing written" compares. */
async function footprint() {
  const rows = async (table: PgTable) => (await t.db.select({ n: count() }).from(table))[0]!.n;
  return {
    units: JSON.stringify(await t.db.select().from(units).orderBy(units.id)),
    users: JSON.stringify(await t.db.select().from(users).orderBy(users.id)),
    channels: await rows(userChannels),
    // Not last_used_at: the call being checked records its own token's use.
    tokens: JSON.stringify(await t.db.select({ id: apiTokens.id, revokedAt: apiTokens.revokedAt, expiresAt: apiTokens.expiresAt }).from(apiTokens).orderBy(apiTokens.id)),
    hosts: JSON.stringify(await t.db.select().from(hosts).orderBy(hosts.id)),
    calendar: await rows(calendarYears),
    prices: await rows(priceTables),
  };
}

async function lastSeq() {
  const [{ seq } = { seq: 0 }] = await t.db.select({ seq: max(auditLog.seq) }).from(auditLog);
  return seq ?? 0;
}

/** The audit entries appended while `run` ran, with what it answered. */
async function audited<T>(run: () => Promise<T>) {
  const seq = await lastSeq();
  const result = await run();
  const entries = await t.db.select().from(auditLog).where(gt(auditLog.seq, seq)).orderBy(auditLog.seq);
  return { result, entries: entries.map(({ action, actorId, actorRole, channel, outcome, details }) => ({ action, actorId, actorRole, channel, outcome, details })) };
}

// A made-up 平远县 under the demo's city bureau, and a copy of it with a bad field in most rows.
const pingyuan = {
  units: [
    { id: "py-sjj", name: "平远县政务服务数据管理局", kind: "county", parent: "mz-sjj" },
    { id: "py-jyj", name: "平远县教育局", kind: "unit", parent: "py-sjj" },
  ],
  users: [
    { id: "zhoujie", name: "周杰", unit: "py-jyj", mobile: "13807530061", wecomUserId: "ZhouJie", roles: ["applicant"] },
    { id: "lihua", name: "李华（改名）" },
  ],
};
const badPingyuan = {
  units: [
    { id: "py-sjj", name: "平远县政务服务数据管理局", kind: "county", parent: "mz-sjj" },
    { id: "py-wjj", name: "平远县卫生健康局", kind: "district", parent: "py-sjj" },
    { id: "py-gaj", name: "平远县公安局", kind: "unit", parent: "no-such-unit" },
  ],
  users: [
    { id: "lihua", name: "李华（改名）" },
    { id: "wuqian", name: "吴倩", unit: "py-sjj", mobile: "12345", roles: ["applicant"] },
    { id: "sunli", name: "孙丽", unit: "py-sjj", mobile: "13807530063", roles: ["boss"], fax: "0753-1234567" },
    { id: "zhaoyun", name: "赵云", unit: "mx-jyj", mobile: "13807530064", roles: ["manager"] },
    { id: "Bad Id", name: "", unit: "py-sjj", mobile: "13807530065", roles: ["applicant"] },
  ],
};

describe("directory import through the API (admin)", () => {
  test("the dry run lists every bad row by list, row number and field, in Chinese, and writes nothing", async () => {
    const before = await footprint();
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/directory/check", badPingyuan));
    const check = ok(result);
    expect(check.valid).toBe(false);
    expect(check.units).toBeNull();
    expect(check.problems.map((p: any) => [p.list, p.row, p.id, p.field])).toEqual([
      ["units", 2, "py-wjj", "类型"],
      ["units", 3, "py-gaj", "上级单位"],
      ["users", 2, "wuqian", "手机号"],
      ["users", 3, "sunli", "角色"],
      ["users", 3, "sunli", "fax"],
      ["users", 4, "zhaoyun", "角色"],
      ["users", 5, null, "标识"],
      ["users", 5, null, "名称"],
    ]);
    const byPath = Object.fromEntries(check.problems.map((p: any) => [p.path, p.message]));
    expect(byPath["users[1].mobile"]).toBe("手机号应为 11 位中国大陆手机号码，如 13800138000");
    expect(byPath["users[2].fax"]).toBe("不认识的字段「fax」");
    expect(byPath["units[2].parent"]).toBe("上级单位 no-such-unit 不存在（文件和现有通讯录中都没有）");
    expect(byPath["users[3].roles"]).toContain("只能授予市级单位（city）的用户");
    // Nothing written, not even an audit entry: a dry run changes nothing.
    expect(entries).toEqual([]);
    expect(await footprint()).toEqual(before);
  });

  test("the dry run of a valid file says what the import would do, and writes nothing", async () => {
    const before = await footprint();
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/directory/check", pingyuan));
    expect(ok(result)).toEqual({ valid: true, problems: [], units: { created: 2, updated: 0, unchanged: 0 }, users: { created: 1, updated: 1, unchanged: 0 } });
    expect(entries).toEqual([]);
    expect(await footprint()).toEqual(before);
  });

  test("a file that is not a directory is one problem of the whole file", async () => {
    const check = ok(await t.call("zhoumin", "POST", "/api/admin/directory/check", { units: "none" }));
    expect(check).toMatchObject({ valid: false, problems: [{ path: "units", list: null, row: null }] });
  });

  test("the import is all or nothing: a bad file is a 400 naming every field and its valid rows do not land", async () => {
    const before = await footprint();
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/directory/import", badPingyuan));
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe("invalid_input");
    expect(Object.keys(result.body.error.fields).sort()).toEqual(
      ["units[1].kind", "units[2].parent", "users[1].mobile", "users[2].roles[0]", "users[2].fax", "users[3].roles", "users[4].id", "users[4].name"].sort(),
    );
    expect(entries).toEqual([]);
    expect(await footprint()).toEqual(before);
  });

  test("a valid file lands, and the audit entry names the admin", async () => {
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/directory/import", pingyuan));
    expect(ok(result)).toEqual({ units: { created: 2, updated: 0, unchanged: 0 }, users: { created: 1, updated: 1, unchanged: 0 } });
    expect(entries).toEqual([
      expect.objectContaining({ action: "directory.import", actorId: "zhoumin", actorRole: "admin", channel: "api", outcome: "ok" }),
    ]);
    expect(ok(await t.call("zhoumin", "GET", "/api/directory/users/lihua")).name).toBe("李华（改名）");
    // Put back for the other tests.
    ok(await t.call("zhoumin", "POST", "/api/admin/directory/import", { users: [{ id: "lihua", name: "李华" }] }));
  });
});

describe("tokens through the API", () => {
  let issued = { id: "", token: "" };

  test("create shows the secret once; the list never shows it, only name, issue, expiry and last use", async () => {
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/tokens", { userId: "hexin", name: "对接系统", expires: "30d" }));
    issued = ok(result, 201);
    expect(issued).toMatchObject({ id: expect.stringMatching(/^tok_[0-9a-f]{8}$/), token: expect.stringMatching(/^ys_[A-Za-z0-9_-]{43}$/), userId: "hexin" });
    expect(entries).toEqual([expect.objectContaining({ action: "token.create", actorId: "zhoumin", actorRole: "admin", outcome: "ok" })]);
    expect(JSON.stringify(entries)).not.toContain(issued.token);

    // The new token works, and its use is recorded (to the minute).
    expect(ok(await t.call(null, "GET", "/api/me", undefined, { authorization: `Bearer ${issued.token}` })).userId).toBe("hexin");
    const list = ok(await t.call("zhoumin", "GET", "/api/admin/tokens?user=hexin"));
    const row = list.items.find((i: any) => i.id === issued.id);
    expect(row).toEqual({
      id: issued.id,
      userId: "hexin",
      name: "对接系统",
      createdAt: t.clock.now().toISOString(),
      expiresAt: new Date(t.clock.now().getTime() + 30 * 86_400_000).toISOString(),
      expiryAssumed: false,
      lastUsedAt: t.clock.now().toISOString(),
      revokedAt: null,
    });
    expect(list.items.every((i: any) => i.userId === "hexin")).toBe(true);
    const all = JSON.stringify(ok(await t.call("zhoumin", "GET", "/api/admin/tokens")));
    expect(all).not.toMatch(/ys_[A-Za-z0-9_-]{43}/);
    expect(all).not.toMatch(/[0-9a-f]{64}/);
  });

  test("revoke ends the token; twice is a 409; an unknown user or a bad expiry is refused", async () => {
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", `/api/admin/tokens/${issued.id}/revoke`));
    expect(ok(result)).toMatchObject({ id: issued.id, userId: "hexin" });
    expect(entries).toEqual([expect.objectContaining({ action: "token.revoke", actorId: "zhoumin", actorRole: "admin", outcome: "ok" })]);
    expect((await t.call(null, "GET", "/api/me", undefined, { authorization: `Bearer ${issued.token}` })).body.error.code).toBe("token_revoked");
    expect((await t.call("zhoumin", "POST", `/api/admin/tokens/${issued.id}/revoke`)).body.error.code).toBe("token_revoked");
    expect((await t.call("zhoumin", "POST", "/api/admin/tokens", { userId: "nobody" })).status).toBe(404);
    const bad = await t.call("zhoumin", "POST", "/api/admin/tokens", { userId: "hexin", expires: "forever" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual({ expires: ["格式应为 30d 或 YYYY-MM-DD"] });
  });
});

describe("sign-in links through the API", () => {
  test("the admin issues a one-time link to the portal; the audit names the admin, never the link", async () => {
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/login-links", { userId: "hexin" }));
    const link = ok(result, 201);
    expect(link).toEqual({ token: expect.stringMatching(/^ysl_[A-Za-z0-9_-]{43}$/), path: `/login/${link.token}`, userId: "hexin", expiresAt: expect.any(String) });
    expect(entries).toEqual([expect.objectContaining({ action: "login_link.create", actorId: "zhoumin", actorRole: "admin", outcome: "ok" })]);
    expect(JSON.stringify(entries)).not.toContain(link.token);
    expect((await t.call("zhoumin", "POST", "/api/admin/login-links", { userId: "nobody" })).status).toBe(404);
  });
});

describe("hosts through the API", () => {
  test("add shows the credential once; rotate replaces it; revoke withdraws it; the list shows neither", async () => {
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/hosts", { name: "bastion-01" }));
    const added = ok(result, 201);
    expect(added).toEqual({ name: "bastion-01", credential: expect.stringMatching(/^ysh_[A-Za-z0-9_-]{43}$/) });
    expect(entries).toEqual([expect.objectContaining({ action: "host.add", actorId: "zhoumin", actorRole: "admin", outcome: "ok", details: { host: "bastion-01" } })]);
    expect((await t.call("zhoumin", "POST", "/api/admin/hosts", { name: "bastion-01" })).body.error.code).toBe("host_exists");
    expect((await t.call("zhoumin", "POST", "/api/admin/hosts", { name: "-bad name" })).status).toBe(400);

    const rotated = ok(await t.call("zhoumin", "POST", "/api/admin/hosts/bastion-01/rotate"));
    expect(rotated.credential).not.toBe(added.credential);
    ok(await t.call("zhoumin", "POST", "/api/admin/hosts/bastion-01/revoke"));
    expect((await t.call("zhoumin", "POST", "/api/admin/hosts/bastion-01/revoke")).body.error.code).toBe("host_revoked");
    expect((await t.call("zhoumin", "POST", "/api/admin/hosts/nowhere/revoke")).status).toBe(404);

    const list = ok(await t.call("zhoumin", "GET", "/api/admin/hosts"));
    expect(list.items).toEqual([{ name: "bastion-01", createdAt: t.clock.now().toISOString(), revokedAt: t.clock.now().toISOString() }]);
    // Security staff keep the hosts, as before admin existed.
    ok(await t.call("liuyang", "GET", "/api/admin/hosts"));
  });
});

describe("the working-day calendar through the API", () => {
  test("shows the years it has; loading next year needs the seven statutory holidays or a reason", async () => {
    const years = ok(await t.call("zhoumin", "GET", "/api/admin/calendar")).years;
    expect(years.map((y: any) => [y.year, y.builtIn])).toEqual([
      [2024, true],
      [2025, true],
      [2026, true],
    ]);

    const partial = { ...schedule2027, holidays: schedule2027.holidays.slice(0, 1) };
    const before = await footprint();
    const refused = await t.call("zhoumin", "POST", "/api/admin/calendar", { schedule: partial });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("2027 年工作日历缺少法定节假日：春节、清明节、劳动节、端午节、中秋节、国庆节");
    expect(await footprint()).toEqual(before);
    expect((await t.call("zhoumin", "POST", "/api/admin/calendar", { schedule: { ...schedule2027, year: "x" } })).status).toBe(400);

    // 系统部署 (20 working days after 2026-12-14) ends in 2027: its date waits for the year.
    const deployBy = async () =>
      (ok(await t.call("lihua", "POST", "/api/requests/preview", { flow: "application", form: sampleForm() })).stages as { name: string; by: string | null }[]).find(
        (s) => s.name === "系统部署",
      )!.by;
    expect(await deployBy()).toBeNull();
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/calendar", { schedule: partial, override: "通知尚未公布，先载元旦" }));
    expect(ok(result)).toEqual({ year: 2027, replaced: false, missing: ["春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"], recomputed: 0 });
    // The service that loaded it counts with it at once, not at its next job round: 12-15..31 are 13 days, 01-01..03 元旦.
    expect(await deployBy()).toBe("2027-01-05"); // 20 wd from the delivery (004 第十七条(一))
    expect(entries).toEqual([
      expect.objectContaining({ action: "calendar.load", actorId: "zhoumin", actorRole: "admin", outcome: "ok", details: expect.objectContaining({ override: "通知尚未公布，先载元旦" }) }),
    ]);
    expect(ok(await t.call("zhoumin", "POST", "/api/admin/calendar", { schedule: schedule2027 }))).toMatchObject({ year: 2027, replaced: true, missing: [] });
    const loaded = ok(await t.call("zhoumin", "GET", "/api/admin/calendar")).years.at(-1);
    expect(loaded).toEqual({
      year: 2027,
      source: schedule2027.source,
      url: schedule2027.url,
      holidays: 7,
      workdays: 0,
      builtIn: false,
      loadedAt: t.clock.now().toISOString(),
      missing: [],
    });
  });
});

describe("price tables through the API", () => {
  test("load once per version, list them", async () => {
    const { result, entries } = await audited(() => t.call("zhoumin", "POST", "/api/admin/prices", priceTable));
    expect(ok(result, 201)).toEqual({ version: "2026-v1", effectiveFrom: "2026-01-01" });
    expect(entries).toEqual([expect.objectContaining({ action: "prices.load", actorId: "zhoumin", actorRole: "admin", outcome: "ok" })]);
    expect((await t.call("zhoumin", "POST", "/api/admin/prices", priceTable)).body.error.code).toBe("version_exists");
    const bad = await t.call("zhoumin", "POST", "/api/admin/prices", { ...priceTable, version: "2026-v2", effectiveFrom: "2026-13-01" });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(["effectiveFrom"]);
    expect(ok(await t.call("zhoumin", "GET", "/api/admin/prices")).items).toEqual([{ ...priceTable, currency: "CNY" }]);
  });
});

describe("who may do what", () => {
  const writes: [string, string, unknown, string][] = [
    ["/api/admin/directory/import", "导入通讯录", { users: [{ id: "lihua", roles: ["applicant", "admin"] }] }, "directory.import"],
    ["/api/admin/directory/check", "导入通讯录", demoDirectory, "directory.check"],
    ["/api/admin/tokens", "管理访问令牌", { userId: "lihua" }, "token.create"],
    ["/api/admin/login-links", "签发登录链接", { userId: "lihua" }, "login_link.create"],
    ["/api/admin/hosts", "管理主机凭据", { name: "vm-lihua" }, "host.add"],
    ["/api/admin/calendar", "加载工作日历", { schedule: { ...schedule2027, year: 2028 } }, "calendar.load"],
    ["/api/admin/prices", "加载单价表", { ...priceTable, version: "lihua-v1" }, "prices.load"],
  ];

  test.each(writes)("an applicant is refused %s (403), nothing is written, the refusal is audited", async (path, what, body, action) => {
    const before = await footprint();
    const { result, entries } = await audited(() => t.call("lihua", "POST", path, body));
    expect(result.status).toBe(403);
    expect(result.body.error).toEqual({ code: "forbidden", message: expect.stringContaining(`可以${what}`) });
    expect(entries).toEqual([expect.objectContaining({ action, actorId: "lihua", actorRole: "applicant", channel: "api", outcome: "refused" })]);
    expect(await footprint()).toEqual(before);
  });

  test.each(["/api/admin/tokens", "/api/admin/hosts", "/api/admin/calendar", "/api/admin/prices"])("an applicant may not read %s", async (path) => {
    expect((await t.call("lihua", "GET", path)).status).toBe(403);
  });

  test("revoking a token of someone else is refused, one's own is allowed", async () => {
    const mine = ok(await t.call("zhoumin", "POST", "/api/admin/tokens", { userId: "lihua" }), 201);
    const other = ok(await t.call("zhoumin", "POST", "/api/admin/tokens", { userId: "hexin" }), 201);
    expect((await t.call("lihua", "POST", `/api/admin/tokens/${other.id}/revoke`)).status).toBe(403);
    ok(await t.call("lihua", "POST", `/api/admin/tokens/${mine.id}/revoke`));
  });

  test("the manager keeps the directory, tokens, calendar and prices, but not the hosts; security staff only the hosts", async () => {
    ok(await t.call("zhangwei", "POST", "/api/admin/directory/check", pingyuan));
    ok(await t.call("zhangwei", "GET", "/api/admin/tokens"));
    ok(await t.call("zhangwei", "GET", "/api/admin/calendar"));
    ok(await t.call("zhangwei", "GET", "/api/admin/prices"));
    expect((await t.call("zhangwei", "POST", "/api/admin/hosts", { name: "vm-zhangwei" })).status).toBe(403);
    expect((await t.call("liuyang", "POST", "/api/admin/directory/check", pingyuan)).status).toBe(403);
    expect((await t.call("liuyang", "GET", "/api/admin/tokens")).status).toBe(403);
  });

  test("without a token: 401, nothing audited", async () => {
    const { result, entries } = await audited(() => t.call(null, "POST", "/api/admin/tokens", { userId: "lihua" }));
    expect(result.status).toBe(401);
    expect(entries).toEqual([]);
  });
});

// The CLI while the real service (a child process, as `npm start` runs it) holds the PGlite data directory: the
// commands that change data go through /api/admin with the caller's token, and print what they printed before.
describe.skipIf(onPostgres)("the CLI through the running service", () => {
  const work = mkdtempSync(join(tmpdir(), "yunshen-admin-"));
  const dataDir = join(work, "data");
  const file = (name: string, content: unknown) => {
    const path = join(work, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  let service: Service;
  let env: NodeJS.ProcessEnv = {};
  let tokens = new Map<string, string>();

  afterAll(() => {
    killStarted();
    rmSync(work, { recursive: true, force: true });
  });

  test("the demo is loaded while stopped, then the service starts and holds the directory", { timeout: TEST_TIMEOUT }, async () => {
    ({ service, tokens, env } = await startServiceWithDemo(dataDir, await freePort()));
    expect(tokens.has("zhoumin")).toBe(true);
    expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${service.child.pid}\n`);
  });

  test("without a token a command says how to get one, and nothing is written", { timeout: TEST_TIMEOUT }, async () => {
    const r = await captureCli(["host", "add", "vm-01"], env);
    expect(r).toMatchObject({ code: 1, out: "" });
    expect(r.err).toContain(`数据目录 ${dataDir} 正被运行中的服务（进程 ${service.child.pid}）使用，此命令改经服务的接口执行，需要系统管理员的访问令牌`);
    expect(r.err).toContain("yunshen token create --user <用户 id>");
    const hosts = await fetch(`http://127.0.0.1:${service.port}/api/admin/hosts`, { headers: { authorization: `Bearer ${tokens.get("zhoumin")}` } });
    expect(await hosts.json()).toEqual({ items: [] });
  });

  test("an applicant's token is refused with the service's reason", { timeout: TEST_TIMEOUT }, async () => {
    const r = await captureCli(["prices", "load", file("prices.json", priceTable)], { ...env, YUNSHEN_TOKEN: tokens.get("lihua") });
    expect(r).toEqual({ code: 1, out: "", err: "只有系统管理员或统筹管理单位可以加载单价表\n" });
  });

  test("directory import, token create / list / revoke, host add / list / revoke, calendar load and prices load / list, as the admin", { timeout: TEST_TIMEOUT }, async () => {
    const admin = { ...env, YUNSHEN_TOKEN: tokens.get("zhoumin") };
    const bad = await captureCli(["directory", "import", file("bad.json", badPingyuan)], admin);
    expect(bad.code).toBe(1);
    expect(bad.out).toBe("");
    expect(bad.err.split("\n")[0]).toBe("通讯录文件有 8 处错误");
    expect(bad.err).toContain("  users[1].mobile：手机号应为 11 位中国大陆手机号码，如 13800138000\n");
    expect(await captureCli(["directory", "import", file("pingyuan.json", pingyuan)], admin)).toEqual({
      code: 0,
      out: "单位：新增 2，更新 0，未变 0\n用户：新增 1，更新 1，未变 0\n",
      err: "",
    });

    const created = await captureCli(["token", "create", "--user", "zhoujie", "--name", "对接", "--expires", "30d"], admin);
    expect(created.code).toBe(0);
    const secret = created.out.trim();
    expect(secret).toMatch(/^ys_[A-Za-z0-9_-]{43}$/);
    const tokenId = /^令牌 (tok_[0-9a-f]{8}) 已签发给 zhoujie，.*到期；只显示这一次，请妥善保存。\n$/.exec(created.err)?.[1];
    expect(tokenId).toBeDefined();
    const me = await fetch(`http://127.0.0.1:${service.port}/api/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(((await me.json()) as { userId: string }).userId).toBe("zhoujie");
    const listed = await captureCli(["token", "list", "--user", "zhoujie"], admin);
    expect(listed.out).toMatch(new RegExp(`^${tokenId}  zhoujie  对接  签发 \\S+  到期 \\S+\\n$`));
    expect(await captureCli(["token", "revoke", tokenId!], admin)).toEqual({ code: 0, out: `令牌 ${tokenId} 已吊销\n`, err: "" });
    expect((await captureCli(["token", "revoke", tokenId!], admin)).err).toBe(`访问令牌 ${tokenId} 已被吊销\n`);

    const host = await captureCli(["host", "add", "vm-01"], admin);
    expect(host.out).toMatch(/^ysh_[A-Za-z0-9_-]{43}\n$/);
    expect(host.err).toContain("只显示这一次");
    expect((await captureCli(["host", "rotate", "vm-01"], admin)).out).toMatch(/^ysh_[A-Za-z0-9_-]{43}\n$/);
    expect(await captureCli(["host", "revoke", "vm-01"], admin)).toEqual({ code: 0, out: "主机 vm-01 的凭据已吊销\n", err: "" });
    expect((await captureCli(["host", "list"], admin)).out).toMatch(/^vm-01  登记 \S+  已吊销 \S+\n$/);

    const partial = file("2027-partial.json", { ...schedule2027, holidays: schedule2027.holidays.slice(0, 1) });
    expect((await captureCli(["calendar", "load", partial], admin)).err).toContain("2027 年工作日历缺少法定节假日");
    expect(await captureCli(["calendar", "load", partial, "--override", "通知未公布"], admin)).toEqual({
      code: 0,
      out: "2027 年工作日历已加载\n",
      err: "注意：按 --override 加载，缺少 春节、清明节、劳动节、端午节、中秋节、国庆节；公布后请补全再加载一次\n",
    });
    expect(await captureCli(["calendar", "load", file("2027.json", schedule2027)], admin)).toEqual({ code: 0, out: "2027 年工作日历已更新\n", err: "" });

    expect(await captureCli(["prices", "load", file("prices.json", priceTable)], admin)).toEqual({ code: 0, out: "单价表 2026-v1 已加载，自 2026-01-01 起执行\n", err: "" });
    expect(await captureCli(["prices", "list"], admin)).toEqual({ code: 0, out: "2026-v1  自 2026-01-01  vm、backup\n", err: "" });

    const link = await captureCli(["login-link", "--user", "zhoujie"], admin);
    expect(link.out).toMatch(new RegExp(`^http://localhost:${service.port}/login/ysl_[A-Za-z0-9_-]{43}\n$`));
    expect(link.err).toMatch(/^登录链接已签发给 zhoujie，.*只能使用一次/);
  });

  test("stopped, the audit log names the admin as the actor of each change, made through the API", { timeout: TEST_TIMEOUT }, async () => {
    service.child.kill("SIGTERM");
    await exitWithin(service, STOP_TIMEOUT_MS);
    const exported = await captureCli(["audit", "export", "--format", "jsonl"], { DATA_DIR: dataDir });
    expect(exported.code).toBe(0);
    const entries = exported.out.trim().split("\n").map((line) => JSON.parse(line));
    const byApi = entries.filter((e) => e.channel === "api").map((e) => `${e.action}:${e.actorId}:${e.outcome}`);
    expect(byApi).toEqual([
      "prices.load:lihua:refused",
      "directory.import:zhoumin:ok",
      "token.create:zhoumin:ok",
      "token.revoke:zhoumin:ok",
      "token.revoke:zhoumin:refused",
      "host.add:zhoumin:ok",
      "host.rotate:zhoumin:ok",
      "host.revoke:zhoumin:ok",
      "calendar.load:zhoumin:ok",
      "calendar.load:zhoumin:ok",
      "prices.load:zhoumin:ok",
      "login_link.create:zhoumin:ok",
    ]);
  });
});
