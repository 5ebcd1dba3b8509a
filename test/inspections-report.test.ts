import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox } from "../db/schema";
import { sendMonthlyReport } from "../src/reports/monthly";
import { createTestApp, ok, type TestApp } from "./app-harness";

// 004 第三十九条: the monthly report counts the month's 安全督查和检查 of the provider (by 检查日期): how many were
// recorded, the findings still open, the rectifications confirmed on time or late, and those overdue. The
// deadlines cross 国庆 2026 (10-01..10-07 off) and the 调休 Saturday 10-10 (a working day).
let t: TestApp;
const ids: Record<string, number> = {};
const check = { kind: "check", scope: ["安全策略", "应急预案"], inspectors: "张伟、陈静" };
const record = async (name: string, body: Record<string, unknown>) => {
  ids[name] = ok(await t.call("zhangwei", "POST", "/api/inspections", { ...check, ...body })).id;
  return ids[name]!;
};
const report = async (name: string, note: string) => ok(await t.call("xufeng", "POST", `/api/inspections/${ids[name]}/report`, { note }));

beforeAll(async () => {
  t = await createTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September 2026
  // A: 安全检查 of 09-28, two findings, 5 working days: 9-30, 10-08, 10-09, Saturday 10-10 (调休), 10-12.
  await record("A", { inspectedOn: "2026-09-28", result: "rectify", findings: [{ text: "应急预案未按季度演练" }, { text: "安全策略未覆盖新上线区域" }], deadlineWorkdays: 5 });
  // B: 安全督查 of 09-29, 合格.
  await record("B", { kind: "supervision", inspectedOn: "2026-09-29", result: "passed" });
  // C: 09-30, the month's last day, one finding, 3 working days: 10-08, 10-09, Saturday 10-10.
  t.clock.set("2026-09-30T02:00:00Z");
  await record("C", { inspectedOn: "2026-09-30", result: "rectify", findings: [{ text: "日常维护记录不全" }], deadlineWorkdays: 3 });
  // D: 10-09, a 安全督查 with one finding, 2 working days: Saturday 10-10, 10-12.
  t.clock.set("2026-10-09T02:00:00Z");
  await record("D", { kind: "supervision", inspectedOn: "2026-10-09", result: "rectify", findings: [{ text: "安全响应机制未明确值班人" }], deadlineWorkdays: 2 });
});
afterAll(() => t?.close());

const monthOf = async (user: string, month: string) => ok(await t.call(user, "GET", `/api/reports/monthly?month=${month}`)).inspections;

