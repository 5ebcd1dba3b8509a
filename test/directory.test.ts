import { createHash, randomBytes } from "node:crypto";
import { asc, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/client";
import { apiTokens, auditLog, units, userChannels, users } from "../db/schema";
import type { Actor, ServiceContext } from "../src/core/context";
import { builtinSchedules, shanghaiDateTime, WorkCalendar } from "../src/core/calendar";
import { readConfig } from "../src/config";
import { DEMO_TOKEN_DAYS, DEMO_TOKEN_USERS, demoDirectory, loadDemo } from "../src/directory/demo";
import { createApp } from "../src/http/app";
import {
  type DirectoryFileInput,
  directoryFileSchema,
  type ImportResult,
  importDirectory,
  parseDirectoryJson,
} from "../src/directory/import";
import {
  countyOf,
  getUnit,
  getUser,
  listUnits,
  listUsers,
  maskMobile,
  publicUser,
  unitChain,
  usersWithRole,
} from "../src/directory/queries";
import { authenticateToken, createToken, listTokens, revokeToken } from "../src/directory/tokens";
import { ServiceError } from "../src/core/errors";
import { ROLES } from "../src/core/roles";
import { createTestDatabase } from "./harness";

let database: Database;
let now = new Date("2025-03-03T01:00:00.000Z");
const clock = { now: () => now };
const advance = (ms: number) => {
  now = new Date(now.getTime() + ms);
};

const cli = (): ServiceContext => ({
  db: database.db,
  clock, calendar: null as never,
  profile: "meizhou",
  actor: null,
  channel: "cli",
});
const api = (actor: Actor): ServiceContext => ({ ...cli(), actor, channel: "api", sourceIp: "10.20.30.40" });

const applicantLihua: Actor = { userId: "lihua", name: "李华", unitId: "mx-jyj", roles: ["applicant"] };
const managerZhang: Actor = { userId: "zhangwei", name: "张伟", unitId: "mz-sjj", roles: ["manager"] };

/** A deep copy of the demo file to break on purpose. */
const demoCopy = (): { units: Record<string, unknown>[]; users: Record<string, unknown>[] } =>
  structuredClone(demoDirectory) as never;

async function snapshot() {
  const { db } = database;
  return {
    units: await db.select().from(units).orderBy(asc(units.id)),
    users: await db.select().from(users).orderBy(asc(users.id)),
    userChannels: await db.select().from(userChannels).orderBy(asc(userChannels.userId), asc(userChannels.channel)),
    apiTokens: await db.select().from(apiTokens).orderBy(asc(apiTokens.id)),
    auditCount: (await db.select({ n: sql<number>`count(*)::int` }).from(auditLog))[0]?.n,
  };
}

async function lastAudit() {
  const [row] = await database.db.select().from(auditLog).orderBy(sql`${auditLog.seq} desc`).limit(1);
  if (!row) throw new Error("empty audit log");
  return row;
}

async function caught(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ServiceError) return err;
    throw err;
  }
  throw new Error("expected a ServiceError, got success");
}

let firstImport: ImportResult;

beforeAll(async () => {
  database = await createTestDatabase();
  firstImport = await importDirectory({ ctx: cli(), input: demoDirectory });
});

afterAll(async () => {
  await database?.close();
});

