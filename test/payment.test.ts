import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog } from "../db/schema";
import { loadPriceTable } from "../src/billing/prices";
import { importDirectory } from "../src/directory/import";
import { createTestApp, ok, rowCounts, type TestApp } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 费用支付 (004 第四十七条) and who pays it (004 第四十二条), over statements signed by the three parties.

const MANAGER = { userId: "zhangwei", name: "张伟", unitId: "mz-sjj", roles: ["manager" as const] };

/** A county unit's (梅县区教育局, lihua) and a city unit's (梅州市人社局, yangfan) resources, delivered 2026-08-03. */
async function withResources(t: TestApp) {
  await loadPriceTable({ ctx: { ...t.ctx(), actor: MANAGER }, input: { version: "v1", effectiveFrom: "2026-01-01", prices: { vm: { vcpuDay: 0.37, memoryGbDay: 0.11 }, backup: { instanceDay: 1.03 } } } });
  await t.deliverApplication("lihua");
  await t.deliverApplication("yangfan");
}

/** The month's statement drafted by the provider and walked through every billing stage to the three signatures. */
async function signMonth(t: TestApp, month: string) {
  const r = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "billing", form: { month } }), 201);
  await t.actInTurn(r.id, [
    ["xufeng", { action: "approve" }], // export
    ["guojun", { action: "approve" }], // check
    ["guojun", { action: "approve" }], // submit
    ["zhangwei", { action: "approve" }], // approve
    ["zhangwei", { action: "approve" }], // sign ×3
    ["guojun", { action: "approve" }],
    ["xufeng", { action: "approve" }],
  ]);
  expect(ok(await t.show("zhangwei", r.id)).status).toBe("completed");
}

const fen = (n: number) => Math.round(n * 100);