describe("月度报告: 安全督查与检查", () => {
  test("004 第三十九条: the deadlines in working days cross 国庆 and the 调休 Saturday", async () => {
    const all = ok(await t.call("zhangwei", "GET", "/api/inspections")).inspections as { id: number; deadline: string | null }[];
    const deadline = (name: string) => all.find((i) => i.id === ids[name])!.deadline;
    expect([deadline("A"), deadline("B"), deadline("C"), deadline("D")]).toEqual(["2026-10-12", null, "2026-10-10", "2026-10-12"]);
  });

  test("004 第三十九条: the month's inspections are counted: recorded, findings open, rectified on time or late, overdue", async () => {
    // 10-09: A reported, and confirmed — on time (deadline 10-12).
    await report("A", "已完成演练并补充策略");
    ok(await t.call("zhangwei", "POST", `/api/inspections/${ids.A}/confirm`));
    // Saturday 10-10 (调休, a working day): C reported on its deadline day, then returned as 整改不到位.
    t.clock.set("2026-10-10T02:00:00Z");
    await report("C", "已补全维护记录");
    ok(await t.call("zhangwei", "POST", `/api/inspections/${ids.C}/return`, { reason: "记录未签字" }));
    // Monday 10-12: C reported again, after its deadline, and confirmed: rectified late.
    t.clock.set("2026-10-12T02:00:00Z");
    await report("C", "已补签");
    ok(await t.call("zhangwei", "POST", `/api/inspections/${ids.C}/confirm`));
    // Tuesday 10-13: D (deadline 10-12) not reported: overdue. E: a 合格 check dated 10-01, inside 国庆, counts for October.
    t.clock.set("2026-10-13T02:00:00Z");
    await record("E", { inspectedOn: "2026-10-01", result: "passed" });

    // September: A, B and C (09-30 is the month's), whatever happened to them in October.
    const sep = await monthOf("zhangwei", "2026-09");
    expect({ ...sep, items: undefined }).toEqual({
      recorded: 3,
      supervision: 1,
      check: 2,
      passed: 1,
      rectify: 2,
      findings: 3,
      open: 0,
      findingsOpen: 0,
      awaitingConfirmation: 0,
      rectifiedOnTime: 1,
      rectifiedLate: 1,
      overdue: 0,
      items: undefined,
    });
    expect(sep.items.map((i: { id: number; rectifiedOnTime: boolean | null }) => [i.id, i.rectifiedOnTime])).toEqual([
      [ids.A, true],
      [ids.B, null],
      [ids.C, false],
    ]);
    // October: D open and overdue, E passed.
    const oct = await monthOf("zhangwei", "2026-10");
    expect(oct).toMatchObject({ recorded: 2, supervision: 1, check: 1, passed: 1, rectify: 1, findings: 1, open: 1, findingsOpen: 1, overdue: 1, rectifiedOnTime: 0, rectifiedLate: 0 });
    expect(oct.items.map((i: { id: number; overdue: boolean }) => [i.id, i.overdue])).toEqual([
      [ids.E, false],
      [ids.D, true],
    ]);
    // D reported late: no longer overdue, awaiting the manager.
    await report("D", "已明确值班人");
    expect(await monthOf("zhangwei", "2026-10")).toMatchObject({ open: 1, awaitingConfirmation: 1, overdue: 0 });
    // November has none.
    expect(await monthOf("zhangwei", "2026-11")).toMatchObject({ recorded: 0, items: [] });
  });

  test("004 第三十九条: who sees the section: the city's roles and the provider; a county bureau and an applicant get null", async () => {
    expect((await monthOf("guojun", "2026-09")).recorded).toBe(3);
    expect((await monthOf("xufeng", "2026-09")).recorded).toBe(3);
    expect(await monthOf("huangmin", "2026-09")).toBeNull();
    expect(await monthOf("lihua", "2026-09")).toBeNull();
    // The other sections are unchanged beside it.
    const r = ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-09"));
    expect(Object.keys(r)).toEqual(expect.arrayContaining(["month", "units", "total", "lateStages", "lowLoadVms", "provider", "funding", "emergencies", "dedicatedPools", "inspections"]));
  });

  test("004 第三十九条: the inspections as a CSV table, and in the managers' monthly card", async () => {
    const res = await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-09&format=csv&table=inspections");
    expect(res.status).toBe(200);
    const csv = String(res.body);
    expect(csv).toContain("检查日期,类别,结论,问题数,整改期限,状态,整改完成报告时间,按期整改");
    expect(csv).toContain("2026-09-28,安全检查,限期整改,2,2026-10-12,已确认整改,2026-10-09 10:00,是");
    expect(csv).toContain("2026-09-30,安全检查,限期整改,1,2026-10-10,已确认整改,2026-10-12 10:00,否（逾期）");
    // Nothing else happened in September: the card (due from 10-08, the 1st working day after 国庆) is sent for the inspections alone.
    expect(await sendMonthlyReport(t.ctx())).toBe("2026-09");
    const [card] = (await t.db.select().from(outbox).where(eq(outbox.kind, "report"))).filter((c) => c.userId === "zhangwei");
    expect((card!.payload as { summary: string }).summary).toContain("安全督查与检查 3 次（限期整改 2 次，问题 3 项）；未关闭 0 次（问题 0 项，已超期 0 次）；按期整改 1 次，逾期整改 1 次");
  });
});
