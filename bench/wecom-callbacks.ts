import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { and, asc, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { tasks } from "../db/schema";
import { wecomRoutes } from "../src/channels/wecom";
import { signedQuery } from "../src/channels/wecom/callback";
import { createWecomCrypto } from "../src/channels/wecom/crypto";
import { buttonKey } from "../src/channels/wecom/render";
import { systemClock } from "../src/core/context";
import { createApp } from "../src/http/app";
import { wecomCallbacks } from "../test/fakes/wecom-callbacks";
import { seedDemo, drive, line, runWhenMain } from "./drive";

// Encrypted card clicks per second over real HTTP on loopback, end to end (decrypt, verify, decide, audit,
// outbox, encrypted reply), against a route that only checks the signature, decrypts and answers an empty
// 200, on the same database in the same run. WeCom gives a callback 5 s; the goal is p99 under 100 ms.

// WeCom's official vector set A (wecom.md §1.8), as the tests use it.
const SET_A = { token: "QDG6eK", encodingAesKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corpId: "wx5823bf96d3bd56c7" };
const AGENT_ID = 1000002;
const P99_GOAL_MS = 100;
const WARM = 20;

export async function benchWecomCallbacks(database: Database, opts: { count?: number; concurrency?: number } = {}) {
  const count = opts.count ?? 300;
  const concurrency = opts.concurrency ?? 50;
  const { calendar, tokenFor, form } = await seedDemo(database);
  const applicant = await tokenFor("yangfan");
  const crypto = createWecomCrypto({ token: SET_A.token, encodingAesKey: SET_A.encodingAesKey, receiveId: SET_A.corpId });
  const app = createApp({
    db: database.db,
    clock: systemClock,
    calendar: () => calendar,
    profile: "meizhou",
    log: () => {},
    channels: [{ key: "wecom", routes: wecomRoutes({ crypto, corpId: SET_A.corpId }), health: () => ({ ok: true }) }],
  });
  // What the callback does up to and including decryption, and nothing after.
  app.post("/bench/decrypt-only", async (c) => {
    const query = signedQuery.safeParse(c.req.query());
    if (!query.success) return c.json({ error: "invalid_query" }, 400);
    crypto.openEnvelope(query.data, await c.req.text());
    return c.body(null, 200);
  });

  // Requests waiting at the providers' evaluation stage: xufeng's card token on each is one decision.
  for (let i = 0; i < WARM + count; i++) {
    const res = await app.request("/api/requests", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${applicant}` },
      body: JSON.stringify({ form }),
    });
    if (res.status !== 201) throw new Error(`submission ${i} answered ${res.status}: ${await res.text()}`);
  }
  const pending = await database.db
    .select({ token: tasks.cardToken })
    .from(tasks)
    .where(and(eq(tasks.userId, "xufeng"), eq(tasks.status, "pending")))
    .orderBy(asc(tasks.requestId));
  if (pending.length !== WARM + count) throw new Error(`expected ${WARM + count} pending tasks for xufeng, found ${pending.length}`);
  const keys = pending.map((t) => buttonKey("approve", t.token!));

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clicks = wecomCallbacks({ endpoint: `${base}/wecom/callback`, ...SET_A, agentId: AGENT_ID });
    const decryptOnly = wecomCallbacks({ endpoint: `${base}/bench/decrypt-only`, ...SET_A, agentId: AGENT_ID });

    const baselineClick = async (i: number) => {
      const res = await decryptOnly.click("XuFeng", { taskId: `ys-bench-${i}`, key: keys[i % keys.length]! }, `rc-baseline-${i}`);
      if (res.status !== 200 || res.reply !== null) throw new Error(`baseline click ${i} answered ${res.status}: ${res.body}`);
    };
    const realClick = async (k: number) => {
      const res = await clicks.click("XuFeng", { taskId: `ys-bench-${k}`, key: keys[k]! }, `rc-${k}`);
      // A refusal is also a 200 with an encrypted text reply: only update_button is a decision.
      if (res.status !== 200 || res.reply?.MsgType !== "update_button")
        throw new Error(`click ${k} was not decided: ${res.status} ${res.reply ? JSON.stringify(res.reply) : res.body}`);
    };

    // Warm both paths before measuring: the baseline at full concurrency, so the client's connections to the
    // server exist already; the real path on requests of its own.
    await drive(2 * concurrency, concurrency, baselineClick);
    await drive(WARM, 1, realClick);

    const baseline = await drive(count, concurrency, baselineClick);
    const real = await drive(count, concurrency, (i) => realClick(WARM + i));
    console.log(`wecom card clicks end to end (${database.kind}, ${count} clicks, ${concurrency} in flight):`);
    console.log(line("  baseline: decrypt only", baseline));
    console.log(line("  click → decision → reply", real));
    console.log(
      `  ratio clicks / baseline: ${(real.ops / baseline.ops).toFixed(2)}   p99 under ${P99_GOAL_MS} ms: ${real.p99 < P99_GOAL_MS ? "yes" : "no"}`,
    );
  } finally {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  }
}

await runWhenMain(import.meta.url, benchWecomCallbacks);
