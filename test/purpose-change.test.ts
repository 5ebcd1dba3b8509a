import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, requests, resourceSizes, resources } from "../db/schema";
import { coveredByPlan, ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// Issue 14, 用途变更: a resource's 用途 changes on a request, never by a silent edit. 001 第十五条: "严禁使用单位擅自
// 变更云资源用途…应提交变更申请，云主管部门应在 5 个工作日内完成变更审核。审核通过的，运维单位应在 3 个工作日内完成
// 变更". 002 第十五条: "需要变更资源用途时，应当向本级政务服务数据管理部门提出申请", with its 变更 times (第二十一条)
// and a county unit's 初审 (第二十三条). 梅州, 巴中 and 高创中心 say nothing of it and take that reading. The dates
// cross 国庆 2026 (10-01 … 10-07 off, the 调休 Saturday 10-10 a working day).

const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();
const passed = (detail: { stages: { stage: string }[] }) => detail.stages.map((s) => s.stage);
type Step = [string, Record<string, unknown>];

async function ledgerRow(t: WebTestApp, id: number) {
  return (await t.db.select().from(resources).where(eq(resources.id, id)))[0]!;
}

async function filed(t: WebTestApp, user: string, form: Record<string, unknown>) {
  return t.call(user, "POST", "/api/requests", { flow: "purpose_change", form });
}

describe("001 第十五条: 徽州", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ profile: "huizhou", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
  });
  afterAll(() => t?.close());

  /** A 徽州 application by `user`, accepted and reviewed, its resources configured: its VMs' ids. */
  async function deliveredVms(user: "lihua" | "yangfan") {
    const form = sampleForm("huizhou");
    form.attachments.push(await t.attachment(user, "project_approval"));
    const { id } = ok(await t.submit(user, coveredByPlan(form)), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["chenjing", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    const rows = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
    return rows.filter((r) => r.kind === "vm");
  }

  test("001 第十五条: 变更审核 within 5 working days across 国庆, the change made within 3 (the 调休 Saturday counts), then the ledger's 用途 is the new one, audited", async () => {
    const [vm] = await deliveredVms("yangfan");
    const before = (vm!.spec as { purpose: string }).purpose;
    t.clock.set("2026-09-29T02:00:00Z"); // Tuesday
    const { id } = ok(await filed(t, "yangfan", { resources: [vm!.id], purpose: "数据库服务器", reason: "应用迁至容器，原虚拟机改作数据库" }), 201);
    let detail = ok(await t.show("yangfan", id));
    // 5 wd from Tuesday 09-29: 09-30, (国庆 10-01 … 10-07), 10-08, 10-09, 10-10 (Saturday, 调休), 10-12.
    expect(detail.currentStage).toMatchObject({ stage: "approve", name: "变更审核", deadlineAt: "2026-10-12T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["chenjing", "zhangwei"]);
    // Asked for, not done: the ledger keeps the 用途 until the change is made.
    expect((await ledgerRow(t, vm!.id)).spec).toMatchObject({ purpose: before });

    t.clock.set("2026-10-09T03:00:00Z"); // Friday
    ok(await t.act("zhangwei", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // 3 wd from Friday 10-09: the 调休 Saturday 10-10, 10-12, 10-13.
    expect(detail.currentStage).toMatchObject({ stage: "change", name: "实施变更", deadlineAt: "2026-10-13T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["linna", "xufeng"]);

    t.clock.set("2026-10-12T02:00:00Z");
    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "change"]);
    const row = await ledgerRow(t, vm!.id);
    expect(row.spec).toMatchObject({ purpose: "数据库服务器", vcpu: (vm!.spec as { vcpu: number }).vcpu });
    expect(row.changedAt).toEqual(new Date("2026-10-12T02:00:00Z"));
    // The sizes a bill counts by are untouched: a 用途 is no new size.
    expect(await t.db.select().from(resourceSizes).where(eq(resourceSizes.resourceId, vm!.id))).toHaveLength(1);
    const [entry] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "resource.purpose_changed")));
    expect(entry).toMatchObject({ actorId: "xufeng", outcome: "ok", details: { resourceIds: [vm!.id], from: [before], to: "数据库服务器" } });
    // In the same transaction as the completion.
    const [completed] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "request.complete")));
    expect(completed!.at).toEqual(entry!.at);
  });

  test("001 第十五条: a county unit's change goes straight to the 云主管部门 (001 has no county pre-review)", async () => {
    const [vm] = await deliveredVms("lihua");
    const { id } = ok(await filed(t, "lihua", { resources: [vm!.id], purpose: "文件服务器", reason: "业务调整" }), 201);
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("approve");
  });

  test("001 第十五条: another unit's VM is refused, and nothing changes in the ledger", async () => {
    const [theirs] = await deliveredVms("yangfan");
    const changes = () => t.db.select().from(requests).where(eq(requests.flow, "purpose_change"));
    const before = await changes();
    const res = await filed(t, "lihua", { resources: [theirs!.id], purpose: "文件服务器", reason: "借用" });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "not_yours", message: "只能申请变更本单位资源的用途" });
    expect(await changes()).toEqual(before);
    expect((await ledgerRow(t, theirs!.id)).spec).toEqual(theirs!.spec);
  });

  test("001 第十五条: hostile input (NUL, bidi override) is refused in Chinese and writes nothing", async () => {
    const [vm] = await deliveredVms("yangfan");
    const before = await rowCounts(t.db);
    for (const purpose of ["数据库\u0000服务器", "数据库\u202e服务器"]) {
      const res = await filed(t, "yangfan", { resources: [vm!.id], purpose, reason: "变更" });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_input");
      expect(res.body.error.message).toMatch(/[\u4e00-\u9fff]/);
      expect(JSON.stringify(res.body.error.fields)).toContain("purpose");
    }
    // Wrong shapes too: an unknown field, a resource id that is not a number, an empty 用途.
    for (const form of [
      { resources: [vm!.id], purpose: "数据库服务器", reason: "变更", unitId: "mx-jyj" },
      { resources: ["1 or 1=1"], purpose: "数据库服务器", reason: "变更" },
      { resources: [vm!.id], purpose: "   ", reason: "变更" },
    ]) {
      const res = await filed(t, "yangfan", form);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(await rowCounts(t.db)).toEqual(before);
    expect((await ledgerRow(t, vm!.id)).spec).toEqual(vm!.spec);
  });

  test("001 第十五条: the same 用途 again, a resource that is no VM, or the provider asking are refused; one change at a time", async () => {
    const vms = await deliveredVms("yangfan");
    const vm = vms[0]!;
    const same = await filed(t, "yangfan", { resources: [vm.id], purpose: (vm.spec as { purpose: string }).purpose, reason: "变更" });
    expect(same.status).toBe(422);
    expect(same.body.error.fields).toEqual({ "form.purpose": ["变更后的用途与现有用途相同"] });
    const notVm = (await t.db.select().from(resources).where(eq(resources.requestId, vm.requestId))).find((r) => r.kind !== "vm")!;
    const refused = await filed(t, "yangfan", { resources: [notVm.id], purpose: "缓存", reason: "变更" });
    expect(refused.body.error).toMatchObject({ code: "unknown_resource", message: `资源不存在、已撤销或不是虚拟机：${notVm.id}` });
    expect((await filed(t, "xufeng", { resources: [vm.id], purpose: "缓存", reason: "变更" })).status).toBe(403);
    ok(await filed(t, "yangfan", { resources: [vm.id], purpose: "缓存服务器", reason: "变更" }), 201);
    const again = await filed(t, "yangfan", { resources: [vm.id], purpose: "日志服务器", reason: "变更" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_changing");
    // Nor is it revoked or resized while its 用途 is being changed.
    const revoke = await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm.id], reason: "停止使用", offline: true, dataMigrated: true } });
    expect(revoke.status).toBe(409);
    expect(revoke.body.error.message).toContain("用途变更");
  });
});

