import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, resources } from "../db/schema";
import { verifyAuditChain } from "../src/audit/verify";
import { runDueTimers } from "../src/jobs/timers";
import { coveredByPlan, createTestApp, ok, rowCounts, sampleForm, type TestApp } from "./app-harness";

// 整改通知 (责令整改或退出): 巴中 003 第二十四条(四), 韶关 002 附件2 十六, 徽州 001 第二十五、三十条. The manager orders a
// unit to rectify by a date; the unit's applicants are told at once, one reports 整改完成, the manager confirms or
// returns it; unrectified by the date, the resources are stopped and reclaimed through a revocation owned by the
// unit. The dates cross 中秋 2026 (09-25 … 09-27 off) and 国庆 2026 (10-01 … 10-07 off, Saturday 10-10 a working day).

// A second applicant of 杨帆's unit (梅州市人力资源和社会保障局): an order to the unit reaches both.
const SUNLI = { id: "sunli", name: "孙丽", unit: "mz-rsj", roles: ["applicant"] };

const holders = (detail: { currentStage: { tasks: { userId: string; status: string }[] } }) =>
  detail.currentStage.tasks.filter((x) => x.status === "pending").map((x) => x.userId).sort();
const withoutAudit = async (t: TestApp) => {
  const { audit_log: _, ...rest } = await rowCounts(t.db);
  return rest;
};
const cardsOf = async (t: TestApp, kind: string, code: string) =>
  (await t.db.select().from(outbox).where(eq(outbox.kind, kind))).filter((o) => JSON.stringify(o.payload).includes(code));

