import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { migrationsFolder } from "../db/client";
import { outbox, userChannels } from "../db/schema";
import { noticeCard } from "../cards";
import { CHANNELS, channelSenders, configuredChannels } from "../src/channels";
import { wecomRoutes } from "../src/channels/wecom";
import { createWecomCrypto } from "../src/channels/wecom/crypto";
import type { OutboxMessage, Sender } from "../src/channels/types";
import { readConfig } from "../src/config";
import { enqueueCards } from "../src/core/notify";
import { importDirectory, userRowSchema } from "../src/directory/import";
import { dispatchOutbox } from "../src/jobs/outbox";
import { createTestApp, type TestApp } from "./app-harness";

const SET_A = { token: "QDG6eK", encodingAesKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corpId: "wx5823bf96d3bd56c7" };
const WECOM_ENV = {
  WECOM_CORP_ID: SET_A.corpId,
  WECOM_AGENT_ID: "1000002",
  WECOM_SECRET: "secret-of-the-app",
  WECOM_TOKEN: SET_A.token,
  WECOM_ENCODING_AES_KEY: SET_A.encodingAesKey,
};

/** A sender that keeps what it was handed, so a test can tell which channel delivered what. */
function recorder(name: string): Sender & { got: OutboxMessage[] } {
  const got: OutboxMessage[] = [];
  return { name, got, send: async (m) => (got.push(m), "sent") };
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  // 谢萍 has no WeCom account: nothing but the console can reach her.
  await importDirectory({
    ctx: t.ctx(),
    input: { users: [{ id: "xieping", name: "谢萍", unit: "mx-jyj", mobile: "13807530019", roles: ["applicant"] }] },
  });
});
afterAll(async () => {
  await t?.close();
});

const card = noticeCard({ id: 1, code: "YS-2026-00001", title: "测试系统", unitName: "梅县区教育局", summary: [] }, "测试通知", "通知内容");

async function enqueueTwice(userIds: string[], key: string) {
  for (let i = 0; i < 2; i++) await t.db.transaction((tx) => enqueueCards(tx, t.clock.now(), userIds, "notice", card, key));
}

