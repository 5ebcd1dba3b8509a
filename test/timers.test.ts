import { and, desc, eq, or } from "drizzle-orm";
import { everyChannel } from "./harness";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, stageRuns, timers } from "../db/schema";
import { type YearSchedule } from "../src/core/calendar";
import { verifyAuditChain } from "../src/audit/verify";
import { recomputePendingDeadlines } from "../src/engine";
import { consoleSender } from "../src/channels/console";
import { SendError, type Sender } from "../src/channels/types";
import { dispatchOutbox, retryDelayMs } from "../src/jobs/outbox";
import { enqueueCards } from "../src/core/notify";
import { noticeCard } from "../cards";
import { calendarStore, runJobsOnce } from "../src/jobs/runner";
import { runDueTimers } from "../src/jobs/timers";
import { loadCalendarYear } from "../src/calendar/store";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";


describe("durable timers: 催办 before the deadline, 工作警示 after it", () => {
  let t: TestApp;
  beforeAll(async () => {
    // Friday 2026-11-20 15:00 Shanghai.
    t = await createTestApp({ now: "2026-11-20T07:00:00Z" });
  });
  afterAll(() => t.close());

  test("reminder on the working day before the deadline, then overdue with a recorded warning", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    // evaluate: 3 wd from Friday → Wednesday 11-25; reminder Tuesday 11-24 09:00.
    const [run] = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id));
    expect(run!.deadlineAt!.toISOString()).toBe("2026-11-25T15:59:59.999Z");
    const planned = await t.db.select().from(timers).where(eq(timers.stageRunId, run!.id));
    expect(planned.map((x) => `${x.kind}@${x.runAt.toISOString()}`).sort()).toEqual([
      "overdue@2026-11-25T15:59:59.999Z",
      "remind@2026-11-24T01:00:00.000Z",
    ]);

    t.clock.set("2026-11-24T00:59:00Z");
    expect(await runDueTimers(t.ctx())).toBe(0);
    t.clock.set("2026-11-24T01:00:00Z");
    expect(await runDueTimers(t.ctx())).toBe(1);
    expect(await runDueTimers(t.ctx())).toBe(0); // fired once only
    const reminders = await t.db.select().from(outbox).where(eq(outbox.kind, "remind"));
    expect(reminders.map((r) => r.userId).sort()).toEqual(["linna", "xufeng"]);

    t.clock.set("2026-11-25T16:00:00Z");
    expect(await runDueTimers(t.ctx())).toBe(1);
    const detail = ok(await t.show("yangfan", id));
    expect(detail.overdue).toBe(true);
    expect(detail.currentStage.overdue).toBe(true);
    expect(detail.findings).toMatchObject([{ kind: "warning", stage: "evaluate" }]);
    const warned = (await t.db.select().from(outbox).where(eq(outbox.kind, "overdue"))).map((r) => r.userId).sort();
    expect(warned).toEqual(["chenjing", "guojun", "linna", "xufeng", "zhangwei"]);
    const fired = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.channel, "timer"))).orderBy(auditLog.seq);
    expect(fired.map((e) => e.action)).toEqual(["timer.remind", "timer.overdue"]);
  });

  test("a decided stage's timers never fire", async () => {
    t.clock.set("2026-11-26T01:00:00Z");
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve" }));
    const runs = await t.db.select().from(stageRuns).where(and(eq(stageRuns.requestId, id), eq(stageRuns.stage, "evaluate")));
    const left = await t.db.select().from(timers).where(eq(timers.stageRunId, runs[0]!.id));
    expect(left.every((x) => x.status === "cancelled")).toBe(true);
  });

  test("two job runners at once fire each timer once (FOR UPDATE SKIP LOCKED)", async () => {
    t.clock.set("2026-12-31T00:00:00Z");
    const [a, b] = await Promise.all([runDueTimers(t.ctx()), runDueTimers(t.ctx())]);
    const remindAudits = await t.db.select().from(auditLog).where(eq(auditLog.channel, "timer"));
    expect(remindAudits.length).toBe(2 + a + b);
    const pending = await t.db.select().from(timers).where(eq(timers.status, "pending"));
    const due = pending.filter((x) => x.runAt <= t.clock.now());
    expect(due).toHaveLength(0);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});

