import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox, requests, resources } from "../db/schema";
import type { Card } from "../cards";
import { proposeRevocations } from "../src/jobs/revocation-proposals";
import { createTestApp, ok, type TestApp } from "./app-harness";

// Issue 13, 梅州 (seed 004) as written, for the adjustment and revocation flows: the unit prepares before the
// provider changes or revokes (第二十一条(一)1, 第二十六条), and a request the provider (or yunshen for it) started
// and the manager rejected is fed back to the provider with the reason (第二十条(一), 第二十五条(一)).
// The dates run across 国庆 2026 (10-01 … 10-07 off) and its 调休 Saturday 10-10, a working day.
let t: TestApp;
/** A VM of 杨帆's (梅州市人社局), delivered on Monday 2026-08-31, never deployed. */
let idleVm = 0;

beforeAll(async () => {
  t = await createTestApp({ now: "2026-08-31T02:00:00Z" });
  idleVm = (await t.deliverApplication("yangfan")).resources[0]!.id;
  t.clock.set("2026-09-28T01:00:00Z"); // Monday
});
afterAll(() => t?.close());

/** A VM of 李华's (梅县区教育局, under the county bureau), delivered now. */
const lihuaVm = async () => (await t.deliverApplication("lihua")).resources.find((r) => r.kind === "vm")!.id;

/** The cards queued about a request, of one kind: who got them, and what they said (one entry per person). */
async function cards(requestId: number, kind: string) {
  const rows = await t.db.select().from(outbox).where(eq(outbox.kind, kind)).orderBy(asc(outbox.id));
  const byUser = new Map<string, Card>();
  for (const r of rows) if ((r.payload as Card).link === `/api/requests/${requestId}`) byUser.set(r.userId, r.payload as Card);
  return byUser;
}

const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();

describe("004 第二十一条(一)1, 第二十六条: the unit prepares, the provider leads", () => {
  test("004 第二十一条(一)1 the unit prepares the adjustment (backup, 停机告知) at the provider's request, then the provider adjusts", async () => {
    const vm = await lihuaVm();
    t.clock.set("2026-09-29T01:00:00Z"); // Tuesday
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "业务低峰" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "10 月 8 日 22:00 停机 30 分钟；请先做数据库全量备份并告知系统用户" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
    ]);
    const preparing = ok(await t.show("lihua", id));
    expect(preparing.currentStage).toMatchObject({ stage: "prepare", name: "数据备份与停机告知", deadlineAt: null });
    expect(holders(preparing)).toEqual(["lihua"]);
    // The unit's card carries the provider's requirements from its plan.
    expect((await cards(id, "task")).get("lihua")?.summary).toBe("请按「调整方案」的要求办理：10 月 8 日 22:00 停机 30 分钟；请先做数据库全量备份并告知系统用户");
    // The provider holds no task here: its try is refused and the stage stays the unit's.
    expect((await t.act("linna", id, { action: "approve", stage: "prepare" })).status).toBeGreaterThanOrEqual(403);
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("prepare");

    t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, the last working day before 国庆
    ok(await t.act("lihua", id, { action: "confirm", note: "已全量备份，已发停机公告" }));
    const adjusting = ok(await t.show("lihua", id));
    // 3 wd from 09-30: 10-08, 10-09 and the 调休 Saturday 10-10.
    expect(adjusting.currentStage).toMatchObject({ stage: "adjust", deadlineAt: "2026-10-10T15:59:59.999Z" });
    expect(holders(adjusting)).toEqual(["linna", "xufeng"]);
    expect((await t.act("lihua", id, { action: "approve", stage: "adjust" })).status).toBeGreaterThanOrEqual(403);
    t.clock.set("2026-10-08T14:30:00Z");
    await t.actInTurn(id, [["xufeng", { action: "approve" }]]);
    const [row] = await t.db.select().from(resources).where(eq(resources.id, vm));
    expect(row!.spec).toMatchObject({ vcpu: 2 });
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("test");
  });

  test("004 第二十六条 the unit prepares the revocation (backup, migration), the provider then revokes", async () => {
    const vm = await lihuaVm();
    // Started by the provider: the preparation is still the unit's.
    t.clock.set("2026-09-29T01:00:00Z");
    const { id } = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "系统整合后不再使用" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "请导出业务数据并将应用转移至整合后的系统" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
    ]);
    const preparing = ok(await t.show("lihua", id));
    expect(preparing.currentStage).toMatchObject({ stage: "prepare", name: "数据备份与应用转移", deadlineAt: null });
    expect(holders(preparing)).toEqual(["lihua"]);
    expect((await cards(id, "task")).get("lihua")?.summary).toBe("请按「撤销方案」的要求办理：请导出业务数据并将应用转移至整合后的系统");
    // The provider holds no task here: its try is refused and the stage stays the unit's.
    expect((await t.act("linna", id, { action: "approve", stage: "prepare" })).status).toBeGreaterThanOrEqual(403);
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("prepare");

    t.clock.set("2026-09-30T02:00:00Z");
    ok(await t.act("lihua", id, { action: "confirm", note: "数据已导出，应用已转移" }));
    const revoking = ok(await t.show("lihua", id));
    expect(revoking.currentStage).toMatchObject({ stage: "revoke", deadlineAt: "2026-10-10T15:59:59.999Z" });
    expect(holders(revoking)).toEqual(["linna", "xufeng"]);
    t.clock.set("2026-10-09T02:00:00Z");
    await t.actInTurn(id, [["linna", { action: "approve" }]]);
    const [row] = await t.db.select().from(resources).where(eq(resources.id, vm));
    expect(row).toMatchObject({ status: "revoked", revokedAt: new Date("2026-10-09T02:00:00Z") });
  });

  test("a plan approved without a note leaves the unit's card as it was", async () => {
    const vm = await lihuaVm();
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "系统下线" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
    ]);
    expect((await cards(id, "task")).get("lihua")?.summary).toMatch(/等待您处理$/);
  });
});

