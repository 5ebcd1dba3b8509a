import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { lockPath } from "../db/lock";
import { builtinSchedules, calendarHealth, missingCalendarText, missingCalendarYear, WorkCalendar } from "../src/core/calendar";
import { startFakeWecom } from "./fakes/wecom-server";
import { captureCli, createScratchDatabase, freePort, onPostgres } from "./harness";
import { exitWithin, killStarted, START_TIMEOUT_MS, startService, STOP_TIMEOUT_MS, TEST_TIMEOUT, waitHealthy, type Service } from "./service-process";

// The service runs on the real clock with the built-in calendar years: from 1 December on (and in any year past
// the built-in ones) it says that a year is missing, on /healthz and once at start.
const builtInCalendar = new WorkCalendar(builtinSchedules());
const healthy = () => ({ status: "ok", ...calendarHealth(builtInCalendar, new Date()) });

const cli = captureCli;

const work = mkdtempSync(join(tmpdir(), "yunshen-server-"));
let dropDatabase: (() => Promise<void>) | undefined;

afterAll(async () => {
  killStarted();
  await dropDatabase?.();
  rmSync(work, { recursive: true, force: true });
});

describe("yunshen service process", () => {
  const dataDir = join(work, "data");
  let dbEnv: Record<string, string> = { DATA_DIR: dataDir };
  let service: Service;
  let lihuaToken = "";

  beforeAll(async () => {
    const adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) return;
    const scratch = await createScratchDatabase(adminUrl, "yunshen_srv");
    dbEnv = { DATA_DIR: dataDir, DATABASE_URL: scratch.url };
    dropDatabase = scratch.drop;
  });

  test("starts and answers /healthz", { timeout: TEST_TIMEOUT }, async () => {
    service = startService(dbEnv, await freePort());
    expect(await waitHealthy(service)).toEqual(healthy());
    expect(service.stdout()).toContain(`云审 yunshen 已启动：http://localhost:${service.port}`);
    expect(service.stdout()).toContain(onPostgres ? "数据库：PostgreSQL" : `数据库：PGlite（${dataDir}）`);
    const missing = missingCalendarYear(builtInCalendar, new Date());
    const notices = service.stdout().split("\n").filter((l) => l.includes("工作日历"));
    expect(notices).toEqual(missing === null ? [] : [`提示：${missingCalendarText(missing)}`]);
    if (!onPostgres) expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${service.child.pid}\n`);

    const unauthenticated = await fetch(`http://127.0.0.1:${service.port}/api/me`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toEqual({ error: { code: "unauthenticated", message: "缺少或无效的访问令牌" } });
  });

  test.skipIf(onPostgres)("a second service on the same data directory stops with a clear message", { timeout: TEST_TIMEOUT }, async () => {
    const second = startService(dbEnv, await freePort());
    const { code } = await exitWithin(second, START_TIMEOUT_MS);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(second.stderr()).toContain(`数据目录 ${dataDir} 正被进程 ${service.child.pid} 使用`);
    // The lock and the first service are untouched.
    expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${service.child.pid}\n`);
    expect(await waitHealthy(service)).toEqual(healthy());
  });

  test.skipIf(onPostgres)("a CLI command that opens the data directory stops with the same message; one that changes data asks for a token", { timeout: TEST_TIMEOUT }, async () => {
    const r = await cli(["audit", "anchor"], { DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(`数据目录 ${dataDir} 正被进程 ${service.child.pid} 使用`);
    // It would go through the service's API (test/admin.test.ts), and says how to get the token that needs.
    const token = await cli(["token", "create", "--user", "x"], { DATA_DIR: dataDir, PORT: String(service.port) });
    expect(token).toMatchObject({ code: 1, out: "" });
    expect(token.err).toContain(`正被运行中的服务（进程 ${service.child.pid}）使用，此命令改经服务的接口执行`);
    expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${service.child.pid}\n`);
    expect(await waitHealthy(service)).toEqual(healthy());
  });

  test("SIGTERM shuts it down cleanly and releases the data directory", { timeout: TEST_TIMEOUT }, async () => {
    service.child.kill("SIGTERM");
    const { code, signal } = await exitWithin(service, STOP_TIMEOUT_MS);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(service.stdout()).toContain("收到 SIGTERM，正在关闭");
    expect(existsSync(lockPath(dataDir))).toBe(false);
  });

  test("the CLI can use the directory once the service has stopped", { timeout: TEST_TIMEOUT }, async () => {
    const r = await cli(["demo"], { ...dbEnv });
    expect(r.code).toBe(0);
    lihuaToken = /^ {2}lihua .*\n {4}(ys_[A-Za-z0-9_-]{43})$/m.exec(r.out)?.[1] ?? "";
    expect(lihuaToken).not.toBe("");
    if (!onPostgres) expect(existsSync(lockPath(dataDir))).toBe(false);
  });

  test("restarts on the same data, which survived; SIGINT stops it", { timeout: TEST_TIMEOUT }, async () => {
    // Job rounds an hour apart: a card that reaches the console soon was sent because the API call asked for it.
    service = startService({ ...dbEnv, JOB_INTERVAL_MS: "3600000" }, await freePort());
    expect(await waitHealthy(service)).toEqual(healthy());

    // What the CLI wrote between the two runs is there.
    const me = await fetch(`http://127.0.0.1:${service.port}/api/me`, { headers: { authorization: `Bearer ${lihuaToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ userId: "lihua", unitId: "mx-jyj", roles: ["applicant"] });

    // A request filed through the API: its card goes out at once, not at the next round of background jobs.
    const form = JSON.parse(readFileSync(new URL("../examples/application.json", import.meta.url), "utf8"));
    const submitted = await fetch(`http://127.0.0.1:${service.port}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${lihuaToken}`, "content-type": "application/json" },
      body: JSON.stringify({ form }),
    });
    expect(submitted.status).toBe(201);
    await expect.poll(() => service.stdout(), { timeout: 20_000, interval: 200 }).toContain("[通知 → 黄敏(huangmin)]");

    service.child.kill("SIGINT");
    const { code, signal } = await exitWithin(service, STOP_TIMEOUT_MS);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(service.stdout()).toContain("收到 SIGINT，正在关闭");
    expect(existsSync(lockPath(dataDir))).toBe(false);
  });
});