describe("directory import", () => {
  it("imports the demo directory and counts every row as created", async () => {
    expect(firstImport).toEqual({
      units: { created: 11, updated: 0, unchanged: 0 },
      users: { created: 15, updated: 0, unchanged: 0 },
    });
    const lihua = await getUser(database.db, "lihua");
    expect(lihua).toMatchObject({
      name: "李华",
      unitId: "mx-jyj",
      mobile: "13807530012",
      addresses: { wecom: "LiHua" },
      roles: ["applicant"],
      active: true,
      createdAt: now,
      updatedAt: now,
    });
    expect((await listUnits(database.db)).map((u) => u.id)).toHaveLength(11);
  });

  it("the schema accepts the demo file, trims, orders roles and leaves out what the row leaves out", () => {
    expect(directoryFileSchema.safeParse(demoDirectory).success).toBe(true);
    const parsed = directoryFileSchema.parse({
      units: [{ id: "mz-sjj", name: " 梅州市政务服务数据管理局 ", kind: "city" }],
      users: [{ id: "a1", name: "甲", unit: "mz-sjj", mobile: "13900000000", roles: ["reviewer", "applicant"] }],
    });
    // No defaults here: a field left out keeps what the directory holds (a new record gets its default on import).
    expect(parsed.units[0]).toEqual({ id: "mz-sjj", name: "梅州市政务服务数据管理局", kind: "city" });
    expect(parsed.users[0]).toEqual({ id: "a1", name: "甲", unit: "mz-sjj", mobile: "13900000000", roles: ["applicant", "reviewer"] });
  });

  it("re-importing the same file is all unchanged and leaves every row as it was", async () => {
    const before = await snapshot();
    advance(3_600_000);
    const result = await importDirectory({ ctx: cli(), input: demoDirectory });
    expect(result).toEqual({
      units: { created: 0, updated: 0, unchanged: 11 },
      users: { created: 0, updated: 0, unchanged: 15 },
    });
    const after = await snapshot();
    expect(after.units).toEqual(before.units);
    expect(after.users).toEqual(before.users);
    expect(after.userChannels).toEqual(before.userChannels);
    // Only the audit entry of the import itself is new.
    expect(after.auditCount).toBe((before.auditCount ?? 0) + 1);
  });

  it("a changed name counts as updated and bumps only that row's updated_at", async () => {
    const before = await snapshot();
    advance(60_000);
    const file = demoCopy();
    file.units[2]!.name = "梅州市梅县区教育局（改）";
    file.users[5]!.name = "李 华";
    const result = await importDirectory({ ctx: cli(), input: file });
    expect(result).toEqual({
      units: { created: 0, updated: 1, unchanged: 10 },
      users: { created: 0, updated: 1, unchanged: 14 },
    });
    expect(await getUnit(database.db, "mx-jyj")).toMatchObject({ name: "梅州市梅县区教育局（改）", updatedAt: now });
    expect(await getUser(database.db, "lihua")).toMatchObject({ name: "李 华", updatedAt: now });
    const untouched = (await getUnit(database.db, "mz-sjj"))!;
    expect(untouched).toEqual(before.units.find((u) => u.id === "mz-sjj"));

    const audit = await lastAudit();
    expect(audit.action).toBe("directory.import");
    expect(audit.details).toMatchObject({ unitIds: { updated: ["mx-jyj"] }, userIds: { updated: ["lihua"] } });

    // Put the demo back for the tests that follow.
    const restored = await importDirectory({ ctx: cli(), input: demoDirectory });
    expect(restored.units.updated + restored.users.updated).toBe(2);
  });

  it("a partial file changes only the fields it names: a row without wecomUserId keeps the stored one", async () => {
    const before = await snapshot();
    advance(60_000);
    // The HR system's export: name, unit, mobile and roles, no WeCom accounts.
    const hr = { users: [{ id: "lihua", name: "李华", unit: "mx-jyj", mobile: "13807530099", roles: ["applicant"] }] };
    expect((await importDirectory({ ctx: cli(), input: hr })).users).toEqual({ created: 0, updated: 1, unchanged: 0 });
    expect(await getUser(database.db, "lihua")).toMatchObject({ mobile: "13807530099", addresses: { wecom: "LiHua" }, active: true, updatedAt: now });

    // One field: the rest stays, and other users are untouched.
    await importDirectory({ ctx: cli(), input: { users: [{ id: "lihua", mobile: "13807530012" }] } });
    const lihua = await getUser(database.db, "lihua");
    expect(lihua).toEqual({ ...before.users.find((u) => u.id === "lihua"), addresses: { wecom: "LiHua" }, updatedAt: now });
    const after = await snapshot();
    expect(after.userChannels).toEqual(before.userChannels);
    expect(after.users.filter((u) => u.id !== "lihua")).toEqual(before.users.filter((u) => u.id !== "lihua"));

    // A unit row without its parent keeps it; without its kind keeps that.
    await importDirectory({ ctx: cli(), input: { units: [{ id: "mx-jyj", name: "梅州市梅县区教育局" }, { id: "mx-sjj" }] } });
    expect(await snapshot()).toMatchObject({ units: before.units });

    // The kept WeCom account still counts as taken.
    const taken = await caught(
      importDirectory({
        ctx: cli(),
        input: { users: [{ id: "lihua", mobile: "13807530012" }, { id: "copy2", name: "冒名", unit: "mz-rsj", mobile: "13800138005", wecomUserId: "lihua", roles: ["applicant"] }] },
      }),
    );
    expect(taken.fields).toEqual({ "users[1].wecomUserId": ["企业微信账号 lihua 已被用户 lihua 使用"] });
  });

  it("wecomUserId is the person's wecom address in user_channels: two people may swap accounts in one file", async () => {
    const swap = { users: [{ id: "wangfang", wecomUserId: "HeXin" }, { id: "hexin", wecomUserId: "WangFang" }] };
    expect((await importDirectory({ ctx: cli(), input: swap })).users).toEqual({ created: 0, updated: 2, unchanged: 0 });
    const rows = await database.db.select().from(userChannels).where(inArray(userChannels.userId, ["hexin", "wangfang"])).orderBy(asc(userChannels.userId));
    expect(rows).toEqual([
      { userId: "hexin", channel: "wecom", address: "WangFang" },
      { userId: "wangfang", channel: "wecom", address: "HeXin" },
    ]);
    expect((await importDirectory({ ctx: cli(), input: demoDirectory })).users.updated).toBe(2);
    expect((await getUser(database.db, "hexin"))?.addresses).toEqual({ wecom: "HeXin" });
  });

  it("null or an empty string clears wecomUserId; the fields a person needs cannot be cleared; a new record needs them all", async () => {
    for (const cleared of [null, ""]) {
      await importDirectory({ ctx: cli(), input: { users: [{ id: "hexin", wecomUserId: cleared }] } });
      expect((await getUser(database.db, "hexin"))?.addresses).toEqual({});
      await importDirectory({ ctx: cli(), input: { users: [{ id: "hexin", wecomUserId: "HeXin" }] } });
      expect((await getUser(database.db, "hexin"))?.addresses).toEqual({ wecom: "HeXin" });
    }
    const before = await snapshot();
    const refused = await caught(
      importDirectory({
        ctx: cli(),
        input: {
          units: [{ id: "py-new", parent: "mz-sjj" }],
          users: [
            { id: "hexin", mobile: null, roles: null, name: null, unit: null, active: null },
            { id: "newbie", wecomUserId: "NewBie" },
          ],
        },
      }),
    );
    expect(Object.keys(refused.fields ?? {}).sort()).toEqual(
      [
        "units[0].name",
        "units[0].kind",
        "users[0].mobile",
        "users[0].roles",
        "users[0].name",
        "users[0].unit",
        "users[0].active",
        "users[1].name",
        "users[1].unit",
        "users[1].mobile",
        "users[1].roles",
      ].sort(),
    );
    expect(refused.fields?.["users[1].mobile"]).toEqual(["新用户必须填写此字段"]);
    expect(refused.fields?.["users[0].mobile"]).toEqual(["此字段不能清空；不修改就不写这个字段"]);
    expect(refused.fields?.["units[0].kind"]).toEqual(["新单位必须填写此字段"]);
    expect(await snapshot()).toEqual(before);
  });

  it("accepts parents later in the same file or already in the database, with defaults for optional fields", async () => {
    const file: DirectoryFileInput = {
      units: [
        { id: "py-jyj", name: "平远县教育局", kind: "unit", parent: "py-sjj" },
        { id: "py-sjj", name: "平远县政务服务数据管理局", kind: "county", parent: "mz-sjj" },
      ],
      users: [
        { id: "xieping", name: "谢萍", unit: "py-jyj", mobile: "13907530001", roles: ["applicant"] },
        { id: "liangchao", name: "梁超", unit: "py-sjj", mobile: "13907530002", roles: ["county_bureau"] },
      ],
    };
    const result = await importDirectory({ ctx: cli(), input: file });
    expect(result).toEqual({
      units: { created: 2, updated: 0, unchanged: 0 },
      users: { created: 2, updated: 0, unchanged: 0 },
    });
    expect(await getUser(database.db, "xieping")).toMatchObject({ addresses: {}, active: true });
    expect((await unitChain(database.db, "py-jyj")).map((u) => u.id)).toEqual(["py-jyj", "py-sjj", "mz-sjj"]);
  });

  it("an invalid file changes nothing and reports every bad row at once", async () => {
    const file = demoCopy();
    file.units[2]!.name = "这个改名不能生效"; // a valid change in an invalid file must not land
    file.units.push({ id: "nowhere-jyj", name: "某县教育局", kind: "unit", parent: "no-such-parent" }); // units[11]
    file.units.push({ id: "mx-sub", name: "县下之县", kind: "county", parent: "mx-sjj" }); // units[12]
    file.units.push({ id: "mz-rsj", name: "重复的人社局", kind: "unit", parent: "mz-sjj" }); // units[13]
    file.units.push({ id: "Bad ID", name: "", kind: "town", parent: null }); // units[14]
    file.users[0]!.mobile = "1380753000"; // ten digits
    file.users[1]!.roles = ["manager", "superuser"];
    file.users[2]!.roles = ["county_bureau"]; // 刘洋 sits in the city bureau
    file.users[3]!.wecomUserID = "HuangMin"; // a typo of wecomUserId
    file.users[4]!.roles = [];
    file.users.push({ id: "ghost", name: "无名", unit: "no-such-unit", mobile: "13800138000", roles: ["applicant"] }); // users[15]
    file.users.push({ id: "lihua", name: "李华二号", unit: "mx-jyj", mobile: "13800138001", roles: ["applicant"] }); // users[16]
    file.users.push({ id: "copycat", name: "冒名", unit: "mz-rsj", mobile: "13800138002", wecomUserId: "lihua", roles: ["applicant"] }); // users[17]
    file.users.push({ id: "wrongmgr", name: "错配", unit: "mx-jyj", mobile: "13800138003", roles: ["manager"] }); // users[18]

    const before = await snapshot();
    const err = await caught(importDirectory({ ctx: cli(), input: file }));
    expect(err.code).toBe("invalid_input");
    expect(err.status).toBe(400);
    const fields = err.fields ?? {};
    expect(Object.keys(fields).sort()).toEqual(
      [
        "units[11].parent",
        "units[12].parent",
        "units[13].id",
        "units[14].id",
        "units[14].name",
        "units[14].kind",
        "users[0].mobile",
        "users[1].roles[1]",
        "users[2].roles",
        "users[3].wecomUserID",
        "users[4].roles",
        "users[15].unit",
        "users[16].id",
        "users[17].wecomUserId",
        "users[18].roles",
      ].sort(),
    );
    expect(err.message).toBe(`通讯录文件有 ${Object.keys(fields).length} 处错误`);
    for (const messages of Object.values(fields)) {
      for (const message of messages) expect(message).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(fields["units[11].parent"]?.[0]).toContain("no-such-parent");
    expect(fields["units[12].parent"]?.[0]).toMatch(/^县级单位.*的上级应为市级单位.*mx-sjj 是县级单位/);
    expect(fields["users[0].mobile"]?.[0]).toContain("手机号");
    expect(fields["users[1].roles[1]"]?.[0]).toContain("superuser");
    expect(fields["users[17].wecomUserId"]?.[0]).toContain("lihua");
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a kind change that would break units and users already in the database", async () => {
    const before = await snapshot();
    const err = await caught(
      importDirectory({
        ctx: cli(),
        input: { units: [{ id: "mx-sjj", name: "梅州市梅县区政务服务数据管理局", kind: "unit", parent: "mz-sjj" }] },
      }),
    );
    expect(Object.keys(err.fields ?? {})).toEqual(["units[0].kind"]);
    const messages = (err.fields?.["units[0].kind"] ?? []).join("\n");
    expect(messages).toContain("mx-jyj");
    expect(messages).toContain("huangmin");
    expect(await snapshot()).toEqual(before);
  });

  it("reports a file that is not an object, and malformed JSON, without touching the database", async () => {
    const before = await snapshot();
    const notObject = await caught(importDirectory({ ctx: cli(), input: [demoDirectory] }));
    expect(Object.keys(notObject.fields ?? {})).toEqual(["(根)"]);
    const wrongShape = await caught(importDirectory({ ctx: cli(), input: { units: {}, users: "x" } }));
    expect(Object.keys(wrongShape.fields ?? {}).sort()).toEqual(["units", "users"]);

    const malformed = '{\n  "units": [\n    { "id": "mz-sjj", }\n  ]\n}';
    let parseError: unknown;
    try {
      parseDirectoryJson(malformed);
    } catch (err) {
      parseError = err;
    }
    expect(parseError).toBeInstanceOf(ServiceError);
    expect((parseError as ServiceError).code).toBe("invalid_input");
    expect((parseError as ServiceError).message).toMatch(/^通讯录文件不是有效的 JSON：第 3 行/);
    expect(() => parseDirectoryJson("")).toThrow("通讯录文件不是有效的 JSON：文件为空");
    expect(await snapshot()).toEqual(before);

    // Windows editors write a BOM; it is not an error.
    expect(parseDirectoryJson(`\uFEFF${JSON.stringify(demoDirectory)}`)).toEqual(demoDirectory);
  });

  it("keeps phone numbers out of the audit log", async () => {
    const rows = await database.db.select().from(auditLog).where(eq(auditLog.action, "directory.import"));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows[0]?.details).toMatchObject({
      units: { created: 11, updated: 0, unchanged: 0 },
      users: { created: 15, updated: 0, unchanged: 0 },
    });
    const text = JSON.stringify(rows);
    for (const u of demoDirectory.users) expect(text).not.toContain(u.mobile);
  });
});

