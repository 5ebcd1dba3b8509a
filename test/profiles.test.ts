import { and, asc, eq } from "drizzle-orm";
import { describe, expect, test } from "vitest";
import { auditLog, outbox, requests, stageRuns, tasks } from "../db/schema";
import { applicationFlow } from "../flows/application/definition";
import { FLOW_MODULES } from "../flows";
import { profileStages, type FlowDef } from "../flows/types";
import { POLICY_PROFILES, PROFILES, type ProfileKey, type ProfileModule } from "../profiles";
import { addCalendarDays, shanghaiInstant } from "../src/core/calendar";
import { ServiceError } from "../src/core/errors";
import { readConfig } from "../src/config";
import { consoleSender } from "../src/channels/console";
import { everyChannel } from "./harness";
import { runJobsOnce } from "../src/jobs/runner";
import { createTestApp, ok, securityTestForm, type TestApp } from "./app-harness";

// The job round runs what the service's profile module lists, and nothing else: the same ledger and figures
// give 004 第十九条(三)'s half-yearly review under 梅州 and 003 第二十四条's quarterly review and 70% notices
// under 巴中.

/** Who decides each stage after delivery, to walk an application to go-live (no revocation time rule then holds). */
const AFTER_DELIVERY: Record<string, [string | "applicant", Record<string, unknown>]> = {
  backup_check: ["applicant", { action: "confirm", note: "备份恢复正常" }],
  confirm_delivery: ["applicant", { action: "confirm" }],
  verify_delivery: ["guojun", { action: "approve" }],
  deploy: ["applicant", { action: "approve", note: "系统已部署" }],
  // 004 第十七条(二): with the filled-in 附件6 (the system's 密评 is recorded first, 004 第四十条).
  request_security_test: ["applicant", { action: "approve", form: securityTestForm({ deployedOn: "2026-09-01" }) }],
  security_test: ["zhangwei", { action: "approve", note: "检测通过" }],
  go_live: ["applicant", { action: "approve", note: "已上线" }],
};

/**
 * A 梅州 application by zhaolei, live since September 2026, whose first VM (cloud id ins-p1) ran at 10% vCPU and
 * memory every day of 2026's last quarter (low-load under 004, at most 30% under 003) and at 75% on 2027-01-03.
 * The clock is then at Monday 2027-01-04 10:00, the first working day of a quarter and of a half-year.
 */
async function liveVmWithFigures(t: TestApp) {
  await t.recordCryptoAssessment("zhaolei");
  const { id, resources: delivered } = await t.deliverApplication("zhaolei");
  for (;;) {
    // The earliest open stage: 发放核查 runs alongside the deployment (004 第十七条(一)) and is decided first.
    const [row] = await t.db
      .select({ stage: stageRuns.stage })
      .from(stageRuns)
      .where(and(eq(stageRuns.requestId, id), eq(stageRuns.status, "open")))
      .orderBy(asc(stageRuns.id))
      .limit(1);
    if (!row) break;
    const [user, action] = AFTER_DELIVERY[row.stage]!;
    ok(await t.act(user === "applicant" ? "zhaolei" : user, id, { ...action, stage: row.stage }));
  }
  const vm = delivered[0]!;
  ok(await t.call("xufeng", "PUT", `/api/resources/${vm.id}/instance`, { instanceId: "ins-p1" }));
  const sample = (date: string, load: number) => ({
    vm: "ins-p1",
    time: Math.floor(shanghaiInstant(date, "10:00").getTime() / 1000),
    cpu: load,
    mem: load,
  });
  const quarter: ReturnType<typeof sample>[] = [];
  for (let d = "2026-10-01"; d <= "2026-12-31"; d = addCalendarDays(d, 1)) quarter.push(sample(d, 10));
  ok(await t.call("xufeng", "POST", "/api/metrics", { samples: [...quarter, sample("2027-01-03", 75)] }, { "Idempotency-Key": "profiles-q4" }), 201);
  t.clock.set("2027-01-04T02:00:00Z");
  return vm;
}

async function jobRound(t: TestApp, profile: ProfileKey) {
  const calendars = { current: () => t.ctx().calendar, refresh: async () => false };
  await runJobsOnce({ db: t.db, clock: t.clock, calendars, profile, senders: everyChannel(consoleSender(() => {})) });
}

/** The scale-down proposals the round opened: the review's period (from the submit entry) and the reason. */
async function proposals(t: TestApp) {
  const rows = await t.db
    .select({ details: auditLog.details, facts: requests.facts, id: requests.id })
    .from(auditLog)
    .innerJoin(requests, eq(requests.id, auditLog.requestId))
    .where(and(eq(auditLog.action, "request.submit"), eq(requests.flow, "adjustment")));
  return rows.map((r) => ({
    id: r.id,
    period: (r.details as { period?: string }).period,
    reason: (r.facts as { evidence: { reason: string }[] }).evidence[0]!.reason,
  }));
}