describe("outbox", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test("the console sender delivers each message once, without phone numbers", async () => {
    ok(await t.submit("lihua", sampleForm()), 201);
    const lines: string[] = [];
    const first = await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(consoleSender((l) => lines.push(l))) });
    expect(first.sent).toBeGreaterThan(0);
    expect(lines.join("\n")).toContain("县级数据局初审");
    expect(lines.join("\n")).not.toMatch(/1[3-9]\d{9}/);
    const second = await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(consoleSender((l) => lines.push(l))) });
    expect(second.sent).toBe(0);
  });

  test("a failing sender is retried with backoff, then succeeds once", async () => {
    ok(await t.submit("yangfan", sampleForm()), 201);
    let calls = 0;
    const flaky: Sender = {
      name: "flaky",
      async send() {
        calls++;
        throw new Error("gateway down");
      },
    };
    const failed = await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(flaky) });
    expect(failed.failed).toBeGreaterThan(0);
    const rows = await t.db.select().from(outbox).where(eq(outbox.status, "pending"));
    expect(rows.every((r) => r.attempts === 1 && r.lastError === "gateway down")).toBe(true);
    // Not due again before the backoff has passed.
    expect((await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(flaky) })).failed).toBe(0);
    const later = new Date(t.clock.now().getTime() + retryDelayMs(1));
    const sent: number[] = [];
    const good: Sender = {
      name: "good",
      send: async (m) => {
        sent.push(m.id);
        return "sent";
      },
    };
    expect((await dispatchOutbox({ db: t.db, clock: { now: () => later }, senders: everyChannel(good) })).sent).toBe(rows.length);
    expect(new Set(sent).size).toBe(sent.length);
    expect(calls).toBe(rows.length);
  });

  test("a message left 'sending' by a crash is taken again only after its lease, marked as resumed", async () => {
    ok(await t.submit("yangfan", sampleForm()), 201);
    const [row] = await t.db.select().from(outbox).where(eq(outbox.status, "pending")).orderBy(desc(outbox.id)).limit(1);
    // What a dispatcher that died mid-send leaves behind: claimed, lease running.
    const leaseEnds = new Date(t.clock.now().getTime() + 5 * 60_000);
    await t.db.update(outbox).set({ status: "sending", attempts: 1, nextAttemptAt: leaseEnds }).where(eq(outbox.id, row!.id));
    const seen: { id: number; resumed: boolean }[] = [];
    const recorder: Sender = {
      name: "recorder",
      send: async (m) => {
        seen.push({ id: m.id, resumed: m.resumed });
        return "sent";
      },
    };
    await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(recorder) });
    expect(seen.find((s) => s.id === row!.id)).toBeUndefined();
    await dispatchOutbox({ db: t.db, clock: { now: () => new Date(leaseEnds.getTime() + 1) }, senders: everyChannel(recorder) });
    expect(seen.filter((s) => s.id === row!.id)).toEqual([{ id: row!.id, resumed: true }]);
    const [after] = await t.db.select().from(outbox).where(eq(outbox.id, row!.id));
    expect(after).toMatchObject({ status: "sent", attempts: 2 });
  });

  test("a batch that outlasts its lease is not sent twice by a second dispatcher", async () => {
    await t.db.update(outbox).set({ status: "sent" }).where(eq(outbox.status, "pending"));
    const start = t.clock.now();
    for (let i = 0; i < 4; i++)
      await enqueueCards(t.db, start, ["guojun"], "comment", noticeCard({ id: 1, code: "YS-X", title: "t", unitName: "u", summary: [] }, "评论", `第 ${i} 条`), `lease-test:${i}`);
    const deliveries: string[] = [];
    let now = start;
    const clock = { now: () => now };
    let sends = 0;
    const slow: Sender = {
      name: "slow",
      async send(m) {
        deliveries.push(`A:${m.id}`);
        // Each send takes two minutes (a slow platform, within its timeout); after the third the batch has
        // outlasted its lease, and another dispatcher comes round.
        now = new Date(now.getTime() + 2 * 60_000);
        if (++sends === 3) await dispatchOutbox({ db: t.db, clock, senders: everyChannel({ name: "B", send: async (x) => (deliveries.push(`B:${x.id}`), "sent") }) });
        return "sent";
      },
    };
    await dispatchOutbox({ db: t.db, clock, senders: everyChannel(slow) });
    const ids = deliveries.map((d) => d.split(":")[1]);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(deliveries.some((d) => d.startsWith("B:"))).toBe(true);
  });

  test("a channel's per-recipient limit holds messages back instead of dropping them", async () => {
    // A clean slate for guojun: everything earlier counts as long sent.
    await t.db.update(outbox).set({ status: "sent", sentAt: new Date(0) }).where(or(eq(outbox.status, "pending"), eq(outbox.status, "sending"), eq(outbox.userId, "guojun")));
    const at = t.clock.now();
    for (let i = 0; i < 5; i++)
      await enqueueCards(t.db, at, ["guojun"], "comment", noticeCard({ id: 1, code: "YS-X", title: "t", unitName: "u", summary: [] }, "评论", `第 ${i} 条`), `limit-test:${i}`);
    const sent: number[] = [];
    const limited: Sender = {
      name: "limited",
      perRecipient: { perMinute: 2, perHour: 3 },
      send: async (m) => {
        sent.push(m.id);
        return "sent";
      },
    };
    await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(limited) });
    expect(sent).toHaveLength(2);
    // Within the minute nothing more goes; after it, one more (the hour allows three); the rest wait an hour.
    await dispatchOutbox({ db: t.db, clock: { now: () => new Date(at.getTime() + 30_000) }, senders: everyChannel(limited) });
    expect(sent).toHaveLength(2);
    await dispatchOutbox({ db: t.db, clock: { now: () => new Date(at.getTime() + 61_000) }, senders: everyChannel(limited) });
    expect(sent).toHaveLength(3);
    await dispatchOutbox({ db: t.db, clock: { now: () => new Date(at.getTime() + 3_601_000) }, senders: everyChannel(limited) });
    expect(sent).toHaveLength(5);
    const rows = await t.db.select().from(outbox).where(eq(outbox.userId, "guojun"));
    expect(rows.filter((r) => r.dedupeKey.startsWith("limit-test")).every((r) => r.status === "sent")).toBe(true);
  });

  test("a permanent failure is not retried", async () => {
    await t.db.update(outbox).set({ status: "sent" }).where(eq(outbox.status, "pending"));
    await enqueueCards(t.db, t.clock.now(), ["guojun"], "comment", noticeCard({ id: 1, code: "YS-X", title: "t", unitName: "u", summary: [] }, "评论", "x"), "permanent-test");
    const refusing: Sender = {
      name: "refusing",
      send: async () => {
        throw new SendError("recipient not visible to the app", null, true);
      },
    };
    expect((await dispatchOutbox({ db: t.db, clock: t.clock, senders: everyChannel(refusing) })).failed).toBe(1);
    const [row] = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, "permanent-test:guojun"));
    expect(row).toMatchObject({ status: "failed", attempts: 1 });
  });
});