describe("directory queries", () => {
  it("walks the hierarchy", async () => {
    const { db } = database;
    expect((await unitChain(db, "mx-jyj")).map((u) => u.id)).toEqual(["mx-jyj", "mx-sjj", "mz-sjj"]);
    expect((await unitChain(db, "mz-sjj")).map((u) => u.id)).toEqual(["mz-sjj"]);
    expect(await unitChain(db, "no-such-unit")).toEqual([]);
    expect((await countyOf(db, "mx-jyj"))?.id).toBe("mx-sjj");
    expect((await countyOf(db, "xn-gaj"))?.id).toBe("xn-sjj");
    expect((await countyOf(db, "xn-sjj"))?.id).toBe("xn-sjj");
    expect(await countyOf(db, "mz-rsj")).toBeNull();
    expect(await countyOf(db, "mz-sjj")).toBeNull();
    expect((await getUnit(db, "mz-yun"))?.name).toBe("政务云梅州节点运营商（数字广东）");
    expect(await getUnit(db, "no-such-unit")).toBeNull();
    expect(await getUser(db, "nobody")).toBeNull();
  });

  it("finds users by role and unit, and only active ones for assignment", async () => {
    const { db } = database;
    const ids = (list: { id: string }[]) => list.map((u) => u.id);
    expect(ids(await usersWithRole(db, "manager"))).toEqual(["chenjing", "zhangwei"]);
    expect(ids(await usersWithRole(db, "county_bureau", { unitId: "mx-sjj" }))).toEqual(["huangmin"]);
    expect(ids(await usersWithRole(db, "county_bureau", { unitId: "mx-jyj" }))).toEqual([]);
    expect(ids(await listUsers(db, { unitId: "mz-sjj" }))).toEqual(["chenjing", "liuyang", "zhangwei", "zhoumin"]);

    const file = demoCopy();
    file.users.find((u) => u.id === "linna")!.active = false;
    expect((await importDirectory({ ctx: cli(), input: file })).users.updated).toBe(1);
    expect(ids(await usersWithRole(db, "provider"))).toEqual(["xufeng"]);
    expect(ids(await listUsers(db, { role: "provider" }))).toEqual(["linna", "xufeng"]);
    // Leaving `active` out of a row keeps the person inactive: only `"active": true` brings them back.
    expect((await importDirectory({ ctx: cli(), input: demoDirectory })).users.updated).toBe(0);
    expect(ids(await usersWithRole(db, "provider"))).toEqual(["xufeng"]);
    expect((await importDirectory({ ctx: cli(), input: { users: [{ id: "linna", active: true }] } })).users.updated).toBe(1);
    expect(ids(await usersWithRole(db, "provider"))).toEqual(["linna", "xufeng"]);
  });

  it("masks mobiles in the public view", async () => {
    expect(maskMobile("13800138000")).toBe("138****8000");
    const lihua = (await getUser(database.db, "lihua"))!;
    const view = publicUser(lihua);
    expect(view).toEqual({
      id: "lihua",
      name: "李华",
      unitId: "mx-jyj",
      mobile: "138****0012",
      addresses: { wecom: "LiHua" },
      roles: ["applicant"],
      active: true,
    });
    expect(JSON.stringify(view)).not.toContain("13807530012");
  });
});

