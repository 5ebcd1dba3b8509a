import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, securityInspections } from "../db/schema";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 004 第三十九条: 云资源评估实施单位需接受云资源统筹管理单位的安全督查和检查 — the portal's /inspections page,
// through the real app: the manager (zhangwei) records an inspection, the provider (xufeng) reports 整改完成, the
// manager returns it as 整改不到位, the provider reports again, the manager confirms. The reviewer (guojun) reads;
// an applicant (lihua) and a county bureau (huangmin) do not see the page.

let t: WebTestApp;

beforeAll(async () => {
  t = await createWebTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September 2026, 10:00 in Beijing
});
afterAll(() => t?.close());

const inspections = async () => t.db.select().from(securityInspections);
const audited = async (action: string) =>
  Number((await t.db.select({ n: count() }).from(auditLog).where(and(eq(auditLog.action, action), eq(auditLog.outcome, "ok"))))[0]!.n);
/** The HTML of one row of the list. */
const rowOf = (html: string, id: number) => new RegExp(`<tr id="inspection-${id}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? "";
/** The refusal shown under a field (its error element's text). */
const errorAt = (html: string, id: string) => new RegExp(`<div id="${id}" class="ys-field-error" role="alert">([^<]*)</div>`).exec(html)?.[1] ?? null;

const recordForm = {
  inspectedOn: "2026-09-28",
  kind: "check",
  scope: "安全策略",
  inspectors: "张伟、陈静",
  result: "rectify",
  findings: "应急预案未按季度演练\n安全策略未覆盖新上线区域",
  deadlineWorkdays: "5",
  deadline: "",
};

describe("安全督查与检查 in the portal", () => {
  test("004 第三十九条: each role sees its link and the page; an applicant and a county bureau get the 403 page", async () => {
    for (const user of ["zhangwei", "guojun", "xufeng", "linna"]) {
      const a = await t.signedIn(user);
      const home = await a.get("/");
      expect(home.html, user).toContain('href="/inspections"');
      const page = await a.get("/inspections");
      expect(page.status, user).toBe(200);
      expect(page.html).toContain("暂无安全督查与检查记录");
      // Only the manager gets the record form.
      expect(page.html.includes('action="/inspections"'), user).toBe(user === "zhangwei");
    }
    for (const user of ["lihua", "huangmin", "liuyang"]) {
      const a = await t.signedIn(user);
      expect((await a.get("/")).html, user).not.toContain('href="/inspections"');
      const page = await a.get("/inspections");
      expect(page.status, user).toBe(403);
      expect(page.html).toContain("此页面仅供统筹管理单位、复核单位（监理）、评估实施单位（云服务商）使用");
    }
  });

  test("004 第三十九条: a provider cannot record an inspection; a reviewer neither; a post without the CSRF token is refused; nothing is written", async () => {
    const provider = await t.signedIn("xufeng");
    await provider.get("/inspections");
    const refused = await provider.post("/inspections", recordForm);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain("安全督查与检查由统筹管理单位记录");
    const reviewer = await t.signedIn("guojun");
    await reviewer.get("/inspections");
    expect((await reviewer.post("/inspections", recordForm)).status).toBe(403);
    const manager = await t.signedIn("zhangwei");
    await manager.get("/inspections");
    const forged = await manager.post("/inspections", recordForm, { csrf: false });
    expect(forged.status).toBe(403);
    expect(forged.html).toContain("缺少校验码");
    expect(await inspections()).toHaveLength(0);
    expect(await audited("inspection.record")).toBe(0);
  });

  test("004 第三十九条: bad input is shown in Chinese beside its field, with what was typed kept, and writes nothing", async () => {
    const manager = await t.signedIn("zhangwei");
    await manager.get("/inspections");
    const noFindings = await manager.post("/inspections", { ...recordForm, findings: "  \n " });
    expect(noFindings.status).toBe(400);
    expect(errorAt(noFindings.html, "err-findings")).toBe("限期整改须列明问题清单（至少一项）");
    expect(noFindings.html).toContain('value="张伟、陈静"');
    expect(noFindings.html).toMatch(/<input type="checkbox" name="scope" value="安全策略" checked/);
    const noDeadline = await manager.post("/inspections", { ...recordForm, deadlineWorkdays: "", deadline: "" });
    expect(noDeadline.status).toBe(400);
    expect(errorAt(noDeadline.html, "err-deadline")).toBe("限期整改须给出整改期限：工作日数或截止日期，二选一");
    const future = await manager.post("/inspections", { ...recordForm, inspectedOn: "2026-09-30" });
    expect(future.status).toBe(400);
    expect(errorAt(future.html, "err-inspectedOn")).toBe("检查日期不能晚于今天（2026-09-29）");
    // A deadline past the loaded calendar (2026 only) is the calendar's refusal, said with the form.
    const past = await manager.post("/inspections", { ...recordForm, deadlineWorkdays: "", deadline: "2027-03-01" });
    expect(past.status).toBe(422);
    expect(past.html).toContain("超出已加载的工作日历");
    expect(past.html).toContain('value="2027-03-01"');
    const words = await manager.post("/inspections", { ...recordForm, deadlineWorkdays: "五" });
    expect(words.status).toBe(400);
    expect(errorAt(words.html, "err-deadlineWorkdays")).toContain("整改期限（工作日）应为整数");
    const noScope = await manager.post("/inspections", { inspectedOn: "2026-09-28", kind: "check", inspectors: "", result: "passed" });
    expect(noScope.status).toBe(400);
    expect(errorAt(noScope.html, "err-scope")).toBe("请选择检查内容");
    expect(errorAt(noScope.html, "err-inspectors")).toBe("请填写检查人员");
    expect(await inspections()).toHaveLength(0);
  });

  test("004 第三十九条: record → 整改完成 → 整改不到位 → 整改完成 again → 确认, each role seeing where it stands", async () => {
    // The manager records a 安全检查 with two findings and 5 working days: 9-30, then 国庆 10-01..10-07 off,
    // 10-08, 10-09, Saturday 10-10 (调休上班), 10-12.
    const manager = await t.signedIn("zhangwei");
    await manager.get("/inspections");
    const recorded = await manager.post("/inspections", { ...recordForm, scope: "安全策略", findings: recordForm.findings });
    expect(recorded.status).toBe(303);
    const [row] = await inspections();
    expect(row).toMatchObject({ status: "rectifying", deadline: "2026-10-12", findings: [{ text: "应急预案未按季度演练" }, { text: "安全策略未覆盖新上线区域" }] });
    expect(recorded.location).toBe(`/inspections?done=record#inspection-${row!.id}`);
    const id = row!.id;
    const afterRecord = await manager.get(recorded.location!);
    expect(afterRecord.html).toContain("检查已记录，已通知评估实施单位。");
    expect(rowOf(afterRecord.html, id)).toContain("剩余 5 个工作日（2026-10-12）");
    expect(rowOf(afterRecord.html, id)).toContain("安全检查");
    expect(rowOf(afterRecord.html, id)).toContain("整改中");
    // Nothing for the manager to decide yet.
    expect(rowOf(afterRecord.html, id)).not.toContain("确认");

    // The reviewer reads it, with no forms.
    const reviewer = await (await t.signedIn("guojun")).get("/inspections");
    expect(rowOf(reviewer.html, id)).toContain("应急预案未按季度演练");
    expect(rowOf(reviewer.html, id)).not.toContain("<form");

    // 10-09 (Friday): the provider reports; an empty note is refused beside the box.
    t.clock.set("2026-10-09T02:00:00Z");
    const provider = await t.signedIn("xufeng");
    const list = await provider.get("/inspections");
    expect(rowOf(list.html, id)).toContain("剩余 2 个工作日（2026-10-12）");
    expect(rowOf(list.html, id)).toContain("整改完成");
    const empty = await provider.post(`/inspections/${id}/report`, { note: "  " });
    expect(empty.status).toBe(400);
    expect(errorAt(empty.html, `report-${id}-note-error`)).toBe("请填写整改情况说明");
    expect((await inspections())[0]!.status).toBe("rectifying");
    const reported = await provider.post(`/inspections/${id}/report`, { note: "已完成演练并补充策略" });
    expect(reported.status).toBe(303);
    expect(reported.location).toBe(`/inspections?done=report#inspection-${id}`);
    const afterReport = await provider.get(reported.location!);
    expect(afterReport.html).toContain("已报告整改完成，等待统筹管理单位确认。");
    expect(rowOf(afterReport.html, id)).toContain("整改完成待确认");
    expect(rowOf(afterReport.html, id)).not.toContain("<form");
    // The manager cannot report for the provider (the service's refusal, above the list).
    const manager2 = await t.signedIn("zhangwei");
    await manager2.get("/inspections");
    const notHis = await manager2.post(`/inspections/${id}/report`, { note: "代为报告" });
    expect(notHis.status).toBe(403);
    expect(notHis.html).toContain("整改完成由评估实施单位报告");

    // The manager returns it: a reason is required, beside the box.
    const withNote = await manager2.get("/inspections");
    expect(rowOf(withNote.html, id)).toContain("整改完成报告：已完成演练并补充策略");
    expect(rowOf(withNote.html, id)).toContain("整改不到位");
    const noReason = await manager2.post(`/inspections/${id}/return`, { reason: "" });
    expect(noReason.status).toBe(400);
    expect(errorAt(noReason.html, `return-${id}-reason-error`)).toBe("请填写退回原因");
    const returned = await manager2.post(`/inspections/${id}/return`, { reason: "演练记录缺失" });
    expect(returned.status).toBe(303);
    expect((await manager2.get(returned.location!)).html).toContain("已退回（整改不到位）");

    // 10-13: past the deadline; the provider sees it 已超期 with the reason, and reports again.
    t.clock.set("2026-10-13T02:00:00Z");
    const provider2 = await t.signedIn("xufeng");
    const late = await provider2.get("/inspections");
    expect(rowOf(late.html, id)).toContain("已超期 1 个工作日（2026-10-12）");
    expect(rowOf(late.html, id)).toContain("退回原因：演练记录缺失");
    expect(rowOf(late.html, id)).toContain('class="ys-row-late"');
    expect((await provider2.post(`/inspections/${id}/report`, { note: "已补充演练记录" })).status).toBe(303);
    // A second report of a reported inspection is the service's conflict, said above the list.
    const twice = await provider2.post(`/inspections/${id}/report`, { note: "再次报告" });
    expect(twice.status).toBe(409);
    expect(twice.html).toContain("只有整改中的检查可以报告整改完成");

    // The manager confirms; everyone sees it closed.
    const manager3 = await t.signedIn("zhangwei");
    await manager3.get("/inspections");
    const confirmed = await manager3.post(`/inspections/${id}/confirm`);
    expect(confirmed.status).toBe(303);
    expect((await manager3.get(confirmed.location!)).html).toContain("已确认整改，该检查关闭。");
    for (const user of ["zhangwei", "guojun", "xufeng"]) {
      const page = await (await t.signedIn(user)).get("/inspections");
      expect(rowOf(page.html, id), user).toContain("已确认整改");
      expect(rowOf(page.html, id), user).toContain("整改完成报告：已补充演练记录");
      expect(rowOf(page.html, id), user).not.toContain("<form");
    }
    const [closed] = await inspections();
    expect(closed).toMatchObject({ status: "closed", rectificationNote: "已补充演练记录", returnReason: null });
    // Every step audited once, from the portal.
    for (const action of ["inspection.record", "inspection.return", "inspection.confirm"]) expect(await audited(action), action).toBe(1);
    expect(await audited("inspection.report")).toBe(2);
    const web = await t.db.select({ channel: auditLog.channel }).from(auditLog).where(eq(auditLog.action, "inspection.confirm"));
    expect(web).toEqual([{ channel: "web" }]);

    // The monthly report's page counts it: recorded in September, rectified after its deadline.
    const report = await (await t.signedIn("zhangwei")).get("/reports/monthly?month=2026-09");
    expect(report.html).toContain("安全督查与检查 1 次（限期整改 1 次，问题 2 项）；未关闭 0 次（问题 0 项，已超期 0 次）；按期整改 0 次，逾期整改 1 次");
    expect((await (await t.signedIn("huangmin")).get("/reports/monthly?month=2026-09")).html).not.toContain("安全督查与检查");
  });
});