describe("巴中 003 第二十四条(四)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "bazhong", now: "2026-09-21T01:00:00Z", extraUsers: [SUNLI] }); // Monday 09:00
    // 003 第十四条: the applications are within the years' consented plans.
    await t.planConsented(2026);
    await t.planConsented(2027);
  });
  afterAll(() => t?.close());

  /** A 巴中 application of 杨帆's, reviewed and its resources configured: its first VM's id. */
  async function deliveredVm(): Promise<number> {
    return (await t.deliverApplication("yangfan")).resources[0]!.id;
  }

  test("003 第二十四条(四): the manager orders 整改 by 5 working days (across 中秋); every applicant of the unit is told at once; one reports 整改完成, the manager returns it once (整改不到位), then confirms", async () => {
    const vm = await deliveredVm();
    t.clock.set("2026-09-22T02:00:00Z"); // Tuesday
    const order = { resources: [vm], ground: "idle", description: "该云主机连续 6 个月 CPU 利用率低于 1%，请说明用途或释放", rectifyWorkdays: 5 };
    const { id, code } = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
    let detail = ok(await t.show("yangfan", id));
    // The unit's request, filed under the applicant of the resources.
    expect(detail).toMatchObject({ flow: "rectification", applicant: { id: "yangfan" }, unit: { id: "mz-rsj" } });
    // 5 wd from Tuesday 09-22: 09-23, 09-24, (中秋 09-25 … 09-27), 09-28, 09-29, 09-30.
    expect(detail.currentStage).toMatchObject({ stage: "rectify", name: "整改", deadlineAt: "2026-09-30T15:59:59.999Z" });
    expect(detail.summary).toContainEqual({ label: "事由", value: "资源长期闲置（003 第二十四条(四)）" });
    expect(detail.summary).toContainEqual({ label: "整改期限", value: "2026-09-30 前" });
    expect(holders(detail)).toEqual(["sunli", "yangfan"]);
    expect((await cardsOf(t, "task", code)).map((o) => o.userId).sort()).toEqual(["sunli", "yangfan"]);
    // The report says what was done.
    const bare = await t.act("sunli", id, { action: "confirm" });
    expect(bare.status).toBe(422);
    expect(bare.body.error.message).toBe("请说明整改情况：做了哪些整改");
    t.clock.set("2026-09-28T02:00:00Z");
    ok(await t.act("sunli", id, { action: "confirm", note: "已将该云主机承载的报表服务迁回主系统，申请缩容" }));
    detail = ok(await t.show("zhangwei", id));
    expect(detail.currentStage).toMatchObject({ stage: "confirm", name: "整改确认" });
    // 整改不到位: back to the unit, by the same date.
    ok(await t.act("chenjing", id, { action: "return", reason: "未附缩容申请" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2026-09-30T15:59:59.999Z" });
    ok(await t.act("yangfan", id, { action: "confirm", note: "缩容申请已提交" }));
    ok(await t.act("zhangwei", id, { action: "approve", note: "整改到位" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    // Rectified: nothing is reclaimed, and the date passing later does nothing.
    t.clock.set("2026-10-08T02:00:00Z");
    await runDueTimers(t.ctx());
    expect((await t.db.select().from(resources).where(eq(resources.id, vm)))[0]!.status).toBe("delivered");
    expect(await t.db.select().from(requests).where(and(eq(requests.flow, "revocation"), eq(requests.unitId, "mz-rsj")))).toEqual([]);
  });

  test("003 第二十四条(四): 拒不整改 — the date (across 国庆) passes unrectified: the order lapses, a revocation of the named resources opens for the unit, and they are reclaimed after the 过渡期", async () => {
    t.clock.set("2026-09-29T02:00:00Z"); // Tuesday
    const vm = await deliveredVm();
    const order = { resources: [vm], ground: "zombie", description: "系统已停止访问，仍占用资源", rectifyWorkdays: 3 };
    const { id, code } = ok(await t.call("chenjing", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
    // 3 wd from Tuesday 09-29: 09-30, (国庆 10-01 … 10-07), 10-08, 10-09.
    expect(ok(await t.show("yangfan", id)).currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2026-10-09T15:59:59.999Z" });
    // Reminded the working day before, saying what comes after.
    t.clock.set("2026-10-08T01:00:00Z");
    await runDueTimers(t.ctx());
    const reminded = await cardsOf(t, "remind", code);
    expect(reminded.map((o) => o.userId).sort()).toEqual(["sunli", "yangfan"]);
    expect(JSON.stringify(reminded[0]!.payload)).toContain("逾期未完成将停止使用并回收所列资源");
    t.clock.set("2026-10-09T15:59:59.998Z");
    await runDueTimers(t.ctx());
    expect(ok(await t.show("yangfan", id)).status).toBe("in_progress");

    t.clock.set("2026-10-09T16:00:00Z");
    await runDueTimers(t.ctx());
    const detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(detail.stages.find((s: { stage: string }) => s.stage === "rectify").status).toBe("elapsed");
    const [revocation] = await t.db.select().from(requests).where(and(eq(requests.flow, "revocation"), eq(requests.unitId, "mz-rsj")));
    expect(revocation).toMatchObject({ applicantId: "yangfan", status: "in_progress", currentStage: "approve" });
    expect(revocation!.facts).toMatchObject({ resourceIds: [vm], trigger: "rectification_refused" });
    expect((revocation!.facts as { reason: string }).reason).toBe(`逾期未整改，停止使用并回收：「${detail.title}」（${code}）至 2026-10-09 未完成「整改」（003 第二十四条(四)）`);
    expect(detail.summary).toContainEqual({ label: "结果", value: `逾期未整改，已停止使用并发起回收（撤销申请 ${revocation!.code}）` });
    const lapse = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "stage.lapse")));
    expect(lapse).toMatchObject([{ stage: "rectify", channel: "timer", actorId: null, details: { trigger: "rectification_refused" } }]);
    const submitted = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, revocation!.id), eq(auditLog.action, "request.submit")));
    expect(submitted).toMatchObject([{ details: { trigger: "rectification_refused", origin: code } }]);
    // The unit and the managers are told.
    const told = await cardsOf(t, "result", code);
    expect(told.map((o) => o.userId).sort()).toEqual(["chenjing", "sunli", "yangfan", "zhangwei"]);
    // Lapsed once only; the order's holders can no longer report.
    expect((await t.act("yangfan", id, { action: "confirm", note: "补报", stage: "rectify" })).status).toBe(409);

    // The revocation runs as 巴中's does (003 第二十二条): approved, 3 months' 过渡期, joint purge, reclaim, check.
    t.clock.set("2026-10-12T02:00:00Z");
    await t.actInTurn(revocation!.id, [["zhangwei", { action: "approve" }]]);
    t.clock.set("2027-01-12T16:00:00Z");
    await runDueTimers(t.ctx());
    expect(ok(await t.show("yangfan", revocation!.id)).currentStage.stage).toBe("purge");
    await t.actInTurn(revocation!.id, [
      ["yangfan", { action: "confirm", note: "已清除" }],
      ["xufeng", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["guojun", { action: "approve" }],
    ]);
    expect(ok(await t.show("yangfan", revocation!.id)).status).toBe("completed");
    expect((await t.db.select().from(resources).where(eq(resources.id, vm)))[0]!.status).toBe("revoked");
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  test("003 第二十四条(四): 退出 directly — the manager starts the revocation itself (责令退出), owned by the unit and citing the article", async () => {
    t.clock.set("2027-01-13T02:00:00Z");
    const vm = await deliveredVm();
    const { id } = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "虚报资源，责令退出", trigger: "ordered_exit" } }), 201);
    const detail = ok(await t.show("yangfan", id));
    expect(detail).toMatchObject({ applicant: { id: "yangfan" }, unit: { id: "mz-rsj" }, currentStage: { stage: "approve" } });
    expect(detail.summary).toContainEqual({ label: "理由", value: "统筹管理单位责令退出（003 第二十四条(四)）" });
  });

  test("003 第二十四条(四): only the manager orders, on this document's grounds, by a later date; the unit's applicants cannot confirm their own rectification; refusals write nothing", async () => {
    const vm = await deliveredVm();
    const good = { resources: [vm], ground: "idle", description: "长期闲置", rectifyBy: "2027-02-26" };
    const before = await withoutAudit(t);
    const post = (user: string, form: unknown) => t.call(user, "POST", "/api/requests", { flow: "rectification", form });
    for (const user of ["yangfan", "xufeng", "guojun"]) {
      const res = await post(user, good);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe("整改通知由统筹管理单位（政务云主管部门）发出");
    }
    const wrongGround = await post("zhangwei", { ...good, ground: "under_use" });
    expect(wrongGround.status).toBe(422);
    expect(wrongGround.body.error.fields["form.ground"][0]).toBe(
      "本地区管理办法规定的整改事由为：虚报政务云资源（003 第二十四条(四)）、使用效率长期较低（003 第二十四条(四)）、“僵尸系统”（003 第二十四条(四)）、资源长期闲置（003 第二十四条(四)）",
    );
    const past = await post("zhangwei", { ...good, rectifyBy: "2027-01-13" });
    expect(past.status).toBe(422);
    expect(past.body.error.fields["form.rectifyBy"]).toEqual(["整改期限应晚于今天（2027-01-13）"]);
    // Working days past the loaded calendar (it ends with 2026) cannot be counted.
    const { rectifyBy: _, ...undated } = good;
    const uncounted = await post("zhangwei", { ...undated, rectifyWorkdays: 5 });
    expect(uncounted.status).toBe(422);
    expect(uncounted.body.error.code).toBe("calendar_out_of_range");
    const both = await post("zhangwei", { ...good, rectifyWorkdays: 5 });
    expect(both.status).toBe(400);
    expect(both.body.error.fields["form.rectifyBy"]).toEqual(["请给出整改期限：截止日期或工作日数，二选一"]);
    // An applicant may not name a manager's trigger on its own revocation.
    const trigger = await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "不用了", trigger: "ordered_exit" } });
    expect(trigger.status).toBe(422);
    expect(trigger.body.error.fields["form.trigger"]).toEqual(["撤销事由由统筹管理单位发起时填写"]);
    // The manager scales down only.
    const up = await t.call("zhangwei", "POST", "/api/requests", { flow: "adjustment", form: { direction: "up", resource: vm, to: { vcpu: 16 }, reason: "扩容" } });
    expect(up.status).toBe(422);
    expect(up.body.error.fields["form.direction"]).toEqual(["统筹管理单位发起的只能是缩容（资源降配）"]);
    expect(await withoutAudit(t)).toEqual(before);

    // The order stands; the same resources cannot be ordered twice; the manager confirms, not the unit.
    const { id } = ok(await post("zhangwei", good), 201);
    expect((await post("chenjing", good)).status).toBe(409);
    ok(await t.act("yangfan", id, { action: "confirm", note: "已整改" }));
    // The confirmation is the manager's: the unit's applicant who reported is told it is done, anyone else refused.
    expect((await t.act("yangfan", id, { action: "approve" })).status).toBe(409);
    expect((await t.act("lihua", id, { action: "approve" })).status).toBe(403);
    expect((await t.act("xufeng", id, { action: "approve" })).status).toBe(403);
    expect(ok(await t.show("zhangwei", id)).currentStage.stage).toBe("confirm");
  });
});