describe("API tokens", () => {
  it("create → authenticate → revoke → authenticate null, and a second revoke conflicts", async () => {
    const { db } = database;
    const created = await createToken({ ctx: cli(), input: { userId: "lihua", name: "笔记本" } });
    expect(created.id).toMatch(/^tok_[0-9a-f]{8}$/);
    expect(created.token).toMatch(/^ys_[A-Za-z0-9_-]{43}$/);
    expect(created.userId).toBe("lihua");

    expect(await authenticateToken(db, created.token, now)).toEqual({
      userId: "lihua",
      name: "李华",
      unitId: "mx-jyj",
      roles: ["applicant"],
    });
    const flipped = created.token.slice(0, -1) + (created.token.endsWith("A") ? "B" : "A");
    expect(await authenticateToken(db, flipped, now)).toBeNull();
    expect(await authenticateToken(db, `ys_${randomBytes(32).toString("base64url")}`, now)).toBeNull();
    expect(await authenticateToken(db, "Bearer nonsense", now)).toBeNull();

    const revoked = await revokeToken({ ctx: cli(), input: { id: created.id } });
    expect(revoked).toEqual({ id: created.id, userId: "lihua", revokedAt: now });
    expect(await authenticateToken(db, created.token, now)).toBeNull();

    const again = await caught(revokeToken({ ctx: cli(), input: { id: created.id } }));
    expect(again.status).toBe(409);
    const missing = await caught(revokeToken({ ctx: cli(), input: { id: "tok_00000000" } }));
    expect(missing.status).toBe(404);
  });

  it("records last use at most once a minute", async () => {
    const { db } = database;
    const { id, token } = await createToken({ ctx: cli(), input: { userId: "yangfan" } });
    const lastUsed = async () => (await listTokens(db, "yangfan")).find((t) => t.id === id)?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const first = now;
    await authenticateToken(db, token, now);
    expect(await lastUsed()).toEqual(first);
    advance(30_000);
    await authenticateToken(db, token, now);
    expect(await lastUsed()).toEqual(first);
    advance(30_000);
    await authenticateToken(db, token, now);
    expect(await lastUsed()).toEqual(now);
  });

  it("refuses tokens of inactive or unknown users", async () => {
    const { db } = database;
    const { token } = await createToken({ ctx: cli(), input: { userId: "wangfang" } });
    const file = demoCopy();
    file.users.find((u) => u.id === "wangfang")!.active = false;
    await importDirectory({ ctx: cli(), input: file });
    expect(await authenticateToken(db, token, now)).toBeNull();
    const inactive = await caught(createToken({ ctx: cli(), input: { userId: "wangfang" } }));
    expect(inactive.status).toBe(422);
    await importDirectory({ ctx: cli(), input: { users: [{ id: "wangfang", active: true }] } });
    expect((await authenticateToken(db, token, now))?.userId).toBe("wangfang");

    const unknown = await caught(createToken({ ctx: cli(), input: { userId: "nobody" } }));
    expect(unknown.status).toBe(404);
    const bad = await caught(createToken({ ctx: cli(), input: { userId: "", extra: 1 } }));
    expect(bad.code).toBe("invalid_input");
    expect(Object.keys(bad.fields ?? {}).sort()).toEqual(["extra", "userId"]);
  });

  it("stores only the SHA-256 of a token, never the token itself", async () => {
    const { db } = database;
    const { id, token } = await createToken({ ctx: cli(), input: { userId: "guojun", name: "监理巡检" } });
    await authenticateToken(db, token, now);
    await revokeToken({ ctx: cli(), input: { id } });

    const hash = createHash("sha256").update(token).digest("hex");
    const tokenRows = JSON.stringify(await db.select().from(apiTokens));
    const auditRows = JSON.stringify(await db.select().from(auditLog));
    expect(tokenRows).toContain(hash);
    expect(tokenRows).not.toContain(token);
    expect(tokenRows).not.toContain(token.slice(3)); // nor its random part
    expect(auditRows).not.toContain(token.slice(3));
    expect(auditRows).not.toContain(hash);

    const listed = await listTokens(db, "guojun");
    expect(listed.map((t) => t.id)).toEqual([id]);
    expect(Object.keys(listed[0]!).sort()).toEqual(["createdAt", "expiresAt", "expiryAssumed", "id", "lastUsedAt", "name", "revokedAt", "userId"]);
  });

  it("audits token creation and revocation", async () => {
    const { id } = await createToken({ ctx: cli(), input: { userId: "zhaolei", name: "审计" } });
    const created = await lastAudit();
    expect(created).toMatchObject({
      action: "token.create",
      channel: "cli",
      actorId: null,
      outcome: "ok",
      details: { tokenId: id, userId: "zhaolei", name: "审计", expiresAt: new Date(now.getTime() + 90 * DAY).toISOString() },
      at: now,
    });
    await revokeToken({ ctx: cli(), input: { id } });
    expect(await lastAudit()).toMatchObject({ action: "token.revoke", details: { tokenId: id, userId: "zhaolei" } });
  });
});

