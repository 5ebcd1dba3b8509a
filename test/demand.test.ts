import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, yearlyDemands } from "../db/schema";
import { remindYearlyDemand } from "../src/resources/demand";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// Flow 7: 年度资源需求 — units submit by 30 September, county bureaus pass them on, the city sees the totals;
// an application the year's demand does not cover is flagged to the manager.
let t: TestApp;
const put = (user: string, year: number, figures: Record<string, unknown>) => t.call(user, "PUT", `/api/demands/${year}`, figures);

beforeAll(async () => {
  t = await createTestApp({ now: "2026-08-03T01:00:00Z" }); // Monday
});
afterAll(() => t?.close());

describe("年度资源需求", () => {
  test("from August, units without next year's figures are reminded, once per phase", async () => {
    await remindYearlyDemand(t.ctx());
    await remindYearlyDemand(t.ctx());
    const first = await t.db.select().from(outbox).where(eq(outbox.kind, "demand"));
    expect(first.map((r) => r.userId).sort()).toEqual(["hexin", "lihua", "luoqiang", "wangfang", "yangfan", "zhaolei"]);
    expect(JSON.stringify(first[0]!.payload)).toContain("2026 年 9 月 30 日前填报本单位 2027 年");
  });

  test("units submit; a county's figures reach the city when its bureau passes them on", async () => {
    t.clock.set("2026-09-10T01:00:00Z");
    expect((await put("lihua", 2026, { vcpu: 1, memoryGb: 1, storageGb: 1 })).body.error.code).toBe("wrong_year");
    expect(ok(await put("lihua", 2027, { vcpu: 32, memoryGb: 96, storageGb: 800, note: "新建资助平台" })).message).toBe("已填报");
    expect(ok(await put("wangfang", 2027, { vcpu: 8, memoryGb: 16, storageGb: 200 })).late).toBe(false);
    expect(ok(await put("yangfan", 2027, { vcpu: 16, memoryGb: 32, storageGb: 500 })).late).toBe(false);
    expect((await put("zhangwei", 2027, { vcpu: 1, memoryGb: 1, storageGb: 1 })).status).toBe(403);
    expect((await put("lihua", 2027, { vcpu: -1, memoryGb: 1, storageGb: 1 })).status).toBe(400);

    let city = ok(await t.call("zhangwei", "GET", "/api/demands/2027"));
    expect(city.units.map((u: { unitId: string }) => u.unitId)).toEqual(["mz-rsj"]);
    const county = ok(await t.call("huangmin", "GET", "/api/demands/2027"));
    expect(county.total).toEqual({ vcpu: 40, memoryGb: 112, storageGb: 1000 });
    expect(ok(await t.call("huangmin", "POST", "/api/demands/2027/pass"))).toEqual({ year: 2027, passed: 2 });
    expect((await t.call("lihua", "POST", "/api/demands/2027/pass")).status).toBe(403);
    // Wrong-role refusals are audited (invariant 4), naming who tried what.
    const refused = await t.db.select().from(auditLog).where(eq(auditLog.outcome, "refused"));
    expect(refused.filter((a) => a.action.startsWith("demand.")).map((a) => [a.action, a.actorId])).toEqual([
      ["demand.submit", "zhangwei"],
      ["demand.pass", "lihua"],
    ]);

    city = ok(await t.call("zhangwei", "GET", "/api/demands/2027"));
    expect(city.total).toEqual({ vcpu: 56, memoryGb: 144, storageGb: 1500 });
    expect(city.counties).toEqual([{ countyId: "mx-sjj", vcpu: 40, memoryGb: 112, storageGb: 1000 }]);
    expect(ok(await t.call("lihua", "GET", "/api/demands/2027")).units.map((u: { unitId: string }) => u.unitId)).toEqual(["mx-jyj"]);
    // A revision has to be passed on again.
    ok(await put("lihua", 2027, { vcpu: 48, memoryGb: 96, storageGb: 800 }));
    expect(ok(await t.call("zhangwei", "GET", "/api/demands/2027")).total.vcpu).toBe(24);
  });

  test("the last reminder goes from 20 September to units still missing; late figures are taken, and said to be late", async () => {
    t.clock.set("2026-09-21T01:00:00Z");
    await remindYearlyDemand(t.ctx());
    const final = await t.db.select().from(outbox).where(eq(outbox.kind, "demand"));
    const late = final.filter((r) => r.dedupeKey.includes(":final:")).map((r) => r.userId).sort();
    expect(late).toEqual(["hexin", "luoqiang", "zhaolei"]);
    t.clock.set("2026-10-08T01:00:00Z");
    const r = ok(await put("zhaolei", 2027, { vcpu: 4, memoryGb: 8, storageGb: 100 }));
    expect(r).toMatchObject({ late: true, message: "已填报，但已过 2026 年 9 月 30 日的填报期限" });
  });

  test("an application beyond, or outside, the unit's demand for the year is flagged on its cards", async () => {
    t.clock.set("2026-11-23T01:00:00Z");
    const outside = ok(await t.submit("lihua", sampleForm()), 201);
    expect(ok(await t.show("zhangwei", outside.id)).summary).toContainEqual({ label: "年度需求", value: "未列入 2026 年度资源需求" });
    // This year's figures for 梅州市人社局 (entered last year): 20 cores cover one 16-core request, not two.
    await t.db.insert(yearlyDemands).values({ year: 2026, unitId: "mz-rsj", vcpu: 20, memoryGb: 100, storageGb: 1000, submittedBy: "yangfan", submittedAt: new Date("2025-09-01") });
    const covered = ok(await t.submit("yangfan", sampleForm()), 201);
    expect(ok(await t.show("zhangwei", covered.id)).summary.map((f: { label: string }) => f.label)).not.toContain("年度需求");
    // Returned and resubmitted, it is counted once, at its new figures.
    ok(await t.act("xufeng", covered.id, { action: "return", reason: "请补充说明" }));
    ok(await t.act("yangfan", covered.id, { action: "resubmit", note: "已补充" }));
    expect(ok(await t.show("zhangwei", covered.id)).summary.map((f: { label: string }) => f.label)).not.toContain("年度需求");
    const beyond = ok(await t.submit("yangfan", sampleForm()), 201);
    expect(ok(await t.show("zhangwei", beyond.id)).summary).toContainEqual({ label: "年度需求", value: "超出 2026 年度资源需求：已申请 32核，需求 20核" });
  });
});
