import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Database } from "../db/client";
import { builtinSchedules, WorkCalendar } from "../src/core/calendar";
import { wecomRoutes } from "../src/channels/wecom";
import { createWecomCrypto } from "../src/channels/wecom/crypto";
import type { ServiceContext } from "../src/core/context";
import { demoDirectory } from "../src/directory/demo";
import { registerDemoSystems } from "../src/systems/demo";
import { importDirectory } from "../src/directory/import";
import { createToken, revokeToken } from "../src/directory/tokens";
import { describeInternalError, isDatabaseUnavailable, maskSecrets, safeErrorMessage } from "../src/core/errors";
import { createApp } from "../src/http/app";
import { startJobs } from "../src/jobs/runner";
import type { Sender } from "../src/channels/types";
import { manualClock, sampleForm } from "./app-harness";
import { wecomCallbacks } from "./fakes/wecom-callbacks";
import { createTestDatabase, everyChannel } from "./harness";

// Issue 10, defect 2 (invariant 8): no phone number, token, token hash or key in any line of the operator's
// log. Every path that logs an error is provoked against the real app and database, with database errors whose
// own message carries phone numbers (a trigger puts them there) and statements whose parameters carry a token
// hash; then the whole log is searched. Before the fix the log held drizzle's "Failed query: … params: …" lines.

const mobiles = [...demoDirectory.users.map((u) => u.mobile), sampleForm().contact.mobile, sampleForm().maintainer.mobile];
const MOBILE = /(?<![0-9])1[3-9][0-9]{9}(?![0-9])/;

describe("what an internal error looks like in the log", () => {
  const hash = createHash("sha256").update("ys_secret").digest("hex");
  const token = `ys_${"Q".repeat(20)}${"7f".repeat(11)}a`;

  // A connection error drizzle wrapped, as postgres.js leaves it: the driver attaches the statement and its
  // parameters, drizzle puts them in its message. Its code is not a SQLSTATE: the case the old code let through.
  function wrappedConnectionError() {
    const cause = Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:5432"), { code: "CONNECTION_CLOSED", errno: "CONNECTION_CLOSED", address: "127.0.0.1", port: 5432 });
    Object.defineProperties(cause, { query: { value: "select … where token_hash = $1" }, parameters: { value: [hash, "13807530012"] } });
    return new DrizzleQueryError('select "api_tokens"."id" from "api_tokens" where "token_hash" = $1 and "mobile" = $2', [hash, "13807530012", token], cause);
  }

  test("a wrapped connection error keeps its class and code, loses the statement's parameters", () => {
    const line = describeInternalError(wrappedConnectionError());
    expect(line).toContain("DrizzleQueryError");
    expect(line).toContain("CONNECTION_CLOSED");
    expect(line).toMatch(/\n\s+at /);
    for (const secret of [hash, "13807530012", token]) expect(line).not.toContain(secret);
    expect(line).not.toContain("params");
    expect(line).not.toContain("Failed query");
  });

  test("a database error whose own message carries data shows its SQLSTATE and constraint only", () => {
    const cause = Object.assign(new Error(`duplicate key value violates unique constraint "users_mobile_key": Key (mobile)=(13807530012) already exists.`), {
      name: "PostgresError",
      code: "23505",
      constraint_name: "users_mobile_key",
      table_name: "users",
      detail: "Key (mobile)=(13807530012) already exists.",
    });
    const line = describeInternalError(new DrizzleQueryError("insert into users …", ["13807530012"], cause));
    expect(line).toContain("SQLSTATE 23505");
    expect(line).toContain("users_mobile_key");
    expect(line).not.toContain("13807530012");
  });

  test("the last mask catches mobiles, tokens, hex digests and base64 keys, and leaves paths and names alone", () => {
    const text = `phone 13807530012, token ${token}, hash ${hash}, key jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C, url-safe aB3dE5fG7hJ9kL1mN-3pQ5rS7tU9vW1xY3z_A5bC7dE, at queryWithCache (/work/main/node_modules/drizzle-orm/pg-core/session.js:73:11), at async file:///work/main/node_modules/@electric-sql/pglite/dist/chunk-3WWIVTCY.js:8:1303, seq 1700000000000`;
    const masked = maskSecrets(text);
    for (const secret of ["13807530012", token, hash, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "aB3dE5fG7hJ9kL1mN"]) expect(masked).not.toContain(secret);
    expect(masked).toContain("138****0012");
    expect(masked).toContain("queryWithCache (/work/main/node_modules/drizzle-orm/pg-core/session.js:73:11)");
    expect(masked).toContain("@electric-sql/pglite/dist/chunk-3WWIVTCY.js:8:1303");
    expect(masked).toContain("1700000000000");
  });

  test("a terminal's one-line reason keeps a file error's words and drops a database error's", () => {
    expect(safeErrorMessage(Object.assign(new Error("ENOENT: no such file or directory, open 'users.json'"), { code: "ENOENT" }))).toContain("users.json");
    const reason = safeErrorMessage(wrappedConnectionError());
    expect(reason).toContain("数据库暂时无法访问");
    expect(reason).not.toContain(hash);
    expect(reason).not.toContain("13807530012");
  });

  test("which errors mean the database is unavailable", () => {
    const withQuery = (err: Error) => Object.defineProperty(err, "query", { value: "select 1" });
    expect(isDatabaseUnavailable(wrappedConnectionError())).toBe(true);
    expect(isDatabaseUnavailable(withQuery(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })))).toBe(true);
    expect(isDatabaseUnavailable(new DrizzleQueryError("select 1", [], Object.assign(new Error("x"), { code: "CONNECT_TIMEOUT" })))).toBe(true);
    for (const code of ["57P01", "57P02", "57P03", "08006", "08001", "53300", "57014"])
      expect(isDatabaseUnavailable(new DrizzleQueryError("select 1", [], Object.assign(new Error("x"), { name: "PostgresError", code }))), code).toBe(true);
    for (const code of ["23505", "40001", "42P01", "P0001", "08P01"])
      expect(isDatabaseUnavailable(new DrizzleQueryError("select 1", [], Object.assign(new Error("x"), { name: "PostgresError", code }))), code).toBe(false);
    // The same socket codes from a WeCom or SMS call are not the database's.
    expect(isDatabaseUnavailable(new TypeError("fetch failed", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("x is not a function"))).toBe(false);
  });
});

