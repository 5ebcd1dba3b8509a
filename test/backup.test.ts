import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox, resources } from "../db/schema";
import { createTestApp, ok, type TestApp } from "./app-harness";

// Flow 4: 备份 for a VM in use, checked by the applicant on the day the policy takes effect.
let t: TestApp;
let vm = 0;

beforeAll(async () => {
  t = await createTestApp();
  vm = (await t.deliverApplication("lihua")).resources[2]!.id; // the database server
});
afterAll(() => t?.close());

const form = { resource: 0, type: "database", strategy: "每日 02:00 全量", retentionMonths: 3, copies: "off_site" };

describe("备份", () => {
  test("a county unit's request passes the county bureau; a wrong policy goes back to the provider until it works", async () => {
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "backup", form: { ...form, resource: vm } }), 201);
    let detail = ok(await t.show("lihua", id));
    expect(detail.currentStage.stage).toBe("county_review");
    expect(detail.summary).toContainEqual({ label: "备份", value: "数据库备份，每日 02:00 全量，保留 3 个月，异地" });
    await t.actInTurn(id, [
      ["huangmin", { action: "approve" }],
      ["xufeng", { action: "approve", note: "可行" }],
      ["zhangwei", { action: "approve" }],
      ["linna", { action: "approve", note: "策略已生效" }],
    ]);
    detail = ok(await t.show("lihua", id));
    // Checked on the day the policy takes effect: the deadline is the end of today (Monday 2026-11-23).
    expect(detail.currentStage).toMatchObject({ stage: "check", deadlineAt: "2026-11-23T15:59:59.999Z" });
    await t.actInTurn(id, [
      ["lihua", { action: "fail", reason: "恢复测试失败：缺少增量日志" }],
      ["linna", { action: "approve", note: "已补充增量日志备份" }],
      ["lihua", { action: "confirm" }],
      ["guojun", { action: "approve" }],
    ]);
    detail = ok(await t.show("lihua", id));
    expect(detail.status).toBe("completed");
    expect(detail.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
      "county_review:approved",
      "evaluate:approved",
      "approve:approved",
      "apply:approved",
      "check:failed",
      "fix:approved",
      "check:approved",
      "verify:approved",
    ]);
    const [policy] = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
    expect(policy).toMatchObject({ kind: "backup", system: "梅县区教育资助管理系统", spec: { type: "数据库备份", copies: "异地", retentionMonths: 3 } });
  });

  test("004 第三十二条(三) the county bureau is told of its unit's backup result and keeps it on record", async () => {
    const { id, code } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "backup", form: { ...form, resource: vm, strategy: "每日 03:00 增量" } }), 201);
    const reports = async () =>
      (await t.db.select().from(outbox).where(eq(outbox.userId, "huangmin"))).filter((r) => r.kind === "report" && JSON.stringify(r.payload).includes(code));
    await t.actInTurn(id, [
      ["huangmin", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["linna", { action: "approve", note: "策略已生效" }],
    ]);
    expect(await reports()).toEqual([]);
    ok(await t.act("lihua", id, { action: "confirm", note: "恢复测试通过" }));
    const told = await reports();
    expect(told.length).toBeGreaterThan(0);
    expect(JSON.stringify(told[0]!.payload)).toContain("备份有效性核验：已完成");
    // On record: the bureau finds it among its units' requests.
    const listed = ok(await t.call("huangmin", "GET", `/api/requests?code=${code}`));
    expect(listed.items.map((r: { code: string }) => r.code)).toEqual([code]);
  });

  test("only for a VM of one's own unit that is in use", async () => {
    expect((await t.call("hexin", "POST", "/api/requests", { flow: "backup", form: { ...form, resource: vm } })).body.error.code).toBe("not_yours");
    expect((await t.call("lihua", "POST", "/api/requests", { flow: "backup", form: { ...form, resource: 999999 } })).body.error.code).toBe("unknown_resource");
    expect((await t.call("xufeng", "POST", "/api/requests", { flow: "backup", form: { ...form, resource: vm } })).status).toBe(403);
    expect((await t.call("lihua", "POST", "/api/requests", { flow: "backup", form: { ...form, resource: vm, copies: "moon" } })).status).toBe(400);
  });
});
