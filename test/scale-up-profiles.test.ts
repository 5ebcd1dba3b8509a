import { asc, eq } from "drizzle-orm";
import { describe, expect, test } from "vitest";
import type { Card } from "../cards";
import { outbox, requests, resources } from "../db/schema";
import { PROFILES } from "../profiles";
import { shanghaiInstant } from "../src/core/calendar";
import { expansionNotices } from "../src/resources/capacity-notices";
import { scaleUpEvidence } from "../src/metrics/rules";
import { scaleUpDays } from "../src/metrics/views";
import { ok, sampleForm, type TestApp } from "./app-harness";
import { createWebTestApp } from "./web-harness";

// Issue 14: what a scale-up is decided on is each profile's document's. 梅州's 5 working days of utilisation (004
// 第十九条(二)) still decide under 梅州, 韶关 and 徽州 (test/adjustment.test.ts), but not under 巴中, whose unit asks
// once the provider has reported its usage above 70% (003 第二十四条(一)), nor under 高创中心, whose review rests on
// the supervisor's usage report (000 7.2.3.1). The dates cross 国庆 2026 (10-01 … 10-07 off, the 调休 Saturday 10-10
// a working day).

/** A day of hourly samples from 08:00 for the cloud id `vm`. */
async function figures(t: TestApp, vm: string, date: string, cpu: number, mem: number, key: string) {
  const samples = Array.from({ length: 12 }, (_, h) => ({ vm, time: Math.floor(shanghaiInstant(date, `${String(8 + h).padStart(2, "0")}:00`).getTime() / 1000), cpu, mem }));
  ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": key }), 201);
}

const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();

/** The last card of `kind` queued to `user` about a request. */
async function lastCard(t: TestApp, requestId: number, user: string, kind: string): Promise<Card | undefined> {
  const rows = await t.db.select().from(outbox).where(eq(outbox.kind, kind)).orderBy(asc(outbox.id));
  return rows.filter((r) => r.userId === user && (r.payload as Card).link === `/api/requests/${requestId}`).map((r) => r.payload as Card).at(-1);
}