describe("巴中 003 第二十四条(四): extending the 整改期限", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "bazhong", now: "2026-12-14T02:00:00Z" }); // Monday
    await t.planConsented(2026);
  });
  afterAll(() => t?.close());

  test("003 第二十四条(四): the manager extends the 整改期限 (into 2027, past the loaded calendar); a rectification returned as 不到位 is due by the extended date, and lapses then", async () => {
    const [vm] = (await t.deliverApplication("yangfan")).resources;
    const order = { resources: [vm!.id], ground: "low_efficiency", description: "CPU 利用率长期低于 3%", rectifyBy: "2026-12-25" };
    const { id } = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
    // Only the manager extends.
    expect((await t.act("yangfan", id, { action: "extend", days: 10, reason: "申请延期" })).status).toBe(403);
    ok(await t.act("chenjing", id, { action: "extend", days: 10, reason: "单位申请延期，同意" }));
    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2027-01-04T15:59:59.999Z" });
    expect(detail.summary).toContainEqual({ label: "整改期限", value: "2027-01-04 前" });
    t.clock.set("2026-12-28T02:00:00Z");
    ok(await t.act("yangfan", id, { action: "confirm", note: "已合并到主系统" }));
    ok(await t.act("zhangwei", id, { action: "return", reason: "仍有 2 台闲置" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2027-01-04T15:59:59.999Z" });
    t.clock.set("2027-01-04T15:59:59Z");
    await runDueTimers(t.ctx());
    expect(ok(await t.show("yangfan", id)).status).toBe("in_progress");
    t.clock.set("2027-01-04T16:00:00Z");
    await runDueTimers(t.ctx());
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    const [revocation] = await t.db.select().from(requests).where(eq(requests.flow, "revocation"));
    expect(revocation!.facts).toMatchObject({ resourceIds: [vm!.id], trigger: "rectification_refused" });
    expect((revocation!.facts as { reason: string }).reason).toContain("至 2027-01-04 未完成「整改」");
  });
});

describe("徽州 001 第二十五条、第三十条", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "huizhou", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
  });
  afterAll(() => t?.close());

  /** A 徽州 application of 杨帆's, accepted and reviewed, its test resources configured: the application and its first VM. */
  async function deliveredVm() {
    const form = sampleForm("huizhou");
    form.attachments.push(await t.attachment("yangfan", "project_approval"));
    const { id } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["chenjing", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
    return vm!.id;
  }
  const newApplication = async () => {
    const form = sampleForm("huizhou");
    form.attachments.push(await t.attachment("yangfan", "project_approval"));
    return t.submit("yangfan", coveredByPlan(form));
  };

  test("001 第二十五条: a higher risk suspends the system at once — the provider pauses it the same day while the unit rectifies — and it runs again once the rectification is confirmed", async () => {
    const vm = await deliveredVm();
    t.clock.set("2026-09-24T02:00:00Z"); // Thursday, the day before 中秋
    const order = { resources: [vm], ground: "security_risk_high", description: "存在高危漏洞（远程代码执行），须修补", rectifyBy: "2026-10-09" };
    const submitted = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
    expect(submitted.message).toBe(`申请 ${submitted.code} 已提交，进入「整改」，「暂停系统运行」同时进行`);
    const id = submitted.id;
    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2026-10-09T15:59:59.999Z" });
    expect(detail.summary).toContainEqual({ label: "系统运行", value: "暂停运行，直至整改完成（001 第二十五条）" });
    expect(detail.summary).toContainEqual({ label: "事由", value: "安全风险（风险等级较高）（001 第二十五条）" });
    const suspend = detail.stages.find((s: { stage: string }) => s.stage === "suspend");
    // 当天: by the end of the day the order is made.
    expect(suspend).toMatchObject({ status: "open", deadlineAt: "2026-09-24T15:59:59.999Z" });
    expect((await cardsOf(t, "task", submitted.code)).map((o) => o.userId).sort()).toEqual(["linna", "xufeng", "yangfan"]);
    ok(await t.act("xufeng", id, { action: "approve", stage: "suspend", note: "已关停对外服务" }));
    t.clock.set("2026-10-08T02:00:00Z");
    ok(await t.act("yangfan", id, { action: "confirm", note: "已升级组件并复测，无高危漏洞" }));
    ok(await t.act("chenjing", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "resume", name: "恢复系统运行" });
    ok(await t.act("linna", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(detail.stages.map((s: { stage: string }) => s.stage)).toEqual(["suspend", "rectify", "confirm", "resume"]);
  });

  test("001 第二十五条: a lower risk is 限期整改 without suspension; unrectified by the date, the resources are stopped and reclaimed (强制处理)", async () => {
    const vm = await deliveredVm();
    const order = { resources: [vm], ground: "security_risk_low", description: "弱口令", rectifyWorkdays: 2 };
    const { id } = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
    // 2 wd from Thursday 10-08: 10-09 and the 调休 Saturday 10-10.
    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2026-10-10T15:59:59.999Z" });
    expect(detail.stages.map((s: { stage: string }) => s.stage)).toEqual(["rectify"]);
    t.clock.set("2026-10-10T16:00:00Z");
    await runDueTimers(t.ctx());
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    const [revocation] = await t.db.select().from(requests).where(and(eq(requests.flow, "revocation"), eq(requests.status, "in_progress")));
    expect(revocation!.facts).toMatchObject({ resourceIds: [vm], trigger: "rectification_refused" });
    // 001 第十六条 as for any 终止 the unit did not ask for: the unit takes the system offline first.
    expect(revocation!.currentStage).toBe("prepare");
    await t.actInTurn(revocation!.id, [
      ["yangfan", { action: "confirm", note: "已下线" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    expect((await t.db.select().from(resources).where(eq(resources.id, vm)))[0]!.status).toBe("revoked");
  });

  test("001 第三十条: the manager starts a scale-down (资源降配) of an under-used resource for the unit; while it is pending the unit's new 云资源申请 is refused, naming it; once done it is accepted", async () => {
    t.clock.set("2026-10-12T02:00:00Z");
    const vm = await deliveredVm();
    const { id, code } = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "CPU 利用率长期不足 5%" } }), 201);
    const detail = ok(await t.show("yangfan", id));
    expect(detail).toMatchObject({ applicant: { id: "yangfan" }, unit: { id: "mz-rsj" }, currentStage: { stage: "approve" } });
    expect(detail.summary).toContainEqual({ label: "依据", value: "统筹管理单位发起：001 第三十条（业务资源使用率不足，资源降配）" });

    const before = await withoutAudit(t);
    const refused = await newApplication();
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toBe(
      `本单位有因业务资源使用率不足的资源降配或回收尚未办结（缩容 ${code}「${detail.title}」），办结前暂停受理本单位新的云资源申请（001 第三十条）`,
    );
    // The file uploaded for the refused application is the only row written.
    const after = await withoutAudit(t);
    expect({ ...after, files: before.files }).toEqual(before);
    // Another unit is not held back.
    const other = sampleForm("huizhou");
    other.attachments.push(await t.attachment("lihua", "project_approval"));
    ok(await t.submit("lihua", coveredByPlan(other)), 201);

    await t.actInTurn(id, [
      ["chenjing", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    expect(ok(await t.show("yangfan", id)).status).toBe("completed");
    ok(await newApplication(), 201);
  });

  test("001 第三十条: a reclaim for under-use the manager starts, and an under-use 整改通知, hold the unit's applications too until they end", async () => {
    const vm = await deliveredVm();
    const { id, code } = ok(await t.call("chenjing", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "半年无访问", trigger: "under_use" } }), 201);
    expect(ok(await t.show("yangfan", id))).toMatchObject({ applicant: { id: "yangfan" }, currentStage: { stage: "prepare" } });
    expect((await newApplication()).body.error.message).toContain(`撤销 ${code}`);
    // Not the unit's to withdraw: the manager ends it, by rejecting it at its review.
    const withdrawn = await t.act("yangfan", id, { action: "withdraw", reason: "另行安排" });
    expect(withdrawn.status).toBe(403);
    expect(withdrawn.body.error.message).toBe("该申请由他方为本单位发起，使用单位不能撤回");
    ok(await t.act("yangfan", id, { action: "confirm", note: "已下线" }));
    ok(await t.act("zhangwei", id, { action: "reject", reason: "系统恢复使用，不再回收" }));

    const vm2 = await deliveredVm();
    const order = { resources: [vm2], ground: "under_use", description: "使用率不足，请提出降配方案", rectifyWorkdays: 5 };
    const ordered = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
    expect((await newApplication()).body.error.message).toContain(`整改通知 ${ordered.code}`);
    ok(await t.act("yangfan", ordered.id, { action: "confirm", note: "已提出降配方案" }));
    ok(await t.act("zhangwei", ordered.id, { action: "approve" }));
    ok(await newApplication(), 201);
  });
});

describe("韶关 002 附件2 十六", () => {
  test("002 附件2 十六: an order on a breach of the 安全责任书 to a county unit lapses (across 国庆) into a revocation owned by the unit, which takes its system offline first (002 第二十二条) and is not pre-reviewed by its county; the manager may also 收回 directly", async () => {
    const t = await createTestApp({ profile: "shaoguan", now: "2026-09-28T01:00:00Z" }); // Monday 09:00
    try {
      const form = sampleForm("shaoguan");
      form.attachments.push(await t.attachment("lihua", "security_pledge"));
      const { id: appId } = ok(await t.submit("lihua", coveredByPlan(form)), 201);
      await t.actInTurn(appId, [
        ["huangmin", { action: "approve" }],
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve", note: "已下发" }],
        ["lihua", { action: "confirm" }],
      ]);
      const [vm, vm2] = await t.db.select().from(resources).where(eq(resources.requestId, appId)).orderBy(asc(resources.id));
      const order = { resources: [vm!.id], ground: "undertaking_breach", description: "将云主机提供给其他单位使用（违反责任书第七条）", rectifyWorkdays: 3 };
      const { id } = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
      let detail = ok(await t.show("lihua", id));
      // 3 wd from Monday 09-28: 09-29, 09-30, (国庆 10-01 … 10-07), 10-08.
      expect(detail.currentStage).toMatchObject({ stage: "rectify", deadlineAt: "2026-10-08T15:59:59.999Z" });
      expect(detail.summary).toContainEqual({ label: "事由", value: "违反政务云资源使用安全责任书（002 附件2 十六）" });
      t.clock.set("2026-10-08T16:00:00Z");
      await runDueTimers(t.ctx());
      detail = ok(await t.show("lihua", id));
      expect(detail.status).toBe("completed");
      const [revocation] = await t.db.select().from(requests).where(eq(requests.flow, "revocation"));
      expect(revocation).toMatchObject({ unitId: "mx-jyj", applicantId: "lihua", currentStage: "prepare" });
      await t.actInTurn(revocation!.id, [
        ["lihua", { action: "confirm", note: "已下线并备份" }],
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve" }],
      ]);
      expect(ok(await t.show("lihua", revocation!.id)).stages.map((s: { stage: string }) => s.stage)).toEqual(["prepare", "approve", "revoke"]);
      expect((await t.db.select().from(resources).where(eq(resources.id, vm!.id)))[0]!.status).toBe("revoked");

      // 有权停止有关服务，收回资源: the manager's own revocation, citing the article.
      const wrong = await t.call("zhangwei", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm2!.id], reason: "违反责任书", trigger: "ordered_exit" } });
      expect(wrong.status).toBe(422);
      expect(wrong.body.error.fields["form.trigger"]).toEqual(["请选择撤销事由：undertaking_breach（违反政务云资源使用安全责任书，收回资源，002 附件2 十六）"]);
      const direct = ok(await t.call("zhangwei", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm2!.id], reason: "违反责任书", trigger: "undertaking_breach" } }), 201);
      expect(ok(await t.show("lihua", direct.id)).summary).toContainEqual({ label: "理由", value: "违反政务云资源使用安全责任书，收回资源（002 附件2 十六）" });
    } finally {
      await t.close();
    }
  });
});