describe("004 第二十条(一), 第二十五条(一): a rejection is fed back to whoever started the request", () => {
  test("004 第二十五条(一) a revocation the provider started and the manager rejected is fed back to the provider, with the reason", async () => {
    const vm = await lihuaVm();
    t.clock.set("2026-09-30T02:00:00Z"); // Wednesday
    const { id } = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "长期闲置" } }), 201);
    // The manager's 2 wd (第二十五条(一)) skip 国庆: 10-08 and 10-09.
    expect(ok(await t.show("zhangwei", id)).currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-09T15:59:59.999Z" });
    t.clock.set("2026-10-09T03:00:00Z");
    ok(await t.act("zhangwei", id, { action: "reject", reason: "系统将于年底上线，资源仍需保留" }));
    const told = await cards(id, "result");
    expect([...told.keys()].sort()).toEqual(["lihua", "xufeng"]);
    expect(told.get("xufeng")).toMatchObject({
      title: "发起的申请未获同意",
      summary: "张伟在「审批」驳回您方为梅州市梅县区教育局发起的申请：系统将于年底上线，资源仍需保留。工单已取消",
      tone: "danger",
    });
    expect(told.get("lihua")).toMatchObject({ title: "申请已驳回", summary: "张伟在「审批」驳回：系统将于年底上线，资源仍需保留" });
    expect(ok(await t.show("xufeng", id)).status).toBe("rejected");
  });

  test("004 第二十五条(一) the unit's own revocation, rejected, is told to the unit only", async () => {
    const vm = await lihuaVm();
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "不再需要" } }), 201);
    ok(await t.act("zhangwei", id, { action: "reject", reason: "佐证材料不全" }));
    expect([...(await cards(id, "result")).keys()]).toEqual(["lihua"]);
  });

  test("004 第二十五条(一) a revocation yunshen proposed by a time rule and the manager rejected is fed back to the providers", async () => {
    // Delivered 08-31 and not deployed: on Thursday 10-08 (day 38) the 30-day rule of 第二十四条(二) holds.
    t.clock.set("2026-10-08T02:00:00Z");
    expect(await proposeRevocations(t.ctx())).toBe(1);
    const [proposal] = await t.db.select().from(requests).where(and(eq(requests.flow, "revocation"), eq(requests.applicantId, "yangfan")));
    expect(proposal!.facts).toMatchObject({ trigger: "not_deployed_30" });
    expect((proposal!.facts as { resourceIds: number[] }).resourceIds).toContain(idleVm);
    // 2 wd from Thursday 10-08: Friday, then the 调休 Saturday 10-10.
    expect(ok(await t.show("zhangwei", proposal!.id)).currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-10T15:59:59.999Z" });
    t.clock.set("2026-10-10T02:00:00Z");
    ok(await t.act("zhangwei", proposal!.id, { action: "reject", reason: "单位已提交部署计划，暂不撤销" }));
    const told = await cards(proposal!.id, "result");
    expect([...told.keys()].sort()).toEqual(["linna", "xufeng", "yangfan"]);
    expect(told.get("linna")?.summary).toBe("张伟在「审批」驳回您方为梅州市人力资源和社会保障局发起的申请：单位已提交部署计划，暂不撤销。工单已取消");
  });

  test("004 第二十条(一) an adjustment the provider started and the manager rejected is fed back to the provider, with the reason", async () => {
    const vm = await lihuaVm();
    t.clock.set("2026-10-09T02:00:00Z"); // Friday
    const { id } = ok(await t.call("linna", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { memoryGb: 4 }, reason: "内存长期低负载" } }), 201);
    expect(ok(await t.show("zhangwei", id)).currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-12T15:59:59.999Z" }); // Sat 10-10 and Mon 10-12
    ok(await t.act("zhangwei", id, { action: "reject", reason: "缺少低负载佐证材料" }));
    const told = await cards(id, "result");
    expect([...told.keys()].sort()).toEqual(["lihua", "linna"]);
    expect(told.get("linna")?.summary).toContain("：缺少低负载佐证材料。工单已取消");
  });
});