const DAY = 86_400_000;

describe("token expiry and refusal messages", () => {
  /** The API as a client sees it: GET /api/me with this Authorization header. */
  async function me(authorization: string | null, at = now, tokenLifetimeDays?: number) {
    const app = createApp({
      db: database.db,
      clock: { now: () => at },
      calendar: () => new WorkCalendar(builtinSchedules()),
      profile: "meizhou",
      log: () => {},
      tokenLifetimeDays,
    });
    const res = await app.request("/api/me", { headers: authorization ? { authorization } : {} });
    return { status: res.status, body: (await res.json()) as any };
  }

  it("a revoked token and an expired one are told so; a missing or unknown one is not told apart", async () => {
    const missing = await me(null);
    const unknown = await me(`Bearer ys_${randomBytes(32).toString("base64url")}`);
    expect(missing).toEqual({ status: 401, body: { error: { code: "unauthenticated", message: "缺少或无效的访问令牌" } } });
    expect(unknown).toEqual(missing);

    const revoked = await createToken({ ctx: cli(), input: { userId: "luoqiang" } });
    expect((await me(`Bearer ${revoked.token}`)).body.userId).toBe("luoqiang");
    await revokeToken({ ctx: cli(), input: { id: revoked.id } });
    expect(await me(`Bearer ${revoked.token}`)).toEqual({
      status: 401,
      body: { error: { code: "token_revoked", message: "访问令牌已被吊销，请联系管理员重新签发" } },
    });

    const expiring = await createToken({ ctx: cli(), input: { userId: "luoqiang", expires: "2025-03-10" } });
    // Through the end of that day in Beijing time, and no later.
    expect(expiring.expiresAt.toISOString()).toBe("2025-03-10T15:59:59.999Z");
    expect((await me(`Bearer ${expiring.token}`, new Date("2025-03-10T15:59:59.000Z"))).status).toBe(200);
    expect(await me(`Bearer ${expiring.token}`, new Date("2025-03-10T16:00:00.000Z"))).toEqual({
      status: 401,
      body: { error: { code: "token_expired", message: "访问令牌已于 2025-03-10 23:59（北京时间）过期，请联系管理员重新签发" } },
    });
  });

  it("tokens last TOKEN_LIFETIME_DAYS (90 by default) unless --expires says otherwise", async () => {
    const { db } = database;
    const byDefault = await createToken({ ctx: cli(), input: { userId: "luoqiang" } });
    expect(byDefault.expiresAt).toEqual(new Date(now.getTime() + 90 * DAY));
    expect(await authenticateToken(db, byDefault.token, new Date(now.getTime() + 90 * DAY - 1))).not.toBeNull();
    expect(await authenticateToken(db, byDefault.token, new Date(now.getTime() + 90 * DAY))).toBeNull();

    const configured = await createToken({ ctx: cli(), input: { userId: "luoqiang" }, lifetimeDays: 30 });
    expect(configured.expiresAt).toEqual(new Date(now.getTime() + 30 * DAY));
    const inDays = await createToken({ ctx: cli(), input: { userId: "luoqiang", expires: "7d" }, lifetimeDays: 30 });
    expect(inDays.expiresAt).toEqual(new Date(now.getTime() + 7 * DAY));
    const listed = await listTokens(db, "luoqiang");
    expect(listed.find((t) => t.id === inDays.id)).toMatchObject({ expiresAt: inDays.expiresAt, expiryAssumed: false });

    for (const [expires, message] of [
      ["0d", "有效期应为 1–3650 天"],
      ["3651d", "有效期应为 1–3650 天"],
      ["2025-03-02", "到期日 2025-03-02 已过"],
      ["2035-03-04", "到期日不能晚于 2035-03-01"],
      ["2025-02-30", "有效期应为天数（如 30d）或到期日（如 2027-03-01）"],
      ["next week", "有效期应为天数（如 30d）或到期日（如 2027-03-01）"],
    ]) {
      const refused = await caught(createToken({ ctx: cli(), input: { userId: "luoqiang", expires } }));
      expect(refused.status, expires).toBe(400);
      expect(refused.message, expires).toContain(message);
      expect(Object.keys(refused.fields ?? {}), expires).toEqual(["expires"]);
    }
    expect(readConfig({ TOKEN_LIFETIME_DAYS: "30" }).TOKEN_LIFETIME_DAYS).toBe(30);
    expect(readConfig({}).TOKEN_LIFETIME_DAYS).toBe(90);
    expect(Object.keys((await caught(Promise.resolve().then(() => readConfig({ TOKEN_LIFETIME_DAYS: "0" })))).fields ?? {})).toEqual(["TOKEN_LIFETIME_DAYS"]);
  });

  it("a token issued before tokens expired lasts the configured lifetime from its issue", async () => {
    const { db } = database;
    const { id, token } = await createToken({ ctx: cli(), input: { userId: "luoqiang" } });
    // As migration 0014 left it: no expiry stored, issued 100 days ago.
    await db.update(apiTokens).set({ expiresAt: null, createdAt: new Date(now.getTime() - 100 * DAY) }).where(eq(apiTokens.id, id));
    const refused = await me(`Bearer ${token}`);
    expect(refused.body.error.code).toBe("token_expired");
    // 100 days ago plus 90: ten days ago.
    expect(refused.body.error.message).toBe(`访问令牌已于 ${shanghaiDateTime(new Date(now.getTime() - 10 * DAY))}（北京时间）过期，请联系管理员重新签发`);
    expect((await me(`Bearer ${token}`, now, 365)).body.userId).toBe("luoqiang");
    const listed = (await listTokens(db, "luoqiang", { lifetimeDays: 365 })).find((t) => t.id === id)!;
    expect(listed).toMatchObject({ expiresAt: new Date(now.getTime() + 265 * DAY), expiryAssumed: true });
  });

  it("the demo's tokens expire after a week", async () => {
    const { tokens, expiresAt } = await loadDemo(cli());
    expect(expiresAt).toEqual(new Date(now.getTime() + DEMO_TOKEN_DAYS * DAY));
    expect(DEMO_TOKEN_DAYS).toBe(7);
    expect(await authenticateToken(database.db, tokens[0]!.token, new Date(expiresAt.getTime() - 1))).not.toBeNull();
    expect((await me(`Bearer ${tokens[0]!.token}`, expiresAt)).body.error.code).toBe("token_expired");
  });
});

