import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resources } from "../db/schema";
import { coveredByPlan, createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// Issue 14, 徽州 (seed 001) as written: a change is reviewed within 5 working days and made within 3 once approved
// (第十五条); the unit takes its system offline and migrates and backs up its data, then asks to stop, is reviewed
// within 5 working days, and the resources are reclaimed within 3 (第十六条). 001 has no county pre-review and none
// of 梅州's plan, plan review, confirmation or preparation. The dates cross 中秋 2026 (09-25 … 09-27 off) and 国庆
// 2026 (10-01 … 10-07 off, the 调休 Saturday 10-10 a working day).
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ profile: "huizhou", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
});
afterAll(() => t?.close());

/** A 徽州 application by `user`, accepted and reviewed, its test resources configured (delivered): its first VM's id. */
async function deliveredVm(user: "lihua" | "yangfan") {
  const form = sampleForm("huizhou");
  form.attachments.push(await t.attachment(user, "project_approval"));
  const { id } = ok(await t.submit(user, coveredByPlan(form)), 201);
  await t.actInTurn(id, [
    ["zhangwei", { action: "approve" }],
    ["chenjing", { action: "approve" }],
    ["xufeng", { action: "approve" }],
  ]);
  const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
  expect(vm!.status).toBe("delivered");
  return vm!.id;
}

const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();
const passed = (detail: { stages: { stage: string }[] }) => detail.stages.map((s) => s.stage);

describe("001 第十五条: 变更", () => {
  test("001 第十五条: the change is reviewed within 5 working days (across 中秋 and 国庆) and made within 3 once approved", async () => {
    const vm = await deliveredVm("yangfan");
    t.clock.set("2026-09-24T02:00:00Z"); // Thursday, the day before 中秋
    const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { memoryGb: 4 }, reason: "内存空闲" } }), 201);
    let detail = ok(await t.show("yangfan", id));
    // 5 wd from Thursday 09-24: 09-28, 09-29, 09-30, (国庆), 10-08, 10-09.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-09T15:59:59.999Z" });
    t.clock.set("2026-10-09T03:00:00Z"); // Friday, the last day of the review
    ok(await t.act("zhangwei", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // 3 wd from Friday 10-09: the 调休 Saturday 10-10, 10-12, 10-13.
    expect(detail.currentStage).toMatchObject({ stage: "adjust", name: "实施变更", deadlineAt: "2026-10-13T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["linna", "xufeng"]);
    t.clock.set("2026-10-13T03:00:00Z");
    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "adjust"]);
    expect((await t.db.select().from(resources).where(eq(resources.id, vm)))[0]!.spec).toMatchObject({ memoryGb: 4 });
  });

  test("001 第十五条: a county unit's change goes straight to the 云主管部门 (001 has no county pre-review)", async () => {
    const vm = await deliveredVm("lihua");
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "业务低峰" } }), 201);
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("approve");
  });
});

describe("001 第十六条: 终止", () => {
  test("001 第十六条: the system is taken offline and its data migrated and backed up before the 终止申请; otherwise it is refused", async () => {
    const vm = await deliveredVm("yangfan");
    const refused = await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "停止使用", dataMigrated: true } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.fields).toEqual({ "form.offline": ["请先完成政务信息系统下线再申请撤销（001 第十六条）"] });
  });

  test("001 第十六条: declared done, the 终止申请 is reviewed within 5 working days (across 国庆) and the resources reclaimed within 3 of the approval", async () => {
    const vm = await deliveredVm("lihua");
    t.clock.set("2026-09-29T02:00:00Z"); // Tuesday
    const form = { resources: [vm], reason: "停止使用", offline: true, dataMigrated: true };
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form }), 201);
    let detail = ok(await t.show("lihua", id));
    // 5 wd from Tuesday 09-29: 09-30, (国庆), 10-08, 10-09, 10-10 (Saturday, 调休), 10-12.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-12T15:59:59.999Z" });
    t.clock.set("2026-10-08T02:00:00Z");
    ok(await t.act("chenjing", id, { action: "approve" }));
    detail = ok(await t.show("lihua", id));
    // 3 wd from Thursday 10-08: 10-09, 10-10 (调休), 10-12.
    expect(detail.currentStage).toMatchObject({ stage: "revoke", name: "回收资源", deadlineAt: "2026-10-12T15:59:59.999Z" });
    t.clock.set("2026-10-12T02:00:00Z");
    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("lihua", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "revoke"]);
    expect((await t.db.select().from(resources).where(eq(resources.id, vm)))[0]).toMatchObject({ status: "revoked", revokedAt: new Date("2026-10-12T02:00:00Z") });
  });

  test("001 第十六条: a 终止 the provider starts waits first for the unit's 下线 and data migration, then is reviewed and reclaimed", async () => {
    const vm = await deliveredVm("yangfan");
    t.clock.set("2026-10-12T02:00:00Z");
    const { id } = ok(await t.call("linna", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "长期闲置" } }), 201);
    expect(ok(await t.show("yangfan", id)).currentStage).toMatchObject({ stage: "prepare", name: "系统下线与数据迁移备份" });
    await t.actInTurn(id, [
      ["yangfan", { action: "confirm", note: "已下线，数据已迁移" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    const detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["prepare", "approve", "revoke"]);
  });
});
