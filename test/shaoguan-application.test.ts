import { and, asc, eq } from "drizzle-orm";
import { afterEach, expect, test } from "vitest";
import { outbox, requests, stageRuns } from "../db/schema";
import { createTestApp, ok, rowCounts, sampleForm, type TestApp } from "./app-harness";

// 韶关 (002 第十九—二十三条, 第三十五条, 附件1, 附件2 十四): an application walked end to end through the API, around
// 国庆 2026 (10-01 … 10-07 off, Saturday 10-10 a working day).

let t: TestApp;
afterEach(() => t?.close());

/** The example, with the 安全责任书 (附件2) every 韶关 application carries, and the given data disks per VM row. */
async function form(user: string, disks?: number[]) {
  const f = sampleForm("shaoguan");
  f.attachments.push(await t.attachment(user, "security_pledge"));
  if (disks) disks.forEach((gb, i) => (f.vms[i].diskGb = gb));
  return f;
}

const current = async (id: number) => ok(await t.show("yangfan", id)).currentStage as { stage: string; name: string; deadlineAt: string | null };
const runsOf = async (id: number) =>
  (await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id)).orderBy(asc(stageRuns.id))).map((r) => `${r.stage}:${r.status}`);

test("002 附件1 数据盘 100GB起: a VM data disk of 1–99 GB is refused under its field, nothing but the refusal written; 0 (no data disk) and 100 GB pass", async () => {
  t = await createTestApp({ profile: "shaoguan", now: "2026-09-25T02:00:00Z" });
  const small = await form("yangfan", [100, 99]);
  const before = await rowCounts(t.db);
  const refused = await t.submit("yangfan", small);
  expect(refused.status).toBe(422);
  expect(refused.body.error.code).toBe("not_allowed");
  expect(refused.body.error.fields).toEqual({
    "form.vms.1.diskGb": ["数据盘 100GB 起（002 附件1 资源申请表）：「数据库服务器」的数据盘为 99GB；不需要数据盘请填 0"],
  });
  // Nothing written but the audited refusal itself.
  expect(await rowCounts(t.db)).toEqual({ ...before, audit_log: before.audit_log! + 1 });
  expect((await t.submit("yangfan", await form("yangfan", [1, 200]))).body.error.fields).toHaveProperty(["form.vms.0.diskGb"]);
  // 0: the VM asks for no data disk (the annex sets the smallest disk asked for, not that every VM has one).
  ok(await t.submit("yangfan", await form("yangfan", [0, 100])), 201);
  // 梅州 (004) has no such floor: the same small disk is the 梅州 unit's own choice.
  const mz = await createTestApp({ now: "2026-09-25T02:00:00Z" });
  try {
    const f = sampleForm();
    f.vms[1].diskGb = 50;
    f.plan.plannedTotals.storageGb = 250;
    ok(await mz.submit("yangfan", f), 201);
  } finally {
    await mz.close();
  }
});

test("002 第三十五条, 附件2 十四: the confirmed delivery does not complete the request; the system goes live only after passing the security test, retested after a fix, across 国庆", async () => {
  t = await createTestApp({ profile: "shaoguan", now: "2026-09-25T02:00:00Z" }); // Friday 10:00
  const { id } = ok(await t.submit("yangfan", await form("yangfan")), 201);
  // 002 第二十条: the decision within 5 wd: 09-28, 09-29, 09-30, then 国庆, 10-08, 10-09.
  expect(await current(id)).toMatchObject({ stage: "approve", deadlineAt: "2026-10-09T15:59:59.999Z" });
  t.clock.set("2026-09-29T02:00:00Z");
  ok(await t.act("zhangwei", id, { action: "approve" }));
  // 002 第二十条: delivered within 3 wd: 09-30, 10-08, 10-09.
  expect(await current(id)).toMatchObject({ stage: "provision", name: "资源下发", deadlineAt: "2026-10-09T15:59:59.999Z" });
  t.clock.set("2026-09-30T02:00:00Z");
  ok(await t.act("xufeng", id, { action: "approve", note: "已下发" }));
  // The unit confirms within 3 wd: 10-08, 10-09 and the 调休 Saturday 10-10.
  expect(await current(id)).toMatchObject({ stage: "confirm_delivery", deadlineAt: "2026-10-10T15:59:59.999Z" });

  t.clock.set("2026-10-08T02:00:00Z");
  const confirmed = ok(await t.act("yangfan", id, { action: "confirm" }));
  // Not complete: the unit deploys; 002 sets no time for it, so no deadline (yunshen's reading).
  expect(confirmed).toMatchObject({ status: "in_progress", currentStage: "deploy" });
  expect(await current(id)).toMatchObject({ stage: "deploy", deadlineAt: null });
  t.clock.set("2026-10-09T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "approve", note: "系统已部署" }));
  ok(await t.act("yangfan", id, { action: "approve" }));
  // The test (5 wd, yunshen's reading: the manager's time in 002 第二十条): the 调休 Saturday 10-10, 10-12 … 10-15.
  expect(await current(id)).toMatchObject({ stage: "security_test", name: "上线前安全检测", deadlineAt: "2026-10-15T15:59:59.999Z" });

  // The test fails: the unit fixes; the retest has 5 wd from the fix, across no holiday: 10-15 … 10-21.
  t.clock.set("2026-10-12T02:00:00Z");
  ok(await t.act("chenjing", id, { action: "fail", reason: "存在高危漏洞（弱口令）" }));
  expect(await current(id)).toMatchObject({ stage: "security_fix", deadlineAt: null });
  expect(ok(await t.show("yangfan", id)).status).toBe("in_progress");
  t.clock.set("2026-10-14T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm", note: "已整改" }));
  expect(await current(id)).toMatchObject({ stage: "security_test", deadlineAt: "2026-10-21T15:59:59.999Z" });
  t.clock.set("2026-10-16T02:00:00Z");
  ok(await t.act("chenjing", id, { action: "approve", note: "复测通过" }));

  // Only now does it go live; going live is reported to the manager and the provider.
  expect(await current(id)).toMatchObject({ stage: "go_live", deadlineAt: null });
  t.clock.set("2026-10-19T02:00:00Z");
  expect(ok(await t.act("yangfan", id, { action: "confirm", note: "已上线" })).status).toBe("completed");
  const reported = (await t.db.select().from(outbox).where(eq(outbox.kind, "report"))).filter(
    (r) => (r.payload as { title?: string }).title === "系统上线：已完成",
  );
  expect(reported.map((r) => r.userId)).toEqual(expect.arrayContaining(["zhangwei", "chenjing", "xufeng", "linna"]));
  expect(await runsOf(id)).toEqual([
    "approve:approved",
    "provision:approved",
    "confirm_delivery:approved",
    "deploy:approved",
    "request_security_test:approved",
    "security_test:failed",
    "security_fix:approved",
    "security_test:approved",
    "go_live:approved",
  ]);
  // The ledger dates the test passed and the go-live.
  const held = ok(await t.call("zhangwei", "GET", `/api/resources?request=${id}`)).items as Record<string, string | null>[];
  expect(held[0]).toMatchObject({
    deliveredAt: "2026-09-30T02:00:00.000Z",
    deployedAt: "2026-10-09T02:00:00.000Z",
    securityTestedAt: "2026-10-16T02:00:00.000Z",
    liveAt: "2026-10-19T02:00:00.000Z",
  });
  const [row] = await t.db.select({ status: requests.status }).from(requests).where(and(eq(requests.id, id)));
  expect(row!.status).toBe("completed");
});