describe("the operator's log of a run that provokes every error path", () => {
  const WECOM = { corpId: "wx5823bf96d3bd56c7", token: "QDG6eK", encodingAesKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", agentId: 1000002 };
  const lines: string[] = [];
  const log = (line: string) => void lines.push(line);
  let database: Database;
  let server: ReturnType<typeof serve>;
  let base = "";
  const tokens: Record<string, string> = {};
  const clock = manualClock("2026-11-23T01:00:00Z");
  const calendar = new WorkCalendar(builtinSchedules());
  let revokedToken = "";

  const ctx = (): ServiceContext => ({ db: database.db, clock, calendar, profile: "meizhou", actor: null, channel: "cli" });
  const api = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // A trigger that fails the statement with every mobile of the directory in its message.
  const failWithMobiles = async (table: string, when: "insert" | "update") => {
    await database.db.execute(
      sql.raw(`create or replace function leak_mobiles() returns trigger language plpgsql as $$
        begin raise exception 'refused: %', (select string_agg(mobile, ',') from users); end $$`),
    );
    await database.db.execute(sql.raw(`create trigger leak_mobiles before ${when} on ${table} for each row execute function leak_mobiles()`));
    return () => database.db.execute(sql.raw(`drop trigger leak_mobiles on ${table}`));
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await importDirectory({ ctx: ctx(), input: demoDirectory });
    await registerDemoSystems(ctx());
    for (const user of ["lihua", "huangmin", "zhangwei"]) tokens[user] = (await createToken({ ctx: ctx(), input: { userId: user } })).token;
    const revoked = await createToken({ ctx: ctx(), input: { userId: "lihua" } });
    revokedToken = revoked.token;
    await revokeToken({ ctx: ctx(), input: { id: revoked.id } });
    const app = createApp({
      db: database.db,
      clock,
      calendar: () => calendar,
      profile: "meizhou",
      log,
      channels: [
        {
          key: "wecom",
          routes: wecomRoutes({ crypto: createWecomCrypto({ token: WECOM.token, encodingAesKey: WECOM.encodingAesKey, receiveId: WECOM.corpId }), corpId: WECOM.corpId }),
          health: () => ({ ok: true }),
        },
      ],
    });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await database?.close();
  });

  test("bad tokens are refused and log nothing secret", async () => {
    for (const token of [`ys_${"B".repeat(43)}`, "not-a-token", revokedToken, tokens.lihua!.slice(0, -2) + "xx"]) {
      const res = await api(token, "GET", "/api/me");
      expect(res.status).toBe(401);
    }
  });

  test("an internal error on the API (the database refuses the write with data in its message)", async () => {
    const restore = await failWithMobiles("requests", "insert");
    try {
      const res = await api(tokens.lihua!, "POST", "/api/requests", { form: sampleForm() });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: "internal", message: "服务内部错误，请稍后重试或联系管理员" } });
    } finally {
      await restore();
    }
    expect(lines.some((l) => l.startsWith("internal error on POST /api/requests"))).toBe(true);
  });

  test("an internal error whose statement's parameters hold a token hash", async () => {
    await database.db.execute(sql.raw(`alter table api_tokens rename to api_tokens_away`));
    try {
      expect((await api(tokens.huangmin!, "GET", "/api/requests?view=todo")).status).toBe(500);
    } finally {
      await database.db.execute(sql.raw(`alter table api_tokens_away rename to api_tokens`));
    }
    expect(lines.some((l) => l.startsWith("internal error on GET /api/requests"))).toBe(true);
    expect((await api(tokens.huangmin!, "GET", "/api/requests?view=todo")).status).toBe(200);
  });

  test("a WeCom callback that fails inside (a chat 催办 whose audit entry the database refuses)", async () => {
    const submitted = await api(tokens.lihua!, "POST", "/api/requests", { form: sampleForm() });
    expect(submitted.status).toBe(201);
    const { code } = (await submitted.json()) as { code: string };
    const callbacks = wecomCallbacks({ endpoint: `${base}/wecom/callback`, token: WECOM.token, encodingAesKey: WECOM.encodingAesKey, corpId: WECOM.corpId, agentId: WECOM.agentId });
    const restore = await failWithMobiles("audit_log", "insert");
    try {
      const reply = await callbacks.text("LiHua", `催办 ${code}`);
      expect(reply.status).toBe(500);
    } finally {
      await restore();
    }
    expect(lines.some((l) => l.startsWith("企业微信回调处理失败"))).toBe(true);
  });

  test("background jobs that fail: one job, and the outbox of the whole round", async () => {
    // A month on, the stage's reminder and deadline timers are due.
    clock.set("2026-12-23T01:00:00Z");
    const sender: Sender = { name: "recording", send: async () => "sent" };
    const calendars = { current: () => calendar, refresh: async () => false };
    // startJobs runs one round at once; stop() waits for it.
    const oneRound = () => startJobs({ db: database.db, clock, calendars, profile: "meizhou", senders: everyChannel(sender), log }, 3_600_000).stop();
    for (const table of ["timers", "outbox"]) {
      const restore = await failWithMobiles(table, "update");
      try {
        await oneRound();
      } finally {
        await restore();
      }
    }
    expect(lines.some((l) => l.startsWith("后台任务「定时器」出错"))).toBe(true);
    expect(lines.some((l) => l.startsWith("后台任务出错"))).toBe(true);
  });

  test("none of it shows a phone number, a token, a token hash or a key", () => {
    const text = lines.join("\n");
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const hashes = [...Object.values(tokens), revokedToken].map((t) => createHash("sha256").update(t, "utf8").digest("hex"));
    const secrets = [...mobiles, ...Object.values(tokens), revokedToken, ...hashes, WECOM.encodingAesKey];
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
    expect(text).not.toMatch(MOBILE);
    expect(text).not.toContain("params:");
    expect(text).not.toContain("Failed query");
  });
});
