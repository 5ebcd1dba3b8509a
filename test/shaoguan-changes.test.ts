import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requests, resources } from "../db/schema";
import { coveredByPlan, ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// Issue 14, 韶关 (seed 002) as written, for changes (第二十一条) and cancellations (第二十二条): the manager reviews
// within 5 working days; once approved the provider makes the change, or reclaims the resources, within 3. The
// unit takes its system offline and migrates and backs up its data before it files the cancellation form (附件4).
// A county unit's change or cancellation passes its county bureau first (第二十三条). None of 梅州's plan, plan
// review, confirmation or preparation. The dates cross 中秋 2026 (09-25 … 09-27 off) and 国庆 2026 (10-01 … 10-07
// off, with the 调休 Saturday 10-10 a working day).
let t: WebTestApp;

beforeAll(async () => {
  t = await createWebTestApp({ profile: "shaoguan", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
});
afterAll(() => t?.close());

/** A 韶关 application by `user` walked to delivery (a county unit's through 黄敏's 初审): its first VM's id. */
async function deliveredVm(user: "lihua" | "yangfan") {
  const form = sampleForm("shaoguan");
  form.attachments.push(await t.attachment(user, "security_pledge"));
  const { id } = ok(await t.submit(user, coveredByPlan(form)), 201);
  await t.actInTurn(id, [
    ...(user === "lihua" ? [["huangmin", { action: "approve" }] as [string, Record<string, unknown>]] : []),
    ["zhangwei", { action: "approve" }],
    ["xufeng", { action: "approve", note: "已下发" }],
    [user, { action: "confirm" }],
  ]);
  const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
  return vm!.id;
}

const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();
const passed = (detail: { stages: { stage: string }[] }) => detail.stages.map((s) => s.stage);

describe("002 第二十一条: 变更", () => {
  test("002 第二十一条: a city unit's change is reviewed within 5 working days (across 中秋 and 国庆) and made within 3 once approved", async () => {
    const vm = await deliveredVm("yangfan");
    t.clock.set("2026-09-23T02:00:00Z"); // Wednesday
    const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "业务低峰" } }), 201);
    let detail = ok(await t.show("yangfan", id));
    // 5 wd from Wednesday 09-23: 09-24, (中秋 09-25 … 09-27), 09-28, 09-29, 09-30, (国庆 10-01 … 10-07), 10-08.
    expect(detail.currentStage).toMatchObject({ stage: "approve", name: "审批", deadlineAt: "2026-10-08T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["chenjing", "zhangwei"]);

    t.clock.set("2026-09-30T02:00:00Z"); // the last working day before 国庆
    ok(await t.act("zhangwei", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // Approved, the provider changes it at once: no plan, plan review, confirmation or preparation in between.
    // 3 wd from 09-30: 10-08, 10-09 and the 调休 Saturday 10-10.
    expect(detail.currentStage).toMatchObject({ stage: "adjust", name: "实施变更", deadlineAt: "2026-10-10T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["linna", "xufeng"]);

    t.clock.set("2026-10-10T03:00:00Z");
    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // The change done, the request is complete: 002 has no check after it.
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "adjust"]);
    const [row] = await t.db.select().from(resources).where(eq(resources.id, vm));
    expect(row!.spec).toMatchObject({ vcpu: 2 });
  });

  test("002 第二十三条: a county unit's change is pre-reviewed by its county bureau, then reviewed by the city's", async () => {
    const vm = await deliveredVm("lihua");
    t.clock.set("2026-09-24T02:00:00Z"); // Thursday, the day before 中秋
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { memoryGb: 4 }, reason: "内存长期空闲" } }), 201);
    let detail = ok(await t.show("lihua", id));
    // 1 wd from Thursday 09-24: Monday 09-28, after 中秋.
    expect(detail.currentStage).toMatchObject({ stage: "county_review", name: "县级初审", deadlineAt: "2026-09-28T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["huangmin"]);
    // The city's manager does not decide before the county bureau has.
    expect((await t.act("zhangwei", id, { action: "approve", stage: "county_review" })).status).toBeGreaterThanOrEqual(403);
    t.clock.set("2026-09-28T02:00:00Z");
    ok(await t.act("huangmin", id, { action: "approve" }));
    detail = ok(await t.show("lihua", id));
    // 5 wd from Monday 09-28: 09-29, 09-30, (国庆), 10-08, 10-09, 10-10.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-10T15:59:59.999Z" });
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["linna", { action: "approve" }],
    ]);
    detail = ok(await t.show("lihua", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["county_review", "approve", "adjust"]);
  });

  test("002 第二十三条: the county bureau's 初审 may refuse the change; the city never sees it to decide", async () => {
    const vm = await deliveredVm("lihua");
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "试一下" } }), 201);
    ok(await t.act("huangmin", id, { action: "reject", reason: "理由不充分" }));
    const detail = ok(await t.show("lihua", id));
    expect(detail.status).toBe("rejected");
    expect(passed(detail)).toEqual(["county_review"]);
  });

  test("002 第二十三条: a change the provider starts for a county unit is not the unit's application and goes to the city's review", async () => {
    const vm = await deliveredVm("lihua");
    const { id } = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "长期低负载" } }), 201);
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("approve");
  });
});

