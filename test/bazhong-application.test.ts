import { and, asc, eq } from "drizzle-orm";
import { afterEach, expect, test } from "vitest";
import { auditLog, stageRuns } from "../db/schema";
import { loadPriceTable, priceTableSchema } from "../src/billing/prices";
import { statementLine } from "../src/billing/statement";
import { builtinSchedules, shanghaiInstant, WorkCalendar } from "../src/core/calendar";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";
import { schedule2027 } from "./schedule-2027";

// 巴中 (003 第十五—二十条, 第四十三条): an application walked end to end through the API, around 国庆 2026
// (10-01 … 10-07 off, Saturday 10-10 a working day) and 春节 2027 (02-06 … 02-14 off, the test calendar's year).

let t: TestApp;
// Each app closed once: the statement test after the walks opens none, and closing the last one again would drop
// its database twice (PostgreSQL refuses).
const open = new Set<TestApp>();
afterEach(async () => {
  for (const app of open) await app.close();
  open.clear();
});

const PRICES = { version: "2026-v1", effectiveFrom: "2026-01-01", prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 }, backup: { instanceDay: 5 } } };

async function withPrices() {
  const manager = { ...t.ctx(), actor: { userId: "zhangwei", name: "张伟", unitId: "mz-sjj", roles: ["manager" as const] } };
  await loadPriceTable({ ctx: manager, input: PRICES });
}

const runsOf = async (id: number) =>
  (await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id)).orderBy(asc(stageRuns.id))).map((r) => r.stage);
const deadlineOf = async (id: number) => ok(await t.show("yangfan", id)).currentStage as { stage: string; deadlineAt: string };
const statement = async (month: string) => ok(await t.call("xufeng", "GET", `/api/billing/statements/${month}`));
const ledger = async (id: number) => ok(await t.call("zhangwei", "GET", `/api/resources?request=${id}`)).items as { billedFrom: string | null; deliveredAt: string; kind: string }[];

test("003 第四十三条, 第十八条: resources delivered before 国庆 are billed only from the day the system is deployed (the 调休 Saturday 10-10), not from the delivery", async () => {
  t = await createTestApp({ profile: "bazhong", now: "2026-09-25T02:00:00Z" }); // Friday 10:00
  open.add(t);
  await t.planConsented(); // 003 第十四条: within the year's consented plan
  await withPrices();
  const form = sampleForm(); // an existing system migrated (plan.kind "migration")
  form.attachments.push(await t.attachment("yangfan", "plan"));
  const { id } = ok(await t.submit("yangfan", form), 201);
  // 003 第十七条's 技术论证 (5 wd, yunshen's reading): 09-28, 09-29, 09-30, then 国庆, 10-08, 10-09.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "tech_review", deadlineAt: "2026-10-09T15:59:59.999Z" }));
  ok(await t.act("zhangwei", id, { action: "approve", note: "论证通过，配额 16 核" }));
  // Configured on Monday 09-28 (003 第十八条: 3 wd).
  t.clock.set("2026-09-28T02:00:00Z");
  ok(await t.act("xufeng", id, { action: "approve", note: "已配置" }));
  // 003 第十八条: deployed within 5 wd of the configuration: 09-29, 09-30, 10-08, 10-09 and the 调休 Saturday 10-10.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "deploy", deadlineAt: "2026-10-10T15:59:59.999Z" }));

  // Delivered but not deployed: in the ledger, not on any bill.
  const held = await ledger(id);
  expect(held.map((r) => r.kind)).toEqual(["vm", "vm", "vm", "backup"]);
  expect(held.every((r) => r.deliveredAt === "2026-09-28T02:00:00.000Z" && r.billedFrom === null)).toBe(true);
  expect((await statement("2026-09")).lines).toEqual([]);

  // Deployed on the 调休 Saturday 10-10: from that day on the resources are billed.
  t.clock.set("2026-10-10T03:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm", note: "系统已部署" }));
  expect((await ledger(id)).every((r) => r.billedFrom === "2026-10-10T03:00:00.000Z")).toBe(true);
  const [started] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, "resource.billing_started"), eq(auditLog.requestId, id)));
  expect(started!.details).toMatchObject({ basis: "003 第四十三条" });
  expect((await statement("2026-09")).lines).toEqual([]);
  const october = await statement("2026-10");
  // 10-10 … 10-31: 22 days, never the 12 days from the delivery (09-28 … 10-09).
  // 2 × (4 核 8G 100G) at 6.60 and 1 × (8 核 32G 200G) at 18.00 a day, and the backup policy at 5.00.
  expect(october.lines.map((l: { kind: string; days: number; amount: number }) => `${l.kind}:${l.days}:${l.amount}`)).toEqual([
    "vm:22:145.2",
    "vm:22:145.2",
    "vm:22:396",
    "backup:22:110",
  ]);
  expect(october.lines.every((l: { flags: string[] }) => l.flags.includes("new"))).toBe(true);

  // 003 第十九条: tests and the risk report within 1 month of the deployment: 11-10.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "test_report", deadlineAt: "2026-11-10T15:59:59.999Z" }));
  t.clock.set("2026-10-20T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm", note: "压力测试、内部测试和安全风险预评估报告已提交" }));
  ok(await t.act("zhangwei", id, { action: "approve" }));
  // 003 第二十条: an existing system is cut over after the reports are approved.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "cutover" }));
  await t.recordSecurityAssessments("yangfan"); // 003 第三十三条: 等保测评 and 密评 before the cutover
  expect(ok(await t.act("yangfan", id, { action: "confirm", note: "已割接" })).status).toBe("completed");
  expect(await runsOf(id)).toEqual(["tech_review", "provision", "deploy", "test_report", "report_review", "cutover"]);
});

