import { and, asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, resources, users } from "../db/schema";
import { verifyAuditChain } from "../src/audit/verify";
import { revocationDue } from "../src/resources/revocation";
import { proposeRevocations } from "../src/jobs/revocation-proposals";
import { shanghaiInstant } from "../src/core/calendar";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// Flow 3: 撤销 — asked for by the unit, or proposed by yunshen when a time rule of 004 第二十四条 holds.
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const delivered = (date: string) => ({ deliveredAt: shanghaiInstant(date, "10:00"), deployedAt: null, securityTestedAt: null, liveAt: null });

describe("the time rules of 第二十四条(二), each on its boundary day", () => {
  test("more than 30 days and deployment not started", () => {
    expect(revocationDue(delivered("2026-09-01"), false, "2026-10-01")).toBeNull(); // day 30
    expect(revocationDue(delivered("2026-09-01"), false, "2026-10-02")).toBe("not_deployed_30"); // day 31
    expect(revocationDue(delivered("2026-09-01"), true, "2026-10-02")).toBeNull();
  });
  test("more than 60 days and not deployed", () => {
    expect(revocationDue(delivered("2026-09-01"), true, "2026-10-31")).toBeNull(); // day 60
    expect(revocationDue(delivered("2026-09-01"), true, "2026-11-01")).toBe("not_deployed_60");
    expect(revocationDue({ ...delivered("2026-09-01"), deployedAt: new Date() }, true, "2026-11-01")).toBeNull();
  });
  test("more than 90 days and not security-tested and live", () => {
    const deployed = { ...delivered("2026-09-01"), deployedAt: shanghaiInstant("2026-09-10") };
    expect(revocationDue(deployed, true, "2026-11-30")).toBeNull(); // day 90
    expect(revocationDue(deployed, true, "2026-12-01")).toBe("not_live_90");
    expect(revocationDue({ ...deployed, securityTestedAt: new Date(), liveAt: null }, true, "2026-12-01")).toBe("not_live_90");
    expect(revocationDue({ ...deployed, securityTestedAt: new Date(), liveAt: new Date() }, true, "2027-06-01")).toBeNull();
  });
});

/** A 云资源申请 by lihua walked to delivery: its resources' ids, delivered "now". */
const deliveredApplication = async () => (await t.deliverApplication("lihua")).resources.map((r) => r.id);