describe("deadlines past the loaded calendar", () => {
  let t: TestApp;
  beforeAll(async () => {
    // Monday 2026-12-28: 20 working days of deployment reach into 2027, which is not loaded.
    t = await createTestApp({ now: "2026-12-28T01:00:00Z" });
  });
  afterAll(() => t.close());

  test("the stage opens without a deadline, says so, and gets one when 2027 is loaded", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    await t.actInTurn(id, [
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["yangfan", { action: "confirm" }], // the backup works
      ["yangfan", { action: "confirm" }],
      ["guojun", { action: "approve", stage: "verify_delivery" }],
    ]);
    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage.stage).toBe("deploy");
    expect(detail.currentStage.deadlineAt).toBeNull();
    expect(detail.currentStage.deadlinePending).toBe(true);
    const card = (await t.db.select().from(outbox).where(and(eq(outbox.userId, "yangfan"), eq(outbox.kind, "task")))).at(-1);
    expect(JSON.stringify(card!.payload)).toContain("工作日历尚未覆盖");

    // A 2027 schedule (made up for the test: weekends only plus New Year's Day), loaded while the service runs:
    // the job runner sees the new year on its next round and fills in the pending deadline.
    const store = await calendarStore(t.db);
    const y2027: YearSchedule = {
      year: 2027,
      source: "测试用",
      url: "https://example.invalid/2027",
      holidays: [{ name: "元旦", from: "2027-01-01", to: "2027-01-01" }],
      workdays: [],
    };
    await loadCalendarYear({ ctx: t.ctx(), input: y2027, override: "测试用：只有元旦的安排" });
    expect(store.current().years()).not.toContain(2027);
    const sender: Sender = { name: "null", send: async () => "sent" };
    await runJobsOnce({ db: t.db, clock: t.clock, calendars: store, profile: "meizhou", senders: everyChannel(sender) });
    expect(store.current().years()).toContain(2027);
    detail = ok(await t.show("yangfan", id));
    // 12-28 + 20 working days: 12-29..12-31 are 3, 2027-01-01 is off, then 17 more in January → 01-26.
    expect(detail.currentStage.deadlineAt).toBe("2027-01-26T15:59:59.999Z");
    const set = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "stage.deadline_set")));
    expect(set).toHaveLength(1);
    // Already filled: a second round changes nothing.
    expect(await recomputePendingDeadlines({ ctx: { ...t.ctx(), calendar: store.current() } })).toBe(0);
  });
});

describe("a job round", () => {
  test("a job that fails is logged and the others still run, the outbox above all", async () => {
    const { users } = await import("../db/schema");
    const { inArray } = await import("drizzle-orm");
    const t = await createTestApp({ now: "2026-11-02T01:00:00Z" });
    try {
      expect((await t.deliverApplication("yangfan")).resources).not.toHaveLength(0);
      // 31 days after delivery a revocation is due, but with no manager in the directory it cannot be proposed.
      await t.db.update(users).set({ active: false }).where(inArray(users.id, ["zhangwei", "chenjing"]));
      t.clock.set("2026-12-04T01:00:00Z");
      const sent: string[] = [];
      const lines: string[] = [];
      const sender: Sender = { name: "recording", send: async (m) => (sent.push(m.userId), "sent") };
      const calendars = { current: () => t.ctx().calendar, refresh: async () => false };
      await runJobsOnce({ db: t.db, clock: t.clock, calendars, profile: "meizhou", senders: everyChannel(sender), log: (l) => lines.push(l) });
      expect(lines.some((l) => l.startsWith("后台任务「撤销提议」出错"))).toBe(true);
      expect(sent.length).toBeGreaterThan(0); // the cards of the application were still delivered
      expect(await t.db.select().from(outbox).where(eq(outbox.status, "pending"))).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});
