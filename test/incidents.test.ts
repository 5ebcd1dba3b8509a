import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, incidentReports, incidents, outbox } from "../db/schema";
import { createTestApp, ok, rowCounts, type TestApp } from "./app-harness";

// 故障与突发事件通报: 000 8.2; 001 第十九、二十九条; 002 第二十五、三十条; 003 第三十、三十九条 (梅州 cites 004 第三十九条).
// The demo directory: managers zhangwei, chenjing; reviewer guojun; providers xufeng, linna; lihua of 梅县区教育局
// (mx-jyj); hexin of 兴宁市公安局 (xn-gaj).

const fault = {
  kind: "fault",
  severity: "serious",
  title: "梅州节点存储集群故障",
  startedAt: "2026-09-29T09:40:00+08:00",
  description: "存储集群一个控制器宕机，部分云主机磁盘读写缓慢",
};

/** Who was told by messages whose dedupe key starts with `prefix`, sorted. */
async function toldBy(t: TestApp, prefix: string) {
  const rows = await t.db.select().from(outbox).where(eq(outbox.kind, "incident"));
  return [...new Set(rows.filter((r) => r.dedupeKey.startsWith(prefix)).map((r) => r.userId))].sort();
}

describe("梅州 (default profile)", () => {
  let t: TestApp;
  let resourceId = 0;
  let resourceName = "";
  beforeAll(async () => {
    t = await createTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September 2026, 10:00 in Shanghai
    const delivered = await t.deliverApplication("lihua");
    resourceId = delivered.resources[0]!.id;
    resourceName = delivered.resources[0]!.name;
  });
  afterAll(() => t?.close());

  test("004 第三十九条 / 000 8.2: the provider reports a fault on a ledger resource; the unit, managers, reviewer are told at once; 续报 and 处置结果 to the same people; the result closes it", async () => {
    const created = ok(await t.call("xufeng", "POST", "/api/incidents", { ...fault, affectedResources: [resourceId] }));
    expect(created).toMatchObject({ status: "open", statusText: "处置中", kindText: "故障", severityText: "较大", articles: ["004 第三十九条"] });
    // The resource's unit is affected without being named; no document sets a time for the report ("及时").
    expect(created.affectedUnits).toEqual([{ id: "mx-jyj", name: "梅州市梅县区教育局" }]);
    expect(created.affectedResources).toEqual([{ id: resourceId, name: resourceName }]);
    expect(created).toMatchObject({ reportDueBy: null, reportedLate: false, resultDueBy: null });
    expect(created.reports.map((r: { kind: string }) => r.kind)).toEqual(["initial"]);
    const everyone = ["chenjing", "guojun", "lihua", "linna", "zhangwei"];
    expect(await toldBy(t, `incident:${created.id}:`)).toEqual(everyone);
    const [first] = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, `incident:${created.id}:report:${created.reports[0].id}:lihua`));
    expect(JSON.stringify(first!.payload)).toContain("故障通报：梅州节点存储集群故障");
    expect(JSON.stringify(first!.payload)).toContain(resourceName);

    t.clock.set("2026-09-29T03:00:00Z");
    const progressed = ok(await t.call("linna", "POST", `/api/incidents/${created.id}/progress`, { text: "已切换至备用控制器，读写恢复中" }));
    expect(progressed.reports.map((r: { kindText: string }) => r.kindText)).toEqual(["首报", "续报"]);
    const progressId = progressed.reports[1].id;
    // linna wrote it, so xufeng is told in her place.
    expect(await toldBy(t, `incident:${created.id}:report:${progressId}:`)).toEqual(["chenjing", "guojun", "lihua", "xufeng", "zhangwei"]);

    const resolved = ok(await t.call("xufeng", "POST", `/api/incidents/${created.id}/result`, { text: "控制器已更换，业务全部恢复" }));
    expect(resolved).toMatchObject({ status: "resolved", statusText: "已处置", resolvedAt: "2026-09-29T03:00:00.000Z" });
    expect(await toldBy(t, `incident:${created.id}:report:${resolved.reports[2].id}:`)).toEqual(everyone);
    // Closed: neither a 续报 nor a second result.
    expect((await t.call("xufeng", "POST", `/api/incidents/${created.id}/progress`, { text: "补充" })).status).toBe(409);
    expect((await t.call("xufeng", "POST", `/api/incidents/${created.id}/result`, { text: "再次" })).status).toBe(409);
    const audited = await t.db.select({ action: auditLog.action, outcome: auditLog.outcome }).from(auditLog);
    for (const action of ["incident.report", "incident.progress", "incident.resolve"])
      expect(audited.filter((a) => a.action === action && a.outcome === "ok"), action).toHaveLength(1);
    expect(audited.filter((a) => a.action === "incident.progress" && a.outcome === "refused")).toHaveLength(1);
  });

  test("004 第三十九条: the affected unit sees the incident; another unit neither lists nor reads it; only the provider reports progress", async () => {
    const [row] = await t.db.select().from(incidents);
    expect(ok(await t.call("lihua", "GET", "/api/incidents")).incidents.map((i: { id: number }) => i.id)).toEqual([row!.id]);
    expect(ok(await t.call("guojun", "GET", `/api/incidents/${row!.id}`)).reports).toHaveLength(3);
    expect(ok(await t.call("hexin", "GET", "/api/incidents")).incidents).toEqual([]);
    expect((await t.call("hexin", "GET", `/api/incidents/${row!.id}`)).status).toBe(404);
    expect(ok(await t.call("zhangwei", "GET", "/api/incidents?status=open")).incidents).toEqual([]);
    const opened = ok(await t.call("zhangwei", "POST", "/api/incidents", { ...fault, kind: "emergency", affectedUnits: ["xn-gaj"] }));
    expect((await t.call("zhangwei", "POST", `/api/incidents/${opened.id}/progress`, { text: "x" })).status).toBe(403);
    expect((await t.call("lihua", "POST", `/api/incidents/${opened.id}/result`, { text: "x" })).status).toBe(403);
    // The reviewer and the security officer report nothing here.
    expect((await t.call("guojun", "POST", "/api/incidents", { ...fault, affectedUnits: ["xn-gaj"] })).status).toBe(403);
    // Each refusal of the wrong role is audited (invariant 4).
    const refused = await t.db.select().from(auditLog).where(eq(auditLog.outcome, "refused"));
    expect(refused.filter((a) => (a.details as { code: string }).code === "forbidden").map((a) => [a.action, a.actorId])).toEqual([
      ["incident.progress", "zhangwei"],
      ["incident.resolve", "lihua"],
      ["incident.report", "guojun"],
    ]);
  });

  test("004 第三十九条: a retried report with the same Idempotency-Key opens one incident and tells people once", async () => {
    const before = (await t.db.select().from(incidents)).length;
    const body = { ...fault, title: "负载均衡异常", affectedUnits: ["mz-rsj"] };
    const first = ok(await t.call("xufeng", "POST", "/api/incidents", body, { "idempotency-key": "lb-0929" }));
    const again = ok(await t.call("xufeng", "POST", "/api/incidents", body, { "idempotency-key": "lb-0929" }));
    expect(again.id).toBe(first.id);
    expect(await t.db.select().from(incidents)).toHaveLength(before + 1);
    expect(await toldBy(t, `incident:${first.id}:`)).toEqual(["chenjing", "guojun", "linna", "yangfan", "zhangwei"]);
    const reused = await t.call("xufeng", "POST", "/api/incidents", { ...body, title: "另一事件" }, { "idempotency-key": "lb-0929" });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("idempotency_key_reused");
  });

  test("004 第三十九条: bad or hostile input is refused in Chinese and writes nothing; a resource the ledger lacks or an unknown unit is refused (422, audited)", async () => {
    const before = await rowCounts(t.db);
    const cases: [unknown, number, string][] = [
      [{ ...fault, affectedUnits: ["mx-jyj"], title: "存储\u0000故障" }, 400, "U+0000"],
      [{ ...fault, affectedUnits: ["mx-jyj"], description: "控制器\u202E宕机" }, 400, "双向文本控制字符（U+202E）"],
      [{ ...fault, affectedUnits: ["mx-jyj"], severity: "huge" }, 400, "级别应为"],
      [{ ...fault, affectedUnits: ["mx-jyj"], startedAt: "2026-09-29 09:40" }, 400, "发生时间无效"],
      [{ ...fault, affectedUnits: ["mx-jyj"], startedAt: "2026-09-30T09:40:00+08:00" }, 400, "不能晚于现在"],
      [{ ...fault }, 400, "受影响的单位或资源"],
      [{ ...fault, affectedUnits: ["mx-jyj"], title: "" }, 400, "请填写事件名称"],
    ];
    for (const [body, status, words] of cases) {
      const res = await t.call("xufeng", "POST", "/api/incidents", body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(JSON.stringify(res.body)).toContain(words);
    }
    expect(await rowCounts(t.db)).toEqual(before);
    // A well-formed report naming what the ledger does not hold is a refusal: audited, nothing else written.
    const unknown = await t.call("xufeng", "POST", "/api/incidents", { ...fault, affectedResources: [999999] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.fields.affectedResources.join()).toContain("不在台账中");
    const noUnit = await t.call("xufeng", "POST", "/api/incidents", { ...fault, affectedUnits: ["nowhere"] });
    expect(noUnit.status).toBe(422);
    const after = await rowCounts(t.db);
    expect({ ...after, audit_log: after.audit_log! - 2 }).toEqual(before);
  });
});

