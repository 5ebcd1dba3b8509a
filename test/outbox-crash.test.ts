import { and, eq, inArray } from "drizzle-orm";
import { everyChannel } from "./harness";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox, wecomCards } from "../db/schema";
import { noticeCard } from "../cards";
import { killSends } from "../bench/kill-sends";
import { createWecomClient } from "../src/channels/wecom/client";
import { DUPLICATE_CHECK_SECONDS, wecomSender } from "../src/channels/wecom/sender";
import type { Clock } from "../src/core/context";
import { enqueueCards } from "../src/core/notify";
import type { Sender } from "../src/channels/types";
import { dispatchOutbox, SENDING_LEASE_MS } from "../src/jobs/outbox";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";
import { startFakeWecom, type FakeWecom } from "./fakes/wecom-server";

// A crash mid-send: the request reached WeCom, the process died before it read the answer. First with real
// processes and kill -9 (bench/kill-sends.ts drives them), then each consequence on its own, in process: a
// sender that "dies" is one whose call never returns, so the dispatcher stops there as a killed one would.

describe("kill -9 during sends, with real processes", () => {
  test("nothing lost, nothing seen twice, only the message in flight waits for the lease, no live buttons left unexplained", async () => {
    const f = await killSends({ kills: 5, adminUrl: process.env.TEST_DATABASE_URL, deadlineMs: 240_000 });
    expect(f.kills).toBe(5);
    expect(f.midSend).toBeGreaterThan(0);
    // Every message delivered once as the person sees it (cards of tasks decided before they went out excepted).
    expect(f.lost).toBe(0);
    expect(f.unfinished).toBe(0);
    expect(f.delivered + f.skipped).toBe(f.queued);
    expect(f.duplicates).toBe(0);
    // Only the message handed to WeCom waits for the lease; the rest of what was due goes at the restart.
    expect(f.mostHeldByOneKill).toBeLessThanOrEqual(1);
    expect(f.waitedForLeaseNotInFlight).toBe(0);
    // A decided task's card is greyed out; the only exception is a card whose response code died with the
    // process (WeCom answers the repeat without one), and then its holder is told by text.
    expect(f.decidedTasks).toBeGreaterThan(0);
    expect(f.liveOnDecided).toBe(f.liveCodeLost);
    expect(f.liveUntold).toBe(0);
  }, 300_000);
});

const CORP_ID = "wwoutboxcrash01";
const AGENT_ID = 1000002;

function senderFor(fake: FakeWecom, t: TestApp, fetchImpl: typeof fetch = fetch) {
  const client = createWecomClient({ apiBase: fake.url, corpId: CORP_ID, secret: fake.secret, agentId: AGENT_ID, clock: t.clock, fetch: fetchImpl });
  return wecomSender({ db: t.db, client, clock: t.clock });
}

/**
 * A dispatcher that dies mid-send: messages go normally until `victim`, whose request reaches WeCom and whose
 * answer is never read. Returns once WeCom has it; the dispatcher is left hanging, as a killed process is.
 */
async function crashOn(fake: FakeWecom, t: TestApp, victim: (m: Parameters<Sender["send"]>[0]) => boolean) {
  const real = senderFor(fake, t);
  const arrived = fake.calls.length;
  let reached = false;
  const dying = senderFor(fake, t, async (url, init) => {
    if (!String(url).includes("/message/")) return fetch(url, init);
    await (await fetch(url, init)).text();
    reached = true;
    return new Promise<Response>(() => {});
  });
  const sender: Sender = { ...real, send: (m) => (victim(m) ? dying.send(m) : real.send(m)) };
  void dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(sender) });
  for (let i = 0; i < 2000 && !reached; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(reached, `no send reached WeCom (calls before: ${arrived}, after: ${fake.calls.length})`).toBe(true);
}

async function drain(sender: Sender, clock: Clock, t: TestApp) {
  for (;;) {
    const round = await dispatchOutbox({ db: t.db, clock, senders: everyChannel(sender) });
    if (round.sent + round.failed === 0) return;
  }
}

const afterLease = (t: TestApp): Clock => ({ now: () => new Date(t.clock.now().getTime() + SENDING_LEASE_MS + 1000) });

