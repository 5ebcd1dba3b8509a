import { eq } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import { auditLog, outbox } from "../db/schema";
import { PROFILES } from "../profiles";
import { runJobsOnce } from "../src/jobs/runner";
import { mlpsReminders } from "../src/systems/reminders";
import { consoleSender } from "../src/channels/console";
import { everyChannel } from "./harness";
import { createTestApp, ok, rowCounts, sampleForm, type TestApp } from "./app-harness";

// 等保 and 密评 of the systems on 高创中心's (000 6.2) and 巴中's (003 第三十三条) clouds: the unit does the 等保
// 定级备案及测评 and the 密码应用安全性评估. 000 gives no time, so from go-live the unit is reminded each month until the
// register holds the 测评 with its report and a 密评 that did not conclude 不符合; 巴中 asks both before the cutover
// or go-live (issue 14's reading of 003 第三十三条).

const open = new Set<TestApp>();
afterEach(async () => {
  for (const app of open) await app.close();
  open.clear();
});

const cards = async (t: TestApp) => (await t.db.select().from(outbox).where(eq(outbox.kind, "system"))).map((c) => ({ user: c.userId, text: JSON.stringify(c.payload) }));

async function mySystem(t: TestApp, user: string) {
  const [mine] = ok(await t.call(user, "GET", "/api/systems")).systems as { id: number }[];
  return mine!.id;
}