describe("revocation", () => {
  test("the unit asks, the stages run, and the resources are revoked with the date", async () => {
    const ids = await deliveredApplication();
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form: { resources: ids.slice(0, 2), reason: "系统下线" } }), 201);
    const detail = ok(await t.show("lihua", id));
    expect(detail.summary).toContainEqual({ label: "理由", value: "使用单位不再需要" });
    expect(detail.summary[0].value).toMatch(/-01 应用服务器 4 核 8G、.*-02 应用服务器 4 核 8G$/);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "先备份再释放" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
      ["lihua", { action: "confirm", note: "数据已备份" }],
    ]);
    t.clock.set("2026-11-30T02:00:00Z");
    await t.actInTurn(id, [["xufeng", { action: "approve" }]]);
    const rows = await t.db.select().from(resources).where(eq(resources.status, "revoked"));
    expect(rows.map((r) => r.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect(rows.every((r) => r.revokedAt?.toISOString() === "2026-11-30T02:00:00.000Z")).toBe(true);
    // The reviewer finds the reclaim incomplete: it goes back to the provider, not to a form about resources
    // that are gone; done again, the revocation keeps its first date.
    await t.actInTurn(id, [["guojun", { action: "return", reason: "存储卷未释放" }]]);
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("revoke");
    t.clock.set("2026-12-01T02:00:00Z");
    await t.actInTurn(id, [["xufeng", { action: "approve", note: "已释放存储卷" }]]);
    const again = await t.db.select().from(resources).where(inArray(resources.id, ids.slice(0, 2)));
    expect(again.every((r) => r.revokedAt?.toISOString() === "2026-11-30T02:00:00.000Z")).toBe(true);
    await t.actInTurn(id, [["guojun", { action: "approve" }]]);
    expect(ok(await t.show("lihua", id)).status).toBe("completed");
  });

  test("a VM's backup policy is revoked with it", async () => {
    const ids = await deliveredApplication();
    const rows = await t.db.select().from(resources).where(inArray(resources.id, ids)).orderBy(asc(resources.id));
    const db = rows.find((r) => (r.spec as { purpose?: string }).purpose === "数据库服务器")!;
    const backup = rows.find((r) => r.kind === "backup")!;
    expect(backup.spec).toMatchObject({ resourceId: db.id });
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form: { resources: [db.id], reason: "数据库迁出" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
      ["lihua", { action: "confirm" }],
      ["xufeng", { action: "approve" }],
    ]);
    const after = await t.db.select().from(resources).where(inArray(resources.id, [db.id, backup.id]));
    expect(after.map((r) => r.status)).toEqual(["revoked", "revoked"]);
    const [entry] = (await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "resource.revoked"))));
    expect(entry!.details).toEqual({ resourceIds: [db.id], backupIds: [backup.id] });
  });

  test("refused: someone else's resources, two units at once, resources already revoked or being revoked", async () => {
    const mine = (await t.db.select().from(resources).where(eq(resources.status, "delivered"))).map((r) => r.id);
    const ask = (user: string, ids: number[]) => t.call(user, "POST", "/api/requests", { flow: "revocation", form: { resources: ids, reason: "不再需要" } });
    expect((await ask("hexin", mine)).body.error.code).toBe("not_yours");
    expect((await ask("lihua", [999999])).body.error.code).toBe("unknown_resource");
    expect((await ask("zhangwei", mine)).status).toBe(403);
    ok(await ask("xufeng", mine.slice(0, 1)), 201); // the provider may start one for the unit
    expect((await ask("lihua", mine.slice(0, 1))).body.error.code).toBe("already_changing");
  });

  test("two revocations of one resource at once: one goes ahead, the other is told it is taken", async () => {
    const ids = await deliveredApplication();
    const ask = (user: string) => t.call(user, "POST", "/api/requests", { flow: "revocation", form: { resources: [ids[0]], reason: "不再需要" } });
    const results = await Promise.all([ask("lihua"), ask("xufeng")]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    // A scale-down of it now waits as well: one change at a time per resource.
    const adjust = await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: ids[0], to: { vcpu: 2 }, reason: "x" } });
    expect(adjust.body.error.code).toBe("already_changing");
  });

  test("a returned revocation is resubmitted, and a provider's keeps belonging to the unit", async () => {
    const ids = await deliveredApplication();
    const { id } = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "revocation", form: { resources: [ids[1]], reason: "长期闲置" } }), 201);
    const [row] = await t.db.select().from(requests).where(eq(requests.id, id));
    expect(row).toMatchObject({ applicantId: "lihua", unitId: "mx-jyj" });
    await t.actInTurn(id, [["zhangwei", { action: "return", reason: "请写明数据如何处理" }]]);
    const again = ok(await t.act("lihua", id, { action: "resubmit", form: { resources: [ids[1]], reason: "长期闲置，数据已由单位导出" } }));
    expect(again.currentStage).toBe("approve");
  });

  test("yunshen proposes a revocation when a time rule holds, once per rule, with the evidence", async () => {
    t.clock.set("2026-12-01T02:00:00Z");
    const ids = await deliveredApplication(); // delivered 2026-12-01
    t.clock.set("2027-01-01T02:00:00Z"); // day 31
    expect(await proposeRevocations(t.ctx())).toBeGreaterThanOrEqual(1);
    expect(await proposeRevocations(t.ctx())).toBe(0);
    const proposals = await t.db.select().from(requests).where(eq(requests.flow, "revocation"));
    const mine = proposals.find((p) => (p.facts as { trigger: string; resourceIds: number[] }).trigger !== "unit_request" && (p.facts as { resourceIds: number[] }).resourceIds.includes(ids[0]!));
    expect(mine).toMatchObject({ applicantId: "lihua", unitId: "mx-jyj", currentStage: "approve" });
    expect(mine!.facts).toMatchObject({ trigger: "not_deployed_30", evidence: { deliveredAt: "2026-12-01", deployedAt: null, today: "2027-01-01" } });
  });
});