describe("韶关", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "shaoguan", now: "2026-09-29T02:00:00Z" });
  });
  afterAll(() => t?.close());

  test("002 第二十五条: a unit reports a problem with its own system; the bureau (manager), the provider and the reviewer are told; it cannot report for another unit", async () => {
    const mine = ok(await t.call("hexin", "POST", "/api/incidents", { ...fault, title: "警务系统无法访问", severity: "general" }));
    expect(mine).toMatchObject({ affectedUnits: [{ id: "xn-gaj", name: "兴宁市公安局" }], reporterUnitId: "xn-gaj", articles: ["002 第二十五条", "002 第三十条"] });
    expect(await toldBy(t, `incident:${mine.id}:`)).toEqual(["chenjing", "guojun", "linna", "xufeng", "zhangwei"]);
    // 002 第三十条: the provider's result is told back to the 业务部门 that reported it.
    ok(await t.call("xufeng", "POST", `/api/incidents/${mine.id}/result`, { text: "安全组规则误删，已恢复" }));
    const [result] = await t.db.select().from(incidentReports).where(eq(incidentReports.kind, "result"));
    expect(await toldBy(t, `incident:${mine.id}:report:${result!.id}:`)).toContain("hexin");

    const other = await t.call("hexin", "POST", "/api/incidents", { ...fault, affectedUnits: ["mx-jyj"] });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toBe("使用单位只能报告本单位及本单位资源的情况");
    expect(await t.db.select().from(incidents)).toHaveLength(1);
  });
});