describe("等保 and 密评 on the register (000 6.2, 003 第三十三条)", () => {
  test("000 6.2: in 高创中心 the unit is reminded monthly from go-live until the 测评 with its report and a 密评 not concluding 不符合 are on the register", async () => {
    const t = await createTestApp({ profile: "gaochuang", now: "2026-09-28T02:00:00Z" }); // Monday 10:00
    open.add(t);
    const rule = PROFILES.gaochuang.mlps;
    expect(rule).toEqual({ article: "000 6.2", from: "live", withinMonths: null, complete: "tested", crypto: true });
    expect(PROFILES.gaochuang.periodicJobs).toContain("mlpsReminders");
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已开通" }],
    ]);
    // Delivered, not yet running: nothing to remind of.
    expect(await mlpsReminders(t.ctx(), rule)).toBe(0);
    t.clock.set("2026-09-30T02:00:00Z");
    await t.actInTurn(id, [
      ["xufeng", { action: "approve", note: "部署测试完成" }],
      ["chenjing", { action: "approve" }], // 服务协议、测试报告和安全风险评估报告存档: the system runs (7.2.1)
    ]);
    expect(ok(await t.show("yangfan", id)).status).toBe("completed");
    expect(await mlpsReminders(t.ctx(), rule)).toBe(1);
    const [first] = await cards(t);
    expect(first!.user).toBe("yangfan");
    expect(first!.text).toContain("请及时开展等级保护测评和密码应用安全性评估");
    expect(first!.text).toContain("已于 2026-09-30 上线运行，系统登记中等级保护和密码应用安全性评估记录尚不完整");
    expect(first!.text).toContain("请及时完成等级保护定级、备案及测评，并在系统登记中上传备案证明及测评报告；密码应用安全性评估，并在系统登记中录入密评日期和结论（000 6.2）");
    // No date is set, so nobody else is warned; once a month only, even across 国庆.
    expect(await mlpsReminders(t.ctx(), rule)).toBe(0);
    t.clock.set("2026-10-08T02:00:00Z");
    expect(await mlpsReminders(t.ctx(), rule)).toBe(1);

    // Only the unit records its register; the provider is refused (the refusal audited) and nothing else is written.
    const systemId = await mySystem(t, "yangfan");
    const before = await rowCounts(t.db);
    expect((await t.call("xufeng", "PATCH", `/api/systems/${systemId}`, { crypto: { assessedOn: "2026-10-08", result: "pass" } })).status).toBe(403);
    expect(await rowCounts(t.db)).toEqual({ ...before, audit_log: before.audit_log! + 1 });
    expect(ok(await t.call("yangfan", "GET", `/api/systems/${systemId}`)).crypto).toBeNull();

    // The 测评 with its report: the 密评 is still missing, and the card says only that.
    t.clock.set("2026-10-30T02:00:00Z");
    const report = ok(await t.upload("yangfan", { name: "测评报告.pdf", purpose: "mlps_report" }), 201);
    ok(await t.call("yangfan", "PATCH", `/api/systems/${systemId}`, { mlps: { level: 2, filedOn: "2026-10-20", recordNo: "44020099001-26001", testedOn: "2026-10-28", fileId: report.id } }));
    // A 密评 concluding 不符合 does not complete it.
    ok(await t.call("yangfan", "PATCH", `/api/systems/${systemId}`, { crypto: { assessedOn: "2026-10-30", result: "fail" } }));
    t.clock.set("2026-11-02T02:00:00Z");
    expect(await mlpsReminders(t.ctx(), rule)).toBe(1);
    const november = (await cards(t)).at(-1)!;
    expect(november.text).toContain("系统登记中密码应用安全性评估记录尚不完整");
    expect(november.text).toContain("请及时完成商用密码应用改造并重新开展密码应用安全性评估（现有结论为“不符合”）（000 6.2）");
    expect(november.text).not.toContain("等级保护定级");
    const [audited] = (await t.db.select().from(auditLog).where(eq(auditLog.action, "system.mlps_reminder"))).slice(-1);
    expect(audited!.details).toMatchObject({ article: "000 6.2", due: null, overdue: false, missing: { mlps: false, crypto: true } });

    // 基本符合 completes it: no more reminders, also from the job round the profile runs.
    t.clock.set("2026-11-20T02:00:00Z");
    ok(await t.call("yangfan", "PATCH", `/api/systems/${systemId}`, { crypto: { assessedOn: "2026-11-20", result: "basic" } }));
    t.clock.set("2026-12-01T02:00:00Z");
    expect(await mlpsReminders(t.ctx(), rule)).toBe(0);
    expect((await cards(t)).length).toBe(3);
  });

  test("003 第三十三条 (before go-live, as issue 14 reads it): 巴中's cutover is refused until the register holds the 等保测评 with its report and a 密评 not concluding 不符合; nothing is reminded afterwards", async () => {
    const t = await createTestApp({ profile: "bazhong", now: "2026-11-02T02:00:00Z" }); // Monday 10:00
    open.add(t);
    expect(PROFILES.bazhong).not.toHaveProperty("mlps");
    expect(PROFILES.bazhong.periodicJobs).not.toContain("mlpsReminders");
    await t.planConsented(); // 003 第十四条: within the year's consented plan
    const form = sampleForm();
    form.attachments.push(await t.attachment("yangfan", "plan")); // 003 第十五条
    const { id } = ok(await t.submit("yangfan", form), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve", note: "论证通过" }],
      ["xufeng", { action: "approve", note: "已配置" }],
      ["yangfan", { action: "confirm", note: "已部署" }],
      ["yangfan", { action: "confirm", note: "测试和风险评估报告已提交" }],
      ["zhangwei", { action: "approve" }],
    ]);
    const cutOver = () => t.act("yangfan", id, { action: "confirm", note: "已割接" });
    // Nothing on the register: both are named, and the request stays at 系统割接 with nothing written but the refusal's entry.
    const before = await rowCounts(t.db);
    const bare = await cutOver();
    expect(bare.status).toBe(422);
    expect(bare.body.error.message).toContain("系统割接前须完成信息安全等级保护测评（测评日期及备案证明或测评报告）和商用密码应用安全性评估（003 第三十三条）");
    expect(await rowCounts(t.db)).toEqual({ ...before, audit_log: before.audit_log! + 1 });
    // The 备案 without its 测评, and a 密评 that concluded 不符合: still refused, naming both.
    const systemId = await mySystem(t, "yangfan");
    ok(await t.call("yangfan", "PATCH", `/api/systems/${systemId}`, { mlps: { level: 2, filedOn: "2026-10-20", recordNo: "51190099001-26001" }, crypto: { assessedOn: "2026-10-22", result: "fail" } }));
    const half = await cutOver();
    expect(half.status).toBe(422);
    expect(half.body.error.message).toContain("信息安全等级保护测评");
    expect(half.body.error.message).toContain("结论不为“不符合”的商用密码应用安全性评估");
    expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("cutover");
    // The 测评 with its report, and a 密评 基本符合: cut over, and the request is complete.
    const report = ok(await t.upload("yangfan", { name: "等保测评报告.pdf", purpose: "mlps_report" }), 201);
    ok(await t.call("yangfan", "PATCH", `/api/systems/${systemId}`, { mlps: { level: 2, filedOn: "2026-10-20", recordNo: "51190099001-26001", testedOn: "2026-10-30", fileId: report.id }, crypto: { assessedOn: "2026-10-30", result: "basic" } }));
    ok(await cutOver());
    expect(ok(await t.show("yangfan", id)).status).toBe("completed");
    // 巴中 has no reminder rule left: the job round has nothing of 等保 to send.
    expect(await t.db.select().from(auditLog).where(eq(auditLog.action, "system.mlps_reminder"))).toHaveLength(0);
  });

  test("000 6.2: the job round of 高创中心 runs the reminders", async () => {
    const t = await createTestApp({ profile: "gaochuang", now: "2026-09-28T02:00:00Z" });
    open.add(t);
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["chenjing", { action: "approve" }],
    ]);
    const calendars = { current: () => t.ctx().calendar, refresh: async () => false };
    await runJobsOnce({ db: t.db, clock: t.clock, calendars, profile: "gaochuang", senders: everyChannel(consoleSender(() => {})) });
    const sent = await t.db.select().from(auditLog).where(eq(auditLog.action, "system.mlps_reminder"));
    expect(sent.map((e) => (e.details as { article: string }).article)).toEqual(["000 6.2"]);
  });
});