describe("高创中心 000 6.1", () => {
  test("000 6.1: the 监管部门 (the reviewer's seat) orders 整改 and confirms it; it only 督促: a date passed is a 工作警示, nothing is reclaimed", async () => {
    const t = await createTestApp({ profile: "gaochuang", now: "2026-09-28T01:00:00Z" });
    try {
      const { id: appId } = ok(await t.submit("yangfan", coveredByPlan(sampleForm())), 201);
      await t.actInTurn(appId, [
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve" }],
      ]);
      const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, appId)).orderBy(asc(resources.id));
      const order = { resources: [vm!.id], ground: "security_risk", description: "发现挖矿木马", rectifyBy: "2026-09-30" };
      const byManager = await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: order });
      expect(byManager.status).toBe(403);
      expect(byManager.body.error.message).toBe("整改通知由公共服务云平台监管部门（复核单位）发出");
      const { id, code } = ok(await t.call("guojun", "POST", "/api/requests", { flow: "rectification", form: order }), 201);
      expect(ok(await t.show("yangfan", id)).summary).toContainEqual({ label: "事由", value: "安全风险、隐患或安全事件（000 6.1）" });
      t.clock.set("2026-09-30T16:00:00Z");
      await runDueTimers(t.ctx());
      const detail = ok(await t.show("yangfan", id));
      expect(detail).toMatchObject({ status: "in_progress", overdue: true, currentStage: { stage: "rectify" } });
      expect((await cardsOf(t, "overdue", code)).map((o) => o.userId)).toContain("yangfan");
      expect(await t.db.select().from(requests).where(eq(requests.flow, "revocation"))).toEqual([]);
      // Rectified late, it is still reported, and the 监管部门 confirms it.
      ok(await t.act("yangfan", id, { action: "confirm", note: "已清除木马并加固" }));
      expect(ok(await t.show("guojun", id)).currentStage.tasks.map((x: { userId: string }) => x.userId)).toEqual(["guojun"]);
      ok(await t.act("guojun", id, { action: "approve" }));
      expect(ok(await t.show("yangfan", id)).status).toBe("completed");
    } finally {
      await t.close();
    }
  });
});