describe("巴中", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile: "bazhong", now: "2026-09-29T02:00:00Z" });
  });
  afterAll(() => t?.close());

  test("003 第三十条: the provider's first report must 初判故障处理责任单位; the card names it", async () => {
    const before = await rowCounts(t.db);
    const missing = await t.call("xufeng", "POST", "/api/incidents", { ...fault, affectedUnits: ["mx-jyj"] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields.responsibleParty.join()).toContain("003 第三十条：报告时须初判故障处理责任单位");
    expect(await rowCounts(t.db)).toEqual(before);
    const created = ok(await t.call("xufeng", "POST", "/api/incidents", { ...fault, affectedUnits: ["mx-jyj"], responsibleParty: "云服务商（存储运维组）" }));
    expect(created).toMatchObject({ responsibleParty: "云服务商（存储运维组）", articles: ["003 第三十条", "003 第三十九条"] });
    const [card] = await t.db.select().from(outbox).where(eq(outbox.dedupeKey, `incident:${created.id}:report:${created.reports[0].id}:lihua`));
    expect(JSON.stringify(card!.payload)).toContain("初判责任单位");
  });

  test("003 第三十九条: a 安全事件 is reported and resolved like a fault, told to the same people", async () => {
    const created = ok(await t.call("linna", "POST", "/api/incidents", { ...fault, kind: "security", severity: "major", title: "云主机遭暴力破解", affectedUnits: ["xn-gaj"], responsibleParty: "兴宁市公安局" }));
    expect(created.kindText).toBe("安全事件");
    const resolved = ok(await t.call("xufeng", "POST", `/api/incidents/${created.id}/result`, { text: "已封禁来源地址并重置口令" }));
    // The same people each time, the one reporting aside: linna reported first, xufeng the result.
    expect(await toldBy(t, `incident:${created.id}:report:${created.reports[0].id}:`)).toEqual(["chenjing", "guojun", "hexin", "xufeng", "zhangwei"]);
    expect(await toldBy(t, `incident:${created.id}:report:${resolved.reports[1].id}:`)).toEqual(["chenjing", "guojun", "hexin", "linna", "zhangwei"]);
  });
});

describe.each([
  ["huizhou", "001 第十九条 / 第二十九条: a 重大突发事件 is told to the 云管理机构 and the units at once; no time is set", ["001 第十九条", "001 第二十九条"]],
  ["gaochuang", "000 8.2: the provider 及时通报 the 监管部门 (reviewer); no time is set", ["000 8.2"]],
] as const)("%s", (profile, name, articles) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ profile, now: "2026-09-29T02:00:00Z" });
  });
  afterAll(() => t?.close());

  test(name, async () => {
    const created = ok(await t.call("xufeng", "POST", "/api/incidents", { ...fault, kind: "emergency", severity: "major", affectedUnits: ["mx-jyj", "xn-gaj"] }));
    expect(created).toMatchObject({ articles, reportDueBy: null, resultDueBy: null, responsibleParty: null });
    expect(await toldBy(t, `incident:${created.id}:`)).toEqual(["chenjing", "guojun", "hexin", "lihua", "linna", "zhangwei"]);
  });
});
