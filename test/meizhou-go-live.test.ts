import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, test } from "vitest";
import { outbox, stageRuns } from "../db/schema";
import { runDueTimers } from "../src/jobs/timers";
import { createTestApp, ok, sampleForm, securityTestForm, type TestApp } from "./app-harness";

// 004 第十七条: deployment, the security test before go-live, and go-live, in the 梅州 profile, around 国庆 2026
// (10-01 … 10-07 off, Saturday 10-10 a working day).

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ now: "2026-09-25T02:00:00Z" }); // Friday 10:00, a week before 国庆
  // 004 第七条(三), 第四十条: the system's 密评 is on record, so the unit may apply for the security test.
  await t.recordCryptoAssessment("yangfan");
});

/** 004 第十七条(二): the 附件6 the unit files with its application, deployed that day. */
const annex6 = () => securityTestForm({ deployedOn: "2026-09-25", contact: { name: "杨帆", mobile: "13800000002" } });
afterEach(() => t?.close());

/** 杨帆 (a city unit, so no county review) files the example and everyone decides at once, up to 系统部署. */
async function delivered() {
  const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
  ok(await t.act("xufeng", id, { action: "approve", stage: "evaluate" }));
  ok(await t.act("zhangwei", id, { action: "approve", stage: "approve" }));
  ok(await t.act("xufeng", id, { action: "approve", stage: "provision" }));
  ok(await t.act("yangfan", id, { action: "confirm", stage: "backup_check" }));
  ok(await t.act("yangfan", id, { action: "confirm", stage: "confirm_delivery" }));
  ok(await t.act("guojun", id, { action: "approve", stage: "verify_delivery" }));
  return id;
}

const deadlineOf = async (id: number, stage: string) =>
  (await t.db.select().from(stageRuns).where(and(eq(stageRuns.requestId, id), eq(stageRuns.stage, stage)))).map((r) => r.deadlineAt!.toISOString());

test("004 第十七条(一) deployment is due 20 wd after delivery (资源开通), however long the checks after it take", async () => {
  const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
  ok(await t.act("xufeng", id, { action: "approve", stage: "evaluate" }));
  ok(await t.act("zhangwei", id, { action: "approve", stage: "approve" }));
  // Delivered on Monday 09-28, the 发放单 with it.
  t.clock.set("2026-09-28T02:00:00Z");
  ok(await t.act("xufeng", id, { action: "approve", stage: "provision" }));
  ok(await t.act("yangfan", id, { action: "confirm", stage: "backup_check" }));
  // The unit's confirmation and the reviewer's check take until after the holiday.
  t.clock.set("2026-10-09T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm", stage: "confirm_delivery" }));
  ok(await t.act("guojun", id, { action: "approve", stage: "verify_delivery" }));
  // 20 wd from 09-28: 09-29, 09-30, 10-08, 10-09, the 调休 Saturday 10-10, then 10-12 … 10-30 (15 more): 10-30.
  // From the end of 发放核查 (10-09) it would have been 11-05.
  expect(await deadlineOf(id, "deploy")).toEqual(["2026-10-30T15:59:59.999Z"]);
});

test("004 第十七条(三) the fix and the retest are due 10 wd from the first test performed, not from the day it was asked for", async () => {
  const id = await delivered();
  ok(await t.act("yangfan", id, { action: "approve", stage: "deploy" }));
  ok(await t.act("yangfan", id, { action: "approve", stage: "request_security_test", form: annex6() })); // asked on Friday 09-25
  // The manager performs the first test on Wednesday 09-30 and finds a problem.
  t.clock.set("2026-09-30T06:00:00Z");
  ok(await t.act("chenjing", id, { action: "fail", stage: "security_test", reason: "存在弱口令" }));
  // 10 wd from 09-30: 10-08, 10-09, the 调休 Saturday 10-10, 10-12 … 10-16, 10-19, 10-20. (From 09-25 it would be 10-15.)
  expect(await deadlineOf(id, "security_fix")).toEqual(["2026-10-20T15:59:59.999Z"]);
  t.clock.set("2026-10-13T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm", stage: "security_fix", note: "已整改" }));
  expect((await deadlineOf(id, "security_test"))[1]).toBe("2026-10-20T15:59:59.999Z");
});

