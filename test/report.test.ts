import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resources } from "../db/schema";
import { shanghaiInstant } from "../src/core/calendar";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// 月度报告: what each unit held, how it was used, what was asked for and finished, and which stages ran late.
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ now: "2026-11-02T01:00:00Z" }); // Monday
  // lihua's application: delivered 11-04; the county bureau's 1-wd stage was decided a day late.
  const { id } = ok(await t.submit("lihua", sampleForm()), 201);
  t.clock.set("2026-11-04T01:00:00Z");
  await t.actInTurn(id, [
    ["huangmin", { action: "approve" }],
    ["xufeng", { action: "approve", note: "配置合理" }],
    ["zhangwei", { action: "approve" }],
    ["linna", { action: "approve", note: "已开通" }],
  ]);
  const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id));
  ok(await t.call("xufeng", "PUT", `/api/resources/${vm!.id}/instance`, { instanceId: "ins-rep-01" }));
  // 16 low days in November: a low-load month.
  const samples = Array.from({ length: 16 }, (_, i) => `2026-11-${String(i + 5).padStart(2, "0")}`).flatMap((d) =>
    ["09", "12", "15"].map((h) => ({ vm: "ins-rep-01", time: Math.floor(shanghaiInstant(d, `${h}:00`).getTime() / 1000), cpu: 10, mem: 70 })),
  );
  ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": "nov" }), 201);
  const running = ok(await t.submit("yangfan", sampleForm()), 201); // opened, still running
  // The reviewer finds the provider's evaluation wanting: a finding at a provider stage.
  ok(await t.act("guojun", running.id, { action: "finding", kind: "rectification", text: "评估意见未说明依据" }));
  t.clock.set("2026-12-01T01:00:00Z");
});
afterAll(() => t?.close());

describe("monthly report", () => {
  test("the city sees every unit with resources, utilisation, low-load VMs, requests and late stages", async () => {
    const r = ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-11"));
    const edu = r.units.find((u: { unitId: string }) => u.unitId === "mx-jyj");
    // The example form: 2 × 4 核 8G + 1 × 8 核 32G, and a backup policy.
    expect(edu).toMatchObject({ resources: 4, vms: 3, vcpu: 16, memoryGb: 48, diskGb: 400, cpuAvg: 10, cpuPeak: 10, lowLoadVms: 1, requestsOpened: 1, requestsClosed: 0 });
    expect(r.units.find((u: { unitId: string }) => u.unitId === "mz-rsj")).toMatchObject({ resources: 0, requestsOpened: 1 });
    expect(r.lowLoadVms).toEqual([expect.objectContaining({ unitId: "mx-jyj", instanceId: "ins-rep-01", lowLoadDays: 16 })]);
    // The county pre-review opened Monday 11-02 with 1 working day; it was decided on Wednesday.
    expect(r.lateStages).toContainEqual(expect.objectContaining({ unitId: "mx-jyj", stage: "县级数据局初审", heldBy: ["黄敏"] }));
    expect(r.lateStages).toContainEqual(expect.objectContaining({ unitId: "mx-jyj", closedAt: null, heldBy: ["李华"] }));
    expect(r.total.requestsOpened).toBe(2);
    // The provider's evaluation and provision of lihua's application, both the same day; a finding on yangfan's.
    expect(r.provider).toEqual({ stagesClosed: 2, onTime: 2, late: 0, avgWorkdays: 0, reworked: 0, findings: 1, satisfaction: { rated: 0, satisfied: 0, basic: 0, dissatisfied: 0, satisfiedPercent: null, complaints: [] } });
  });

  test("from the 1st working day the managers get last month's report, once", async () => {
    const { sendMonthlyReport } = await import("../src/reports/monthly");
    const { auditLog, outbox } = await import("../db/schema");
    t.clock.set("2026-11-30T01:00:00Z");
    // Still November: October's is the one due, and nothing was held or asked for then: nothing is sent.
    expect(await sendMonthlyReport(t.ctx())).toBeNull();
    t.clock.set("2026-12-01T01:00:00Z");
    expect(await sendMonthlyReport(t.ctx())).toBe("2026-11");
    expect(await sendMonthlyReport(t.ctx())).toBeNull();
    const cards = (await t.db.select().from(outbox).where(eq(outbox.kind, "report"))).filter((c) => (c.payload as { title: string }).title === "2026-11 月度报告");
    expect(cards.map((c) => c.userId).sort()).toEqual(["chenjing", "zhangwei"]);
    const summary = (cards[0]!.payload as { summary: string }).summary;
    expect(summary).toContain("低负载虚拟机 1 台；新提交申请 2 个，办结 0 个；逾期环节 3 个");
    expect(summary).toContain("评估实施单位：办结环节 2 个（按期 2，逾期 0，平均 0 个工作日），返工 0 次，整改与警示 1 条");
    expect(await t.db.select().from(auditLog).where(eq(auditLog.action, "report.monthly_sent"))).toHaveLength(1);
  });

  test("a county bureau sees its county, an applicant their unit; CSV for Excel with a 合计 row", async () => {
    const county = ok(await t.call("huangmin", "GET", "/api/reports/monthly?month=2026-11"));
    expect(county.units.map((u: { unitId: string }) => u.unitId).sort()).toEqual(["mx-jyj", "mx-wjj"]);
    const own = ok(await t.call("yangfan", "GET", "/api/reports/monthly?month=2026-11"));
    expect(own.units.map((u: { unitId: string }) => u.unitId)).toEqual(["mz-rsj"]);
    const csv = await t.app.request("/api/reports/monthly?month=2026-11&format=csv", { headers: { authorization: `Bearer ${t.tokens.huangmin}` } });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const bytes = Buffer.from(await csv.arrayBuffer());
    // The byte order mark Excel needs to read UTF-8 (fetch's text() would hide it).
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString("utf8");
    expect(text.startsWith("单位编号,单位,资源数")).toBe(true);
    // Two late stages: the county pre-review, and the delivery confirmation still open at the month's end.
    expect(text.trimEnd().split("\r\n").at(-1)).toMatch(/^,合计,4,3,16,48,400,,,1,1,0,2$/);
    expect((await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-13")).status).toBe(400);
    expect((await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-11&format=csv&table=everything")).status).toBe(400);
  });

  test("the late stages with who held them, and the low-load VMs, as tables of their own", async () => {
    const table = async (name: string) => {
      const res = await t.app.request(`/api/reports/monthly?month=2026-11&format=csv&table=${name}`, { headers: { authorization: `Bearer ${t.tokens.huangmin}` } });
      expect(res.headers.get("content-disposition")).toContain(`yunshen-report-2026-11-${name}.csv`);
      return (await res.text()).replace(/^\uFEFF/, "").trimEnd().split("\r\n");
    };
    // The county pre-review: opened Monday 11-02 with 1 working day, decided on Wednesday 11-04; the backup check
    // due 11-04 still open.
    expect(await table("late")).toEqual([
      "编号,单位编号,单位,环节,期限,办结时间,办理人",
      "YS-2026-00001,mx-jyj,梅州市梅县区教育局,县级数据局初审,2026-11-03 23:59,2026-11-04 09:00,黄敏",
      "YS-2026-00001,mx-jyj,梅州市梅县区教育局,备份有效性核验,2026-11-04 23:59,未办结,李华",
    ]);
    expect(await table("lowload")).toEqual(["单位编号,单位,资源,云主机编号,低负载天数", "mx-jyj,梅州市梅县区教育局,YS-2026-00001-01,ins-rep-01,16"]);
  });
});
