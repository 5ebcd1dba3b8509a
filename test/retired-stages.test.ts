import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requests, stageRuns } from "../db/schema";
import { runDueTimers } from "../src/jobs/timers";
import { ok } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// Issue 14 shortened 韶关's 变更 to review, then change (002 第二十一条): before it, every profile's change passed
// 梅州's 调整方案 → 审核调整方案 → 使用单位确认 → 数据备份与停机告知 (004 第二十一条). A deployment upgraded with such a
// change open at 调整方案, or with finished ones whose history passed those stages, must still show them, decide
// the open one and move it on to what 韶关's sequence now asks next: never back to the start, never a 500.
let t: WebTestApp;

beforeAll(async () => {
  t = await createWebTestApp({ profile: "shaoguan", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
});
afterAll(() => t?.close());

/**
 * A 韶关 change of `vm` that the manager approved, rewritten as the previous version left it: at 梅州's 调整方案
 * (plan, the provider's), a stage 韶关's sequence no longer has.
 */
async function changeLeftAtPlan(vm: number) {
  const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "业务低峰" } }), 201);
  ok(await t.act("zhangwei", id, { action: "approve" }));
  await t.db.update(stageRuns).set({ stage: "plan" }).where(and(eq(stageRuns.requestId, id), eq(stageRuns.stage, "adjust")));
  await t.db.update(requests).set({ currentStage: "plan" }).where(eq(requests.id, id));
  return id as number;
}

describe("002 第二十一条 after an upgrade: a change left at a stage 韶关 no longer has", () => {
  test("002 第二十一条: the open 调整方案 is shown and decided, and the change goes on to 实施变更, then completes", async () => {
    const vm = (await t.deliverApplication("yangfan")).resources[0]!.id;
    const id = await changeLeftAtPlan(vm);

    let detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "plan", name: "调整方案" });
    const holders = detail.currentStage.tasks.map((x: { userId: string }) => x.userId).sort();
    expect(holders).toEqual(["linna", "xufeng"]);
    const page = await (await t.signedIn("yangfan")).get(`/requests/${detail.code}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("调整方案");

    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    // Forward to what the sequence asks after the retired stage, not back to 审批 (its first stage).
    expect(detail.currentStage).toMatchObject({ stage: "adjust", name: "实施变更" });
    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(detail.stages.map((s: { stage: string }) => s.stage)).toEqual(["approve", "plan", "adjust"]);
    expect((await (await t.signedIn("zhangwei")).get(`/requests/${detail.code}`)).status).toBe(200);
  });

  test("002 第二十一条: a retired stage's deadline still runs out, and the month's report counts its runs", async () => {
    t.clock.set("2026-10-12T01:00:00Z");
    const vm = (await t.deliverApplication("yangfan")).resources[0]!.id;
    const id = await changeLeftAtPlan(vm);
    // The timers the stage opened under its old name fire against it: overdue warnings, not a crash.
    t.clock.set("2026-11-30T01:00:00Z");
    await runDueTimers(t.ctx());
    expect(ok(await t.show("zhangwei", id)).currentStage).toMatchObject({ stage: "plan" });
    const report = ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-10"));
    const { code } = ok(await t.show("zhangwei", id));
    expect(report.lateStages.filter((l: { code: string }) => l.code === code).map((l: { stage: string }) => l.stage)).toEqual(["调整方案"]);
    const csv = await t.app.request("/api/reports/monthly?month=2026-10&format=csv&table=late", { headers: { authorization: `Bearer ${t.tokens.zhangwei}` } });
    expect(csv.status).toBe(200);
    expect(await csv.text()).toContain(`${code},`);
  });
});
