import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, maintenanceNotices, outbox } from "../db/schema";
import { createTestApp, ok, rowCounts, type TestApp } from "./app-harness";

// 平台变更 / 检修公告: 000 8.4 (高创中心: 书面告知 with 安全影响分析、测试和验证); 002 第三十条 (韶关: 检修 "应提前…报告").
// No document sets a notice period: every profile asks 3 working days (profiles/common.ts), counted on the 2026
// calendar: 国庆 10-01..10-07 off, Saturday 10-10 a working day.

const notice = {
  kind: "maintenance",
  title: "核心交换机固件升级",
  windowStart: "2026-10-09T22:00:00+08:00",
  windowEnd: "2026-10-10T02:00:00+08:00",
  impact: "窗口内政务外网区云主机网络中断约 10 分钟",
  rollback: "保留旧固件，失败时 15 分钟内回退",
  affectedUnits: ["mx-jyj", "xn-gaj"],
};

/** Who was told by the message keyed `key`, sorted. */
async function told(t: TestApp, key: string) {
  const rows = await t.db.select().from(outbox).where(eq(outbox.kind, "maintenance"));
  return [...new Set(rows.filter((r) => r.dedupeKey.startsWith(`${key}:`)).map((r) => r.userId))].sort();
}

const everyone = ["chenjing", "guojun", "hexin", "lihua", "linna", "zhangwei"];

describe("韶关", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "shaoguan", now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September, 10:00 in Shanghai
  });
  afterAll(() => t?.close());

  test("002 第三十条: a window is announced 3 working days ahead, counted across 国庆; a sooner one is refused naming the earliest day", async () => {
    // From Tuesday 09-29: 09-30, (10-01..10-07 off), 10-08, 10-09: the window may start on 10-09.
    const early = await t.call("xufeng", "POST", "/api/maintenance", { ...notice, windowStart: "2026-10-08T22:00:00+08:00" });
    expect(early.status).toBe(422);
    expect(early.body.error.code).toBe("too_early");
    expect(early.body.error.message).toContain("须提前 3 个工作日公告：今天公告的窗口最早 2026-10-09 开始");
    expect(await t.db.select().from(maintenanceNotices)).toHaveLength(0);
    // The refusal is evidence: audited, with its code.
    const [refusal] = await t.db.select().from(auditLog).where(eq(auditLog.action, "maintenance.announce"));
    expect(refusal).toMatchObject({ outcome: "refused", details: { code: "too_early" } });
    const created = ok(await t.call("xufeng", "POST", "/api/maintenance", notice));
    expect(created).toMatchObject({ status: "announced", statusText: "已公告", kindText: "检修", articles: ["002 第三十条"] });
    expect(created.affectedUnits.map((u: { name: string }) => u.name)).toEqual(["梅州市梅县区教育局", "兴宁市公安局"]);
    // The reviewer (监管), the managers, the other provider and the units affected are told at once.
    expect(await told(t, `maintenance:${created.id}:announced`)).toEqual(everyone);
    const [card] = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, `maintenance:${created.id}:announced:guojun`));
    expect(JSON.stringify(card!.payload)).toContain("2026-10-09 22:00 至 2026-10-10 02:00");
    expect(JSON.stringify(card!.payload)).toContain("网络中断约 10 分钟");

    // A day later (Wednesday 09-30) the third working day is Saturday 10-10, a 调休 working day.
    t.clock.set("2026-09-30T02:00:00Z");
    const friday = await t.call("xufeng", "POST", "/api/maintenance", { ...notice, windowStart: "2026-10-09T22:00:00+08:00" });
    expect(friday.status).toBe(422);
    expect(friday.body.error.message).toContain("最早 2026-10-10 开始");
    const saturday = ok(await t.call("xufeng", "POST", "/api/maintenance", { ...notice, windowStart: "2026-10-10T20:00:00+08:00", windowEnd: "2026-10-10T23:00:00+08:00" }));
    expect(saturday.windowStart).toBe("2026-10-10T12:00:00.000Z");
  });

  test("002 第三十条: the provider completes a notice with its result once the window has begun, or cancels one with a reason; each told to the same people", async () => {
    const [first, second] = await t.db.select().from(maintenanceNotices).orderBy(maintenanceNotices.id);
    // Before the window begins, 完成 is refused (cancel it instead).
    const tooSoon = await t.call("xufeng", "POST", `/api/maintenance/${first!.id}/complete`, { result: "已完成" });
    expect(tooSoon.status).toBe(422);
    expect(tooSoon.body.error.message).toContain("开始前不能报告实施完成");
    t.clock.set("2026-10-09T18:30:00Z"); // 10-10 02:30 in Shanghai
    const done = ok(await t.call("linna", "POST", `/api/maintenance/${first!.id}/complete`, { result: "固件升级完成，网络中断 6 分钟" }));
    expect(done).toMatchObject({ status: "completed", result: "固件升级完成，网络中断 6 分钟", closedBy: "linna" });
    expect(await told(t, `maintenance:${first!.id}:completed`)).toEqual(["chenjing", "guojun", "hexin", "lihua", "xufeng", "zhangwei"]);
    const cancelled = ok(await t.call("xufeng", "POST", `/api/maintenance/${second!.id}/cancel`, { reason: "厂商补丁延期" }));
    expect(cancelled).toMatchObject({ status: "cancelled", statusText: "已取消", cancelReason: "厂商补丁延期" });
    expect(await told(t, `maintenance:${second!.id}:cancelled`)).toEqual(everyone);
    // Closed notices stay closed.
    expect((await t.call("xufeng", "POST", `/api/maintenance/${second!.id}/complete`, { result: "x" })).status).toBe(409);
    expect((await t.call("xufeng", "POST", `/api/maintenance/${first!.id}/cancel`, { reason: "x" })).status).toBe(409);
    const audited = await t.db.select({ action: auditLog.action, outcome: auditLog.outcome }).from(auditLog);
    expect(audited.filter((a) => a.action.startsWith("maintenance.") && a.outcome === "ok").map((a) => a.action).sort()).toEqual(
      ["maintenance.announce", "maintenance.announce", "maintenance.cancel", "maintenance.complete"],
    );
  });

  test("002 第三十条: only the provider announces, cancels or completes; a unit sees only the notices affecting it", async () => {
    expect((await t.call("zhangwei", "POST", "/api/maintenance", notice)).status).toBe(403);
    expect((await t.call("lihua", "POST", "/api/maintenance", notice)).status).toBe(403);
    const refusals = await t.db.select().from(auditLog).where(eq(auditLog.outcome, "refused"));
    expect(refusals.filter((a) => a.action === "maintenance.announce" && (a.details as { code: string }).code === "forbidden").map((a) => a.actorId)).toEqual(["zhangwei", "lihua"]);
    t.clock.set("2026-10-12T02:00:00Z");
    const own = ok(await t.call("xufeng", "POST", "/api/maintenance", { ...notice, kind: "upgrade", windowStart: "2026-10-20T22:00:00+08:00", windowEnd: "2026-10-20T23:00:00+08:00", affectedUnits: ["mz-rsj"] }));
    expect((await t.call("zhangwei", "POST", `/api/maintenance/${own.id}/cancel`, { reason: "不同意" })).status).toBe(403);
    expect(ok(await t.call("yangfan", "GET", "/api/maintenance")).notices.map((n: { id: number }) => n.id)).toEqual([own.id]);
    expect(ok(await t.call("lihua", "GET", "/api/maintenance")).notices).toHaveLength(2);
    expect((await t.call("lihua", "GET", `/api/maintenance/${own.id}`)).status).toBe(404);
    expect(ok(await t.call("guojun", "GET", "/api/maintenance?status=announced")).notices.map((n: { id: number }) => n.id)).toEqual([own.id]);
  });

  test("002 第三十条: bad or hostile input is refused in Chinese and writes nothing", async () => {
    const before = await rowCounts(t.db);
    const cases: [unknown, string][] = [
      [{ ...notice, title: "升级\u0000" }, "U+0000"],
      [{ ...notice, impact: "中断\u2067约\u2069十分钟" }, "双向文本控制字符（U+2067）"],
      [{ ...notice, windowEnd: notice.windowStart }, "结束时间应晚于开始时间"],
      [{ ...notice, windowStart: "下周五晚上" }, "窗口开始时间无效"],
      [{ ...notice, affectedUnits: [] }, "受影响的单位或资源"],
      [{ ...notice, kind: "reboot" }, "类别应为"],
      [{ ...notice, extra: 1 }, "extra"],
    ];
    for (const [body, words] of cases) {
      const res = await t.call("xufeng", "POST", "/api/maintenance", body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(JSON.stringify(res.body)).toContain(words);
    }
    const [any] = await t.db.select().from(maintenanceNotices);
    const res = await t.call("xufeng", "POST", `/api/maintenance/${any!.id}/cancel`, { reason: "\u202E" });
    expect(res.status).toBe(400);
    expect(await rowCounts(t.db)).toEqual(before);
  });
});