describe("yunshen service with WeCom", () => {
  test("answers WeCom's URL check, as the admin console does when 保存 is pressed", { timeout: TEST_TIMEOUT }, async () => {
    const fake = await startFakeWecom({ corpId: "wx5823bf96d3bd56c7", agentId: 1000002 });
    try {
      const service = startService(
        {
          DATA_DIR: join(work, "wecom-data"),
          WECOM_CORP_ID: "wx5823bf96d3bd56c7",
          WECOM_AGENT_ID: "1000002",
          WECOM_SECRET: fake.secret,
          WECOM_TOKEN: "QDG6eK",
          WECOM_ENCODING_AES_KEY: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
          WECOM_API_BASE: fake.url,
        },
        await freePort(),
      );
      expect(await waitHealthy(service)).toEqual({ ...healthy(), wecom: { ok: true } });
      expect(service.stdout()).toContain(`消息：企业微信（${fake.url}）`);
      // WeCom's official vector A1.
      const res = await fetch(
        `http://127.0.0.1:${service.port}/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D`,
      );
      expect(await res.text()).toBe("1616140317555161061");
      service.child.kill("SIGTERM");
      expect((await exitWithin(service, STOP_TIMEOUT_MS)).code).toBe(0);
      expect(service.stdout() + service.stderr()).not.toContain(fake.secret);
    } finally {
      await fake.close();
    }
  });
});

describe("yunshen service start-up failures", () => {
  test("an unknown POLICY_PROFILE stops it at once, naming the variable", { timeout: TEST_TIMEOUT }, async () => {
    const dataDir = join(work, "profile-data");
    const service = startService({ DATA_DIR: dataDir, POLICY_PROFILE: "nosuch" }, await freePort());
    const { code } = await exitWithin(service, STOP_TIMEOUT_MS);
    expect(code).toBe(1);
    expect(service.stderr()).toContain("环境变量配置有误");
    expect(service.stderr()).toContain("POLICY_PROFILE");
    // The configuration is read before the database is opened.
    expect(existsSync(dataDir)).toBe(false);
  });

  test("half a WeCom configuration stops it at once, naming what is missing", { timeout: TEST_TIMEOUT }, async () => {
    const dataDir = join(work, "wecom-half-data");
    const service = startService({ DATA_DIR: dataDir, WECOM_CORP_ID: "wx5823bf96d3bd56c7", WECOM_TOKEN: "QDG6eK" }, await freePort());
    const { code } = await exitWithin(service, START_TIMEOUT_MS);
    expect(code).toBe(1);
    for (const missing of ["WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_ENCODING_AES_KEY"]) expect(service.stderr()).toContain(missing);
    expect(existsSync(dataDir)).toBe(false);
  });

  test("a port already in use is reported clearly and releases the data directory", { timeout: TEST_TIMEOUT }, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const { port } = blocker.address() as AddressInfo;
    const dataDir = join(work, "port-data");
    try {
      const service = startService({ DATA_DIR: dataDir }, port);
      const { code } = await exitWithin(service, START_TIMEOUT_MS);
      expect(code).toBe(1);
      expect(service.stderr()).toContain(String(port));
      expect(service.stderr()).not.toContain("Unhandled 'error' event");
      expect(existsSync(lockPath(dataDir))).toBe(false);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