describe("费用支付", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ now: "2026-08-03T01:00:00Z" }); // Monday
    await withResources(t);
    t.clock.set("2026-09-01T01:00:00Z");
    await signMonth(t, "2026-08");
    t.clock.set("2026-09-29T01:00:00Z"); // Tuesday 09:00, two days before 国庆
  });
  afterAll(() => t?.close());

  const start = (user: string, form: unknown) => t.call(user, "POST", "/api/billing/payments", form);
  // Nothing written but the refusal's own audit entry.
  const written = async () => {
    const { audit_log: _, ...rest } = await rowCounts(t.db);
    return rest;
  };

  test("004 第四十七条: bad input is refused with a clear error and writes nothing (NUL, month 2026-13, a reversed range)", async () => {
    const before = await written();
    const nul = await start("zhangwei", { from: "2026-08\u0000", to: "2026-08" });
    expect(nul.status).toBe(400);
    expect(JSON.stringify(nul.body.error)).toContain("U+0000");
    const month13 = await start("zhangwei", { from: "2026-08", to: "2026-13" });
    expect(month13.status).toBe(400);
    expect(month13.body.error.fields["to"]).toEqual(["应为月份 YYYY-MM"]);
    const reversed = await start("zhangwei", { from: "2026-09", to: "2026-08" });
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.fields["to"]).toEqual(["结束月份不能早于起始月份"]);
    const extra = await start("zhangwei", { from: "2026-08", to: "2026-08", total: 1 });
    expect(extra.status).toBe(400);
    expect(await written()).toEqual(before);
  });

  test("004 第四十七条: only the manager starts a payment", async () => {
    const before = await written();
    for (const user of ["xufeng", "guojun", "yangfan"]) {
      const refused = await start(user, { from: "2026-08", to: "2026-08" });
      expect(refused.status, user).toBe(403);
      expect(refused.body.error.message).toBe("费用支付流程由云资源统筹管理单位发起（004 第四十七条）");
    }
    expect(await written()).toEqual(before);
  });

  test("004 第四十七条: a period with a month whose statement is not signed is refused, naming the month", async () => {
    const before = await written();
    const refused = await start("zhangwei", { from: "2026-07", to: "2026-09" });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("statement_unsigned");
    expect(refused.body.error.message).toContain("2026-07、2026-09");
    expect(refused.body.error.message).not.toContain("2026-08");
    expect(await written()).toEqual(before);
  });

  test("004 第四十七条: signed months go provider + reviewer 会签 → manager 发起报账 with its 报账单号 → paid; an overlapping period is refused", async () => {
    const statement = ok(await t.call("guojun", "GET", "/api/billing/statements/2026-08"));
    expect(statement.signoff.status).toBe("completed");
    const started = ok(await start("zhangwei", { from: "2026-08", to: "2026-08" }), 201);
    expect(started).toMatchObject({ status: "in_progress", currentStage: "confirm" });
    let detail = ok(await t.show("xufeng", started.id));
    expect(detail.title).toBe("2026-08 云资源费用支付");
    // The totals are the signed statement's own.
    expect(detail.summary).toContainEqual({ label: "各月金额", value: `2026-08 ${statement.total.toFixed(2)} 元` });
    expect(detail.summary).toContainEqual({ label: "合计", value: `${statement.total.toFixed(2)} 元` });
    // Opened Tuesday 09-29: 5 working days are 09-30, then (国庆 10-01..07) 10-08, 10-09, the 调休 Saturday 10-10, 10-12.
    expect(detail.currentStage).toMatchObject({ stage: "confirm", mode: "all", deadlineAt: "2026-10-12T15:59:59.999Z" });
    expect(detail.currentStage.tasks.map((x: { party: string }) => x.party).sort()).toEqual(["provider", "provider", "reviewer"]);

    // A month already in a payment is refused, naming the payment; a second identical one too.
    const before = await written();
    for (const form of [{ from: "2026-08", to: "2026-08" }, { from: "2026-06", to: "2026-10" }]) {
      const overlap = await start("zhangwei", form);
      expect(overlap.status).toBe(409);
      expect(overlap.body.error).toMatchObject({ code: "period_overlaps" });
      expect(overlap.body.error.message).toContain(started.code);
    }
    expect(await written()).toEqual(before);

    // 会签: the provider's confirmation alone does not end the stage.
    ok(await t.act("xufeng", started.id, { action: "approve", note: "清单无误" }));
    expect(ok(await t.show("zhangwei", started.id)).currentStage.stage).toBe("confirm");
    ok(await t.act("guojun", started.id, { action: "approve" }));
    detail = ok(await t.show("zhangwei", started.id));
    expect(detail.currentStage).toMatchObject({ stage: "reimburse", name: "发起报账支付" });
    expect(detail.currentStage.tasks.map((x: { userId: string }) => x.userId)).toEqual(["zhangwei"]);
    // The other manager holds no task here: the one who started it records the 报账.
    expect((await t.act("chenjing", started.id, { action: "approve", note: "BZ-1" })).status).toBe(403);

    // 报账单号 required.
    const bare = await t.act("zhangwei", started.id, { action: "approve" });
    expect(bare.status).toBe(422);
    expect(bare.body.error).toMatchObject({ code: "note_required", message: "发起报账须填写报账单号" });
    const tooLong = await t.act("zhangwei", started.id, { action: "approve", note: "B".repeat(65) });
    expect(tooLong.status).toBe(400);
    expect(ok(await t.show("zhangwei", started.id)).status).toBe("in_progress");
    ok(await t.act("zhangwei", started.id, { action: "approve", note: "BZ-2026-0815" }));
    expect(ok(await t.show("zhangwei", started.id)).status).toBe("completed");

    const [paid] = await t.db.select().from(auditLog).where(eq(auditLog.action, "payment.paid"));
    expect(paid!.details).toMatchObject({ from: "2026-08", to: "2026-08", months: ["2026-08"], total: statement.total, reference: "BZ-2026-0815" });
    const list = ok(await t.call("guojun", "GET", "/api/billing/payments"));
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ code: started.code, status: "completed", statusName: "已支付", total: statement.total, paid: { reference: "BZ-2026-0815" } });
    expect((await t.call("yangfan", "GET", "/api/billing/payments")).status).toBe(403);
    // Paid is paid: the month cannot be paid again.
    expect((await start("zhangwei", { from: "2026-08", to: "2026-08" })).status).toBe(409);
  });
});