describe("where the document names no order", () => {
  test("梅州 (004): the manager cannot order a unit to rectify nor start its revocation or adjustment; nothing is written", async () => {
    const t = await createTestApp({ now: "2026-09-21T01:00:00Z" });
    try {
      const { resources: [vm] } = await t.deliverApplication("yangfan");
      const before = await withoutAudit(t);
      const order = await t.call("zhangwei", "POST", "/api/requests", { flow: "rectification", form: { resources: [vm!.id], ground: "idle", description: "闲置", rectifyWorkdays: 5 } });
      expect(order.status).toBe(403);
      expect(order.body.error.message).toBe("本地区政务云管理办法未规定责令使用单位整改");
      const revoke = await t.call("zhangwei", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm!.id], reason: "闲置", trigger: "ordered_exit" } });
      expect(revoke.status).toBe(403);
      expect(revoke.body.error.message).toBe("撤销由使用单位或评估实施单位（云服务商）发起");
      const adjust = await t.call("zhangwei", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm!.id, to: { vcpu: 2 }, reason: "闲置" } });
      expect(adjust.status).toBe(403);
      expect(adjust.body.error.message).toBe("扩容缩容由使用单位或评估实施单位（云服务商）发起");
      expect(await withoutAudit(t)).toEqual(before);
    } finally {
      await t.close();
    }
  });
});