describe("003 第二十四条(一): 巴中 scales up on the provider's report of usage above 70%", () => {
  test("003 第二十四条(一): a VM reported above 70% on one day is scaled up, though 004 第十九条(二)'s 5 working days would refuse it; walked to the end across 国庆", async () => {
    const t = await createWebTestApp({ profile: "bazhong", now: "2026-09-21T01:00:00Z" });
    try {
      await t.planConsented(); // 003 第十四条: within the year's consented plan
      const form = sampleForm();
      form.attachments.push(await t.attachment("yangfan", "plan")); // 003 第十五条: a migration's plan
      const { id: app } = ok(await t.submit("yangfan", form), 201);
      await t.actInTurn(app, [
        ["zhangwei", { action: "approve", note: "论证通过" }],
        ["xufeng", { action: "approve" }],
      ]);
      const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, app)).orderBy(asc(resources.id));
      expect(vm!.spec).toMatchObject({ vcpu: 4, memoryGb: 8 });
      ok(await t.call("xufeng", "PUT", `/api/resources/${vm!.id}/instance`, { instanceId: "ins-bz1" }));
      // Monday 09-28: memory peaks at 75%, vCPU at 30%; no other day has figures.
      await figures(t, "ins-bz1", "2026-09-28", 30, 75, "bz-0928");
      t.clock.set("2026-09-29T01:00:00Z"); // Tuesday
      // 004 第十九条(二) would refuse it: one day above 40% is not 5 working days of it.
      const { days } = await scaleUpDays(t.ctx(), "ins-bz1", "2026-09-29");
      expect(scaleUpEvidence("vm_memory", days, PROFILES.meizhou.thresholds.scaleUp).ok).toBe(false);
      // The form says what 巴中 decides on, not 004's figures.
      const page = await (await t.signedIn("yangfan")).get(`/new/adjustment?resource=${vm!.id}`);
      expect(page.html).toContain("扩容条件（003 第二十四条(一)）");
      expect(page.html).not.toContain("近期利用率与扩容条件");
      const up = (to: object) => t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "up", resource: vm!.id, to, reason: "内存不足" } });

      // Not yet reported: the unit has nothing to ask on. 004's rule plays no part in the refusal.
      const early = await up({ memoryGb: 16 });
      expect(early.status).toBe(422);
      expect(early.body.error).toMatchObject({ code: "not_justified" });
      expect(early.body.error.message).toBe("不满足扩容条件（003 第二十四条(一)）：2026-08-29 以来云服务商没有报告内存使用率超过 70%");

      // The provider's report (the expansionNotices job) of 09-28's figures.
      expect(await expansionNotices(t.ctx(), PROFILES.bazhong.thresholds.expansionNoticeAbove)).toBe(1);
      // Memory was reported; vCPU was not, so more cores are still refused.
      const cores = await up({ vcpu: 8, memoryGb: 16 });
      expect(cores.status).toBe(422);
      expect(cores.body.error.message).toBe("不满足扩容条件（003 第二十四条(一)）：2026-08-29 以来云服务商没有报告vCPU使用率超过 70%");

      const { id } = ok(await up({ memoryGb: 16 }), 201);
      const [row] = await t.db.select().from(requests).where(eq(requests.id, id));
      expect((row!.facts as { evidence: unknown[] }).evidence).toEqual([
        { kind: "reported_memory", ok: true, reason: "云服务商报告 2026-09-28 内存峰值使用率 75%，超过 70%（003 第二十四条(一)）" },
      ]);
      let detail = ok(await t.show("yangfan", id));
      expect(detail.summary).toContainEqual({ label: "依据", value: "云服务商报告 2026-09-28 内存峰值使用率 75%，超过 70%（003 第二十四条(一)）" });
      // 巴中 keeps 梅州's 2 wd for the review: from Tuesday 09-29, 09-30 and (after 国庆) 10-08.
      expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-08T15:59:59.999Z" });
      t.clock.set("2026-09-30T02:00:00Z");
      ok(await t.act("zhangwei", id, { action: "approve" }));
      // The provider's plan: 3 wd from 09-30, 10-08, 10-09 and the 调休 Saturday 10-10.
      expect(ok(await t.show("yangfan", id)).currentStage).toMatchObject({ stage: "plan", deadlineAt: "2026-10-10T15:59:59.999Z" });
      t.clock.set("2026-10-08T02:00:00Z");
      await t.actInTurn(id, [
        ["xufeng", { action: "approve", note: "10 月 9 日晚扩容内存" }],
        ["yangfan", { action: "confirm" }],
        ["xufeng", { action: "approve" }],
        ["guojun", { action: "approve" }],
      ]);
      detail = ok(await t.show("yangfan", id));
      expect(detail.status).toBe("completed");
      expect(detail.stages.map((s: { stage: string }) => s.stage)).toEqual(["approve", "plan", "confirm", "adjust", "verify"]);
      expect((await t.db.select().from(resources).where(eq(resources.id, vm!.id)))[0]!.spec).toMatchObject({ vcpu: 4, memoryGb: 16 });

      // The provider reports VMs only: another kind has no report to ask on.
      const other = (await t.db.select().from(resources).where(eq(resources.requestId, app))).find((r) => r.kind !== "vm")!;
      const otherUp = await t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "up", resource: other.id, to: { diskGb: 4096 }, reason: "扩容" } });
      expect(otherUp.body.error).toMatchObject({ code: "no_rule" });
      expect(otherUp.body.error.message).toContain("003 第二十四条(一)");

      // A report more than a month old no longer stands: on 10-29 the window starts at 09-29.
      t.clock.set("2026-10-29T02:00:00Z");
      const stale = await up({ memoryGb: 32 });
      expect(stale.status).toBe(422);
      expect(stale.body.error.message).toContain("2026-09-29 以来云服务商没有报告内存使用率超过 70%");
    } finally {
      await t.close();
    }
  });
});

