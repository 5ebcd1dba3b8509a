import { asc, eq } from "drizzle-orm";
import { everyChannel } from "./harness";
import { describe, expect, test } from "vitest";
import { auditLog, outbox, requests, resources } from "../db/schema";
import { addCalendarDays, shanghaiInstant } from "../src/core/calendar";
import { readConfig } from "../src/config";
import type { ServiceError } from "../src/core/errors";
import { verifyAuditChain } from "../src/audit/verify";
import { runJobsOnce } from "../src/jobs/runner";
import { consoleSender } from "../src/channels/console";
import { quarterlyReview } from "../src/jobs/adjustment-proposals";
import { cloudCapacityAlert, expansionNotices } from "../src/resources/capacity-notices";
import { PROFILES } from "../profiles";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// 003 第二十四条 (巴中) and 001 第十九条 (徽州): the utilisation rules of the other profiles, wired to the ledger.

type Sample = { cpu: number; mem: number; disk?: [number, number] };

/** `perDay` samples a day (hourly from 08:00), for the cloud id `instance`. */
async function utilisation(t: TestApp, instance: string, days: string[], s: Sample, key: string, perDay = 12) {
  const samples = days.flatMap((d) =>
    Array.from({ length: perDay }, (_, h) => ({
      vm: instance,
      time: Math.floor(shanghaiInstant(d, `${String(8 + h).padStart(2, "0")}:00`).getTime() / 1000),
      cpu: s.cpu,
      mem: s.mem,
      ...(s.disk ? { diskUsedGb: s.disk[0], diskAllocGb: s.disk[1] } : {}),
    })),
  );
  ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": key }), 201);
}

/** A 巴中 application delivered with a 1,200 GB database disk; its VMs get the cloud ids ins-1, ins-2, ins-3. */
async function deliveredBazhong(t: TestApp) {
  await t.planConsented(); // 003 第十四条: within the year's consented plan
  const form = sampleForm();
  form.vms[1].diskGb = 1200;
  form.plan.plannedTotals.storageGb = 1400;
  // A migration: 巴中 asks for the uploaded migration plan (003 第十五条).
  form.attachments.push(await t.attachment("yangfan", "plan"));
  const { id } = ok(await t.submit("yangfan", form), 201);
  await t.actInTurn(id, [
    ["zhangwei", { action: "approve", note: "论证通过" }],
    ["xufeng", { action: "approve" }],
  ]);
  const vms = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
  for (const [i, vm] of vms.entries()) ok(await t.call("xufeng", "PUT", `/api/resources/${vm.id}/instance`, { instanceId: `ins-${i + 1}` }));
  return vms;
}

/** Every day from `from` to `to`, inclusive. */
const span = (from: string, to: string) => {
  const out: string[] = [];
  for (let d = from; d <= to; d = addCalendarDays(d, 1)) out.push(d);
  return out;
};