describe("高创中心", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "gaochuang", now: "2026-09-29T02:00:00Z" });
  });
  afterAll(() => t?.close());

  test("000 8.4: a 重大变更 is told beforehand with its 安全影响分析 and 测试和验证: a notice without the verification is refused", async () => {
    const before = await rowCounts(t.db);
    const bare = await t.call("xufeng", "POST", "/api/maintenance", { ...notice, kind: "upgrade" });
    expect(bare.status).toBe(400);
    expect(bare.body.error.fields.verification.join()).toContain("000 8.4：变更前须进行安全影响分析、测试和验证");
    expect(await rowCounts(t.db)).toEqual(before);
    const created = ok(await t.call("xufeng", "POST", "/api/maintenance", { ...notice, kind: "upgrade", verification: "已在测试区完成升级演练并通过回归测试" }));
    expect(created).toMatchObject({ verification: "已在测试区完成升级演练并通过回归测试", articles: ["000 8.4"] });
    expect(await told(t, `maintenance:${created.id}:announced`)).toEqual(everyone);
  });
});

describe.each([
  ["meizhou", "004"],
  ["huizhou", "001"],
  ["bazhong", "003"],
] as const)("%s", (profile, seed) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile, now: "2026-09-29T02:00:00Z" });
  });
  afterAll(() => t?.close());

  test(`${seed} has no article on announcing maintenance: the notice follows 000 8.4 / 002 第三十条 with the same 3 working days across 国庆`, async () => {
    expect((await t.call("xufeng", "POST", "/api/maintenance", { ...notice, windowStart: "2026-10-08T22:00:00+08:00" })).status).toBe(422);
    const created = ok(await t.call("xufeng", "POST", "/api/maintenance", notice));
    expect(created.articles).toEqual(["本地文件未专门规定，参照 000 8.4、002 第三十条"]);
    expect(created.verification).toBeNull();
  });
});