describe("the portal's 发起申请 for the manager", () => {
  test("001 第二十五条: under 徽州 the manager finds 整改通知 among its forms, with 徽州's grounds only; 预览 shows the 暂停系统运行 beside the 整改 by its date; 提交 files it", async () => {
    const { createWebTestApp } = await import("./web-harness");
    const t = await createWebTestApp({ profile: "huizhou", now: "2026-09-21T01:00:00Z" });
    try {
      const form = sampleForm("huizhou");
      form.attachments.push(await t.attachment("yangfan", "project_approval"));
      const { id: appId } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
      await t.actInTurn(appId, [
        ["zhangwei", { action: "approve" }],
        ["chenjing", { action: "approve" }],
        ["xufeng", { action: "approve" }],
      ]);
      const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, appId)).orderBy(asc(resources.id));
      const m = await t.signedIn("zhangwei");
      const list = await m.get("/new");
      for (const path of ["/new/rectification", "/new/revocation", "/new/adjustment"]) expect(list.html).toContain(path);
      expect(list.html).not.toContain("/new/application");
      const page = await m.get("/new/rectification");
      expect(page.status).toBe(200);
      expect(page.html).toContain("安全风险（风险等级较高）（001 第二十五条）");
      expect(page.html).toContain("业务资源使用率不足（001 第三十条）");
      expect(page.html).not.toContain("资源长期闲置");
      const fields = { resources: String(vm!.id), ground: "security_risk_high", description: "高危漏洞", rectifyBy: "2026-09-30" };
      const preview = await m.post("/new/rectification", { ...fields, _step: "preview" });
      expect(preview.status).toBe(200);
      const shown = preview.html.replace(/<wbr\s*\/?>|<\/?span[^>]*>/g, "");
      expect(shown).toContain("暂停系统运行");
      expect(shown).toContain("2026-09-30 前（限期）");
      const hidden = Object.fromEntries([...preview.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((x) => [x[1]!, x[2]!.replaceAll("&amp;", "&")]));
      const filed = await m.post("/new/rectification", { ...hidden, _step: "submit" });
      expect(filed.status).toBe(303);
      const code = filed.location!.slice("/requests/".length, filed.location!.indexOf("?"));
      const [row] = await t.db.select().from(requests).where(eq(requests.code, code));
      expect(row).toMatchObject({ flow: "rectification", unitId: "mz-rsj", applicantId: "yangfan", currentStage: "rectify" });
      // The unit's applicant has no such form.
      expect((await (await t.signedIn("yangfan")).get("/new/rectification")).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