describe("资金来源", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ now: "2026-08-03T01:00:00Z" });
    await withResources(t);
    t.clock.set("2026-09-01T01:00:00Z");
    await signMonth(t, "2026-08");
  });
  afterAll(() => t?.close());

  test("004 第四十二条: a county unit's costs are its county's finance's, a city unit's the city's; the split sums to the statement's total to the cent", async () => {
    const s = ok(await t.call("zhangwei", "GET", "/api/billing/statements/2026-08"));
    const county = s.units.find((u: { unitId: string }) => u.unitId === "mx-jyj");
    const city = s.units.find((u: { unitId: string }) => u.unitId === "mz-rsj");
    expect(s.funding).toEqual([
      { source: "city", level: "city", name: "市级财政", amount: city.amount, unitIds: ["mz-rsj"] },
      { source: "county:mx-sjj", level: "county", name: "县（市、区）级财政（梅州市梅县区政务服务数据管理局）", amount: county.amount, unitIds: ["mx-jyj"] },
    ]);
    // Prices with odd fen: the shares still add up to the total exactly.
    expect(s.total % 1).not.toBe(0);
    expect(s.funding.reduce((sum: number, f: { amount: number }) => sum + fen(f.amount), 0)).toBe(fen(s.total));

    // On 附件13 (printable), the CSV, the portal's statement page and the monthly report.
    const print = await t.app.request("/api/billing/statements/2026-08/print", { headers: { authorization: `Bearer ${t.tokens.zhangwei}` } });
    const html = await print.text();
    expect(html).toContain(`<td>县（市、区）级财政（梅州市梅县区政务服务数据管理局）</td><td style="text-align:right">${county.amount.toFixed(2)}</td>`);
    expect(html).toContain(`<td>市级财政</td><td style="text-align:right">${city.amount.toFixed(2)}</td>`);
    const csv = await (await t.app.request("/api/billing/statements/2026-08?format=csv", { headers: { authorization: `Bearer ${t.tokens.guojun}` } })).text();
    expect(csv.trimEnd().split("\r\n").slice(-2)).toEqual([`资金来源：市级财政,mz-rsj,,,,${city.amount.toFixed(2)},,,`, `资金来源：县（市、区）级财政（梅州市梅县区政务服务数据管理局）,mx-jyj,,,,${county.amount.toFixed(2)},,,`]);
    const manager = await t.signedIn("zhangwei");
    const page = await manager.get("/billing/2026-08");
    expect(page.status).toBe(200);
    expect(page.html).toContain("资金来源（004 第四十二条）");
    expect(page.html).toContain("县（市、区）级财政（梅州市梅县区政务服务数据管理局）");
    const report = ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-08"));
    expect(report.funding).toMatchObject({ source: "signoff", signed: true, total: s.total, split: s.funding });
    expect((await manager.get("/reports/monthly?month=2026-08")).html).toContain(`县（市、区）级财政（梅州市梅县区政务服务数据管理局）</td><td class="ys-num">${county.amount.toFixed(2)}`);
    // A county bureau's report has no statement to split.
    expect(ok(await t.call("huangmin", "GET", "/api/reports/monthly?month=2026-08")).funding).toBeNull();

    // 省级 only when the directory says so; a city unit cannot be put on a county's finance.
    const admin = { ...t.ctx(), actor: { userId: "zhoumin", name: "周敏", unitId: "mz-sjj", roles: ["admin" as const] } };
    await expect(importDirectory({ ctx: admin, input: { units: [{ id: "mz-rsj", funding: "county" }], users: [] } })).rejects.toMatchObject({
      status: 400,
      fields: { "units[0].funding": ["只有县级单位及其下属单位可由县（市、区）级财政支付"] },
    });
    await importDirectory({ ctx: admin, input: { units: [{ id: "mz-rsj", funding: "province" }], users: [] } });
    const provincial = ok(await t.call("zhangwei", "GET", "/api/billing/statements/2026-08"));
    expect(provincial.funding.map((f: { name: string; amount: number }) => [f.name, f.amount])).toEqual([
      ["省级财政", city.amount],
      ["县（市、区）级财政（梅州市梅县区政务服务数据管理局）", county.amount],
    ]);
    await importDirectory({ ctx: admin, input: { units: [{ id: "mz-rsj", funding: null }], users: [] } });
  });

  test("004 第四十七条: the manager starts a payment from the billing page; the summary shows the split; the provider confirms from the request page", async () => {
    const manager = await t.signedIn("zhangwei");
    const billing = await manager.get("/billing/2026-08");
    expect(billing.html).toContain('action="/billing/payments"');
    // A month not signed: refused on a page of its own, nothing started.
    const refused = await manager.post("/billing/payments", { from: "2026-08", to: "2026-09" });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("2026-09");
    const started = await manager.post("/billing/payments", { from: "2026-08", to: "2026-08" });
    expect(started.status).toBe(303);
    const code = started.location!.replace("/requests/", "");
    const request = await manager.get(started.location!);
    expect(request.html).toContain("资金来源");
    expect(request.html).toContain("县（市、区）级财政（梅州市梅县区政务服务数据管理局）");
    // Not for a provider to start; the provider confirms from the request page.
    const provider = await t.signedIn("xufeng");
    expect((await provider.get("/billing/payments")).html).not.toContain('action="/billing/payments"');
    const page = await provider.get(`/requests/${code}`);
    expect(page.html).toContain("确认");
    const runId = /name="stageRunId" value="(\d+)"/.exec(page.html)![1]!;
    const confirmed = await provider.post(`/requests/${code}/actions`, { action: "approve", stageRunId: runId, note: "" });
    expect(confirmed.status).toBe(303);
    expect((await manager.get(`/billing/2026-08`)).html).toContain(code);
    expect((await manager.get("/billing/payments")).html).toContain(code);
  });
});
