import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, resources } from "../db/schema";
import { profileStages } from "../flows/types";
import { revocationFlow } from "../flows/revocation/definition";
import { verifyAuditChain } from "../src/audit/verify";
import { ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 高创中心 退出 (000 6.3, 7.2.3): after the approval and the unit's stop and backup, the provider hands the unit its
// data and documents and records the handover (移交记录: what, how, where, when, to whom); the unit and the
// provider both sign it (会签) before they purge the data together. Walked around 国庆 2026 (10-01 … 10-07 off,
// Saturday 10-10 a working day).

let g: WebTestApp;
beforeAll(async () => {
  g = await createWebTestApp({ profile: "gaochuang", now: "2026-09-28T02:00:00Z" }); // Monday 10:00
});
afterAll(() => g?.close());

const record = (over: Record<string, unknown> = {}) => ({
  items: "业务数据库全量导出（约 120 GB）、附件文件 3.2 万个、系统部署文档与运维手册、账号与配置清单",
  method: "media",
  location: "使用单位三楼机房，移动硬盘编号 YD-2026-031",
  handedOverOn: "2026-09-29",
  receiver: "杨帆",
  ...over,
});

async function revocationOfDelivered() {
  const { id: app } = ok(await g.submit("yangfan", sampleForm()), 201);
  await g.actInTurn(app, [
    ["zhangwei", { action: "approve" }],
    ["xufeng", { action: "approve", note: "已开通" }],
  ]);
  const ids = (await g.db.select().from(resources).where(eq(resources.requestId, app))).map((r) => r.id);
  const { id } = ok(await g.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: ids, reason: "系统迁出" } }), 201);
  return { app, id: id as number };
}

