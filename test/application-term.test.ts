import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import { auditLog, outbox, resources } from "../db/schema";
import { PROFILES } from "../profiles";
import { usersWithRole } from "../src/directory/queries";
import { PERIODIC_JOBS } from "../src/jobs/periodic";
import { coveredByPlan, createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// 002 附件1 申请期限: 韶关's 申请表 asks how long the resources are wanted (长期, or 至 a day). The document sets nothing
// at the end of the term, so yunshen tells: the unit 30 calendar days before, the unit and the managers once the day
// has passed with resources still in use. Nothing is revoked by it.

let t: TestApp;
afterEach(async () => {
  await t?.close();
});

const termCards = async () =>
  (await t.db.select().from(outbox).where(eq(outbox.kind, "term"))).map((c) => ({ user: c.userId, text: JSON.stringify(c.payload) }));
const run = () => PERIODIC_JOBS.termReminders.run(t.ctx(), PROFILES.shaoguan);

/** A 韶关 application with this 申请期限, walked to its resources' delivery (002 第十九、二十条). */
async function delivered(term: { kind: "until"; until: string } | { kind: "long_term" }, systemName: string) {
  const form = coveredByPlan(sampleForm("shaoguan"));
  form.term = term;
  form.systemName = systemName;
  form.attachments.push(await t.attachment("yangfan", "security_pledge"));
  const { id, code } = ok(await t.submit("yangfan", form), 201);
  await t.actInTurn(id, [
    ["zhangwei", { action: "approve" }],
    ["xufeng", { action: "approve", note: "已下发" }],
    ["yangfan", { action: "confirm" }],
  ]);
  const rows = await t.db.select().from(resources).where(and(eq(resources.requestId, id), eq(resources.status, "delivered")));
  expect(rows.length).toBeGreaterThan(0);
  return { id: id as number, code: code as string, resources: rows };
}

describe("002 附件1 申请期限", () => {
  test("002 附件1: 30 days before the 期限至 the unit is told once; after it, with resources still in use, the unit and the managers once; 长期 never", async () => {
    t = await createTestApp({ profile: "shaoguan", now: "2026-10-26T02:00:00Z" }); // Monday 10:00
    expect(PROFILES.shaoguan.periodicJobs).toContain("termReminders");
    expect(PROFILES.meizhou.periodicJobs).not.toContain("termReminders");
    const app = await delivered({ kind: "until", until: "2026-11-30" }, "韶关市临时核酸信息系统");
    await delivered({ kind: "long_term" }, "韶关市人社业务系统");
    const applicants = (await usersWithRole(t.db, "applicant", { unitId: app.resources[0]!.unitId })).map((u) => u.id).sort();
    const managers = (await usersWithRole(t.db, "manager")).map((u) => u.id).sort();
    expect(applicants).toContain("yangfan");

    // 10-26 + 30 = 11-25: not yet.
    expect(await run()).toBe(0);
    // 10-31 + 30 = 11-30: the unit, not the managers.
    t.clock.set("2026-10-31T02:00:00Z");
    expect(await run()).toBe(1);
    let cards = await termCards();
    expect(cards.map((c) => c.user).sort()).toEqual(applicants);
    expect(cards[0]!.text).toContain(`「韶关市临时核酸信息系统」（${app.code}）的申请期限至 2026-11-30，届时仍有 ${app.resources.length} 项资源在用`);
    expect(cards[0]!.text).toContain("002 附件1、002 第二十二条");
    expect(await run()).toBe(0);
    // The last day is still within the term.
    t.clock.set("2026-11-30T15:00:00Z");
    expect(await run()).toBe(0);
    // 12-01 in Beijing: run out, the resources still delivered.
    t.clock.set("2026-11-30T16:30:00Z");
    expect(await run()).toBe(1);
    cards = (await termCards()).slice(applicants.length);
    expect(cards.map((c) => c.user).sort()).toEqual([...new Set([...applicants, ...managers])].sort());
    expect(cards[0]!.text).toContain(`申请期限已于 2026-11-30 届满，仍有 ${app.resources.length} 项资源在用`);
    expect(await run()).toBe(0);
    t.clock.set("2027-01-04T02:00:00Z");
    expect(await run()).toBe(0);

    const audited = await t.db.select().from(auditLog).where(eq(auditLog.action, "request.term_reminder"));
    expect(audited.map((a) => [a.requestId, a.channel, a.details])).toEqual([
      [app.id, "timer", { until: "2026-11-30", expired: false, inUse: app.resources.length, article: "002 附件1" }],
      [app.id, "timer", { until: "2026-11-30", expired: true, inUse: app.resources.length, article: "002 附件1" }],
    ]);
    // Nothing is revoked by it.
    expect((await t.db.select().from(resources).where(eq(resources.requestId, app.id))).every((r) => r.status === "delivered")).toBe(true);
  });

  test("002 附件1, 第二十二条: resources 注销 before the term ends are not reminded of", async () => {
    t = await createTestApp({ profile: "shaoguan", now: "2026-10-26T02:00:00Z" });
    const app = await delivered({ kind: "until", until: "2026-11-30" }, "韶关市临时核酸信息系统");
    const vmIds = app.resources.filter((r) => r.kind !== "backup").map((r) => r.id);
    const revocation = ok(
      await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: vmIds, reason: "临时系统已停用", offline: true, dataMigrated: true } }),
      201,
    );
    await t.actInTurn(revocation.id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已回收" }],
    ]);
    expect((await t.db.select().from(resources).where(eq(resources.requestId, app.id))).every((r) => r.status === "revoked")).toBe(true);
    t.clock.set("2026-12-01T02:00:00Z");
    expect(await run()).toBe(0);
    expect(await termCards()).toEqual([]);
  });
});
