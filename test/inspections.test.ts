import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, securityInspections } from "../db/schema";
import { createTestApp, ok, rowCounts, type TestApp } from "./app-harness";

// 004 第三十九条: 云资源评估实施单位需接受云资源统筹管理单位的安全督查和检查 — the manager (zhangwei) records an
// inspection of the provider (xufeng, linna) with findings; a 限期整改 is answered with 整改完成 and confirmed or returned.
let t: TestApp;
const base = {
  inspectedOn: "2026-09-28",
  kind: "check",
  scope: ["安全策略", "应急预案"],
  inspectors: "张伟、陈静",
  result: "rectify",
  findings: [{ text: "应急预案未按季度演练" }, { text: "安全策略未覆盖新上线区域" }],
  deadlineWorkdays: 5,
};
const record = (user: string, body: unknown) => t.call(user, "POST", "/api/inspections", body);

beforeAll(async () => {
  t = await createTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September 2026
});
afterAll(() => t?.close());

describe("安全督查与检查", () => {
  test("004 第三十九条: the manager records an inspection with findings, the provider is told, reports 整改完成, the manager confirms", async () => {
    const created = ok(await record("zhangwei", base));
    expect(created).toMatchObject({ status: "rectifying", resultText: "限期整改", kindText: "安全检查", open: true });
    // 5 working days from Tuesday 29 September: 9-30, then 国庆 10-01..10-07 off, 10-08, 10-09, Saturday 10-10 (调休上班), 10-12.
    expect(created.deadline).toBe("2026-10-12");
    const told = await t.db.select().from(outbox).where(eq(outbox.kind, "inspection"));
    expect([...new Set(told.map((r) => r.userId))].sort()).toEqual(["linna", "xufeng"]);
    expect(JSON.stringify(told[0]!.payload)).toContain("应急预案未按季度演练");
    const audited = await t.db.select().from(auditLog).where(eq(auditLog.action, "inspection.record"));
    expect(audited).toHaveLength(1);

    // The manager cannot confirm before the provider has reported.
    expect((await t.call("zhangwei", "POST", `/api/inspections/${created.id}/confirm`)).status).toBe(409);
    const reported = ok(await t.call("xufeng", "POST", `/api/inspections/${created.id}/report`, { note: "已完成演练并补充策略" }));
    expect(reported.status).toBe("reported");
    expect((await t.call("zhangwei", "POST", `/api/inspections/${created.id}/report`, { note: "x" })).status).toBe(403);
    const closed = ok(await t.call("zhangwei", "POST", `/api/inspections/${created.id}/confirm`));
    expect(closed).toMatchObject({ status: "closed", statusText: "已确认整改", open: false });
    // The reviewer (监理) and the provider see it; an applicant does not.
    expect(ok(await t.call("guojun", "GET", "/api/inspections")).inspections.map((i: { id: number }) => i.id)).toContain(created.id);
    expect(ok(await t.call("linna", "GET", `/api/inspections/${created.id}`)).status).toBe("closed");
  });

  test("004 第三十九条: the manager returns a rectification as 整改不到位 with a reason; it is open again", async () => {
    const created = ok(await record("zhangwei", { ...base, result: "rectify", deadlineWorkdays: undefined, deadline: "2026-10-30" }));
    expect(created.deadline).toBe("2026-10-30");
    ok(await t.call("linna", "POST", `/api/inspections/${created.id}/report`, { note: "已整改" }));
    const bad = await t.call("zhangwei", "POST", `/api/inspections/${created.id}/return`, { reason: "" });
    expect(bad.status).toBe(400);
    const back = ok(await t.call("zhangwei", "POST", `/api/inspections/${created.id}/return`, { reason: "演练记录缺失" }));
    expect(back).toMatchObject({ status: "rectifying", returnReason: "演练记录缺失", open: true });
    const told = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, `inspection:${created.id}:returned:${t.clock.now().getTime()}:xufeng`));
    expect(told).toHaveLength(1);
  });

  test("004 第三十九条: an applicant can neither see nor record inspections; a provider cannot record one", async () => {
    expect((await t.call("lihua", "GET", "/api/inspections")).status).toBe(403);
    expect((await record("lihua", base)).status).toBe(403);
    expect((await record("xufeng", base)).status).toBe(403);
    // Refusals are evidence (invariant 4): each is audited, naming who tried.
    const refused = await t.db.select().from(auditLog).where(eq(auditLog.outcome, "refused"));
    expect(refused.filter((a) => a.action === "inspection.record").map((a) => a.actorId)).toEqual(["lihua", "xufeng"]);
  });

  test("004 第三十九条: bad input is refused in Chinese and writes nothing", async () => {
    const before = await rowCounts(t.db);
    const cases: [unknown, number, string][] = [
      [{ ...base, findings: [{ text: "问题\u0000" }] }, 400, "不允许"],
      [{ ...base, findings: [] }, 400, "问题清单"],
      [{ ...base, inspectedOn: "2026-09-30" }, 400, "不能晚于今天"],
      [{ ...base, inspectedOn: "2026-02-30" }, 400, "检查日期无效"],
      [{ ...base, documentFileId: "nope" }, 422, "文件"],
      [{ ...base, deadlineWorkdays: undefined, deadline: "2027-03-01" }, 422, "超出已加载的工作日历"],
    ];
    for (const [body, status, words] of cases) {
      const res = await record("zhangwei", body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(JSON.stringify(res.body)).toContain(words);
    }
    // Only the refusal of the unknown file is audited (mutate audits a refusal in a transaction of its own).
    const after = await rowCounts(t.db);
    expect({ ...after, audit_log: after.audit_log! - 1 }).toEqual(before);
    expect(await t.db.select().from(securityInspections)).toHaveLength(2);
  });

  test("004 第三十九条: a 合格 inspection is closed at once and the provider is told", async () => {
    const passed = ok(await record("zhangwei", { ...base, result: "passed", findings: [], deadlineWorkdays: undefined }));
    expect(passed).toMatchObject({ status: "passed", deadline: null, open: false });
    expect(await t.db.select().from(outbox).where(eq(outbox.dedupeKey, `inspection:${passed.id}:recorded:xufeng`))).toHaveLength(1);
  });
});
