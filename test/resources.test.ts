import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestApp, ok, sampleForm, securityTestForm, type TestApp } from "./app-harness";

// 资源台账: delivered resources and the dates of their life, set by the application's stages, never typed.
let t: TestApp;
const later = (iso: string) => t.clock.set(iso);

beforeAll(async () => {
  t = await createTestApp();
  // 004 第四十条: the example system's 密评 is on record, so the unit may apply for the security test.
  await t.recordCryptoAssessment("lihua");
});
afterAll(() => t?.close());

describe("resources", () => {
  test("delivery creates the request's resources; deployment, the security test and go-live date them", async () => {
    // The example asks for a backup of its database server; the old request-wide block is refused, not dropped.
    const old = await t.submit("lihua", { ...sampleForm(), backup: { wanted: true, type: "database", copies: "same_city", retentionMonths: 2 } });
    expect(old.body.error.fields["form.backup"][0]).toContain("vms[].backup");
    const { id, code } = ok(await t.submit("lihua", sampleForm()), 201);
    await t.actInTurn(id, [
      ["huangmin", { action: "approve" }],
      ["xufeng", { action: "approve", note: "配置合理" }],
      ["zhangwei", { action: "approve" }],
    ]);
    expect(ok(await t.call("zhangwei", "GET", `/api/resources?request=${id}`)).items).toEqual([]);
    later("2026-11-24T02:00:00Z");
    await t.actInTurn(id, [["linna", { action: "approve", note: "已开通" }]]);
    let items = ok(await t.call("zhangwei", "GET", `/api/resources?request=${id}`)).items;
    // The form: 2 application servers, 1 database server, and the database server's backup policy.
    expect(items.map((r: { kind: string; name: string }) => `${r.name}:${r.kind}`)).toEqual([
      `${code}-01:vm`,
      `${code}-02:vm`,
      `${code}-03:vm`,
      `${code}-04:backup`,
    ]);
    expect(items[3].spec).toEqual({ type: "数据库备份", strategy: "每日 02:00 全量", copies: "同城", retentionMonths: 2, of: `${code}-03 数据库服务器`, resourceId: items[2].id });
    expect(items[2]).toMatchObject({ spec: { purpose: "数据库服务器", vcpu: 8, memoryGb: 32 }, unitName: "梅州市梅县区教育局", deliveredAt: "2026-11-24T02:00:00.000Z", deployedAt: null });

    later("2026-11-25T02:00:00Z");
    await t.actInTurn(id, [
      ["lihua", { action: "confirm" }], // the backup works
      ["lihua", { action: "confirm" }],
      ["guojun", { action: "approve", stage: "verify_delivery" }],
      ["lihua", { action: "confirm" }], // deployed
      ["lihua", { action: "confirm", form: securityTestForm({ deployedOn: "2026-11-25" }) }], // 004 第十七条(二): the 附件6
      ["chenjing", { action: "fail", reason: "存在弱口令" }],
      ["lihua", { action: "confirm", note: "已整改" }],
    ]);
    later("2026-11-26T02:00:00Z");
    await t.actInTurn(id, [["zhangwei", { action: "approve" }]]); // security test passed
    later("2026-11-27T02:00:00Z");
    await t.actInTurn(id, [["lihua", { action: "confirm" }]]); // live
    items = ok(await t.call("lihua", "GET", `/api/resources?request=${id}`)).items;
    expect(items[0]).toMatchObject({
      deliveredAt: "2026-11-24T02:00:00.000Z",
      deployedAt: "2026-11-25T02:00:00.000Z",
      securityTestedAt: "2026-11-26T02:00:00.000Z",
      liveAt: "2026-11-27T02:00:00.000Z",
      status: "delivered",
    });
    const history = ok(await t.show("lihua", id)).history.map((h: { action: string }) => h.action);
    expect(history).toEqual(expect.arrayContaining(["resource.deliver", "resource.deployed", "resource.security_tested", "resource.live"]));
  });

  test("who sees the ledger: the city all, a county bureau its county, a unit its own", async () => {
    expect(ok(await t.call("guojun", "GET", "/api/resources")).items.length).toBe(4);
    expect(ok(await t.call("huangmin", "GET", "/api/resources")).items.length).toBe(4);
    expect(ok(await t.call("zhongli", "GET", "/api/resources")).items).toEqual([]);
    expect(ok(await t.call("yangfan", "GET", "/api/resources")).items).toEqual([]);
  });

  test("the provider records each resource's cloud id, which utilisation is reported under", async () => {
    const [first, second] = ok(await t.call("xufeng", "GET", "/api/resources")).items;
    expect(ok(await t.call("xufeng", "PUT", `/api/resources/${first.id}/instance`, { instanceId: "ins-7f3a01" }))).toEqual({ id: first.id, instanceId: "ins-7f3a01" });
    expect((await t.call("xufeng", "PUT", `/api/resources/${second.id}/instance`, { instanceId: "ins-7f3a01" })).body.error.code).toBe("instance_taken");
    expect((await t.call("lihua", "PUT", `/api/resources/${second.id}/instance`, { instanceId: "ins-x" })).status).toBe(403);
    expect((await t.call("xufeng", "PUT", `/api/resources/${second.id}/instance`, { instanceId: "bad id" })).status).toBe(400);
    expect((await t.call("xufeng", "PUT", `/api/resources/999999/instance`, { instanceId: "ins-y" })).status).toBe(404);
    const utilisation = ok(await t.call("xufeng", "GET", "/api/metrics/vms/ins-7f3a01?from=2026-11-01&to=2026-11-02"));
    expect(utilisation.resource).toMatchObject({ id: first.id, name: first.name, system: "梅县区教育资助管理系统" });
  });
});
