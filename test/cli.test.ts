import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openDatabase, type Database } from "../db/client";
import { addHost } from "../src/access/hosts";
import { lockPath } from "../db/lock";
import { parseStrict } from "../src/cli/args";
import { commandHelp, USAGE } from "../src/cli/index";
import type { Clock, ServiceContext } from "../src/core/context";
import { endOfShanghaiDay } from "../src/core/calendar";
import { DEMO_TOKEN_USERS, loadDemo } from "../src/directory/demo";
import { registerDemoSystems } from "../src/systems/demo";
import { createApp } from "../src/http/app";
import { calendarStore } from "../src/jobs/runner";
import { captureCli, createScratchDatabase, freePort, createTestDatabase, onPostgres } from "./harness";

// `yunshen …` driven in-process through runCli. Every database command opens and closes the database itself,
// as the real command does, so one data directory (or one PostgreSQL database) serves the whole file.

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const exampleApplication = join(repoRoot, "examples", "application.json");

// Opening PGlite costs a few seconds per command (initdb on the first one): generous limits.
const DB_TIMEOUT = 180_000;

const cli = captureCli;

const TOKEN = /^ys_[A-Za-z0-9_-]{43}$/;

/** userId → token from the output of `yunshen demo`. */
function demoTokens(out: string): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const m of out.matchAll(/^ {2}(\S+) +\S.*\n {4}(\S+)$/gm)) tokens.set(m[1]!, m[2]!);
  return tokens;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

// ---------------------------------------------------------------------------------------------------------
// Fixture files
// ---------------------------------------------------------------------------------------------------------

// A made-up 平远县 added under the demo's city bureau (the parent comes from the database, not the file).
const validDirectory = {
  units: [
    { id: "py-sjj", name: "平远县政务服务数据管理局", kind: "county", parent: "mz-sjj" },
    { id: "py-jyj", name: "平远县教育局", kind: "unit", parent: "py-sjj" },
  ],
  users: [{ id: "zhoujie", name: "周杰", unit: "py-jyj", mobile: "13807530061", wecomUserId: "ZhouJie", roles: ["applicant"] }],
};

// Row 0 of each list is a valid change of an existing row: it must not be applied when the file is refused.
const invalidDirectory = {
  units: [
    { id: "py-sjj", name: "平远县政务服务数据管理局（已改名）", kind: "county", parent: "mz-sjj" },
    { id: "py-wjj", name: "平远县卫生健康局", kind: "district", parent: "py-sjj" },
    { id: "py-gaj", name: "平远县公安局", kind: "unit", parent: "no-such-unit" },
  ],
  users: [
    { id: "zhoujie", name: "周杰", unit: "py-jyj", mobile: "13807530069", wecomUserId: "ZhouJie", roles: ["applicant"] },
    { id: "wuqian", name: "吴倩", unit: "py-jyj", mobile: "12345", roles: ["applicant"] },
    { id: "sunli", name: "孙丽", unit: "py-jyj", mobile: "13807530063", roles: ["boss"], fax: "0753-1234567" },
    { id: "Bad Id", name: "", unit: "py-jyj", mobile: "13807530064", roles: ["applicant"] },
  ],
};
const invalidDirectoryPaths = [
  "units[1].kind",
  "units[2].parent",
  "users[1].mobile",
  "users[2].roles[0]",
  "users[2].fax",
  "users[3].id",
  "users[3].name",
];

// A fictitious 2027 schedule (not the State Council's): 2027-01-01 is a Friday, 2027-02-20 a Saturday.
const schedule2027 = {
  year: 2027,
  source: "测试用 2027 年放假安排（虚构）",
  url: "https://example.gov.cn/2027.htm",
  holidays: [
    { name: "元旦", from: "2027-01-01", to: "2027-01-03" },
    { name: "春节", from: "2027-02-06", to: "2027-02-14" },
    { name: "清明节", from: "2027-04-03", to: "2027-04-05" },
    { name: "劳动节", from: "2027-05-01", to: "2027-05-05" },
    { name: "端午节", from: "2027-06-09", to: "2027-06-09" },
    { name: "中秋节", from: "2027-09-15", to: "2027-09-15" },
    { name: "国庆节", from: "2027-10-01", to: "2027-10-07" },
  ],
  workdays: [
    { date: "2027-02-20", name: "春节调休上班" },
    { date: "2027-10-09", name: "国庆节调休上班" },
  ],
};

const invalidSchedule = {
  year: 2027,
  source: "",
  url: "ftp://example.gov.cn/2027",
  holidays: [{ name: "春节", from: "2027-02-14", to: "2027-02-06" }],
  workdays: [{ date: "2027-03-03", name: "周三不是周末" }],
  note: "多余的字段",
};
const invalidSchedulePaths = ["source", "url", "holidays[0].to", "workdays[0].date", "note"];

// ---------------------------------------------------------------------------------------------------------
// Database commands on one data directory (or one fresh PostgreSQL database)
// ---------------------------------------------------------------------------------------------------------