describe("a crash mid-send, step by step", () => {
  let t: TestApp;
  let bare: FakeWecom;
  let original: FakeWecom;
  beforeAll(async () => {
    t = await createTestApp();
    bare = await startFakeWecom({ corpId: CORP_ID, agentId: AGENT_ID });
    original = await startFakeWecom({ corpId: CORP_ID, agentId: AGENT_ID, duplicateAnswer: "original" });
  });
  afterAll(async () => {
    await bare?.close();
    await original?.close();
    await t?.close();
  });

  /** Marks everything queued so far as long sent, so each test sees only its own messages. */
  async function cleanSlate() {
    await t.db.update(outbox).set({ status: "sent", sentAt: new Date(0) }).where(inArray(outbox.status, ["pending", "sending"]));
  }

  test("every send carries WeCom's duplicate check from the first attempt, so a repeat after a crash is seen once", async () => {
    await cleanSlate();
    const notice = (n: number) => noticeCard({ id: 1, code: "YS-CRASH-1", title: "t", unitName: "u", summary: [] }, "评论", `崩溃前的第 ${n} 条`);
    for (let n = 0; n < 2; n++) await enqueueCards(t.db, t.clock.now(), ["guojun"], "comment", notice(n), `crash-dup:${n}`);
    const rows = await t.db.select().from(outbox).where(eq(outbox.status, "pending"));
    await crashOn(bare, t, (m) => m.id === rows[0]!.id);
    const first = bare.calls.filter((c) => c.api === "send").at(-1)!.body;
    expect(first).toMatchObject({ enable_duplicate_check: 1, duplicate_check_interval: DUPLICATE_CHECK_SECONDS });
    // The interval covers the lease, after which the message is handed over again.
    expect(DUPLICATE_CHECK_SECONDS * 1000).toBeGreaterThan(SENDING_LEASE_MS);
    await drain(senderFor(bare, t), afterLease(t), t);
    const seen = bare.sent.filter((b) => b.touser === "GuoJun" && String(b.text?.content).includes("崩溃前的第 0 条"));
    expect(seen).toHaveLength(1);
    expect(bare.duplicates.filter((b) => String(b.text?.content).includes("崩溃前的第 0 条"))).toHaveLength(1);
    const after = await t.db.select().from(outbox).where(inArray(outbox.id, rows.map((r) => r.id)));
    expect(after.map((r) => r.status)).toEqual(["sent", "sent"]);
  });

  test("after a crash only the message in flight waits for its lease; the rest of the batch goes at the restart", async () => {
    await cleanSlate();
    for (let n = 0; n < 5; n++)
      await enqueueCards(t.db, t.clock.now(), ["chenjing"], "comment", noticeCard({ id: 1, code: "YS-CRASH-2", title: "t", unitName: "u", summary: [] }, "评论", `批次第 ${n} 条`), `crash-batch:${n}`);
    const rows = (await t.db.select().from(outbox).where(eq(outbox.status, "pending"))).sort((a, b) => a.id - b.id);
    const victim = rows[1]!.id;
    await crashOn(bare, t, (m) => m.id === victim);
    const state = await t.db.select().from(outbox).where(inArray(outbox.id, rows.map((r) => r.id)));
    expect(state.filter((r) => r.status === "sending").map((r) => r.id)).toEqual([victim]);
    // Restart at once: the three never handed over go now, the one in flight only after its lease.
    await drain(senderFor(bare, t), t.clock, t);
    const now = await t.db.select().from(outbox).where(inArray(outbox.id, rows.map((r) => r.id)));
    expect(now.filter((r) => r.status === "sent")).toHaveLength(4);
    expect(now.find((r) => r.id === victim)!.status).toBe("sending");
    await drain(senderFor(bare, t), afterLease(t), t);
    const done = await t.db.select().from(outbox).where(inArray(outbox.id, rows.map((r) => r.id)));
    expect(done.every((r) => r.status === "sent")).toBe(true);
    for (let n = 0; n < 5; n++) expect(bare.sent.filter((b) => String(b.text?.content).includes(`批次第 ${n} 条`))).toHaveLength(1);
  });

  /**
   * A card reaches WeCom, the sender dies before recording it, and while it is down the task is decided: the
   * settlement finds no card on record. When the card's lease lapses it must not be written off as "skipped".
   */
  async function cardDecidedWhileDown(fake: FakeWecom) {
    await cleanSlate();
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    const [card] = await t.db.select().from(outbox).where(and(eq(outbox.status, "pending"), eq(outbox.userId, "xufeng"), eq(outbox.kind, "task")));
    expect(card, "a card for xufeng").toBeDefined();
    await crashOn(fake, t, (m) => m.id === card!.id);
    const taskId = `ys-${card!.id}`;
    expect(fake.sent.filter((b) => b.template_card?.task_id === taskId)).toHaveLength(1);
    ok(await t.act("linna", id, { action: "approve", note: "评估通过" }));
    // Restarted before the lease lapses: the settlement goes first and has no card on record to update.
    await drain(senderFor(fake, t), t.clock, t);
    // Then the card's turn.
    await drain(senderFor(fake, t), afterLease(t), t);
    const [row] = await t.db.select().from(outbox).where(eq(outbox.id, card!.id));
    expect(row!.status).toBe("sent");
    expect(fake.sent.filter((b) => b.template_card?.task_id === taskId)).toHaveLength(1);
    const [recorded] = await t.db.select().from(wecomCards).where(eq(wecomCards.wecomTaskId, taskId));
    expect(recorded?.settledAt).not.toBeNull();
    return { taskId, code: fake.sent.find((b) => b.template_card?.task_id === taskId).template_card.main_title.desc as string };
  }

  test("a card delivered before a crash and decided while the sender was down is greyed out, not written off", async () => {
    const { taskId, code } = await cardDecidedWhileDown(original);
    expect(original.cards.get(taskId)?.greyed).toBe("已由林娜办理");
    // Every card of the decided stage is greyed out; only the next stage's are live.
    const stage = [...original.cards.values()].filter((c) => c.body.template_card.main_title.desc === code && ["XuFeng", "LinNa"].includes(c.touser));
    expect(stage.map((c) => [c.touser, c.greyed]).sort()).toEqual([
      ["LinNa", "已由林娜办理"],
      ["XuFeng", "已由林娜办理"],
    ]);
  });

  test("when WeCom's answer to the repeat has no response code, the holder is told by text that the card is decided", async () => {
    const { taskId, code } = await cardDecidedWhileDown(bare);
    // Nothing can grey it out (its code died with the process): a tap on it is refused by the engine, and its
    // holder is told, once, which request it was and who decided it.
    expect(bare.cards.get(taskId)?.greyed).toBeNull();
    const told = bare.sent.filter((b) => b.touser === "XuFeng" && b.msgtype === "text" && String(b.text.content).includes(code));
    expect(told).toHaveLength(1);
    expect(told[0].text.content).toContain("已由林娜办理");
  });
});