/** Who the outbox holds a card for asking them to decide the request. */
async function askedToDecide(t: TestApp, requestId: number) {
  const cards = await t.db
    .select({ userId: outbox.userId })
    .from(outbox)
    .innerJoin(tasks, eq(tasks.id, outbox.taskId))
    .innerJoin(stageRuns, eq(stageRuns.id, tasks.stageRunId))
    .where(eq(stageRuns.requestId, requestId));
  return cards.map((c) => c.userId).sort();
}

const capacityNotices = (t: TestApp) => t.db.select().from(auditLog).where(eq(auditLog.action, "capacity.vm_notice"));

describe("the job round runs the profile module's periodic jobs", () => {
  test("巴中 (003 第二十四条): the quarterly review and the 70% notice run, 004 第十九条(三)'s half-yearly review does not", async () => {
    const t = await createTestApp({ now: "2026-09-01T02:00:00Z" });
    try {
      const vm = await liveVmWithFigures(t);
      await jobRound(t, "bazhong");
      const opened = await proposals(t);
      expect(opened).toEqual([
        { id: expect.any(Number), period: "2027-Q1", reason: "2026-10-01~2026-12-31 vCPU 峰值 10%、内存峰值 10%，均未超过 30%（003 第二十四条(二)）" },
      ]);
      // The proposal waits on the managers, who are asked.
      expect(await askedToDecide(t, opened[0]!.id)).toEqual(["chenjing", "zhangwei"]);
      const [notice] = await capacityNotices(t);
      expect(notice).toMatchObject({ channel: "timer", details: { resourceId: vm.id, date: "2027-01-03" } });
      const cards = await t.db.select().from(outbox).where(eq(outbox.kind, "capacity"));
      expect((cards[0]!.payload as { summary: string }).summary).toContain("vCPU 峰值使用率 75%、内存峰值使用率 75%，超过 70%");
    } finally {
      await t.close();
    }
  });

  test("梅州 (004 第十九条(三)): the half-yearly review runs, 巴中's quarterly review and 70% notice do not", async () => {
    const t = await createTestApp({ now: "2026-09-01T02:00:00Z" });
    try {
      await liveVmWithFigures(t);
      await jobRound(t, "meizhou");
      const opened = await proposals(t);
      expect(opened).toEqual([{ id: expect.any(Number), period: "2027-H1", reason: "低负载月份：2026-10（vCPU 31 天、内存 31 天）、2026-11（vCPU 30 天、内存 30 天）、2026-12（vCPU 31 天、内存 31 天）（004 第十九条）" }]);
      expect(await askedToDecide(t, opened[0]!.id)).toEqual(["chenjing", "zhangwei"]);
      expect(await capacityNotices(t)).toEqual([]);
      expect(await t.db.select().from(outbox).where(eq(outbox.kind, "capacity"))).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe("the profile registry", () => {
  test("POLICY_PROFILE is checked against it: an unknown profile is refused in Chinese, naming the valid ones", () => {
    expect(readConfig({}).POLICY_PROFILE).toBe("meizhou");
    expect(readConfig({ POLICY_PROFILE: "bazhong" }).POLICY_PROFILE).toBe("bazhong");
    let refusal: unknown;
    try {
      readConfig({ POLICY_PROFILE: "beijing" });
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ServiceError);
    expect((refusal as ServiceError).message).toBe("环境变量配置有误");
    expect((refusal as ServiceError).fields).toEqual({ POLICY_PROFILE: ["应为以下之一：meizhou、shaoguan、huizhou、bazhong、gaochuang"] });
  });

  test("every profile has the application flow's stage sequence and the thresholds its periodic jobs read", () => {
    for (const key of POLICY_PROFILES) {
      const profile: ProfileModule = PROFILES[key];
      expect(applicationFlow.profiles[key], key).toBeDefined();
      if (profile.periodicJobs.includes("quarterlyReview")) expect(profile.thresholds.periodShrink, key).toBeDefined();
      if (profile.periodicJobs.includes("expansionNotices")) expect(profile.thresholds.expansionNoticeAbove, key).toBeDefined();
      if (profile.periodicJobs.includes("mlpsReminders")) expect(profile.mlps, key).toBeDefined();
      if (profile.periodicJobs.includes("termReminders")) expect(profile.applicationTerm, key).toBeDefined();
    }
  });

  test("a stage that runs alongside is only approved, and always has a stage after it to run beside", () => {
    const alongside: string[] = [];
    for (const flow of Object.values(FLOW_MODULES))
      for (const key of POLICY_PROFILES) {
        const stages = profileStages(flow.definition as FlowDef, key);
        stages.forEach((stage, i) => {
          if (!stage.alongside) return;
          alongside.push(`${flow.definition.key}/${key}/${stage.key}`);
          expect([stage.canReturn, stage.canReject, stage.onFail, stage.next, stage.elapses].filter(Boolean), stage.key).toEqual([]);
          expect(stages.slice(i + 1).some((s) => !s.detour), stage.key).toBe(true);
        });
      }
    // 004 第十七条(一): 梅州's 发放核查 beside 系统部署; 001 第二十五条: 徽州's 暂停系统运行 beside the unit's 整改.
    expect(alongside).toEqual(["application/meizhou/verify_delivery", "rectification/huizhou/suspend"]);
  });
});
