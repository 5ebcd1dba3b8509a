import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requests, resources } from "../db/schema";
import { shanghaiInstant } from "../src/core/calendar";
import { halfYearlyReview } from "../src/jobs/adjustment-proposals";
import { PROFILES } from "../profiles";
import { createTestApp, ok, type TestApp } from "./app-harness";

// Flow 2: 扩容 / 缩容. A scale-up must be justified by the last 5 working days' utilisation, computed, not typed.
let t: TestApp;
let vmId = 0;

/** One sample per hour of each day, 08:00–19:00 at `cpu`/`mem`, for the cloud id `instance`. */
async function utilisation(instance: string, days: string[], cpu: number, mem: number, key: string) {
  const samples = days.flatMap((d) =>
    Array.from({ length: 12 }, (_, h) => ({ vm: instance, time: Math.floor(shanghaiInstant(d, `${String(8 + h).padStart(2, "0")}:00`).getTime() / 1000), cpu, mem })),
  );
  ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": key }), 201);
}

beforeAll(async () => {
  t = await createTestApp({ now: "2026-11-23T01:00:00Z" });
  vmId = (await t.deliverApplication("yangfan")).resources[0]!.id; // 4 核 8G
});
afterAll(() => t?.close());

const ask = (user: string, form: Record<string, unknown>) => t.call(user, "POST", "/api/requests", { flow: "adjustment", form });
const up = { direction: "up", resource: 0, to: { vcpu: 8 }, reason: "业务量增长" };