describe("002 第二十二条: 注销", () => {
  test("002 第二十二条: the cancellation form (附件4) declares the system offline and its data migrated and backed up; without that it is refused and nothing but the refusal is written", async () => {
    const vm = await deliveredVm("yangfan");
    const before = await rowCounts(t.db);
    const none = await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "系统停用" } });
    expect(none.status).toBe(422);
    expect(none.body.error.fields["form.offline"]).toEqual(["请先完成政务信息系统下线再申请撤销（002 第二十二条）"]);
    expect(none.body.error.fields["form.dataMigrated"]).toEqual(["请先完成数据迁移备份再申请撤销（002 第二十二条）"]);
    const half = await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "系统停用", offline: true } });
    expect(half.status).toBe(422);
    expect(Object.keys(half.body.error.fields)).toEqual(["form.dataMigrated"]);
    // Only the refusals are audited.
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
  });

  test("002 第二十二条: the web form (附件4) asks for both declarations, and tells under each what is missing", async () => {
    const vm = await deliveredVm("yangfan");
    const a = await t.signedIn("yangfan");
    const page = await a.get("/new/revocation");
    expect(page.html).toContain("政务信息系统已下线");
    expect(page.html).toContain("数据已迁移备份");
    const before = await rowCounts(t.db);
    const refused = await a.post("/new/revocation", { resources: String(vm), reason: "系统停用", offline: "on", _step: "preview" });
    expect(refused.status).toBe(422);
    expect(/id="f-dataMigrated-error"[^>]*>([^<]*)</.exec(refused.html)?.[1]).toBe("请先完成数据迁移备份再申请撤销（002 第二十二条）");
    expect(/id="f-offline-error"/.test(refused.html)).toBe(false);
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
  });

  test("002 第二十二条: declared done, the cancellation is reviewed within 5 working days and the resources reclaimed within 3 of the approval", async () => {
    const vm = await deliveredVm("yangfan");
    t.clock.set("2026-09-23T02:00:00Z"); // Wednesday
    const form = { resources: [vm], reason: "系统停用", offline: true, dataMigrated: true };
    const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form }), 201);
    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-08T15:59:59.999Z" });
    const [row] = await t.db.select().from(requests).where(eq(requests.id, id));
    expect(row!.facts).toMatchObject({ unitDone: { offline: true, dataMigrated: true }, countyApplicant: false });

    t.clock.set("2026-09-30T02:00:00Z");
    ok(await t.act("chenjing", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // Approved, the provider reclaims at once; 3 wd from 09-30 end on the 调休 Saturday 10-10.
    expect(detail.currentStage).toMatchObject({ stage: "revoke", name: "回收资源", deadlineAt: "2026-10-10T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["linna", "xufeng"]);
    t.clock.set("2026-10-10T02:00:00Z");
    ok(await t.act("linna", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "revoke"]);
    const [reclaimed] = await t.db.select().from(resources).where(eq(resources.id, vm));
    expect(reclaimed).toMatchObject({ status: "revoked", revokedAt: new Date("2026-10-10T02:00:00Z") });
  });

  test("002 第二十二、二十三条: a county unit's cancellation passes its county bureau, then the city reviews and the provider reclaims", async () => {
    const vm = await deliveredVm("lihua");
    t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, before 国庆
    const form = { resources: [vm], reason: "系统整合", offline: true, dataMigrated: true };
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form }), 201);
    let detail = ok(await t.show("lihua", id));
    // 1 wd from 09-30: 10-08, after 国庆.
    expect(detail.currentStage).toMatchObject({ stage: "county_review", deadlineAt: "2026-10-08T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["huangmin"]);
    t.clock.set("2026-10-08T02:00:00Z");
    ok(await t.act("huangmin", id, { action: "approve" }));
    // 5 wd from Thursday 10-08: 10-09, 10-10 (Saturday, 调休), 10-12, 10-13, 10-14.
    expect(ok(await t.show("lihua", id)).currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-14T15:59:59.999Z" });
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    detail = ok(await t.show("lihua", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["county_review", "approve", "revoke"]);
    expect((await t.db.select().from(resources).where(eq(resources.id, vm)))[0]!.status).toBe("revoked");
  });

  test("002 第二十二条: a cancellation the provider starts waits first for the unit to take its system offline and migrate its data", async () => {
    const vm = await deliveredVm("yangfan");
    // The provider cannot declare what the unit has done.
    const declared = await t.call("xufeng", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "长期闲置", offline: true } });
    expect(declared.status).toBe(422);
    expect(declared.body.error.fields["form.offline"][0]).toContain("由使用单位声明");
    t.clock.set("2026-10-09T02:00:00Z"); // Friday
    const { id } = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "长期闲置" } }), 201);
    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "prepare", name: "系统下线与数据迁移备份", deadlineAt: null });
    expect(holders(detail)).toEqual(["yangfan"]);
    // Nobody reviews before the unit has done it.
    expect((await t.act("zhangwei", id, { action: "approve", stage: "prepare" })).status).toBeGreaterThanOrEqual(403);
    t.clock.set("2026-10-10T02:00:00Z"); // the 调休 Saturday
    ok(await t.act("yangfan", id, { action: "confirm", note: "系统已下线，数据已迁移备份" }));
    detail = ok(await t.show("yangfan", id));
    // 5 wd from Saturday 10-10: 10-12 … 10-16.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-16T15:59:59.999Z" });
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["prepare", "approve", "revoke"]);
  });
});