describe("004 第二十一条(一)4, 第二十六条3: a county unit's adjustment and revocation are filed with the county bureau", () => {
  /** The reports (备案) queued to the county bureau's 黄敏 about a request. */
  const filed = async (requestId: number) => [...(await cards(requestId, "report")).entries()].filter(([user]) => user === "huangmin").map(([, card]) => card);

  test("004 第二十一条(一)4 once the test passes, the adjustment's result is filed with 黄敏 (梅县区数据局) and the reviewer checks it", async () => {
    const vm = await lihuaVm();
    t.clock.set("2026-10-12T01:00:00Z");
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "业务低峰" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
      ["lihua", { action: "confirm", note: "已备份" }],
      ["xufeng", { action: "approve" }],
    ]);
    // Not before the result exists.
    expect(await filed(id)).toEqual([]);
    ok(await t.act("lihua", id, { action: "approve", stage: "test" }));
    const [card] = await filed(id);
    expect(card).toMatchObject({ summary: "李华测试通过" });
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("verify");
    // On record: the bureau finds it among its units' requests.
    expect(ok(await t.show("huangmin", id)).id).toBe(id);
  });

  test("004 第二十六条3 the revocation done, its result is filed with the county bureau", async () => {
    const vm = await lihuaVm();
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "系统下线" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["lihua", { action: "confirm" }],
      ["lihua", { action: "confirm", note: "数据已导出" }],
    ]);
    expect(await filed(id)).toEqual([]);
    ok(await t.act("xufeng", id, { action: "approve", stage: "revoke" }));
    expect((await filed(id))[0]).toMatchObject({ summary: "徐峰已撤销" });
  });

  test("a city unit's revocation has no county bureau to file with", async () => {
    const vm = (await t.deliverApplication("yangfan")).resources.find((r) => r.kind === "vm")!.id;
    const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [vm], reason: "系统下线" } }), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["yangfan", { action: "confirm" }],
      ["yangfan", { action: "confirm" }],
      ["xufeng", { action: "approve" }],
    ]);
    expect((await cards(id, "report")).size).toBe(0);
    expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("verify");
  });
});