describe("authorisation", () => {
  it("refuses an API actor without the manager role: nothing changes, and each refusal is audited", async () => {
    const managerToken = await createToken({ ctx: cli(), input: { userId: "chenjing" } });
    const before = await snapshot();
    const ctx = api(applicantLihua);

    const file = demoCopy();
    file.users[5]!.roles = ["applicant", "manager"]; // an applicant trying to promote himself
    const importRefused = await caught(importDirectory({ ctx, input: file }));
    expect(importRefused.status).toBe(403);
    expect(importRefused.code).toBe("forbidden");
    expect((await caught(createToken({ ctx, input: { userId: "lihua" } }))).status).toBe(403);
    expect((await caught(revokeToken({ ctx, input: { id: managerToken.id } }))).status).toBe(403);

    expect(await snapshot()).toEqual({ ...before, auditCount: before.auditCount! + 3 });
    expect((await getUser(database.db, "lihua"))?.roles).toEqual(["applicant"]);
  });

  it("lets a user revoke their own token", async () => {
    const own = await createToken({ ctx: cli(), input: { userId: "lihua", name: "自己的" } });
    await revokeToken({ ctx: api(applicantLihua), input: { id: own.id } });
    expect(await lastAudit()).toMatchObject({
      action: "token.revoke",
      actorId: "lihua",
      actorRole: "applicant",
      channel: "api",
      sourceIp: "10.20.30.40",
    });
  });

  it("lets a manager, authenticated by token, import and issue tokens; the audit names them", async () => {
    const { token } = await createToken({ ctx: cli(), input: { userId: "zhangwei" } });
    const actor = await authenticateToken(database.db, token, now);
    expect(actor).toEqual(managerZhang);
    const ctx = api(actor!);

    const result = await importDirectory({ ctx, input: demoDirectory });
    expect(result.users.unchanged).toBe(15);
    expect(await lastAudit()).toMatchObject({
      action: "directory.import",
      actorId: "zhangwei",
      actorRole: "manager",
      channel: "api",
      sourceIp: "10.20.30.40",
    });

    const issued = await createToken({ ctx, input: { userId: "hexin" } });
    expect((await authenticateToken(database.db, issued.token, now))?.userId).toBe("hexin");
    expect(await lastAudit()).toMatchObject({ action: "token.create", actorId: "zhangwei", actorRole: "manager" });
  });
});