describe("002 第十五条: 韶关", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: "2026-09-21T01:00:00Z" });
  });
  afterAll(() => t?.close());

  /** A 韶关 application by `user` walked to delivery (a county unit's through 黄敏's 初审): its first VM. */
  async function deliveredVm(user: "lihua" | "yangfan") {
    const form = sampleForm("shaoguan");
    form.attachments.push(await t.attachment(user, "security_pledge"));
    const { id } = ok(await t.submit(user, coveredByPlan(form)), 201);
    await t.actInTurn(id, [
      ...(user === "lihua" ? [["huangmin", { action: "approve" }] as Step] : []),
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      [user, { action: "confirm" }],
    ]);
    const [vm] = await t.db.select().from(resources).where(and(eq(resources.requestId, id), eq(resources.kind, "vm"))).orderBy(asc(resources.id));
    return vm!;
  }

  test("002 第十五条: a city unit asks the 政务服务数据管理部门; reviewed within 5 working days across 国庆, changed within 3", async () => {
    const vm = await deliveredVm("yangfan");
    t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, the last working day before 国庆
    const { id } = ok(await filed(t, "yangfan", { resources: [vm.id], purpose: "中间件服务器", reason: "系统架构调整" }), 201);
    let detail = ok(await t.show("yangfan", id));
    // 5 wd from 09-30: (国庆), 10-08, 10-09, 10-10 (调休), 10-12, 10-13.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-13T15:59:59.999Z" });
    t.clock.set("2026-10-08T02:00:00Z");
    ok(await t.act("chenjing", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // 3 wd from 10-08: 10-09, 10-10 (调休), 10-12.
    expect(detail.currentStage).toMatchObject({ stage: "change", deadlineAt: "2026-10-12T15:59:59.999Z" });
    ok(await t.act("linna", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "change"]);
    expect((await ledgerRow(t, vm.id)).spec).toMatchObject({ purpose: "中间件服务器" });
  });

  test("002 第十五条、第二十三条: a county unit's change is pre-reviewed by its county bureau, which may refuse it; the 用途 stays", async () => {
    const vm = await deliveredVm("lihua");
    t.clock.set("2026-09-30T02:00:00Z");
    const { id } = ok(await filed(t, "lihua", { resources: [vm.id], purpose: "对外门户", reason: "改作门户" }), 201);
    const detail = ok(await t.show("lihua", id));
    // 1 wd from 09-30: 10-08, after 国庆.
    expect(detail.currentStage).toMatchObject({ stage: "county_review", name: "县级初审", deadlineAt: "2026-10-08T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["huangmin"]);
    ok(await t.act("huangmin", id, { action: "reject", reason: "门户应单独申请资源" }));
    expect(ok(await t.show("lihua", id)).status).toBe("rejected");
    expect((await ledgerRow(t, vm.id)).spec).toEqual(vm.spec);
  });

  test("002 第十五条: the manager's 驳回 leaves the 用途 as it was", async () => {
    const vm = await deliveredVm("yangfan");
    const { id } = ok(await filed(t, "yangfan", { resources: [vm.id], purpose: "测试机", reason: "临时测试" }), 201);
    ok(await t.act("zhangwei", id, { action: "reject", reason: "不得随意变更用途" }));
    expect((await ledgerRow(t, vm.id)).spec).toEqual(vm.spec);
  });
});

describe("梅州 (004 silent): the 徽州/韶关 reading", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ now: "2026-09-28T01:00:00Z" });
  });
  afterAll(() => t?.close());

  test("001 第十五条、002 第十五条 as read for 梅州: filed in the browser's 发起申请 with the unit's own VMs only, reviewed in 5 wd, changed in 3", async () => {
    const mine = await t.deliverApplication("lihua");
    const theirs = await t.deliverApplication("yangfan");
    const vm = mine.resources.find((r) => r.kind === "vm")!;
    t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, the last working day before 国庆
    const a = await t.signedIn("lihua");
    expect((await a.get("/new")).html).toContain("/new/purpose_change");
    const page = await a.get("/new/purpose_change");
    expect(page.html).toContain(`value="${vm.id}"`);
    expect(page.html).not.toContain(`value="${theirs.resources.find((r) => r.kind === "vm")!.id}"`);
    for (const r of mine.resources.filter((x) => x.kind !== "vm")) expect(page.html).not.toContain(`value="${r.id}"`);
    const sent = await a.post("/new/purpose_change", { resources: String(vm.id), purpose: "数据交换前置机", reason: "原应用下线", _step: "submit" });
    expect(sent.status, sent.html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 3000)).toBe(303);
    expect(sent.location).toMatch(/^\/requests\/YS-/);
    const [req] = await t.db.select().from(requests).where(and(eq(requests.flow, "purpose_change"), eq(requests.applicantId, "lihua")));
    expect(req).toBeDefined();
    let detail = ok(await t.show("lihua", req!.id));
    // 梅州 has no county pre-review of a 用途变更; 5 wd from 09-30: 10-08, 10-09, 10-10 (调休), 10-12, 10-13.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-13T15:59:59.999Z" });
    t.clock.set("2026-10-13T02:00:00Z");
    ok(await t.act("zhangwei", req!.id, { action: "approve" }));
    detail = ok(await t.show("lihua", req!.id));
    // 3 wd from 10-13: 10-14, 10-15, 10-16.
    expect(detail.currentStage).toMatchObject({ stage: "change", deadlineAt: "2026-10-16T15:59:59.999Z" });
    ok(await t.act("xufeng", req!.id, { action: "approve" }));
    expect((await ledgerRow(t, vm.id)).spec).toMatchObject({ purpose: "数据交换前置机" });
    // The new 用途 is what the ledger's choices show next.
    expect((await (await t.signedIn("lihua")).get("/new/purpose_change")).html).toContain("数据交换前置机");
  });
});