describe("巴中 003 第二十四条", () => {
  test("each quarter: vCPU and memory peaks ≤ 30% propose half; each January: a data disk > 500 GB free all year proposes it smaller", async () => {
    const t = await createTestApp({ profile: "bazhong", now: "2025-12-01T02:00:00Z" });
    try {
      const [app1, , db] = await deliveredBazhong(t);
      // Q4 2026 (92 days): ins-1 peaks at exactly 30% on 74 of them (80%, enough to judge); ins-2 runs at 10%
      // but has figures for 73 days only, which is not enough.
      const q4 = span("2026-10-01", "2026-12-31");
      await utilisation(t, "ins-1", q4.slice(0, 74), { cpu: 30, mem: 30 }, "q1", 1);
      await utilisation(t, "ins-2", q4.slice(0, 73), { cpu: 10, mem: 10 }, "q2", 1);
      // The database VM: busy, but its 1,200 GB disk had at least 640 GB free on every reading of 2026.
      const year = span("2026-01-01", "2026-12-31");
      await utilisation(t, "ins-3", year.slice(0, 300), { cpu: 80, mem: 80, disk: [500, 1200] }, "d1", 1);
      await utilisation(t, "ins-3", year.slice(300), { cpu: 80, mem: 80, disk: [560, 1200] }, "d2", 1);

      t.clock.set("2027-02-01T02:00:00Z");
      expect(await quarterlyReview(t.ctx(), PROFILES.bazhong.thresholds.periodShrink)).toBe(0); // only in the first month of a quarter
      t.clock.set("2027-01-04T02:00:00Z");
      expect(await quarterlyReview(t.ctx(), PROFILES.bazhong.thresholds.periodShrink)).toBe(2);
      expect(await quarterlyReview(t.ctx(), PROFILES.bazhong.thresholds.periodShrink)).toBe(0); // once per quarter

      const proposals = await t.db.select().from(requests).where(eq(requests.flow, "adjustment")).orderBy(asc(requests.id));
      const facts = proposals.map((p) => p.facts as { resourceId: number; to: object; evidence: { reason: string }[] });
      expect(facts.map((f) => f.resourceId)).toEqual([app1!.id, db!.id]);
      expect(facts[0]).toMatchObject({ to: { vcpu: 2, memoryGb: 4 } });
      expect(facts[0]!.evidence[0]!.reason).toBe("2026-10-01~2026-12-31 vCPU 峰值 30%、内存峰值 30%，均未超过 30%（003 第二十四条(二)）");
      // 640 GB free at the fullest: 140 GB more than the 500 GB kept, so 1,200 → 1,060 GB.
      expect(facts[1]).toMatchObject({ to: { diskGb: 1060 } });
      expect(facts[1]!.evidence[0]!.reason).toContain("数据盘剩余空间最少 640 GB，大于 500 GB（003 第二十四条(三)）");
      expect(proposals[0]).toMatchObject({ applicantId: "yangfan", currentStage: "approve" });
      // The 004 half-yearly review is not 巴中's rule, and the job round does not run it under this profile.
      const calendars = { current: () => t.ctx().calendar, refresh: async () => false };
      await runJobsOnce({ db: t.db, clock: t.clock, calendars, profile: "bazhong", senders: everyChannel(consoleSender(() => {})) });
      expect(await t.db.select().from(requests).where(eq(requests.flow, "adjustment"))).toHaveLength(2);
    } finally {
      await t.close();
    }
  });

  test("utilisation above 70% is reported at once to the bureau, the providers and the unit, once per VM, figure and month", async () => {
    const t = await createTestApp({ profile: "bazhong", now: "2026-12-01T02:00:00Z" });
    try {
      const [app1] = await deliveredBazhong(t);
      await utilisation(t, "ins-1", ["2026-12-02"], { cpu: 70.5, mem: 70, disk: [70, 100] }, "a");
      await utilisation(t, "ins-2", ["2026-12-02"], { cpu: 70, mem: 69, disk: [700, 1000] }, "b"); // at 70 exactly: no
      t.clock.set("2026-12-03T01:00:00Z");
      expect(await expansionNotices(t.ctx(), PROFILES.bazhong.thresholds.expansionNoticeAbove)).toBe(1);
      expect(await expansionNotices(t.ctx(), PROFILES.bazhong.thresholds.expansionNoticeAbove)).toBe(0); // the day is scanned once
      const cards = await t.db.select().from(outbox).where(eq(outbox.kind, "capacity"));
      expect(cards.map((c) => c.userId).sort()).toEqual(["chenjing", "linna", "xufeng", "yangfan", "zhangwei"]);
      const summary = (cards[0]!.payload as { summary: string }).summary;
      expect(summary).toContain("2026-12-02 vCPU 峰值使用率 70.5%，超过 70%");
      expect(summary).not.toContain("内存");
      const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.action, "capacity.vm_notice"));
      expect(entry).toMatchObject({ channel: "timer", requestId: app1!.requestId, details: { resourceId: app1!.id, date: "2026-12-02" } });

      // The next day: still above, and now memory too. Only memory is new this month.
      await utilisation(t, "ins-1", ["2026-12-03"], { cpu: 90, mem: 75 }, "c");
      t.clock.set("2026-12-04T01:00:00Z");
      expect(await expansionNotices(t.ctx(), PROFILES.bazhong.thresholds.expansionNoticeAbove)).toBe(1);
      const latest = (await t.db.select().from(auditLog).where(eq(auditLog.action, "capacity.vm_notice")).orderBy(auditLog.seq)).at(-1);
      expect((latest!.details as { readings: { metric: string }[] }).readings.map((r) => r.metric)).toEqual(["memory"]);
      expect((await verifyAuditChain(t.db)).ok).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe("徽州 001 第十九条: the cloud near 70% of its capacity", () => {
  test("allocated against the configured capacity: at 70% the managers and providers are warned, once per kind and month", async () => {
    const t = await createTestApp({ profile: "huizhou", now: "2026-11-23T02:00:00Z" });
    try {
      const form = sampleForm("huizhou");
      form.attachments.push(await t.attachment("yangfan", "project_approval"));
      const { id } = ok(await t.submit("yangfan", form), 201);
      await t.actInTurn(id, [
        ["zhangwei", { action: "approve" }],
        ["chenjing", { action: "approve" }],
        ["xufeng", { action: "approve" }],
      ]);
      // Delivered: 16 vCPU, 48 GB memory, 400 GB disk. Against 20 / 69 / 571: 80%, 69.57%, 70.05%.
      const capacity = { vcpu: 20, memoryGb: 69, storageGb: 571 };
      expect(await cloudCapacityAlert(t.ctx(), capacity, PROFILES.huizhou.thresholds.capacityAlertAt)).toEqual(["vcpu", "storageGb"]);
      expect(await cloudCapacityAlert(t.ctx(), capacity, PROFILES.huizhou.thresholds.capacityAlertAt)).toEqual([]); // once a month
      const cards = await t.db.select().from(outbox).where(eq(outbox.kind, "capacity"));
      expect(cards.map((c) => c.userId).sort()).toEqual(["chenjing", "linna", "xufeng", "zhangwei"]);
      const summary = (cards[0]!.payload as { summary: string }).summary;
      expect(summary).toContain("vCPU已分配 16 核，占总容量 20 核 的 80%");
      expect(summary).toContain("存储已分配 400 GB，占总容量 571 GB 的 70.05%");
      expect(summary).not.toContain("内存");
      expect(await t.db.select().from(auditLog).where(eq(auditLog.action, "capacity.cloud_alert"))).toHaveLength(1);

      // The job round runs it when the capacity is configured: next month it warns again.
      t.clock.set("2027-01-04T02:00:00Z");
      const calendars = { current: () => t.ctx().calendar, refresh: async () => false };
      await runJobsOnce({ db: t.db, clock: t.clock, calendars, profile: "huizhou", senders: everyChannel(consoleSender(() => {})), capacity });
      const alerts = await t.db.select().from(auditLog).where(eq(auditLog.action, "capacity.cloud_alert")).orderBy(auditLog.seq);
      expect(alerts.map((a) => (a.details as { month: string }).month)).toEqual(["2026-11", "2027-01"]);
    } finally {
      await t.close();
    }
  });
});

describe("CLOUD_CAPACITY_* configuration", () => {
  test("all three or none", () => {
    const partial = (() => {
      try {
        readConfig({ CLOUD_CAPACITY_VCPU: "1000" });
      } catch (err) {
        return err as ServiceError;
      }
    })();
    expect(Object.keys(partial?.fields ?? {}).sort()).toEqual(["CLOUD_CAPACITY_MEMORY_GB", "CLOUD_CAPACITY_STORAGE_GB"]);
    expect(readConfig({ CLOUD_CAPACITY_VCPU: "1000", CLOUD_CAPACITY_MEMORY_GB: "4000", CLOUD_CAPACITY_STORAGE_GB: "100000" }).CLOUD_CAPACITY_VCPU).toBe(1000);
  });
});