describe("demo", () => {
  it("loads the demo directory and prints a working token for each seat", async () => {
    const { tokens } = await loadDemo(cli());
    expect(tokens.map((t) => t.userId)).toEqual([...DEMO_TOKEN_USERS]);
    const byUser = new Map(tokens.map((t) => [t.userId, t]));
    for (const t of tokens) {
      const actor = await authenticateToken(database.db, t.token, now);
      expect(actor).toMatchObject({ userId: t.userId, name: t.name, roles: t.roles });
    }
    expect(byUser.get("lihua")?.roles).toEqual(["applicant"]);
    expect(await countyOf(database.db, "mx-jyj")).not.toBeNull(); // lihua's unit is in a county
    expect(byUser.get("yangfan")?.roles).toEqual(["applicant"]);
    expect(await countyOf(database.db, "mz-rsj")).toBeNull(); // yangfan's is city-level
    expect(byUser.get("huangmin")?.roles).toEqual(["county_bureau"]);
    expect(byUser.get("zhangwei")?.roles).toEqual(["manager"]);
    expect(byUser.get("xufeng")?.roles).toEqual(["provider"]);
    expect(byUser.get("guojun")?.roles).toEqual(["reviewer"]);
    expect(byUser.get("zhangwei")?.name).toBe("张伟");
  });

  it("has every role covered (flows.md and admin)", async () => {
    for (const role of ROLES) {
      expect((await usersWithRole(database.db, role)).length, role).toBeGreaterThan(0);
    }
  });
});