describe("yunshen database commands", () => {
  const work = mkdtempSync(join(tmpdir(), "yunshen-cli-"));
  const dataDir = join(work, "data");
  const file = (name: string, content: unknown) => {
    const path = join(work, name);
    writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
    return path;
  };
  let env: NodeJS.ProcessEnv = { DATA_DIR: dataDir, POLICY_PROFILE: "meizhou" };
  let pgUrl: string | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  const children: ChildProcess[] = [];

  let tokens = new Map<string, string>();
  let zhoujieTokenId = "";
  // A year from today: `--expires DATE` must lie ahead, and within TOKEN_LIFETIME_DAYS' upper bound.
  const scriptExpires = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    const adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) return;
    const scratch = await createScratchDatabase(adminUrl, "yunshen_cli");
    pgUrl = scratch.url;
    env = { ...env, DATABASE_URL: pgUrl };
    dropDatabase = scratch.drop;
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await dropDatabase?.();
    rmSync(work, { recursive: true, force: true });
  });

  test("migrate creates the database", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["migrate"], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe("数据库迁移已完成\n");
    if (!onPostgres) {
      expect(existsSync(join(dataDir, "pgdata", "PG_VERSION"))).toBe(true);
      // The lock is released when the command ends.
      expect(existsSync(lockPath(dataDir))).toBe(false);
    }
  });

  test("demo imports the directory and prints a token for each demo user", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["demo"], env);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    tokens = demoTokens(r.out);
    expect([...tokens.keys()]).toEqual([...DEMO_TOKEN_USERS]);
    for (const token of tokens.values()) expect(token).toMatch(TOKEN);
    expect(new Set(tokens.values()).size).toBe(DEMO_TOKEN_USERS.length);
    expect(r.out).toContain("李华（applicant）");
    // Demo tokens are for trying things out: they say when they stop working.
    expect(r.out).toMatch(/演示令牌 7 天有效，\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）到期/);
    // Each demo user's one-time sign-in link to the web portal, under its token (issue 12).
    expect([...r.out.matchAll(/^ {4}http:\/\/localhost:8787\/login\/ysl_[A-Za-z0-9_-]{43}$/gm)]).toHaveLength(DEMO_TOKEN_USERS.length);
  });

  test("login-link prints a one-time link to the portal at PUBLIC_URL; an unknown user is refused, a missing --user is a usage error", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["login-link", "--user", "lihua"], { ...env, PUBLIC_URL: "https://yunshen.example.gov.cn/" });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^https:\/\/yunshen\.example\.gov\.cn\/login\/ysl_[A-Za-z0-9_-]{43}\n$/);
    expect(r.err).toMatch(/^登录链接已签发给 lihua，.*只能使用一次/);
    expect(await cli(["login-link", "--user", "nobody"], env)).toMatchObject({ code: 1, err: "用户 nobody 不存在\n" });
    expect((await cli(["login-link"], env)).code).toBe(2);
  });

  test("directory import of a valid file prints the counts", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["directory", "import", file("directory.json", validDirectory)], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe("单位：新增 2，更新 0，未变 0\n用户：新增 1，更新 0，未变 0\n");
  });

  test("directory import of an invalid file lists every bad field and changes nothing", { timeout: DB_TIMEOUT }, async () => {
    const bad = await cli(["directory", "import", file("directory-bad.json", invalidDirectory)], env);
    expect(bad.code).toBe(1);
    expect(bad.out).toBe("");
    const lines = bad.err.trimEnd().split("\n");
    expect(lines[0]).toBe(`通讯录文件有 ${invalidDirectoryPaths.length} 处错误`);
    const listed = lines.slice(1).map((line) => /^ {2}(\S+?)：/.exec(line)?.[1]);
    expect(listed.sort()).toEqual([...invalidDirectoryPaths].sort());
    expect(bad.err).toContain("上级单位 no-such-unit 不存在");
    expect(bad.err).toContain("手机号应为 11 位");

    // The valid rows of the refused file (a renamed unit, a new mobile) were not applied either.
    // Saved by a Windows editor this time: a UTF-8 BOM is allowed.
    const again = await cli(["directory", "import", file("directory-bom.json", `\uFEFF${JSON.stringify(validDirectory)}`)], env);
    expect(again).toMatchObject({ code: 0, err: "" });
    expect(again.out).toBe("单位：新增 0，更新 0，未变 2\n用户：新增 0，更新 0，未变 1\n");
  });

  test("directory import of a file that is not JSON, or of no file, says why", { timeout: DB_TIMEOUT }, async () => {
    const notJson = await cli(["directory", "import", file("broken.json", '{\n  "units": []\n  "users": []\n}')], env);
    expect(notJson.code).toBe(1);
    expect(notJson.err).toMatch(/^通讯录文件不是有效的 JSON：第 3 行第 3 列附近有误/);

    const missing = await cli(["directory", "import"], env);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("directory import 需要通讯录文件");

    const unreadable = await cli(["directory", "import", join(work, "no-such-file.json")], env);
    expect(unreadable.code).toBe(1);
    expect(unreadable.err).toContain("无法读取文件");
  });

  test("token create prints the token on stdout and its id on stderr", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["token", "create", "--user", "zhoujie", "--name", "脚本", "--expires", scriptExpires], env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ys_[A-Za-z0-9_-]{43}\n$/);
    // Through the end of the day asked for.
    const id = new RegExp(`令牌 (tok_[0-9a-f]{8}) 已签发给 zhoujie，${scriptExpires} 23:59（北京时间）到期；只显示这一次`).exec(r.err)?.[1];
    expect(id).toBeDefined();
    zhoujieTokenId = id!;
  });

  test("token list shows tokens and when they expire, without the secrets, filtered by --user", { timeout: DB_TIMEOUT }, async () => {
    const all = await cli(["token", "list"], env);
    expect(all).toMatchObject({ code: 0, err: "" });
    const lines = all.out.trimEnd().split("\n");
    expect(lines).toHaveLength(DEMO_TOKEN_USERS.length + 1);
    expect(all.out).not.toContain("ys_");
    const end = endOfShanghaiDay(scriptExpires).toISOString();
    expect(lines.at(-1)).toMatch(new RegExp(`^${zhoujieTokenId}  zhoujie  脚本  签发 \\d{4}-\\d\\d-\\d\\dT\\S+  到期 ${end}$`));

    const mine = await cli(["token", "list", "--user", "zhoujie"], env);
    expect(mine.code).toBe(0);
    expect(mine.out.trimEnd().split("\n")).toEqual([lines.at(-1)]);
  });

  test("token revoke revokes once; the list shows it", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["token", "revoke", zhoujieTokenId], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(`令牌 ${zhoujieTokenId} 已吊销\n`);

    const again = await cli(["token", "revoke", zhoujieTokenId], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain("已被吊销");

    const list = await cli(["token", "list", "--user", "zhoujie"], env);
    expect(list.out).toMatch(new RegExp(`^${zhoujieTokenId} .* 已吊销 \\d{4}-`));
  });

  test("token commands with missing or wrong arguments say why", { timeout: DB_TIMEOUT }, async () => {
    const noUser = await cli(["token", "create"], env);
    expect(noUser.code).toBe(2);
    expect(noUser.err).toMatch(/^token create 需要 --user ID\n用法：/);

    const flagWithoutValue = await cli(["token", "create", "--user"], env);
    expect(flagWithoutValue.code).toBe(2);
    expect(flagWithoutValue.err).toContain("参数 --user 缺少取值");

    const unknownUser = await cli(["token", "create", "--user", "nosuch"], env);
    expect(unknownUser.code).toBe(1);
    expect(unknownUser.err).toBe("用户 nosuch 不存在\n");
    expect(unknownUser.out).toBe("");

    const noId = await cli(["token", "revoke"], env);
    expect(noId.code).toBe(2);
    expect(noId.err).toContain("token revoke 需要令牌 id");
  });

  let auditCount = 0;

  test("audit verify passes and prints the number of entries", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["audit", "verify"], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    const m = /^审计日志完整：(\d+) 条记录，哈希链校验通过\n/.exec(r.out);
    expect(m).not.toBeNull();
    auditCount = Number(m![1]);
    // Every command signed what it appended, with the key it created in DATA_DIR.
    expect(r.out).toContain(`签名：${auditCount} 条全部有效`);
    // demo (import, the example's system registered, a token and a sign-in link per demo user), login-link and its refusal for an unknown user, two
    // successful imports, token create and revoke, and the refused second revoke and token for an unknown user; the
    // invalid import (bad input) left none.
    expect(auditCount).toBe(2 + 2 * DEMO_TOKEN_USERS.length + 2 + 2 + 2 + 2);
  });

  test("audit export --format jsonl writes one JSON object per line to stdout", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["audit", "export", "--format", "jsonl"], env);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`已导出 ${auditCount} 条审计记录\n`);
    expect(r.out.endsWith("\n")).toBe(true);
    const entries = r.out
      .slice(0, -1)
      .split("\n")
      .map((line) => JSON.parse(line) as { seq: number; action: string; outcome: string; channel: string; hash: string });
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: auditCount }, (_, i) => i + 1));
    expect(entries.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      "directory.import:ok",
      ...DEMO_TOKEN_USERS.flatMap(() => ["token.create:ok", "login_link.create:ok"]),
      "system.register:ok",
      "login_link.create:ok",
      "login_link.create:refused",
      "directory.import:ok",
      "directory.import:ok",
      "token.create:ok",
      "token.revoke:ok",
      "token.revoke:refused",
      "token.create:refused",
    ]);
    for (const e of entries) {
      expect(e.channel).toBe("cli");
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    // Token and sign-in link secrets never reach the log.
    expect(r.out).not.toMatch(/ysl?_[A-Za-z0-9_-]{43}/);
  });

  test("audit export --format csv --output FILE writes a BOM, a header and a row per entry", { timeout: DB_TIMEOUT }, async () => {
    const output = join(work, "audit.csv");
    const r = await cli(["audit", "export", "--format", "csv", "--output", output], env);
    expect(r).toMatchObject({ code: 0, out: "" });
    expect(r.err).toBe(`已导出 ${auditCount} 条审计记录到 ${output}\n`);
    const bytes = readFileSync(output);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString("utf8");
    expect(text.startsWith("\uFEFFseq,at,actorId,actorRole,action,requestId,stage,outcome,channel,sourceIp,details,prevHash,hash,sig\r\n")).toBe(true);
    const records = text.slice(1).split("\r\n");
    expect(records.at(-1)).toBe("");
    expect(records).toHaveLength(auditCount + 2);
    expect(records[1]).toMatch(/^1,\d{4}-\d\d-\d\dT[^,]+,,,directory\.import,/);
  });

  test("audit with a bad format or subcommand is a usage error", async () => {
    const format = await cli(["audit", "export", "--format", "xml"], env);
    expect(format.code).toBe(2);
    expect(format.err).toContain("--format 只能是 jsonl 或 csv");
    const sub = await cli(["audit", "frobnicate"], env);
    expect(sub.code).toBe(2);
    expect(sub.err).toContain("audit 支持 verify、export");
  }, DB_TIMEOUT);

  test("calendar is-workday and add-workdays answer from the built-in years", { timeout: DB_TIMEOUT }, async () => {
    expect(await cli(["calendar", "is-workday", "2026-02-14"], env)).toEqual({ code: 0, out: "true\n", err: "" }); // 调休上班 (Saturday)
    expect(await cli(["calendar", "is-workday", "2026-02-16"], env)).toEqual({ code: 0, out: "false\n", err: "" }); // 春节
    expect(await cli(["calendar", "add-workdays", "2026-02-13", "2"], env)).toEqual({ code: 0, out: "2026-02-24\n", err: "" });
  });

  test("calendar with a bad or missing date says why", { timeout: DB_TIMEOUT }, async () => {
    const badDate = await cli(["calendar", "is-workday", "2026-02-30"], env);
    expect(badDate.code).toBe(1);
    expect(badDate.err).toContain("日期无效");

    const noN = await cli(["calendar", "add-workdays", "2026-02-13"], env);
    expect(noN.code).toBe(2);
    expect(noN.err).toContain("calendar add-workdays 需要日期和正整数 N");

    const noDate = await cli(["calendar", "is-workday"], env);
    expect(noDate.code).toBe(2);
    expect(noDate.err).toContain("calendar is-workday 需要日期");
  });

  test("calendar is-workday outside the loaded years fails with a one-line reason", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["calendar", "is-workday", "2027-03-01"], env);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err.endsWith("\n")).toBe(true);
    expect(r.err.trimEnd()).not.toContain("\n");
    expect(r.err).toContain("2027-03-01 超出已加载的工作日历（2024–2026 年）");
    expect(r.err).toContain("yunshen calendar load FILE");
  });

  test("calendar load refuses an invalid schedule, naming every bad field", { timeout: DB_TIMEOUT }, async () => {
    const r = await cli(["calendar", "load", file("calendar-bad.json", invalidSchedule)], env);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    const lines = r.err.trimEnd().split("\n");
    expect(lines[0]).toBe("工作日历文件无效");
    const listed = lines.slice(1).map((line) => /^ {2}(\S+?)：/.exec(line)?.[1]);
    expect(listed.sort()).toEqual([...invalidSchedulePaths].sort());
    expect(r.err).toContain("调休上班日只能是星期六或星期日");

    const notJson = await cli(["calendar", "load", file("calendar-broken.json", "{ year: 2027 }")], env);
    expect(notJson.code).toBe(1);
    expect(notJson.err).toContain("不是有效的 JSON");

    const missing = await cli(["calendar", "load"], env);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("calendar load 需要放假安排文件");
  });

  test("calendar load refuses a year without every statutory holiday unless --override gives a reason", { timeout: DB_TIMEOUT }, async () => {
    const onlyNewYear = file("calendar-2028.json", { ...schedule2027, year: 2028, holidays: [{ name: "元旦", from: "2028-01-01", to: "2028-01-03" }], workdays: [] });
    const refused = await cli(["calendar", "load", onlyNewYear], env);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe("");
    expect(refused.err).toContain("2028 年工作日历缺少法定节假日：春节、清明节、劳动节、端午节、中秋节、国庆节");
    expect(refused.err).toContain('--override "原因"');
    expect(await cli(["calendar", "is-workday", "2028-01-04"], env)).toMatchObject({ code: 1 });

    const noReason = await cli(["calendar", "load", onlyNewYear, "--override", " "], env);
    expect(noReason.code).toBe(1);
    expect(noReason.err).toContain("--override 需要写明原因");

    const forced = await cli(["calendar", "load", onlyNewYear, "--override", "通知未公布，先按元旦加载"], env);
    expect(forced).toEqual({
      code: 0,
      out: "2028 年工作日历已加载\n",
      err: "注意：按 --override 加载，缺少 春节、清明节、劳动节、端午节、中秋节、国庆节；公布后请补全再加载一次\n",
    });
    expect(await cli(["calendar", "is-workday", "2028-01-04"], env)).toMatchObject({ code: 0, out: "true\n" });
  });

  test("calendar load adds 2027, which then answers", { timeout: DB_TIMEOUT }, async () => {
    const path = file("calendar-2027.json", schedule2027);
    const r = await cli(["calendar", "load", path], env);
    expect(r).toEqual({ code: 0, out: "2027 年工作日历已加载\n", err: "" });

    expect(await cli(["calendar", "is-workday", "2027-03-01"], env)).toEqual({ code: 0, out: "true\n", err: "" });
    expect(await cli(["calendar", "is-workday", "2027-02-20"], env)).toMatchObject({ code: 0, out: "true\n" }); // 调休 Saturday
    // Friday 2027-02-05, then 春节 2027-02-06..14: the first working day after is Monday the 15th.
    expect(await cli(["calendar", "add-workdays", "2027-02-05", "1"], env)).toMatchObject({ code: 0, out: "2027-02-15\n" });
    // Across the year boundary, now that both years are there.
    expect(await cli(["calendar", "add-workdays", "2026-12-31", "1"], env)).toMatchObject({ code: 0, out: "2027-01-04\n" });

    // Loading the same year again replaces it.
    expect(await cli(["calendar", "load", path], env)).toEqual({ code: 0, out: "2027 年工作日历已更新\n", err: "" });
  });

  test("usage: no command, help, unknown command, unknown subcommand", async () => {
    const none = await cli([], env);
    expect(none.code).toBe(2);
    expect(none.out).toBe(`${USAGE}\n`);

    const help = await cli(["help"], env);
    expect(help).toEqual({ code: 0, out: `${USAGE}\n`, err: "" });

    const unknown = await cli(["frobnicate"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe("");
    expect(unknown.err).toBe(`不认识的命令：frobnicate\n${USAGE}\n`);

    const directory = await cli(["directory", "export"], env);
    expect(directory.code).toBe(2);
    expect(directory.err).toMatch(/^directory 只支持 import\n用法：/);

    const calendar = await cli(["calendar", "frobnicate"], env);
    expect(calendar.code).toBe(2);
    expect(calendar.err).toContain("calendar 支持 is-workday、add-workdays、load");
  }, DB_TIMEOUT);

  test("a bad environment is reported, naming the variable", async () => {
    const r = await cli(["migrate"], { ...env, POLICY_PROFILE: "nosuch" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^环境变量配置有误\n {2}POLICY_PROFILE：/);
  });

  test("-h and --help print the whole usage and exit 0, like yunshen help", async () => {
    for (const flag of ["--help", "-h"]) expect(await cli([flag], env)).toEqual({ code: 0, out: `${USAGE}\n`, err: "" });
    expect(USAGE).toContain("token create --user ID");
    expect(USAGE).toContain("request act ID ACTION");
  });

  test("<command> --help and -h print that command's own usage, not the whole CLI's", async () => {
    const token = await cli(["token", "--help"], env);
    expect(token).toEqual({ code: 0, out: `${commandHelp("token")}\n`, err: "" });
    expect(token.out).toMatch(/^用法：yunshen token …\n/);
    expect(token.out).toContain("token create --user ID");
    expect(token.out).not.toContain("calendar");
    // Wherever the flag is put, and with the words of a subcommand before it.
    expect(await cli(["audit", "export", "-h"], env)).toEqual({ code: 0, out: `${commandHelp("audit")}\n`, err: "" });
    expect((await cli(["help", "calendar"], env)).out).toBe(`${commandHelp("calendar")}\n`);
    // Every action's flags, from the engine's schema: rate's --score with its values.
    const request = await cli(["request", "--help"], env);
    expect(request.out).toMatch(/^ {4}rate +--score satisfied\|basic\|dissatisfied \[--comment COMMENT\]$/m);
    expect(request.out).toMatch(/^ {4}extend +--days N --reason REASON$/m);
  });

  test("--version prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(await cli(["--version"], env)).toEqual({ code: 0, out: `${version}\n`, err: "" });
  });

  test("an unknown flag is refused with exit status 2, suggesting the flag meant", async () => {
    const typo = await cli(["audit", "export", "--formt", "csv"], env);
    expect(typo.code).toBe(2);
    expect(typo.out).toBe("");
    expect(typo.err.split("\n")[0]).toBe("不认识的参数 --formt，你是不是想用 --format？");
    expect(typo.err).toContain(`\n${commandHelp("audit")}\n`);

    // A flag of another subcommand is unknown here; one far from every flag gets no guess.
    expect((await cli(["token", "list", "--name", "x"], env)).err).toMatch(/^不认识的参数 --name\n用法：yunshen token/);
    expect((await cli(["calendar", "is-workday", "2026-02-14", "--frobnicate"], env)).err.split("\n")[0]).toBe("不认识的参数 --frobnicate");
    // A boolean flag takes no value; a misspelt command gets a guess too.
    expect(await cli(["demo", "--shell=yes"], env)).toMatchObject({ code: 2, err: expect.stringMatching(/^参数 --shell 不带取值\n/) });
    expect(await cli(["tokne", "list"], env)).toMatchObject({ code: 2, err: `不认识的命令：tokne，你是不是想用 token？\n${USAGE}\n` });
  });

  test("--name=value keeps an = inside the value", () => {
    const options = { note: { type: "string" }, reason: { type: "string" } } as const;
    expect(parseStrict(["act", "--note=限额=100", "--reason", "a=b"], options)).toEqual({ words: ["act"], flags: { note: "限额=100", reason: "a=b" } });
  });

  test("calendar load of a file that is not JSON does not call it a directory file", async () => {
    const r = await cli(["calendar", "load", file("calendar-broken.json", "{ year: 2027 }")], env);
    expect(r.code).toBe(1);
    expect(r.err).not.toContain("通讯录");
  });

  describe.skipIf(onPostgres)("the data directory lock", () => {
    let holder: ChildProcess;

    test("a live holder stops a command with a clear message, touching nothing", { timeout: DB_TIMEOUT }, async () => {
      holder = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      children.push(holder);
      expect(holder.pid).toBeGreaterThan(0);
      writeFileSync(lockPath(dataDir), `${holder.pid}\n`);

      // A command that changes data goes to the service's API instead (test/admin.test.ts): without a token it
      // says how to get one, and with one it says nothing answers where the service should be.
      const r = await cli(["token", "create", "--user", "lihua"], env);
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      expect(r.err).toBe(
        `数据目录 ${dataDir} 正被运行中的服务（进程 ${holder.pid}）使用，此命令改经服务的接口执行，需要系统管理员的访问令牌：` +
          "请用 --token 或环境变量 YUNSHEN_TOKEN 提供。还没有令牌时，先停止服务，运行 yunshen token create --user <用户 id> 签发，再启动服务\n",
      );
      const port = await freePort();
      const unreachable = await cli(["token", "create", "--user", "lihua", "--token", "ys_x"], { ...env, YUNSHEN_URL: `http://127.0.0.1:${port}` });
      expect(unreachable.err).toBe(
        `数据目录 ${dataDir} 正被进程 ${holder.pid} 使用，但无法连接服务 http://127.0.0.1:${port}：请确认服务已启动完毕，或用 YUNSHEN_URL 指定它的地址\n`,
      );
      expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${holder.pid}\n`);

      // Nothing answers where the service should be, so this holder is no service that migrated at its start.
      const migrate = await cli(["migrate"], { ...env, YUNSHEN_URL: `http://127.0.0.1:${port}` });
      expect(migrate.code).toBe(1);
      expect(migrate.err).toContain("正被进程");
    });

    test("a stale pid file (its process died) does not block, and is cleared", { timeout: DB_TIMEOUT }, async () => {
      holder.kill("SIGKILL");
      await exitOf(holder);
      expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${holder.pid}\n`);

      const r = await cli(["token", "list", "--user", "lihua"], env);
      expect(r.code).toBe(0);
      expect(r.err).toBe("");
      // Only the demo's token: the refused `token create` above issued none.
      expect(r.out.trimEnd().split("\n")).toHaveLength(1);
      expect(r.out).toMatch(/^tok_[0-9a-f]{8}  lihua  demo  /);
      expect(existsSync(lockPath(dataDir))).toBe(false);
    });
  });

  test("audit verify detects an entry changed behind the service's back", { timeout: DB_TIMEOUT }, async () => {
    if (pgUrl) {
      const { default: postgres } = await import("postgres");
      const client = postgres(pgUrl, { max: 1, onnotice: () => {} });
      try {
        await client.unsafe("ALTER TABLE audit_log DISABLE TRIGGER ALL");
        await client.unsafe("UPDATE audit_log SET action = 'forged' WHERE seq = 2");
        await client.unsafe("ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update_delete");
      } finally {
        await client.end({ timeout: 5 });
      }
    } else {
      const database: Database = await openDatabase({ dataDir });
      try {
        await database.db.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER ALL"));
        await database.db.execute(sql.raw("UPDATE audit_log SET action = 'forged' WHERE seq = 2"));
      } finally {
        await database.close();
      }
      expect(existsSync(lockPath(dataDir))).toBe(false);
    }

    const r = await cli(["audit", "verify"], env);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^审计日志校验失败：第 2 条记录的内容与其哈希不符（被修改）（第 2 条；已校验 1 条）\n$/);
  });

  // bin/yunshen.js, the installed command: a real process with its own exit status.
  const bin = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [join(repoRoot, "bin", "yunshen.js"), ...args], {
        cwd: work,
        env: { PATH: process.env.PATH, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
      child.once("close", (code) => resolve({ code, out, err }));
    });

  test("bin/yunshen.js answers and sets the exit status", { timeout: DB_TIMEOUT }, async () => {
    expect(await bin(["calendar", "is-workday", "2026-02-14"])).toEqual({ code: 0, out: "true\n", err: "" });
    const unknown = await bin(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("不认识的命令：frobnicate");
  });

  test("host add prints a credential once; rotate replaces it; revoke and list say so", { timeout: DB_TIMEOUT }, async () => {
    const added = await cli(["host", "add", "vm-web-01"], env);
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/^ysh_[A-Za-z0-9_-]{43}\n$/);
    expect(added.err).toContain("只显示这一次");
    const twice = await cli(["host", "add", "vm-web-01"], env);
    expect(twice.code).toBe(1);
    expect(twice.err).toContain("host rotate vm-web-01");
    const rotated = await cli(["host", "rotate", "vm-web-01"], env);
    expect(rotated.out).not.toBe(added.out);
    expect((await cli(["host", "revoke", "vm-web-01"], env)).out).toContain("已吊销");
    const list = await cli(["host", "list"], env);
    expect(list.out).toMatch(/^vm-web-01  登记 \S+  已吊销 \S+\n$/);
    expect(list.out).not.toContain("ysh_");
    expect((await cli(["host", "add"], env)).err).toMatch(/^host add 需要主机名/);
    expect((await cli(["host", "add", "bad name!"], env)).err).toContain("主机名应为");
  });

  test("metrics import reduces a file to daily rows once; a second import of it is refused", { timeout: DB_TIMEOUT }, async () => {
    const file = join(work, "metrics.csv");
    writeFileSync(file, "vm,time,cpu,mem\nvm-web-01,2026-11-16T09:00:00+08:00,50,60\nvm-web-01,2026-11-16T10:00:00+08:00,70,40\n");
    const r = await cli(["metrics", "import", file], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe("已导入 2 条采样：1 台虚拟机，1 个虚拟机日\n");
    const again = await cli(["metrics", "import", file], env);
    expect(again.code).toBe(1);
    expect(again.err).toContain("已导入过");
    expect((await cli(["metrics", "import"], env)).err).toMatch(/^metrics import 需要数据文件/);
    expect((await cli(["metrics", "export"], env)).err).toMatch(/^metrics 支持 import/);
  });

  test("prices load takes a price table file once per version; prices list shows it", { timeout: DB_TIMEOUT }, async () => {
    const file = join(work, "prices.json");
    writeFileSync(file, JSON.stringify({ version: "2026-v1", effectiveFrom: "2026-01-01", prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 } } }));
    expect(await cli(["prices", "load", file], env)).toMatchObject({ code: 0, out: "单价表 2026-v1 已加载，自 2026-01-01 起执行\n" });
    expect((await cli(["prices", "load", file], env)).err).toContain("已加载");
    expect((await cli(["prices", "list"], env)).out).toBe("2026-v1  自 2026-01-01  vm\n");
    writeFileSync(file, JSON.stringify({ version: "2026-v2", effectiveFrom: "2026-02-30", prices: { vm: { vcpuDay: -1 } } }));
    const bad = await cli(["prices", "load", file], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("单价表有误");
  });

  test("004 第四条: catalog load publishes a 服务目录 version once, from its date; catalog list shows it; a bad file says why", { timeout: DB_TIMEOUT }, async () => {
    const file = join(work, "catalog.json");
    const example = readFileSync(join(repoRoot, "examples", "catalog.json"), "utf8");
    writeFileSync(file, example);
    expect(await cli(["catalog", "load", file], env)).toMatchObject({ code: 0, out: "服务目录 2026-v1 已发布（15 项），自 2026-01-01 起执行\n" });
    expect((await cli(["catalog", "load", file], env)).err).toContain("已发布");
    expect((await cli(["catalog", "list"], env)).out).toBe("2026-v1  自 2026-01-01  15 项  粤财行〔2019〕82 号 政务云服务分册\n");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(example), version: "2026-v2", items: [{ code: "X", kind: "gpu", name: "GPU" }] }));
    const bad = await cli(["catalog", "load", file], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("服务目录文件有误");
  });

  test("report monthly prints the report as JSON or any of its tables as CSV; a bad month or table says why", { timeout: DB_TIMEOUT }, async () => {
    const json = await cli(["report", "monthly", "--month", "2026-11"], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ month: "2026-11", total: expect.objectContaining({ resources: expect.any(Number) }) });
    const csv = await cli(["report", "monthly", "--month", "2026-11", "--format", "csv"], env);
    expect(csv.out.startsWith("\uFEFF单位编号,单位")).toBe(true);
    const late = await cli(["report", "monthly", "--month", "2026-11", "--format", "csv", "--table", "late"], env);
    expect(late.out.startsWith("\uFEFF编号,单位编号,单位,环节,期限,办结时间,办理人\r\n")).toBe(true);
    expect((await cli(["report", "monthly", "--month", "2026-11", "--format", "csv", "--table", "all"], env)).err).toContain("table");
    const bad = await cli(["report", "monthly", "--month", "11/2026"], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("月份");
    expect((await cli(["report", "yearly"], env)).err).toMatch(/^report 支持 monthly/);
  });

  test("audit export to an unwritable path fails with one line and releases the directory", { timeout: DB_TIMEOUT }, async () => {
    const r = await bin(["audit", "export", "--format", "csv", "--output", join(work, "no-such-dir", "audit.csv")]);
    expect(r.code).toBe(1);
    expect(r.err.trimEnd()).not.toContain("\n");
    expect(r.err).toContain("no-such-dir");
    if (!onPostgres) expect(existsSync(lockPath(dataDir))).toBe(false);
  });
  test("token create lasts TOKEN_LIFETIME_DAYS without --expires; a bad --expires says why; demo --shell says when its tokens end", { timeout: DB_TIMEOUT }, async () => {
    const configured = await cli(["token", "create", "--user", "zhoujie"], { ...env, TOKEN_LIFETIME_DAYS: "30" });
    expect(configured.code).toBe(0);
    const due = /，(\d{4}-\d\d-\d\d \d\d:\d\d)（北京时间）到期/.exec(configured.err)?.[1];
    const left = new Date(`${due!.replace(" ", "T")}:00+08:00`).getTime() - Date.now();
    expect(left).toBeGreaterThan(29 * 86_400_000);
    expect(left).toBeLessThanOrEqual(30 * 86_400_000);
    const bad = await cli(["token", "create", "--user", "zhoujie", "--expires", "next week"], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("有效期应为天数（如 30d）或到期日（如 2027-03-01）");
    const badEnv = await cli(["token", "list"], { ...env, TOKEN_LIFETIME_DAYS: "0" });
    expect(badEnv.code).toBe(1);
    expect(badEnv.err).toContain("TOKEN_LIFETIME_DAYS");

    const shell = await cli(["demo", "--shell"], env);
    expect(shell.code).toBe(0);
    expect(shell.out).toMatch(/^(export YS_[A-Z]+=ys_[A-Za-z0-9_-]{43}\n)+$/);
    expect(shell.err).toMatch(/^演示令牌 7 天有效，\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）到期，到期后再运行 yunshen demo 即可重新签发\n$/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// `yunshen request …` against a running service
// ---------------------------------------------------------------------------------------------------------

describe("yunshen request (through the REST API)", () => {
  let database: Database;
  let close: (() => Promise<void>) | undefined;
  let baseUrl = "";
  let tokens = new Map<string, string>();
  const internalErrors: string[] = [];
  // A fixed working Monday inside the built-in years, so deadlines never run past the loaded calendar.
  const clock: Clock = { now: () => new Date("2026-03-02T02:00:00.000Z") };
  const as = (user: string) => ({ YUNSHEN_URL: baseUrl, YUNSHEN_TOKEN: tokens.get(user)! });
  let code = "";

  beforeAll(async () => {
    database = await createTestDatabase();
    const calendars = await calendarStore(database.db);
    const ctx: ServiceContext = {
      db: database.db,
      clock,
      calendar: calendars.current(),
      profile: "meizhou",
      actor: null,
      channel: "cli",
    };
    tokens = new Map((await loadDemo(ctx)).tokens.map((t) => [t.userId, t.token]));
    await registerDemoSystems(ctx);
    // The host a 端口开放申请 names must be registered.
    await addHost({ ctx, input: { name: "vm-web-01" } });
    const app = createApp({
      db: database.db,
      clock,
      calendar: calendars.current,
      profile: "meizhou",
      log: (line) => internalErrors.push(line),
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });

  afterAll(async () => {
    await close?.();
    await database?.close();
    expect(internalErrors).toEqual([]);
  });

  test("submit prints the new request", async () => {
    const r = await cli(["request", "submit", exampleApplication], as("lihua"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { code: string; status: string; currentStage: string | null; message: string };
    expect(result.code).toMatch(/^YS-2026-\d{5}$/);
    expect(result.status).toBe("in_progress");
    expect(result.message).toContain("已提交");
    code = result.code;
  });

  test("list --view todo shows it to the county bureau, and not to the manager", async () => {
    const r = await cli(["request", "list", "--view", "todo"], as("huangmin"));
    expect(r).toMatchObject({ code: 0, err: "" });
    const list = JSON.parse(r.out) as { items: { code: string; applicantId: string; status: string }[] };
    expect(list.items.map((i) => i.code)).toEqual([code]);
    expect(list.items[0]).toMatchObject({ applicantId: "lihua", status: "in_progress" });

    const manager = await cli(["request", "list", "--view", "todo"], as("zhangwei"));
    expect(JSON.parse(manager.out)).toMatchObject({ items: [] });
  });

  test("act approve moves the request on; show has the history", async () => {
    const before = JSON.parse((await cli(["request", "show", code], as("huangmin"))).out) as { currentStage: { stage: string } };
    const r = await cli(["request", "act", code, "approve", "--note", "同意"], as("huangmin"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { code: string; status: string; currentStage: string | null };
    expect(result.code).toBe(code);
    expect(result.status).toBe("in_progress");
    expect(result.currentStage).not.toBe(before.currentStage.stage);
    expect(result.currentStage).toBe("evaluate"); // 需求评估 by the cloud provider

    const show = await cli(["request", "show", code.toLowerCase()], as("lihua"));
    expect(show).toMatchObject({ code: 0, err: "" });
    const detail = JSON.parse(show.out) as { code: string; currentStage: { stage: string } | null };
    expect(detail).toMatchObject({ code, currentStage: { stage: result.currentStage } });
    expect(show.out).toContain("同意");

    // The same click again: the stage was decided already.
    const again = await cli(["request", "act", code, "approve"], as("huangmin"));
    expect(again.code).toBe(1);
    expect(again.err).toContain("已由黄敏处理");

    // No longer on the county bureau's list.
    const todo = await cli(["request", "list", "--view", "todo"], as("huangmin"));
    expect(JSON.parse(todo.out)).toMatchObject({ items: [] });
  });

  test("act rate --score rates a completed request (服务评价); a score the engine does not know is refused, naming it", async () => {
    // A 端口开放申请 (the shortest flow the provider serves), submitted with --flow.
    const form = { hosts: ["vm-web-01"], ports: [{ port: 9001 }], sources: ["10.20.0.0/16"], validity: { workdays: 5 }, reason: "对接省平台接口" };
    const formFile = join(mkdtempSync(join(tmpdir(), "yunshen-port-")), "port-grant.json");
    writeFileSync(formFile, JSON.stringify(form));
    const unknownFlow = await cli(["request", "submit", "--flow", "port_grnat", formFile], as("yangfan"));
    expect(unknownFlow.code).toBe(1);
    expect(unknownFlow.err).toContain("flow");
    const submitted = await cli(["request", "submit", "--flow", "port_grant", formFile], as("yangfan"));
    expect(submitted).toMatchObject({ code: 0, err: "" });
    const { code: portCode } = JSON.parse(submitted.out) as { code: string };
    expect(await cli(["request", "act", portCode, "approve"], as("zhangwei"))).toMatchObject({ code: 0, err: "" });
    const opened = await cli(["request", "act", portCode, "approve", "--note", "防火墙已放行"], as("xufeng"));
    expect(opened).toMatchObject({ code: 0, err: "" });
    expect(JSON.parse(opened.out)).toMatchObject({ status: "completed" });

    const junk = await cli(["request", "act", portCode, "rate", "--score", "5"], as("yangfan"));
    expect(junk.code).toBe(1);
    expect(junk.err).toMatch(/\n {2}score：/);
    // A flag of another action is refused before any call.
    expect((await cli(["request", "act", portCode, "rate", "--note", "很好"], as("yangfan"))).err).toMatch(/^不认识的参数 --note\n/);

    const rated = await cli(["request", "act", portCode, "rate", "--score", "satisfied", "--comment", "开通很快"], as("yangfan"));
    expect(rated).toMatchObject({ code: 0, err: "" });
    expect(JSON.parse(rated.out)).toMatchObject({ message: "感谢您的评价：满意" });
    const detail = JSON.parse((await cli(["request", "show", portCode], as("yangfan"))).out) as { rating: unknown };
    expect(detail.rating).toMatchObject({ score: "satisfied", scoreName: "满意", comment: "开通很快" });
  });

  test("--token on the command line is used", async () => {
    const r = await cli(["request", "list", "--view", "mine", "--token", tokens.get("lihua")!], { YUNSHEN_URL: baseUrl });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { items: { code: string }[] }).items.map((i) => i.code)).toEqual([code]);
  });

  test("API errors come back as the API's message, with the fields", async () => {
    const wrong = await cli(["request", "list"], { YUNSHEN_URL: baseUrl, YUNSHEN_TOKEN: `ys_${"A".repeat(43)}` });
    expect(wrong).toEqual({ code: 1, out: "", err: "缺少或无效的访问令牌\n" });

    const badAction = await cli(["request", "act", code, "frobnicate"], as("huangmin"));
    expect(badAction.code).toBe(1);
    expect(badAction.err).toMatch(/^\S.*\n {2}action：/);

    const notThere = await cli(["request", "show", "YS-2026-99999"], as("lihua"));
    expect(notThere.code).toBe(1);
    expect(notThere.err).toBe("申请 YS-2026-99999 不存在或您无权查看\n");

    const notApplicant = await cli(["request", "submit", exampleApplication], as("huangmin"));
    expect(notApplicant.code).toBe(1);
    expect(notApplicant.err).toBe("只有使用单位的申请人可以提交申请\n");
  });

  test("missing token, file or arguments are refused before any call", async () => {
    const noToken = await cli(["request", "list"], { YUNSHEN_URL: baseUrl });
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain("YUNSHEN_TOKEN");

    const noFile = await cli(["request", "submit"], as("lihua"));
    expect(noFile.code).toBe(2);
    expect(noFile.err).toContain("request submit 需要申请表文件");

    const noAction = await cli(["request", "act", code], as("huangmin"));
    expect(noAction.code).toBe(2);
    expect(noAction.err).toContain("request act 需要申请 id 和操作");

    const noId = await cli(["request", "show"], as("huangmin"));
    expect(noId.code).toBe(2);
    expect(noId.err).toContain("request show 需要申请 id 或编号");

    const sub = await cli(["request", "frobnicate"], as("huangmin"));
    expect(sub.code).toBe(2);
    expect(sub.err).toContain("request 支持 submit、list、show、act");
  });

  test("an unreachable service is reported as such", async () => {
    const port = await freePort();
    const r = await cli(["request", "list"], { YUNSHEN_URL: `http://127.0.0.1:${port}`, YUNSHEN_TOKEN: tokens.get("lihua")! });
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(`无法连接服务 http://127.0.0.1:${port}，请先 npm start 启动服务或设置 YUNSHEN_URL\n`);

    // Without YUNSHEN_URL the default is 127.0.0.1:$PORT.
    const byPort = await cli(["request", "list"], { PORT: String(port), YUNSHEN_TOKEN: tokens.get("lihua")! });
    expect(byPort.code).toBe(1);
    expect(byPort.err).toContain(`无法连接服务 http://127.0.0.1:${port}`);
  });
});