test("004 第十七条(五) a late 系统部署 is warned to the manager, the unit and the provider alike; 20 wd across 国庆 and the 10-10 调休 Saturday", async () => {
  const id = await delivered();
  const [deploy] = await t.db.select().from(stageRuns).where(and(eq(stageRuns.requestId, id), eq(stageRuns.stage, "deploy")));
  // 09-28 … 09-30 (3), 国庆 10-01 … 10-07 skipped, 10-08, 10-09, the 调休 Saturday 10-10 (6), then 14 more: 10-29.
  expect(deploy!.deadlineAt!.toISOString()).toBe("2026-10-29T15:59:59.999Z");

  t.clock.set("2026-10-29T15:59:00Z");
  await runDueTimers(t.ctx());
  expect(await t.db.select().from(outbox).where(eq(outbox.kind, "overdue"))).toEqual([]);
  t.clock.set("2026-10-29T16:00:00Z");
  await runDueTimers(t.ctx());
  const warned = (await t.db.select().from(outbox).where(eq(outbox.kind, "overdue"))).map((r) => r.userId).sort();
  // The unit (杨帆, who holds it), the managers (陈静, 张伟), the reviewer (郭军) and the provider (林娜, 徐峰), once each.
  expect(warned).toEqual(["chenjing", "guojun", "linna", "xufeng", "yangfan", "zhangwei"]);
});

test("004 第十七条(一), 第十六条(三)(四) the unit deploys while the reviewer's 发放核查 runs; the request completes only once the check has passed, which is filed with the manager and the provider", async () => {
  const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
  ok(await t.act("xufeng", id, { action: "approve", stage: "evaluate" }));
  ok(await t.act("zhangwei", id, { action: "approve", stage: "approve" }));
  ok(await t.act("xufeng", id, { action: "approve", stage: "provision" }));
  ok(await t.act("yangfan", id, { action: "confirm", stage: "backup_check" }));
  // Wednesday 09-30, the last working day before 国庆: the unit confirms; deployment and the check open together.
  t.clock.set("2026-09-30T02:00:00Z");
  const confirmed = ok(await t.act("yangfan", id, { action: "confirm", stage: "confirm_delivery" }));
  expect(confirmed).toMatchObject({ currentStage: "deploy", message: "「使用单位确认资源」已完成，进入「系统部署」，「发放核查」同时进行" });
  const detail = ok(await t.show("guojun", id));
  expect(detail.currentStage.stage).toBe("deploy");
  const check = detail.stages.find((s: { stage: string }) => s.stage === "verify_delivery");
  // 2 wd from 09-30 skip 国庆: 10-08 and 10-09.
  expect(check).toMatchObject({ status: "open", deadlineAt: "2026-10-09T15:59:59.999Z" });
  expect(check.tasks.map((x: { userId: string }) => x.userId)).toEqual(["guojun"]);

  // The reviewer's 待办 offers the check itself, bound to its own run.
  const todo = ok(await t.call("guojun", "GET", "/api/requests?view=todo"));
  expect(todo.items.find((r: { id: number }) => r.id === id)).toMatchObject({ currentStageName: "发放核查", stageRunId: check.runId });

  // The unit deploys and asks for the security test before the check is done; the manager tests and passes it.
  ok(await t.act("yangfan", id, { action: "approve", stage: "deploy" }));
  ok(await t.act("yangfan", id, { action: "approve", stage: "request_security_test", form: annex6() }));
  ok(await t.act("chenjing", id, { action: "approve", stage: "security_test" }));
  // Go-live cannot close the request while the check is open: refused, nothing changes.
  const early = await t.act("yangfan", id, { action: "confirm", stage: "go_live" });
  expect(early.status).toBe(409);
  expect(early.body.error).toMatchObject({ code: "not_completed", message: "「发放核查」尚未完成，完成后申请才能办结" });
  expect(ok(await t.show("yangfan", id))).toMatchObject({ status: "in_progress", currentStage: { stage: "go_live" } });

  t.clock.set("2026-10-08T02:00:00Z");
  const checked = ok(await t.act("guojun", id, { action: "approve", stage: "verify_delivery" }));
  expect(checked).toMatchObject({ currentStage: "go_live", message: "「发放核查」已完成" });
  // 004 第十六条(四): the passed check is filed (备案) with the manager and the provider.
  const filed = (await t.db.select().from(outbox).where(eq(outbox.kind, "report"))).filter((r) => (r.payload as { title?: string }).title === "发放核查：已完成");
  expect(filed.map((r) => r.userId)).toEqual(expect.arrayContaining(["zhangwei", "xufeng"]));
  // A second tap on the same check is told who decided it.
  expect((await t.act("guojun", id, { action: "approve", stage: "verify_delivery" })).body.error.message).toBe("「发放核查」已由郭军处理");
  ok(await t.act("yangfan", id, { action: "confirm", stage: "go_live" }));
  expect(ok(await t.show("yangfan", id)).status).toBe("completed");
});
