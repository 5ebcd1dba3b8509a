import { and, asc, eq, inArray } from "drizzle-orm";
import { describe, expect, test } from "vitest";
import { requests, resourceSizes, resources } from "../db/schema";
import { PROFILES, type ProfileKey } from "../profiles";
import { builtinSchedules, shanghaiInstant, WorkCalendar } from "../src/core/calendar";
import { runDueTimers } from "../src/jobs/timers";
import { expansionNotices } from "../src/resources/capacity-notices";
import { demoDirectory, demoSupervision } from "../src/directory/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import { coveredByPlan, createTestApp, ok, sampleForm, type TestApp } from "./app-harness";
import { schedule2027 } from "./schedule-2027";

/** 000 6.3: the provider's 《数据和文档移交记录》 in 高创中心's exit. */
const handoverRecord = { items: "业务数据库全量导出、附件文件与系统部署文档", method: "media", location: "使用单位机房，移动硬盘 YD-2026-007", handedOverOn: "2026-02-24", receiver: "杨帆" };

// Issue: every profile's flows walked end to end, with dates across holidays and 调休 make-up working days, each
// stage's deadline asserted to the day and the ledger's final state checked. This file walks what no other test
// did: the 备份 flow under 韶关, 徽州, 巴中 and 高创中心 (test/backup.test.ts walks 梅州's), and the adjustments (扩容,
// 缩容), the 用途变更 and the 撤销 of 巴中 and 高创中心 with every deadline.
//
// The 备份 flow has a profile per document (flows/backup/definition.ts): 韶关 002 第二十、二十三、二十八条 (主管单位初审 and
// 县级初审 where they apply, 1 wd; 审批 5 wd; 下发 3 wd), 徽州 001 第十五条 and 附件1 (审批 5 wd, 配置 3 wd), 巴中 003
// 第二十三条 (审批 5 wd, 配合实施 3 wd: our reading, 003 gives no time) and 高创中心 000 5.2、7.2.1 (申请审核 5 wd, 开通 3 wd:
// ours too). None has 梅州's 需求评估 or 复核; each keeps the unit's check on the day the policy takes effect (a failure
// back to the provider, 1 wd) as yunshen's practice.
//
// The calendar (src/core/calendar-data) holds 2024–2026 as published: 春节 2026 is 02-15 … 02-23 off with the
// Saturdays 02-14 and 02-28 worked; 劳动节 2026 05-01 … 05-05 off, Saturday 05-09 worked; 中秋 2026 09-25 … 09-27 and
// 国庆 2026 10-01 … 10-07 off, Saturday 10-10 worked. 2027 is not published yet: the walk that reaches it loads the
// tests' 2027 (test/schedule-2027.ts, 元旦 01-01 … 01-03 off, no make-up days).

/** A stage and the day its deadline ends (Beijing time), or a request done. */
type At = { stage: string; name?: string; due: string | null } | "completed";
/** Who acts, how, at what moment (the clock moves there first), and where the request then is. */
type Move = { at?: string; by: string; action: Record<string, unknown>; then: At };

const endOf = (day: string) => `${day}T15:59:59.999Z`;
const stagesPassed = (detail: { stages: { stage: string }[] }) => detail.stages.map((s) => s.stage);

async function expectAt(t: TestApp, viewer: string, id: number, at: At) {
  const detail = ok(await t.show(viewer, id));
  if (at === "completed") {
    expect(detail.status).toBe("completed");
    return detail;
  }
  expect(detail.status).toBe("in_progress");
  expect(detail.currentStage).toMatchObject({ stage: at.stage, deadlineAt: at.due === null ? null : endOf(at.due), ...(at.name ? { name: at.name } : {}) });
  return detail;
}

/** Each move in turn, every one expected to succeed and to leave the request where it says. */
async function walk(t: TestApp, viewer: string, id: number, moves: Move[]) {
  let detail;
  for (const m of moves) {
    if (m.at) t.clock.set(m.at);
    ok(await t.act(m.by, id, m.action));
    detail = await expectAt(t, viewer, id, m.then);
  }
  return detail;
}

async function withApp<T>(profile: ProfileKey, now: string, body: (t: TestApp) => Promise<T>) {
  const t = await createTestApp({ profile, now });
  try {
    return await body(t);
  } finally {
    await t.close();
  }
}

const backupForm = (resource: number) => ({ resource, type: "database", strategy: "每日 02:00 全量", retentionMonths: 3, copies: "off_site" });
const fileBackup = (t: TestApp, user: string, vm: number) => t.call(user, "POST", "/api/requests", { flow: "backup", form: backupForm(vm) });
const BACKUP_STAGES = ["approve", "apply", "check"];