test("003 第二十条: a new system (新建) is not cut over; it goes live once its reports are approved, deployed and billed across 春节 2027", async () => {
  t = await createTestApp({ profile: "bazhong", now: "2027-02-01T02:00:00Z" }); // Monday 10:00
  open.add(t);
  await t.planConsented(); // 003 第十四条: within the year's consented plan
  t.setCalendar(new WorkCalendar([...builtinSchedules(), schedule2027]));
  await withPrices();
  const form = { ...sampleForm(), plan: { ...sampleForm().plan, kind: "new" } };
  // 003 第十六条: a new system brings its 建设依据.
  form.attachments.push(await t.attachment("yangfan", "project_approval"));
  const { id } = ok(await t.submit("yangfan", form), 201);
  ok(await t.act("zhangwei", id, { action: "approve", note: "论证通过" }));
  // Configured on Friday 02-05, the last working day before 春节 (02-06 … 02-14).
  t.clock.set("2027-02-05T02:00:00Z");
  ok(await t.act("xufeng", id, { action: "approve" }));
  // 5 wd after 春节: 02-15 … 02-19.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "deploy", deadlineAt: "2027-02-19T15:59:59.999Z" }));
  expect((await statement("2027-02")).lines).toEqual([]);
  // Deployed on Thursday 02-18: February bills 02-18 … 02-28, 11 days (not the 24 from 02-05).
  t.clock.set("2027-02-18T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm" }));
  expect((await statement("2027-02")).lines.map((l: { days: number }) => l.days)).toEqual([11, 11, 11, 11]);
  // 1 month from 02-18: 03-18.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "test_report", deadlineAt: "2027-03-18T15:59:59.999Z" }));
  t.clock.set("2027-03-01T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm" }));
  ok(await t.act("zhangwei", id, { action: "approve" }));
  // No cutover: 上线 instead, 10 wd (yunshen's reading; 003 sets no time): 03-02 … 03-15.
  expect(await deadlineOf(id)).toEqual(expect.objectContaining({ stage: "go_live", deadlineAt: "2027-03-15T15:59:59.999Z" }));
  await t.recordSecurityAssessments("yangfan"); // 003 第三十三条: 等保测评 and 密评 before go-live
  expect(ok(await t.act("yangfan", id, { action: "confirm", note: "已上线" })).status).toBe("completed");
  expect(await runsOf(id)).toEqual(["tech_review", "provision", "deploy", "test_report", "report_review", "go_live"]);
  expect((await ledger(id)).every((r) => r.billedFrom === "2027-02-18T02:00:00.000Z")).toBe(true);
});

test("003 第四十三条: a resource not yet deployed bills nothing; once deployed, from that day (the statement's rule)", () => {
  const vm = { id: 1, name: "YS-2026-00001-01", unitId: "bz-u", system: "系统", kind: "vm", deliveredAt: shanghaiInstant("2026-11-10", "10:00"), revokedAt: null };
  const size = { resourceId: 1, fromDate: "2026-11-10", spec: { vcpu: 4, memoryGb: 8, diskGb: 100 } };
  const table = priceTableSchema.parse({ ...PRICES, prices: { vm: PRICES.prices.vm } });
  expect(statementLine("2026-11", { ...vm, billedFrom: null }, [size], [table])).toBeNull();
  expect(statementLine("2026-11", { ...vm, billedFrom: shanghaiInstant("2026-11-20", "15:00") }, [size], [table])).toMatchObject({ days: 11, amount: 72.6, flags: ["new"] });
  // 004 第四十三条 (梅州 and the rest): from the delivery.
  expect(statementLine("2026-11", vm, [size], [table])).toMatchObject({ days: 21 });
});