describe("deployment started, for the 30-day rule", () => {
  test("only the unit's own action at 应用部署 counts: reminders, warnings and others' nudges do not", async () => {
    const { runDueTimers } = await import("../src/jobs/timers");
    const m = await createTestApp({ now: "2026-09-01T02:00:00Z" });
    try {
      const deployOpen = async () => {
        const { id } = ok(await m.submit("yangfan", sampleForm()), 201);
        await m.actInTurn(id, [
          ["xufeng", { action: "approve", note: "配置合理" }],
          ["zhangwei", { action: "approve" }],
          ["linna", { action: "approve", note: "已开通" }],
          ["yangfan", { action: "confirm" }], // the backup works
          ["yangfan", { action: "confirm" }],
          ["guojun", { action: "approve", stage: "verify_delivery" }],
        ]);
        expect(ok(await m.show("yangfan", id)).currentStage.stage).toBe("deploy");
        return id;
      };
      const idle = await deployOpen();
      const working = await deployOpen();
      ok(await m.act("guojun", idle, { action: "nudge", note: "请尽快部署" }));
      ok(await m.act("yangfan", working, { action: "comment", text: "开始部署" }));
      // The deploy stage's 催办 and overdue timers fire on both.
      m.clock.set("2026-10-02T02:00:00Z"); // day 31
      await runDueTimers(m.ctx());
      expect(await proposeRevocations(m.ctx())).toBe(1);
      const proposals = await m.db.select().from(requests).where(eq(requests.flow, "revocation"));
      const idleResources = (await m.db.select().from(resources).where(eq(resources.requestId, idle))).map((r) => r.id).sort();
      expect(proposals).toHaveLength(1);
      expect(proposals[0]!.facts).toMatchObject({ trigger: "not_deployed_30", resourceIds: idleResources });
    } finally {
      await m.close();
    }
  });
});

describe("巴中: a 3-month 过渡期, then data purge and reclaim (003 第二十二条)", () => {
  test("the transition is a period nobody decides; its timer ends it and opens the joint purge", async () => {
    const { runDueTimers } = await import("../src/jobs/timers");
    const { answerChat } = await import("../src/chat/answer");
    const b = await createTestApp({ profile: "bazhong", now: "2026-11-30T02:00:00Z" }); // Monday 10:00
    try {
      await b.planConsented(); // 003 第十四条: within the year's consented plan
      // A migration: 巴中 asks for the uploaded migration plan (003 第十五条).
      const form = sampleForm();
      form.attachments.push(await b.attachment("yangfan", "plan"));
      const { id: appId } = ok(await b.submit("yangfan", form), 201);
      await b.actInTurn(appId, [
        ["zhangwei", { action: "approve", note: "论证通过" }],
        ["xufeng", { action: "approve" }],
      ]);
      const ids = (await b.db.select().from(resources).where(eq(resources.requestId, appId))).map((r) => r.id);
      const { id } = ok(await b.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: ids, reason: "系统整合，停止使用" } }), 201);
      await b.actInTurn(id, [["zhangwei", { action: "approve" }]]);

      // 2026-11-30 + 3 months = 2027-02-28 (February has no 30th), past the loaded calendar: the period stands.
      let detail = ok(await b.show("yangfan", id));
      expect(detail.currentStage).toMatchObject({ stage: "transition", elapses: true, deadlineAt: "2027-02-28T15:59:59.999Z", deadlinePending: false, tasks: [] });
      const [opened] = await b.db.select().from(outbox).where(eq(outbox.kind, "period"));
      expect(opened).toMatchObject({ userId: "yangfan" });
      expect(JSON.stringify(opened!.payload)).toContain("2027-02-28 届满（3 个月）");
      // Nobody can end it early, and chat says when it ends.
      expect((await b.act("yangfan", id, { action: "confirm" })).status).toBe(403);
      const reply = await answerChat({ ctx: { ...b.ctx(), actor: { userId: "yangfan", name: "杨帆", unitId: "mz-rsj", roles: ["applicant" as const] }, channel: "wecom" }, input: { text: `查询 ${detail.code}`, messageKey: "m1" } });
      expect(reply).toContain("2027-02-28 届满，届满后自动进入下一环节");

      // Reminded the day before (the calendar ends with 2026, so the calendar day before), then it elapses.
      b.clock.set("2027-02-27T01:00:00Z");
      await runDueTimers(b.ctx()); // the application's own stage is long overdue by now, too
      const fired = await b.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.channel, "timer")));
      expect(fired.map((e) => e.action)).toEqual(["timer.remind"]);
      const [reminded] = await b.db.select().from(outbox).where(eq(outbox.kind, "remind"));
      expect(reminded).toMatchObject({ userId: "yangfan" });
      b.clock.set("2027-02-28T15:59:59.998Z");
      expect(await runDueTimers(b.ctx())).toBe(0);
      // With no provider in the directory the joint purge cannot open: the period stays, its end is tried again
      // an hour later, and the managers are told.
      await b.db.update(users).set({ active: false }).where(inArray(users.id, ["xufeng", "linna"]));
      b.clock.set("2027-02-28T16:00:00Z");
      expect(await runDueTimers(b.ctx())).toBe(1);
      expect(ok(await b.show("yangfan", id)).currentStage.stage).toBe("transition");
      const refused = await b.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "timer.elapse")));
      expect(refused).toMatchObject([{ outcome: "refused", details: { code: "no_assignee" } }]);
      expect((await b.db.select().from(outbox).where(eq(outbox.kind, "period_stuck"))).map((o) => o.userId).sort()).toEqual(["chenjing", "zhangwei"]);
      await b.db.update(users).set({ active: true }).where(inArray(users.id, ["xufeng", "linna"]));
      b.clock.set("2027-02-28T16:59:59Z");
      expect(await runDueTimers(b.ctx())).toBe(0);
      b.clock.set("2027-02-28T17:00:00Z");
      expect(await runDueTimers(b.ctx())).toBe(1);
      detail = ok(await b.show("yangfan", id));
      expect(detail.stages.find((s: { stage: string }) => s.stage === "transition").status).toBe("elapsed");
      expect(detail.currentStage).toMatchObject({ stage: "purge", mode: "all" });
      expect(detail.currentStage.tasks.map((t: { userId: string }) => t.userId).sort()).toEqual(["linna", "xufeng", "yangfan"]);
      const elapsed = await b.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "stage.elapse")));
      expect(elapsed).toMatchObject([{ stage: "transition", channel: "timer", actorId: null }]);
      expect(await runDueTimers(b.ctx())).toBe(0); // once only

      // 共同做好数据清除, then the reclaim revokes the resources, then the reviewer checks.
      await b.actInTurn(id, [
        ["yangfan", { action: "confirm", note: "已导出并清除业务数据" }],
        ["xufeng", { action: "approve" }],
        ["xufeng", { action: "approve" }],
      ]);
      const rows = await b.db.select().from(resources).where(eq(resources.requestId, appId));
      expect(rows.every((r) => r.status === "revoked")).toBe(true);
      await b.actInTurn(id, [["guojun", { action: "approve" }]]);
      expect(ok(await b.show("yangfan", id)).status).toBe("completed");
      expect((await verifyAuditChain(b.db)).ok).toBe(true);
    } finally {
      await b.close();
    }
  });
});