describe("高创中心 退出: 数据和文档移交 before the purge (000 6.3, 7.2.3)", () => {
  test("000 6.3, 7.2.3: approved, stopped and backed up, the provider records the handover, both sign it, then purge, reclaim and review", async () => {
    const { app, id } = await revocationOfDelivered();
    await g.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["yangfan", { action: "confirm", note: "应用已停止，数据已备份" }],
    ]);
    g.clock.set("2026-09-29T02:00:00Z"); // Tuesday
    let detail = ok(await g.show("yangfan", id));
    // Opened on Monday 09-28: 5 wd are 09-29, 09-30, 10-08, 10-09 and the 调休 Saturday 10-10.
    expect(detail.currentStage).toMatchObject({ stage: "handover", name: "数据和文档移交", mode: "any", deadlineAt: "2026-10-10T15:59:59.999Z" });
    expect(detail.currentStage.formSpec.name).toBe("《数据和文档移交记录》");

    // Only the provider records the handover; the unit, the manager and the reviewer are refused, and nothing is written.
    // (The unit and the manager, who decided earlier stages, are told those are decided; refusals are audited.)
    const before = await rowCounts(g.db);
    expect((await g.act("guojun", id, { action: "approve", form: record() })).body.error.code).toBe("forbidden");
    for (const user of ["yangfan", "zhangwei"]) expect((await g.act(user, id, { action: "approve", form: record() })).body.error.code).toBe("already_decided");
    expect(await rowCounts(g.db)).toEqual({ ...before, audit_log: before.audit_log! + 3 });
    expect(ok(await g.show("yangfan", id)).currentStage).toMatchObject({ stage: "handover", form: null });
    // Without the record, or with it half filled in, nothing is written at all (bad input is not audited).
    const checked = await rowCounts(g.db);
    const bare = await g.act("xufeng", id, { action: "approve" });
    expect(bare.status).toBe(400);
    expect(bare.body.error.fields.form[0]).toContain("《数据和文档移交记录》");
    const bad = await g.act("xufeng", id, { action: "approve", form: record({ method: "email", handedOverOn: "2026-10-08", location: " " }) });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(["form.location", "form.method"]);
    const future = await g.act("xufeng", id, { action: "approve", form: record({ handedOverOn: "2026-10-08" }) });
    expect(future.body.error.fields["form.handedOverOn"]).toEqual(["移交日期不能晚于今天（2026-09-29）"]);
    expect(await rowCounts(g.db)).toEqual(checked);

    // The first record leaves out the documents; the unit sends it back to the provider's handover.
    ok(await g.act("xufeng", id, { action: "approve", form: record({ items: "业务数据库全量导出（约 120 GB）" }) }));
    detail = ok(await g.show("yangfan", id));
    // 会签 of the unit and the provider, 2 wd: 09-30, then 国庆, 10-08.
    expect(detail.currentStage).toMatchObject({ stage: "handover_confirm", mode: "all", deadlineAt: "2026-10-08T15:59:59.999Z" });
    expect(detail.currentStage.tasks.map((t: { userId: string }) => t.userId).sort()).toEqual(["linna", "xufeng", "yangfan"]);
    expect((await g.act("zhangwei", id, { action: "approve" })).status).toBe(409);
    expect((await g.act("guojun", id, { action: "approve" })).status).toBe(403);
    ok(await g.act("yangfan", id, { action: "return", reason: "缺少系统文档和附件文件" }));
    detail = ok(await g.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "handover" });

    // Handed over again after 国庆, on the 调休 Saturday; both sign, in either order.
    g.clock.set("2026-10-10T02:00:00Z");
    ok(await g.act("xufeng", id, { action: "approve", form: record({ handedOverOn: "2026-10-10" }), note: "补齐文档与附件" }));
    const signed = ok(await g.act("xufeng", id, { action: "approve", note: "已移交" }));
    expect(signed.message).toContain("还需其他方会签");
    expect(ok(await g.show("yangfan", id)).currentStage.stage).toBe("handover_confirm");
    ok(await g.act("yangfan", id, { action: "confirm", note: "已接收，核对无误" }));

    // Then the purge (会签), the reclaim and the review, as before.
    const names: string[] = [];
    for (const [user, action] of [
      ["yangfan", { action: "confirm" }],
      ["xufeng", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["guojun", { action: "approve" }],
    ] as const) {
      names.push(ok(await g.show("yangfan", id)).currentStage.name);
      ok(await g.act(user, id, action));
    }
    expect(names).toEqual(["数据消除", "数据消除", "资源回收", "复核"]);
    expect((await g.db.select().from(resources).where(eq(resources.requestId, app))).every((r) => r.status === "revoked")).toBe(true);
    detail = ok(await g.show("yangfan", id));
    expect(detail.status).toBe("completed");

    // The request keeps both records, the latest with its date; the stage runs are in order.
    const runs = detail.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`);
    expect(runs).toEqual([
      "approve:approved",
      "prepare:approved",
      "handover:approved",
      "handover_confirm:returned",
      "handover:approved",
      "handover_confirm:approved",
      "purge:approved",
      "revoke:approved",
      "verify:approved",
    ]);
    const handovers = detail.stages.filter((s: { stage: string }) => s.stage === "handover");
    expect(handovers[1].form).toEqual({ name: "《数据和文档移交记录》", values: record({ handedOverOn: "2026-10-10" }) });
    expect(handovers[0].form.values.items).toBe("业务数据库全量导出（约 120 GB）");

    // The audit keeps the record with the provider's decision, and both signatures of the 会签.
    const entries = await g.db.select().from(auditLog).where(eq(auditLog.requestId, id)).orderBy(asc(auditLog.seq));
    const recorded = entries.filter((e) => e.stage === "handover" && e.action === "request.approve");
    expect(recorded.map((e) => (e.details as { form: { handedOverOn: string } }).form.handedOverOn)).toEqual(["2026-09-29", "2026-10-10"]);
    expect(recorded[1]!.actorId).toBe("xufeng");
    const signatures = entries.filter((e) => e.stage === "handover_confirm" && e.outcome === "ok" && e.action !== "request.return");
    expect(signatures.map((e) => [e.action, e.actorId])).toEqual([
      ["request.approve", "xufeng"],
      ["request.confirm", "yangfan"],
    ]);
    const refused = await g.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.outcome, "refused")));
    expect(refused.length).toBeGreaterThan(0);
    expect((await verifyAuditChain(g.db)).ok).toBe(true);

    // The request page shows the record to the unit.
    const page = await (await g.signedIn("yangfan")).get(`/requests/${detail.code}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("《数据和文档移交记录》");
    expect(page.html).toContain("使用单位三楼机房，移动硬盘编号 YD-2026-031");
    expect(page.html).toContain("离线介质拷贝（移动硬盘等）");
  });

  test("000 6.3: the unit signing the handover is offered the 会签 on its page; the provider is offered the record's form", async () => {
    g.clock.set("2026-10-12T02:00:00Z"); // Monday
    const { id } = await revocationOfDelivered();
    await g.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["yangfan", { action: "confirm" }],
    ]);
    const { code } = ok(await g.show("xufeng", id));
    const providerPage = await (await g.signedIn("xufeng")).get(`/requests/${code}`);
    expect(providerPage.html).toContain("移交的数据和文档");
    expect(providerPage.html).toContain("使用单位接收人");
    ok(await g.act("linna", id, { action: "approve", form: record({ handedOverOn: "2026-10-10" }) }));
    const unitPage = await (await g.signedIn("yangfan")).get(`/requests/${code}`);
    expect(unitPage.html).toContain("确认移交");
    expect(unitPage.html).toContain("YD-2026-031");
  });

  test("003 第二十二条: 巴中 has no 移交 stage — the unit migrates and backs up its own data in the 过渡期, then the joint purge", () => {
    const keys = (profile: "bazhong" | "gaochuang") => profileStages(revocationFlow, profile).map((s) => s.key);
    expect(keys("bazhong")).toEqual(["approve", "transition", "purge", "revoke", "verify"]);
    expect(keys("gaochuang")).toEqual(["approve", "prepare", "handover", "handover_confirm", "purge", "revoke", "verify"]);
  });
});