describe("扩容 / 缩容", () => {
  test("a scale-up without the cloud id, or below the thresholds, is refused with the figures", async () => {
    const noInstance = await ask("yangfan", { ...up, resource: vmId });
    expect(noInstance.body.error.code).toBe("no_instance");
    ok(await t.call("xufeng", "PUT", `/api/resources/${vmId}/instance`, { instanceId: "ins-rs-01" }));
    // Monday 2026-11-23: the last 5 working days are 11-16 … 11-20; a 59% peak on one of them is not enough.
    await utilisation("ins-rs-01", ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"], 75, 50, "m1");
    await utilisation("ins-rs-01", ["2026-11-20"], 59, 50, "m2");
    const below = await ask("yangfan", { ...up, resource: vmId });
    expect(below.status).toBe(422);
    expect(below.body.error.code).toBe("not_justified");
    expect(below.body.error.message).toContain("59");
  });

  test("justified, it runs the stages with the evidence attached, and the new size is the resource's", async () => {
    t.clock.set("2026-11-24T01:00:00Z"); // now the window is 11-17 … 11-23
    await utilisation("ins-rs-01", ["2026-11-23"], 80, 50, "m3");
    // Later samples for 11-20 bring that day's peak to 80%: the peak is the day's highest minute.
    await utilisation("ins-rs-01", ["2026-11-20"], 80, 50, "m4");
    const { id } = ok(await ask("yangfan", { ...up, resource: vmId }), 201);
    const detail = ok(await t.show("yangfan", id));
    expect(detail.summary).toContainEqual({ label: "配置", value: "4 核 / 8G 内存 / 100G 磁盘 → 8 核 / 8G 内存 / 100G 磁盘" });
    expect(detail.summary.find((f: { label: string }) => f.label === "依据").value).toMatch(/60/);
    expect((await ask("yangfan", { ...up, resource: vmId })).body.error.code).toBe("already_changing");
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "停机 10 分钟调整规格" }],
      ["zhangwei", { action: "approve" }],
      ["yangfan", { action: "confirm" }],
      // 004 第二十一条(一)1: the unit prepares (backup, 停机告知) as the provider's plan asks.
      ["yangfan", { action: "confirm", note: "已备份并通知" }],
    ]);
    t.clock.set("2026-11-25T02:00:00Z");
    await t.actInTurn(id, [["xufeng", { action: "approve" }]]);
    // A failed test goes back to the provider's adjustment, which is already in place, not to the form.
    await t.actInTurn(id, [["yangfan", { action: "return", reason: "应用启动失败" }]]);
    expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("adjust");
    await t.actInTurn(id, [
      ["xufeng", { action: "approve", note: "已调整内核参数" }],
      ["yangfan", { action: "confirm" }],
      ["guojun", { action: "approve" }],
    ]);
    const [row] = await t.db.select().from(resources).where(eq(resources.id, vmId));
    expect(row!.spec).toMatchObject({ vcpu: 8, memoryGb: 8 });
    expect(row!.changedAt?.toISOString()).toBe("2026-11-25T02:00:00.000Z");
    // The size history a bill counts by: 4 cores from delivery, 8 from the day of the change.
    const listed = ok(await t.call("zhangwei", "GET", `/api/resources?request=${row!.requestId}`)).items.find((r: { id: number }) => r.id === vmId);
    expect(listed.sizes.map((s: { fromDate: string; spec: { vcpu: number } }) => `${s.fromDate}:${s.spec.vcpu}`)).toEqual(["2026-11-23:4", "2026-11-25:8"]);
  });

  test("what 第十九条 has no rule for cannot be scaled up on evidence", async () => {
    // The example application asked for a backup policy, which the ledger holds as a resource of its own.
    const [backup] = await t.db.select().from(resources).where(eq(resources.kind, "backup"));
    expect(backup).toBeDefined();
    const refused = await ask("yangfan", { ...up, resource: backup!.id, to: { vcpu: 64 } });
    expect(refused.body.error.code).toBe("no_rule");
  });

  test("a scale-down needs no utilisation, but the sizes must go down", async () => {
    expect((await ask("yangfan", { direction: "down", resource: vmId, to: { vcpu: 16 }, reason: "x" })).body.error.code).toBe("wrong_direction");
    expect((await ask("lihua", { direction: "down", resource: vmId, to: { vcpu: 2 }, reason: "x" })).body.error.code).toBe("not_yours");
    expect((await ask("guojun", { direction: "down", resource: vmId, to: { vcpu: 2 }, reason: "x" })).status).toBe(403);
    ok(await ask("yangfan", { direction: "down", resource: vmId, to: { vcpu: 4 }, reason: "高峰已过" }), 201);
  });

  test("the half-yearly review proposes a scale-down for a VM with a low-load month, once", async () => {
    const [vm] = (await t.deliverApplication("zhaolei")).resources;
    ok(await t.call("xufeng", "PUT", `/api/resources/${vm!.id}/instance`, { instanceId: "ins-low-01" }));
    // December 2026: 16 days at 10% vCPU (peak 10 ≤ 40, average 10 ≤ 20): a low-load month.
    await utilisation("ins-low-01", Array.from({ length: 16 }, (_, i) => `2026-12-${String(i + 1).padStart(2, "0")}`), 10, 70, "low");
    t.clock.set("2027-01-04T01:00:00Z");
    expect(await halfYearlyReview(t.ctx(), PROFILES.meizhou.thresholds.lowLoad)).toBe(1);
    expect(await halfYearlyReview(t.ctx(), PROFILES.meizhou.thresholds.lowLoad)).toBe(0);
    const [proposal] = await t.db.select().from(requests).where(eq(requests.title, `缩容 ${vm!.name}（梅县区教育资助管理系统）`));
    expect(proposal).toMatchObject({ flow: "adjustment", applicantId: "zhaolei", currentStage: "approve" });
    // Only the vCPU was under-used (memory averaged 70%): only the vCPU is proposed smaller.
    expect(proposal!.facts).toMatchObject({ direction: "down", origin: "review", to: { vcpu: 2 } });
    expect((proposal!.facts as { to: object }).to).not.toHaveProperty("memoryGb");
    expect((proposal!.facts as { evidence: { reason: string }[] }).evidence[0]!.reason).toBe("低负载月份：2026-12（vCPU 16 天）（004 第十九条）");
    t.clock.set("2027-02-01T01:00:00Z");
    expect(await halfYearlyReview(t.ctx(), PROFILES.meizhou.thresholds.lowLoad)).toBe(0); // only in January and July
  });

  test("a busy VM whose disk has years of headroom is proposed a smaller disk, not fewer cores", async () => {
    t.clock.set("2026-11-23T01:00:00Z");
    const [vm] = (await t.deliverApplication("zhaolei")).resources;
    ok(await t.call("xufeng", "PUT", `/api/resources/${vm!.id}/instance`, { instanceId: "ins-disk-01" }));
    // 2027-05: 95% vCPU and memory, but 20 of 100 GB used and not growing: storage headroom > 12 months.
    const days = Array.from({ length: 31 }, (_, i) => `2027-05-${String(i + 1).padStart(2, "0")}`);
    const samples = days.map((d) => ({ vm: "ins-disk-01", time: Math.floor(shanghaiInstant(d, "10:00").getTime() / 1000), cpu: 95, mem: 95, diskUsedGb: 20, diskAllocGb: 100 }));
    ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": "disk-flat" }), 201);
    t.clock.set("2027-07-05T01:00:00Z");
    expect(await halfYearlyReview(t.ctx(), PROFILES.meizhou.thresholds.lowLoad)).toBeGreaterThanOrEqual(1);
    const [proposal] = await t.db.select().from(requests).where(eq(requests.title, `缩容 ${vm!.name}（梅县区教育资助管理系统）`));
    // 20 GB used, flat: a fifth more, rounded up to 10 GB.
    expect((proposal!.facts as { to: object }).to).toEqual({ diskGb: 30 });
  });
});