describe("高创中心: stop, back up, hand over, purge, reclaim (000 6.3, 7.2.3)", () => {
  test("approved, the unit stops and backs up, the provider hands the data over and both sign, unit and provider purge together, the provider reclaims", async () => {
    const g = await createTestApp({ profile: "gaochuang" });
    try {
      const { id: app } = ok(await g.submit("yangfan", sampleForm()), 201);
      await g.actInTurn(app, [
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve", note: "已开通" }],
      ]);
      const ids = (await g.db.select().from(resources).where(eq(resources.requestId, app))).map((r) => r.id);
      const { id } = ok(await g.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: ids, reason: "系统迁出" } }), 201);
      const names: string[] = [];
      for (const [user, action] of [
        ["zhangwei", { action: "approve" }],
        ["yangfan", { action: "confirm", note: "应用已停止，数据已备份" }],
        // 000 6.3: the data and documents handed over and the record signed by both, before the purge.
        ["xufeng", { action: "approve", form: { items: "业务数据与系统文档", method: "network", location: "使用单位指定的备份服务器", handedOverOn: "2026-11-23", receiver: "杨帆" } }],
        ["yangfan", { action: "confirm" }],
        ["xufeng", { action: "approve" }],
        ["yangfan", { action: "confirm" }],
        ["xufeng", { action: "approve" }],
        ["xufeng", { action: "approve" }],
        ["guojun", { action: "approve" }],
      ] as const) {
        names.push(ok(await g.show("yangfan", id)).currentStage.name);
        ok(await g.act(user, id, action));
      }
      expect(names).toEqual(["审批", "应用停止与数据备份", "数据和文档移交", "移交确认（会签）", "移交确认（会签）", "数据消除", "数据消除", "资源回收", "复核"]);
      expect((await g.db.select().from(resources).where(eq(resources.requestId, app))).every((r) => r.status === "revoked")).toBe(true);
      expect(ok(await g.show("yangfan", id)).status).toBe("completed");
    } finally {
      await g.close();
    }
  });
});