describe("000 7.2.3.1: 高创中心 decides a scale-up on the supervisor's usage report", () => {
  test("000 7.2.3.1: a VM without monitoring data is scaled up on the supervisor's report, which the review quotes; walked to the end across 国庆", async () => {
    const t = await createWebTestApp({ profile: "gaochuang", now: "2026-09-21T01:00:00Z" });
    try {
      const { id: app } = ok(await t.submit("yangfan", sampleForm()), 201);
      await t.actInTurn(app, [
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve", note: "已开通" }],
      ]);
      const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, app)).orderBy(asc(resources.id));
      // No cloud id and no figures: under 004 第十九条(二) this would be refused (no_instance).
      expect(vm!.instanceId).toBeNull();
      const page = await (await t.signedIn("yangfan")).get(`/new/adjustment?resource=${vm!.id}`);
      expect(page.html).toContain("扩容审核依据（000 7.2.3.1）");
      expect(page.html).not.toContain("尚未登记此资源的云主机标识");
      t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, before 国庆
      const { id } = ok(
        await t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "up", resource: vm!.id, to: { vcpu: 8 }, reason: "访问量增长" } }),
        201,
      );
      const [row] = await t.db.select().from(requests).where(eq(requests.id, id));
      expect((row!.facts as { evidence: unknown[] }).evidence).toEqual([]);
      let detail = ok(await t.show("yangfan", id));
      // The supervisor (监管部门) reports first: 2 wd from 09-30, 10-08 and 10-09.
      expect(detail.currentStage).toMatchObject({ stage: "usage_report", name: "云资源使用情况报告", deadlineAt: "2026-10-09T15:59:59.999Z" });
      expect(holders(detail)).toEqual(["guojun"]);
      // The report is the note; without one there is nothing to decide on.
      const bare = await t.act("guojun", id, { action: "approve" });
      expect(bare.status).toBe(422);
      expect(bare.body.error.code).toBe("note_required");
      t.clock.set("2026-10-08T02:00:00Z");
      ok(await t.act("guojun", id, { action: "approve", note: "9 月 vCPU 日峰值多在 85% 以上，建议扩至 8 核" }));
      detail = ok(await t.show("yangfan", id));
      expect(detail.currentStage.stage).toBe("approve");
      // The manager's card quotes the report it decides on.
      expect((await lastCard(t, id, "zhangwei", "task"))?.summary).toBe(
        "监管部门的云资源使用情况报告（000 7.2.3.1，审核的主要依据）：9 月 vCPU 日峰值多在 85% 以上，建议扩至 8 核",
      );
      await t.actInTurn(id, [
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve" }],
        ["yangfan", { action: "confirm" }],
        ["xufeng", { action: "approve" }],
        ["guojun", { action: "approve" }],
      ]);
      detail = ok(await t.show("yangfan", id));
      expect(detail.status).toBe("completed");
      expect(detail.stages.map((s: { stage: string }) => s.stage)).toEqual(["usage_report", "approve", "plan", "confirm", "adjust", "verify"]);
      expect((await t.db.select().from(resources).where(eq(resources.id, vm!.id)))[0]!.spec).toMatchObject({ vcpu: 8 });
    } finally {
      await t.close();
    }
  });
});

describe("each profile names what its scale-ups are decided on", () => {
  test("003 第二十四条(一), 000 7.2.3.1, 004 第十九条(二): a profile deciding on the provider's report runs the job that sends it", () => {
    expect(Object.fromEntries(Object.entries(PROFILES).map(([k, p]) => [k, p.scaleUpBasis]))).toEqual({
      meizhou: "utilisation",
      shaoguan: "utilisation",
      huizhou: "utilisation",
      bazhong: "providerReport",
      gaochuang: "usageReport",
    });
    for (const p of Object.values(PROFILES))
      if (p.scaleUpBasis === "providerReport") {
        expect(p.periodicJobs).toContain("expansionNotices");
        expect(p.thresholds).toHaveProperty("expansionNoticeAbove");
      }
  });
});