/** The backup policy a completed 备份申请 put in the ledger. */
async function policyOf(t: TestApp, id: number) {
  const rows = await t.db.select().from(resources).where(eq(resources.requestId, id));
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

const adjustment = (t: TestApp, user: string, form: Record<string, unknown>) => t.call(user, "POST", "/api/requests", { flow: "adjustment", form });
const purposeChange = (t: TestApp, user: string, vm: number) =>
  t.call(user, "POST", "/api/requests", { flow: "purpose_change", form: { resources: [vm], purpose: "数据交换前置机", reason: "原应用迁至容器" } });
const ledgerRow = async (t: TestApp, id: number) => (await t.db.select().from(resources).where(eq(resources.id, id)))[0]!;

describe("韶关 (002): 备份", () => {
  test("002 第二十、二十八条: a backup the unit asks for is reviewed in 5 wd and 下发 in 3 wd, walked across 春节 2026 and both its 调休 Saturdays; a failed check goes back to the provider; the policy is in the ledger", async () => {
    await withApp("shaoguan", "2026-02-09T01:00:00Z", async (t) => {
      const vm = (await t.deliverApplication("yangfan")).resources[2]!; // the database server
      t.clock.set("2026-02-10T02:00:00Z"); // Tuesday
      const { id } = ok(await fileBackup(t, "yangfan", vm.id), 201);
      // A city unit: no 初审 (002 第二十三条). 5 wd from Tuesday 02-10: 02-11, 02-12, 02-13, the 调休 Saturday 02-14,
      // then 春节 02-15 … 02-23, then 02-24.
      await expectAt(t, "yangfan", id, { stage: "approve", name: "审批", due: "2026-02-24" });
      const detail = await walk(t, "yangfan", id, [
        // Approved on the 调休 Saturday 02-14: 3 wd after 春节, 02-24, 02-25, 02-26.
        { at: "2026-02-14T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "apply", name: "备份资源下发", due: "2026-02-26" } },
        // The unit's check on the very day the policy takes effect (yunshen's practice; 002 sets none).
        { at: "2026-02-27T02:00:00Z", by: "linna", action: { action: "approve", note: "策略已生效" }, then: { stage: "check", name: "备份有效性核验", due: "2026-02-27" } },
        // Failed: the provider fixes it within 1 wd, the 调休 Saturday 02-28.
        { by: "yangfan", action: { action: "fail", reason: "恢复测试失败" }, then: { stage: "fix", name: "修正备份策略", due: "2026-02-28" } },
        { at: "2026-02-28T02:00:00Z", by: "xufeng", action: { action: "approve", note: "已修正" }, then: { stage: "check", due: "2026-02-28" } },
        // No 复核: 002 has none.
        { by: "yangfan", action: { action: "confirm", note: "恢复测试通过" }, then: "completed" },
      ]);
      expect(detail!.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
        "approve:approved",
        "apply:approved",
        "check:failed",
        "fix:approved",
        "check:approved",
      ]);
      expect(await policyOf(t, id)).toMatchObject({
        kind: "backup",
        status: "delivered",
        unitId: "mz-rsj",
        deliveredAt: new Date("2026-02-27T02:00:00Z"),
        spec: { type: "数据库备份", copies: "异地", retentionMonths: 3, resourceId: vm.id },
      });
    });
  });

  test("002 第二十三条: a county unit's backup is refused at its 县级初审 (due on the 调休 Saturday 02-14); a 下属单位's passes its 主管单位初审, then the city's 审批 and 下发", async () => {
    await withApp("shaoguan", "2026-02-09T01:00:00Z", async (t) => {
      const vm = (await t.deliverApplication("lihua")).resources[2]!; // 梅县区教育局's, through its 县级初审
      t.clock.set("2026-02-13T02:00:00Z"); // Friday
      const refused = ok(await fileBackup(t, "lihua", vm.id), 201).id as number;
      // 1 wd from Friday 02-13: the 调休 Saturday 02-14.
      await expectAt(t, "lihua", refused, { stage: "county_review", name: "县级初审", due: "2026-02-14" });
      ok(await t.act("huangmin", refused, { action: "reject", reason: "该系统非重要信息系统，本地备份已满足要求" }));
      const detail = ok(await t.show("lihua", refused));
      expect(detail.status).toBe("rejected");
      expect(stagesPassed(detail)).toEqual(["county_review"]);
      expect(await t.db.select().from(resources).where(eq(resources.requestId, refused))).toEqual([]);

      // 梅州市教育考试院 (冯雨), a 下属单位 of 梅州市教育局 (宋涛), as `yunshen demo` loads it (demoSupervision).
      await importDirectory({ ctx: t.ctx(), input: { units: [...demoDirectory.units, ...demoSupervision.units], users: demoSupervision.users } });
      for (const u of demoSupervision.users) t.tokens[u.id] = (await createToken({ ctx: t.ctx(), input: { userId: u.id, expires: "3650d" } })).token;
      const form = coveredByPlan(sampleForm("shaoguan"));
      form.attachments.push(await t.attachment("fengyu", "security_pledge"));
      const applied = ok(await t.submit("fengyu", form), 201).id as number;
      await t.actInTurn(applied, [
        ["songtao", { action: "approve" }],
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve", note: "已下发" }],
        ["fengyu", { action: "confirm" }],
      ]);
      const [own] = await t.db.select().from(resources).where(eq(resources.requestId, applied)).orderBy(asc(resources.id));
      t.clock.set("2026-02-14T02:00:00Z"); // the 调休 Saturday
      const { id } = ok(await fileBackup(t, "fengyu", own!.id), 201);
      // 1 wd from Saturday 02-14: after 春节, 02-24.
      await expectAt(t, "fengyu", id, { stage: "supervisor_review", name: "主管单位初审", due: "2026-02-24" });
      const walked = await walk(t, "fengyu", id, [
        // 5 wd from Saturday 02-14: 02-24 … 02-27 and the 调休 Saturday 02-28.
        { by: "songtao", action: { action: "approve", note: "同意备份" }, then: { stage: "approve", due: "2026-02-28" } },
        // 3 wd from Tuesday 02-24: 02-25, 02-26, 02-27.
        { at: "2026-02-24T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "apply", due: "2026-02-27" } },
        { at: "2026-02-25T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: { stage: "check", due: "2026-02-25" } },
        { by: "fengyu", action: { action: "confirm" }, then: "completed" },
      ]);
      expect(stagesPassed(walked!)).toEqual(["supervisor_review", ...BACKUP_STAGES]);
      expect(await policyOf(t, id)).toMatchObject({ kind: "backup", status: "delivered", unitId: "mz-jyksy", spec: { resourceId: own!.id } });
    });
  });
});

describe("徽州 (001): 备份", () => {
  test("001 第十五条、附件1 (需进行数据备份的应单独列出备份资源需求): a separate backup request, reviewed in 5 wd and configured in 3, walked across 劳动节 2026 and its 调休 Saturday 05-09; the policy is in the ledger", async () => {
    await withApp("huizhou", "2026-04-27T01:00:00Z", async (t) => {
      const vm = (await t.deliverApplication("yangfan")).resources[2]!;
      t.clock.set("2026-04-28T02:00:00Z"); // Tuesday
      const { id } = ok(await fileBackup(t, "yangfan", vm.id), 201);
      // 5 wd from Tuesday 04-28: 04-29, 04-30, (劳动节 05-01 … 05-05), 05-06, 05-07, 05-08.
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-05-08" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Thursday 05-07: 05-08, 05-09 (调休), 05-11.
        { at: "2026-05-07T02:00:00Z", by: "chenjing", action: { action: "approve" }, then: { stage: "apply", name: "配置备份资源", due: "2026-05-11" } },
        // In effect on the 调休 Saturday, checked that day.
        { at: "2026-05-09T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: { stage: "check", due: "2026-05-09" } },
        { by: "yangfan", action: { action: "confirm" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(BACKUP_STAGES);
      expect(await policyOf(t, id)).toMatchObject({ kind: "backup", status: "delivered", deliveredAt: new Date("2026-05-09T02:00:00Z"), spec: { resourceId: vm.id } });
    });
  });
});

describe("巴中 (003)", () => {
  test("003 第二十三条: a backup application, 审核 in 5 wd and the provider's part in 3 (our reading), walked across 中秋 and 国庆 2026 (the 调休 Saturday 10-10 counts); the policy is billed from its delivery, not from a deployment (003 第四十三条 is the system's)", async () => {
    await withApp("bazhong", "2026-09-21T01:00:00Z", async (t) => {
      const vm = (await t.deliverApplication("yangfan")).resources[2]!;
      t.clock.set("2026-09-24T02:00:00Z"); // Thursday, the day before 中秋
      const { id } = ok(await fileBackup(t, "yangfan", vm.id), 201);
      // 5 wd from Thursday 09-24: (中秋 09-25 … 09-27), 09-28, 09-29, 09-30, (国庆 10-01 … 10-07), 10-08, 10-09.
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-10-09" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Wednesday 09-30: 10-08, 10-09, 10-10 (调休).
        { at: "2026-09-30T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "apply", name: "配合实施备份", due: "2026-10-10" } },
        { at: "2026-10-10T02:00:00Z", by: "linna", action: { action: "approve" }, then: { stage: "check", due: "2026-10-10" } },
        { by: "yangfan", action: { action: "confirm" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(BACKUP_STAGES);
      const policy = await policyOf(t, id);
      expect(policy).toMatchObject({ kind: "backup", status: "delivered", deliveredAt: new Date("2026-10-10T02:00:00Z"), billedFrom: new Date("2026-10-10T02:00:00Z") });
    });
  });

  test("003 第二十四条(一): 扩容 is refused until the provider has reported usage above 70%, then walked across 国庆 2026 stage by stage (巴中 keeps 梅州's times); the ledger has the new size from the day it was made", async () => {
    await withApp("bazhong", "2026-09-21T01:00:00Z", async (t) => {
      const [vm] = (await t.deliverApplication("yangfan")).resources; // 4 核 8G
      ok(await t.call("xufeng", "PUT", `/api/resources/${vm!.id}/instance`, { instanceId: "ins-walk" }));
      // Monday 09-28: memory peaks at 75%.
      const samples = Array.from({ length: 12 }, (_, h) => ({
        vm: "ins-walk",
        time: Math.floor(shanghaiInstant("2026-09-28", `${String(8 + h).padStart(2, "0")}:00`).getTime() / 1000),
        cpu: 30,
        mem: 75,
      }));
      ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": "walk-0928" }), 201);
      t.clock.set("2026-09-29T01:00:00Z"); // Tuesday
      const form = { direction: "up", resource: vm!.id, to: { memoryGb: 16 }, reason: "内存不足" };
      // As 003 says: the unit asks once the provider has told it; not before.
      const early = await adjustment(t, "yangfan", form);
      expect(early.status).toBe(422);
      expect(early.body.error.code).toBe("not_justified");
      expect(await expansionNotices(t.ctx(), PROFILES.bazhong.thresholds.expansionNoticeAbove)).toBe(1);
      t.clock.set("2026-09-29T02:00:00Z");
      const { id } = ok(await adjustment(t, "yangfan", form), 201);
      // 2 wd from Tuesday 09-29: 09-30, (国庆), 10-08.
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-10-08" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Wednesday 09-30: 10-08, 10-09, 10-10 (调休).
        { at: "2026-09-30T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "plan", name: "调整方案", due: "2026-10-10" } },
        // 2 wd from Friday 10-09: 10-10 (调休), 10-12.
        { at: "2026-10-09T02:00:00Z", by: "xufeng", action: { action: "approve", note: "10 月 14 日晚扩容内存" }, then: { stage: "confirm", due: "2026-10-12" } },
        // 3 wd from Monday 10-12: 10-13, 10-14, 10-15.
        { at: "2026-10-12T02:00:00Z", by: "yangfan", action: { action: "confirm" }, then: { stage: "adjust", due: "2026-10-15" } },
        // 2 wd from Wednesday 10-14: 10-15, 10-16.
        { at: "2026-10-14T14:00:00Z", by: "linna", action: { action: "approve" }, then: { stage: "verify", due: "2026-10-16" } },
        { at: "2026-10-16T02:00:00Z", by: "guojun", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["approve", "plan", "confirm", "adjust", "verify"]);
      const row = await ledgerRow(t, vm!.id);
      expect(row).toMatchObject({ status: "delivered", spec: { vcpu: 4, memoryGb: 16 }, changedAt: new Date("2026-10-14T14:00:00Z") });
      // Sized anew from the day of the change (Beijing time 10-14 22:00).
      const sizes = await t.db.select().from(resourceSizes).where(eq(resourceSizes.resourceId, vm!.id)).orderBy(asc(resourceSizes.fromDate));
      expect(sizes.map((s) => `${s.fromDate}:${(s.spec as { memoryGb: number }).memoryGb}`)).toEqual(["2026-09-21:8", "2026-10-14:16"]);
    });
  });

  test("003 第二十四条: a unit's 缩容 walked across 春节 2026 and both its 调休 Saturdays; the ledger has the smaller size", async () => {
    await withApp("bazhong", "2026-02-09T01:00:00Z", async (t) => {
      const [vm] = (await t.deliverApplication("yangfan")).resources;
      t.clock.set("2026-02-12T02:00:00Z"); // Thursday
      const { id } = ok(await adjustment(t, "yangfan", { direction: "down", resource: vm!.id, to: { vcpu: 2 }, reason: "业务量下降" }), 201);
      // 2 wd from Thursday 02-12: 02-13, 02-14 (调休).
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-02-14" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Friday 02-13: 02-14 (调休), (春节 02-15 … 02-23), 02-24, 02-25.
        { at: "2026-02-13T02:00:00Z", by: "chenjing", action: { action: "approve" }, then: { stage: "plan", due: "2026-02-25" } },
        // 2 wd from Saturday 02-14: 02-24, 02-25.
        { at: "2026-02-14T02:00:00Z", by: "xufeng", action: { action: "approve", note: "2 月 26 日调整" }, then: { stage: "confirm", due: "2026-02-25" } },
        // 3 wd from Tuesday 02-24: 02-25, 02-26, 02-27.
        { at: "2026-02-24T02:00:00Z", by: "yangfan", action: { action: "confirm" }, then: { stage: "adjust", due: "2026-02-27" } },
        // 2 wd from Friday 02-27: 02-28 (调休), 03-02.
        { at: "2026-02-27T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: { stage: "verify", due: "2026-03-02" } },
        { at: "2026-02-28T02:00:00Z", by: "guojun", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["approve", "plan", "confirm", "adjust", "verify"]);
      expect(await ledgerRow(t, vm!.id)).toMatchObject({ status: "delivered", spec: { vcpu: 2, memoryGb: 8 }, changedAt: new Date("2026-02-27T02:00:00Z") });
    });
  });

  test("001 第十五条、002 第十五条 as read for 巴中 (003 is silent): a 用途变更 reviewed within 5 working days and made within 3, across 清明 2026; the ledger has the new 用途", async () => {
    await withApp("bazhong", "2026-03-30T01:00:00Z", async (t) => {
      const [vm] = (await t.deliverApplication("yangfan")).resources;
      t.clock.set("2026-04-02T02:00:00Z"); // Thursday
      const { id } = ok(await purposeChange(t, "yangfan", vm!.id), 201);
      // 5 wd from Thursday 04-02: 04-03, (清明 04-04 … 04-06), 04-07, 04-08, 04-09, 04-10.
      await expectAt(t, "yangfan", id, { stage: "approve", name: "变更审核", due: "2026-04-10" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Friday 04-03: 04-07, 04-08, 04-09.
        { at: "2026-04-03T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "change", name: "实施变更", due: "2026-04-09" } },
        { at: "2026-04-07T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["approve", "change"]);
      expect(await ledgerRow(t, vm!.id)).toMatchObject({ spec: { purpose: "数据交换前置机", vcpu: 4 }, changedAt: new Date("2026-04-07T02:00:00Z") });
    });
  });

  test("003 第二十二条: a 服务退出 approved before 国庆 2026 runs its 3-month 过渡期 to 12-30, which nobody can end early; the joint purge, reclaim and check follow across 元旦 2027; the ledger has them revoked", async () => {
    await withApp("bazhong", "2026-09-21T01:00:00Z", async (t) => {
      t.setCalendar(new WorkCalendar([...builtinSchedules(), schedule2027]));
      const delivered = (await t.deliverApplication("yangfan")).resources;
      const gone = delivered.slice(0, 2).map((r) => r.id); // the two application servers
      t.clock.set("2026-09-29T02:00:00Z"); // Tuesday
      const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: gone, reason: "系统整合，停止使用" } }), 201);
      // 2 wd from Tuesday 09-29: 09-30, (国庆), 10-08.
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-10-08" });
      // Approved on 09-30: 3 calendar months, to 12-30.
      await walk(t, "yangfan", id, [
        { at: "2026-09-30T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "transition", name: "过渡期（系统下线与数据迁移备份）", due: "2026-12-30" } },
      ]);
      t.clock.set("2026-12-01T02:00:00Z");
      expect((await t.act("yangfan", id, { action: "confirm" })).status).toBe(403);
      t.clock.set("2026-12-30T15:59:59.000Z");
      await runDueTimers(t.ctx());
      await expectAt(t, "yangfan", id, { stage: "transition", due: "2026-12-30" });
      // It ends by itself at the end of 12-30: the purge opens on Thursday 12-31. 5 wd: (元旦 2027 01-01 … 01-03),
      // 01-04 … 01-08.
      t.clock.set("2026-12-30T16:00:00Z");
      await runDueTimers(t.ctx());
      let detail = await expectAt(t, "yangfan", id, { stage: "purge", name: "数据清除", due: "2027-01-08" });
      expect(detail.currentStage.tasks.map((x: { userId: string }) => x.userId).sort()).toEqual(["linna", "xufeng", "yangfan"]);
      detail = await walk(t, "yangfan", id, [
        // 共同做好数据清除: both sign; one is not enough.
        { at: "2027-01-04T02:00:00Z", by: "yangfan", action: { action: "confirm", note: "已导出并清除业务数据" }, then: { stage: "purge", due: "2027-01-08" } },
        // 3 wd from Monday 01-04: 01-05, 01-06, 01-07.
        { by: "xufeng", action: { action: "approve" }, then: { stage: "revoke", name: "资源回收", due: "2027-01-07" } },
        // 2 wd from Tuesday 01-05: 01-06, 01-07.
        { at: "2027-01-05T02:00:00Z", by: "linna", action: { action: "approve" }, then: { stage: "verify", due: "2027-01-07" } },
        { at: "2027-01-06T02:00:00Z", by: "guojun", action: { action: "approve" }, then: "completed" },
      ]);
      expect(detail!.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
        "approve:approved",
        "transition:elapsed",
        "purge:approved",
        "revoke:approved",
        "verify:approved",
      ]);
      // The ledger: the two revoked on the day of the reclaim; the database server and its backup policy stay.
      const ledger = await t.db.select().from(resources).where(inArray(resources.id, delivered.map((r) => r.id))).orderBy(asc(resources.id));
      expect(ledger.map((r) => `${r.kind}:${r.status}:${r.revokedAt?.toISOString() ?? "-"}`)).toEqual([
        "vm:revoked:2027-01-05T02:00:00.000Z",
        "vm:revoked:2027-01-05T02:00:00.000Z",
        "vm:delivered:-",
        "backup:delivered:-",
      ]);
    });
  });
});

describe("高创中心 (000)", () => {
  test("000 5.2 (数据备份服务), 7.2.1: a backup, 申请审核 in 5 wd then 开通 in 3 (our reading), walked across 国庆 2026; a failed check goes back to the provider; the policy is in the ledger", async () => {
    await withApp("gaochuang", "2026-09-21T01:00:00Z", async (t) => {
      const vm = (await t.deliverApplication("yangfan")).resources[2]!;
      t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, the last working day before 国庆
      const { id } = ok(await fileBackup(t, "yangfan", vm.id), 201);
      // 5 wd from 09-30: 10-08, 10-09, 10-10 (调休), 10-12, 10-13.
      await expectAt(t, "yangfan", id, { stage: "approve", name: "申请审核", due: "2026-10-13" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Saturday 10-10 (调休): 10-12, 10-13, 10-14.
        { at: "2026-10-10T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "apply", name: "开通备份服务", due: "2026-10-14" } },
        { at: "2026-10-12T02:00:00Z", by: "linna", action: { action: "approve" }, then: { stage: "check", due: "2026-10-12" } },
        { by: "yangfan", action: { action: "fail", reason: "备份文件无法恢复" }, then: { stage: "fix", name: "修正备份策略", due: "2026-10-13" } },
        { at: "2026-10-13T02:00:00Z", by: "linna", action: { action: "approve" }, then: { stage: "check", due: "2026-10-13" } },
        { by: "yangfan", action: { action: "confirm" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["approve", "apply", "check", "fix", "check"]);
      expect(await policyOf(t, id)).toMatchObject({ kind: "backup", status: "delivered", deliveredAt: new Date("2026-10-12T02:00:00Z"), spec: { resourceId: vm.id } });
    });
  });

  test("000 7.2.3.1: 扩容 decided on the supervisor's usage report (a report without words refused), walked across 劳动节 2026 and its 调休 Saturday 05-09; the ledger has the new size", async () => {
    await withApp("gaochuang", "2026-04-27T01:00:00Z", async (t) => {
      const [vm] = (await t.deliverApplication("yangfan")).resources;
      t.clock.set("2026-04-29T02:00:00Z"); // Wednesday
      const { id } = ok(await adjustment(t, "yangfan", { direction: "up", resource: vm!.id, to: { vcpu: 8 }, reason: "访问量增长" }), 201);
      // 2 wd from Wednesday 04-29: 04-30, (劳动节 05-01 … 05-05), 05-06.
      await expectAt(t, "yangfan", id, { stage: "usage_report", name: "云资源使用情况报告", due: "2026-05-06" });
      t.clock.set("2026-04-30T02:00:00Z");
      expect((await t.act("guojun", id, { action: "approve" })).body.error.code).toBe("note_required");
      const detail = await walk(t, "yangfan", id, [
        // 2 wd from Thursday 04-30: 05-06, 05-07.
        { by: "guojun", action: { action: "approve", note: "4 月 vCPU 日峰值多在 85% 以上" }, then: { stage: "approve", due: "2026-05-07" } },
        // 3 wd from Wednesday 05-06: 05-07, 05-08, 05-09 (调休).
        { at: "2026-05-06T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "plan", due: "2026-05-09" } },
        // 2 wd from Friday 05-08: 05-09 (调休), 05-11.
        { at: "2026-05-08T02:00:00Z", by: "xufeng", action: { action: "approve", note: "5 月 11 日扩容" }, then: { stage: "confirm", due: "2026-05-11" } },
        // 3 wd from Saturday 05-09: 05-11, 05-12, 05-13.
        { at: "2026-05-09T02:00:00Z", by: "yangfan", action: { action: "confirm" }, then: { stage: "adjust", due: "2026-05-13" } },
        // 2 wd from Monday 05-11: 05-12, 05-13.
        { at: "2026-05-11T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: { stage: "verify", due: "2026-05-13" } },
        { at: "2026-05-12T02:00:00Z", by: "guojun", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["usage_report", "approve", "plan", "confirm", "adjust", "verify"]);
      expect(await ledgerRow(t, vm!.id)).toMatchObject({ spec: { vcpu: 8, memoryGb: 8 }, changedAt: new Date("2026-05-11T02:00:00Z") });
    });
  });

  test("000 7.2.3.1: a unit's 缩容 rests on the supervisor's usage report too, walked across 国庆 2026; the ledger has the smaller size", async () => {
    await withApp("gaochuang", "2026-09-21T01:00:00Z", async (t) => {
      const [vm] = (await t.deliverApplication("yangfan")).resources;
      t.clock.set("2026-09-29T02:00:00Z"); // Tuesday
      const { id } = ok(await adjustment(t, "yangfan", { direction: "down", resource: vm!.id, to: { vcpu: 2 }, reason: "业务量下降" }), 201);
      // 2 wd from Tuesday 09-29: 09-30, (国庆), 10-08.
      await expectAt(t, "yangfan", id, { stage: "usage_report", due: "2026-10-08" });
      const detail = await walk(t, "yangfan", id, [
        // 2 wd from Wednesday 09-30: 10-08, 10-09.
        { at: "2026-09-30T02:00:00Z", by: "guojun", action: { action: "approve", note: "9 月 vCPU 峰值不足 20%" }, then: { stage: "approve", due: "2026-10-09" } },
        // 3 wd from Thursday 10-08: 10-09, 10-10 (调休), 10-12.
        { at: "2026-10-08T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "plan", due: "2026-10-12" } },
        // 2 wd from Friday 10-09: 10-10, 10-12.
        { at: "2026-10-09T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: { stage: "confirm", due: "2026-10-12" } },
        // 3 wd from Saturday 10-10: 10-12, 10-13, 10-14.
        { at: "2026-10-10T02:00:00Z", by: "yangfan", action: { action: "confirm" }, then: { stage: "adjust", due: "2026-10-14" } },
        // 2 wd from Tuesday 10-13: 10-14, 10-15.
        { at: "2026-10-13T02:00:00Z", by: "xufeng", action: { action: "approve" }, then: { stage: "verify", due: "2026-10-15" } },
        { at: "2026-10-14T02:00:00Z", by: "guojun", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["usage_report", "approve", "plan", "confirm", "adjust", "verify"]);
      expect(await ledgerRow(t, vm!.id)).toMatchObject({ spec: { vcpu: 2, memoryGb: 8 }, changedAt: new Date("2026-10-13T02:00:00Z") });
    });
  });

  test("001 第十五条、002 第十五条 as read for 高创中心 (000 is silent): a 用途变更 across 元旦 2026, made on its 调休 Sunday 01-04; the ledger has the new 用途", async () => {
    await withApp("gaochuang", "2025-12-29T01:00:00Z", async (t) => {
      const [vm] = (await t.deliverApplication("yangfan")).resources;
      t.clock.set("2025-12-30T02:00:00Z"); // Tuesday
      const { id } = ok(await purposeChange(t, "yangfan", vm!.id), 201);
      // 5 wd from Tuesday 12-30: 12-31, (元旦 01-01 … 01-03), 01-04 (调休 Sunday), 01-05, 01-06, 01-07.
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-01-07" });
      const detail = await walk(t, "yangfan", id, [
        // 3 wd from Wednesday 12-31: 01-04 (调休), 01-05, 01-06.
        { at: "2025-12-31T02:00:00Z", by: "chenjing", action: { action: "approve" }, then: { stage: "change", due: "2026-01-06" } },
        { at: "2026-01-04T02:00:00Z", by: "linna", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["approve", "change"]);
      expect(await ledgerRow(t, vm!.id)).toMatchObject({ spec: { purpose: "数据交换前置机" }, changedAt: new Date("2026-01-04T02:00:00Z") });
    });
  });

  test("000 7.2.3, 6.3: 撤销 walked across 春节 2026 and both its 调休 Saturdays: approved, the unit stops the application and backs up (no deadline), the provider hands the data over and both sign it, unit and provider purge together, the provider reclaims, the reviewer checks; every resource revoked", async () => {
    await withApp("gaochuang", "2026-02-09T01:00:00Z", async (t) => {
      const delivered = (await t.deliverApplication("yangfan")).resources;
      const ids = delivered.map((r) => r.id);
      t.clock.set("2026-02-11T02:00:00Z"); // Wednesday
      const { id } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: ids, reason: "系统迁出" } }), 201);
      // 2 wd from Wednesday 02-11: 02-12, 02-13.
      await expectAt(t, "yangfan", id, { stage: "approve", due: "2026-02-13" });
      const detail = await walk(t, "yangfan", id, [
        { at: "2026-02-13T02:00:00Z", by: "zhangwei", action: { action: "approve" }, then: { stage: "prepare", name: "应用停止与数据备份", due: null } },
        // Done on the 调休 Saturday 02-14: the provider's 移交 (000 6.3) is due 5 wd after 春节, 02-24 … 02-27 and the
        // 调休 Saturday 02-28.
        { at: "2026-02-14T02:00:00Z", by: "yangfan", action: { action: "confirm", note: "应用已停止，数据已备份" }, then: { stage: "handover", name: "数据和文档移交", due: "2026-02-28" } },
        // 2 wd from Tuesday 02-24 for both to sign the record: 02-25, 02-26.
        { at: "2026-02-24T02:00:00Z", by: "xufeng", action: { action: "approve", form: handoverRecord }, then: { stage: "handover_confirm", due: "2026-02-26" } },
        { by: "yangfan", action: { action: "confirm" }, then: { stage: "handover_confirm", due: "2026-02-26" } },
        // Signed on 02-24: the purge's 5 wd are 02-25 … 02-27, the 调休 Saturday 02-28 and Monday 03-02.
        { by: "xufeng", action: { action: "confirm" }, then: { stage: "purge", name: "数据消除", due: "2026-03-02" } },
        { by: "yangfan", action: { action: "confirm" }, then: { stage: "purge", due: "2026-03-02" } },
        // 3 wd from Tuesday 02-24: 02-25, 02-26, 02-27.
        { by: "xufeng", action: { action: "approve" }, then: { stage: "revoke", name: "资源回收", due: "2026-02-27" } },
        // 2 wd from Thursday 02-26: 02-27, 02-28 (调休).
        { at: "2026-02-26T02:00:00Z", by: "linna", action: { action: "approve" }, then: { stage: "verify", due: "2026-02-28" } },
        { at: "2026-02-28T02:00:00Z", by: "guojun", action: { action: "approve" }, then: "completed" },
      ]);
      expect(stagesPassed(detail!)).toEqual(["approve", "prepare", "handover", "handover_confirm", "purge", "revoke", "verify"]);
      const ledger = await t.db.select().from(resources).where(inArray(resources.id, ids)).orderBy(asc(resources.id));
      expect(ledger.map((r) => `${r.kind}:${r.status}:${r.revokedAt?.toISOString()}`)).toEqual([
        "vm:revoked:2026-02-26T02:00:00.000Z",
        "vm:revoked:2026-02-26T02:00:00.000Z",
        "vm:revoked:2026-02-26T02:00:00.000Z",
        "backup:revoked:2026-02-26T02:00:00.000Z",
      ]);
      const [row] = await t.db.select().from(requests).where(and(eq(requests.id, id), eq(requests.flow, "revocation")));
      expect(row).toMatchObject({ status: "completed", applicantId: "yangfan" });
    });
  });
});