describe("channels as a registry (issue 11)", () => {
  test("a message to a person with a WeCom address goes out on wecom only, once, even when enqueued twice", async () => {
    await enqueueTwice(["lihua"], "channels-test:wecom");
    const rows = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, "channels-test:wecom:lihua"));
    expect(rows.map((r) => r.channel)).toEqual(["wecom"]);
    const consoleOut = recorder("console");
    const wecomOut = recorder("wecom");
    await dispatchOutbox({ db: t.db, clock: t.clock, senders: { console: consoleOut, wecom: wecomOut, web: consoleOut } });
    const mine = (s: { got: OutboxMessage[] }) => s.got.filter((m) => m.id === rows[0]!.id);
    expect(mine(wecomOut).map((m) => ({ channel: m.channel, address: m.address }))).toEqual([{ channel: "wecom", address: "LiHua" }]);
    expect(consoleOut.got.filter((m) => m.userId === "lihua")).toEqual([]);
    await dispatchOutbox({ db: t.db, clock: t.clock, senders: { console: consoleOut, wecom: wecomOut, web: consoleOut } });
    expect(mine(wecomOut)).toHaveLength(1);
  });

  test("a person without an address on any channel gets the console's copy, not nothing", async () => {
    await enqueueTwice(["xieping"], "channels-test:console");
    const rows = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, "channels-test:console:xieping"));
    expect(rows.map((r) => r.channel)).toEqual(["console"]);
    const consoleOut = recorder("console");
    const wecomOut = recorder("wecom");
    await dispatchOutbox({ db: t.db, clock: t.clock, senders: { console: consoleOut, wecom: wecomOut, web: consoleOut } });
    expect(consoleOut.got.filter((m) => m.userId === "xieping").map((m) => ({ channel: m.channel, address: m.address }))).toEqual([
      { channel: "console", address: null },
    ]);
    expect(wecomOut.got.filter((m) => m.userId === "xieping")).toEqual([]);
  });

  test("without WeCom configured, a WeCom copy is printed on the console", async () => {
    const channels = configuredChannels(readConfig({}), { db: t.db, clock: t.clock, log: () => {} });
    // The portal is always on, and pushes nothing.
    expect(channels.map((c) => c.key)).toEqual(["console", "web"]);
    const printer = recorder("console");
    const senders = channelSenders([{ ...channels[0]!, sender: printer }]);
    expect(senders.wecom).toBe(printer);
    await enqueueTwice(["huangmin"], "channels-test:fallback");
    await dispatchOutbox({ db: t.db, clock: t.clock, senders });
    expect(printer.got.filter((m) => m.userId === "huangmin").map((m) => m.channel)).toEqual(["wecom"]);
  });

  test("the configuration turns WeCom on; every channel key has a module, and its address field is one the directory file takes", () => {
    const channels = configuredChannels(readConfig(WECOM_ENV), { db: t.db, clock: t.clock, log: () => {} });
    expect(channels.map((c) => c.key)).toEqual(["console", "wecom", "web"]);
    expect(Object.entries(CHANNELS).map(([key, m]) => [key, m.key])).toEqual([
      ["console", "console"],
      ["wecom", "wecom"],
      ["web", "web"],
    ]);
    const fields = Object.values(CHANNELS).flatMap((m) => (m.addressField ? [m.addressField] : []));
    expect(fields).toEqual(["wecomUserId"]);
    for (const field of fields) expect(Object.keys(userRowSchema.shape)).toContain(field);
  });

  test("the app mounts only configured channels' routes; an unconfigured one says it is not configured", async () => {
    const plain = await t.call(null, "GET", "/wecom/callback");
    expect(plain.status).toBe(404);
    expect(plain.body.error.code).toBe("wecom_not_configured");
    expect((await t.call(null, "GET", "/healthz")).body).not.toHaveProperty("wecom");

    const withWecom = await createTestApp({
      channels: [
        {
          key: "wecom",
          routes: wecomRoutes({ crypto: createWecomCrypto({ ...SET_A, receiveId: SET_A.corpId }), corpId: SET_A.corpId }),
          health: () => ({ ok: true }),
        },
      ],
    });
    try {
      // The callback itself answers: its query is checked before anything else.
      const res = await withWecom.call(null, "GET", "/wecom/callback");
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_query");
      // Only the routes the channel has are there; an old card's details link goes on to the portal.
      expect((await withWecom.call(null, "GET", "/wecom/nothing")).body.error.code).toBe("not_found");
      expect((await withWecom.call(null, "GET", "/wecom/requests/YS-2026-00001?code=x")).status).toBe(301);
      expect((await withWecom.call(null, "GET", "/healthz")).body.wecom).toEqual({ ok: true });
    } finally {
      await withWecom.close();
    }
  });

  // The address lookups a callback relies on compare case-insensitively and are unique that way per channel.
  test("user_channels refuses a second person on the same WeCom account in another case", async () => {
    const taken = await t.db.insert(userChannels).values({ userId: "xieping", channel: "wecom", address: "lihua" }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(taken).not.toBeNull();
    expect(await t.db.select().from(userChannels).where(eq(userChannels.userId, "xieping")).orderBy(asc(userChannels.channel))).toEqual([]);
  });
});

describe("migration 0016", () => {
  test("moves each WeCom userid into user_channels and gives queued messages their channel", async () => {
    const { PGlite } = await import("@electric-sql/pglite");
    const pg = await PGlite.create();
    try {
      const files = readdirSync(migrationsFolder).filter((f) => f.endsWith(".sql")).sort();
      const run = async (file: string) => {
        for (const statement of readFileSync(join(migrationsFolder, file), "utf8").split("--> statement-breakpoint")) await pg.exec(statement);
      };
      const last = files.indexOf("0016_user_channels.sql");
      for (const file of files.slice(0, last)) await run(file);
      await pg.exec(`
        insert into units (id, name, kind) values ('c', '市', 'city');
        insert into users (id, name, unit_id, mobile, wecom_user_id, roles) values
          ('a', '甲', 'c', '13800000001', 'JiaA', '[]'), ('b', '乙', 'c', '13800000002', '', '[]');
        insert into outbox (dedupe_key, user_id, kind, payload, next_attempt_at, created_at) values
          ('k:a', 'a', 'notice', '{}', now(), now()), ('k:b', 'b', 'notice', '{}', now(), now());`);
      await run(files[last]!);
      expect((await pg.query("select user_id, channel, address from user_channels order by user_id")).rows).toEqual([
        { user_id: "a", channel: "wecom", address: "JiaA" },
      ]);
      expect((await pg.query("select user_id, channel from outbox order by user_id")).rows).toEqual([
        { user_id: "a", channel: "wecom" },
        { user_id: "b", channel: "console" },
      ]);
      const columns = await pg.query("select column_name from information_schema.columns where table_name = 'users' and column_name = 'wecom_user_id'");
      expect(columns.rows).toEqual([]);
    } finally {
      await pg.close();
    }
  });
});

