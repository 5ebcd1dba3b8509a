import { eq } from "drizzle-orm";
import { describe, expect, test } from "vitest";
import { resources } from "../db/schema";
import { shanghaiInstant } from "../src/core/calendar";
import { priceTableSchema, tableOn, type PriceTable } from "../src/billing/prices";
import { statementFor, statementLine, type BillableResource, type SizeFrom } from "../src/billing/statement";

// 004 第四十三条: usage counted per day, at the size and the price of that day.
const v1: PriceTable = priceTableSchema.parse({
  version: "2026-v1",
  effectiveFrom: "2026-01-01",
  prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 }, backup: { instanceDay: 5 } },
});
const v2: PriceTable = priceTableSchema.parse({ version: "2026-v2", effectiveFrom: "2026-11-16", prices: { vm: { vcpuDay: 1, memoryGbDay: 0.3, diskGbDay: 0.01 } } });

const vm = (over: Partial<BillableResource> = {}): BillableResource => ({
  id: 1,
  name: "YS-2026-00001-01",
  unitId: "mx-jyj",
  system: "资助系统",
  kind: "vm",
  deliveredAt: shanghaiInstant("2026-11-10", "10:00"),
  revokedAt: null,
  ...over,
});
const small: SizeFrom = { resourceId: 1, fromDate: "2026-11-10", spec: { vcpu: 4, memoryGb: 8, diskGb: 100 } }; // 6.60 a day
const large: SizeFrom = { resourceId: 1, fromDate: "2026-11-20", spec: { vcpu: 8, memoryGb: 8, diskGb: 100 } }; // 9.80 a day

describe("monthly statement", () => {
  test("delivered mid-month: billed from the day of delivery", () => {
    const line = statementLine("2026-11", vm(), [small], [v1])!;
    expect(line).toMatchObject({ days: 21, amount: 138.6, flags: ["new"] });
  });

  test("a mid-month change is counted to the day, in two segments", () => {
    const line = statementLine("2026-11", vm(), [small, large], [v1])!;
    expect(line.segments.map((s) => `${s.from}..${s.to}×${s.dayPrice}`)).toEqual(["2026-11-10..2026-11-19×6.6", "2026-11-20..2026-11-30×9.8"]);
    expect(line).toMatchObject({ days: 21, amount: 66 + 107.8, flags: ["new", "adjusted"] });
  });

  test("revoked mid-month: billed up to the day before revocation", () => {
    const line = statementLine("2026-11", vm({ revokedAt: shanghaiInstant("2026-11-25", "15:00") }), [small, large], [v1])!;
    expect(line).toMatchObject({ days: 15, amount: 66 + 49, flags: ["new", "adjusted", "revoked"] });
    expect(statementLine("2026-12", vm({ revokedAt: shanghaiInstant("2026-11-25", "15:00") }), [small], [v1])).toBeNull();
  });

  test("a price table taking effect mid-month applies from its first day", () => {
    const line = statementLine("2026-11", vm(), [small], [v1, v2])!;
    expect(line.segments.map((s) => `${s.version}:${s.days}×${s.dayPrice}`)).toEqual(["2026-v1:6×6.6", "2026-v2:15×7.4"]);
    expect(line.amount).toBe(6 * 6.6 + 15 * 7.4);
    expect(tableOn([v1, v2], "2026-11-15")?.version).toBe("2026-v1");
    expect(tableOn([v1, v2], "2025-12-31")).toBeNull();
  });

  test("a whole month of a backup policy, an unpriced kind flagged, totals per unit to the fen", () => {
    const backup = vm({ id: 2, kind: "backup", deliveredAt: shanghaiInstant("2026-10-01") });
    const bigdata = vm({ id: 3, kind: "paas_bigdata", unitId: "mz-rsj" });
    const s = statementFor("2026-11", [vm(), backup, bigdata], [small], [v1]);
    expect(s.lines.find((l) => l.resourceId === 2)).toMatchObject({ days: 30, amount: 150, flags: ["backup"] });
    expect(s.lines.find((l) => l.resourceId === 3)).toMatchObject({ amount: 0, flags: ["new", "unpriced"] });
    expect(s.units).toEqual([
      { unitId: "mx-jyj", amount: 288.6 },
      { unitId: "mz-rsj", amount: 0 },
    ]);
    expect(s.total).toBe(288.6);
  });

  test("billed dates the monitoring contradicts are flagged: running before delivery, or after the day of revocation", () => {
    const revoked = vm({ revokedAt: shanghaiInstant("2026-11-25", "15:00") });
    expect(statementLine("2026-11", revoked, [small], [v1], { first: "2026-11-10", last: "2026-11-25" })).toMatchObject({ flags: ["new", "revoked"], mismatch: [] });
    const early = statementLine("2026-11", revoked, [small], [v1], { first: "2026-11-09", last: "2026-11-26" })!;
    expect(early.flags).toEqual(["new", "revoked", "dates"]);
    expect(early.mismatch).toEqual(["2026-11-09 起已有运行数据，早于交付日期 2026-11-10", "撤销日期 2026-11-25 后仍有运行数据（至 2026-11-26），资源可能未回收"]);
    // What is billed does not change: the reviewer decides what the dates mean.
    expect(early.amount).toBe(statementLine("2026-11", revoked, [small], [v1])!.amount);
  });

  test("a VM revoked in an earlier month that still runs is on the statement, with nothing billed", () => {
    const revoked = vm({ revokedAt: shanghaiInstant("2026-11-25", "15:00") });
    expect(statementLine("2026-12", revoked, [small], [v1], { first: "2026-12-02", last: "2026-12-05" })).toEqual({
      resourceId: 1,
      name: "YS-2026-00001-01",
      unitId: "mx-jyj",
      system: "资助系统",
      kind: "vm",
      days: 0,
      amount: 0,
      segments: [],
      flags: ["dates"],
      mismatch: ["撤销日期 2026-11-25 后仍有运行数据（至 2026-12-05），资源可能未回收"],
    });
    // Revoked on the 1st and still running: nothing billed in the month, flagged as revoked in it.
    const onTheFirst = vm({ deliveredAt: shanghaiInstant("2026-10-10"), revokedAt: shanghaiInstant("2026-11-01", "09:00") });
    expect(statementLine("2026-11", onTheFirst, [small], [v1], { first: "2026-11-01", last: "2026-11-03" })).toMatchObject({ days: 0, flags: ["revoked", "dates"] });
    expect(statementLine("2026-11", onTheFirst, [small], [v1], { first: "2026-11-01", last: "2026-11-01" })).toBeNull();
  });

  test("a price table file is checked: kinds, amounts with at most 4 decimals, a date", () => {
    const bad = priceTableSchema.safeParse({ version: "v 1", effectiveFrom: "2026-13-01", prices: { gpu: { perDay: 1 }, vm: { vcpuDay: 0.00001 } } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["version", "effectiveFrom", "prices.vm.vcpuDay"]));
  });
});

describe("the statement from the ledger", () => {
  test("resources held in the month, counted at the loaded prices; the price table is loaded once per version", async () => {
    const { createTestApp, ok } = await import("./app-harness");
    const { loadPriceTable } = await import("../src/billing/prices");
    const t = await createTestApp();
    try {
      const manager = { ...t.ctx(), actor: { userId: "zhangwei", name: "张伟", unitId: "mz-sjj", roles: ["manager" as const] } };
      const table = { version: "2026-v1", effectiveFrom: "2026-01-01", prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 }, backup: { instanceDay: 5 } } };
      expect(await loadPriceTable({ ctx: manager, input: table })).toEqual({ version: "2026-v1", effectiveFrom: "2026-01-01" });
      await expect(loadPriceTable({ ctx: manager, input: table })).rejects.toThrow("已加载");
      await expect(loadPriceTable({ ctx: { ...manager, actor: { ...manager.actor, roles: ["provider" as const] } }, input: { ...table, version: "x" } })).rejects.toThrow("统筹管理单位");

      const delivered = await t.deliverApplication("yangfan"); // delivered Monday 2026-11-23: 8 days of November
      const s = ok(await t.call("xufeng", "GET", "/api/billing/statements/2026-11"));
      // 2 × (4 核 8G 100G) at 6.60 and 1 × (8 核 32G 200G) at 18.00 a day, and the backup policy at 5.00.
      expect(s.lines.map((l: { kind: string; days: number; amount: number }) => `${l.kind}:${l.days}:${l.amount}`)).toEqual([
        "vm:8:52.8",
        "vm:8:52.8",
        "vm:8:144",
        "backup:8:40",
      ]);
      expect(s.units).toEqual([{ unitId: "mz-rsj", unitName: "梅州市人力资源和社会保障局", amount: 289.6 }]);
      expect(s.lines.every((l: { flags: string[] }) => l.flags.includes("new"))).toBe(true);
      // The monitoring saw the first VM running on 11-20, before its delivery: its dates are flagged.
      const [first] = delivered.resources;
      ok(await t.call("xufeng", "PUT", `/api/resources/${first!.id}/instance`, { instanceId: "ins-bill-1" }));
      const at = (d: string) => Math.floor(shanghaiInstant(d, "10:00").getTime() / 1000);
      const samples = ["2026-11-20", "2026-11-24"].map((d) => ({ vm: "ins-bill-1", time: at(d), cpu: 20, mem: 30 }));
      ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": "bill-1" }), 201);
      const checked = ok(await t.call("guojun", "GET", "/api/billing/statements/2026-11"));
      expect(checked.lines[0]).toMatchObject({ flags: ["new", "dates"], mismatch: ["2026-11-20 起已有运行数据，早于交付日期 2026-11-23"] });
      expect(checked.lines.slice(1).every((l: { flags: string[] }) => !l.flags.includes("dates"))).toBe(true);
      const csv = await t.app.request("/api/billing/statements/2026-11?format=csv", { headers: { authorization: `Bearer ${t.tokens.guojun}` } });
      const text = Buffer.from(await csv.arrayBuffer()).subarray(3).toString("utf8");
      // 004 第四十二条: after the 合计, who pays it: 梅州市人社局 is a city unit.
      expect(text.trimEnd().split("\r\n").slice(-2)).toEqual(["合计,,,,,289.60,,,", "资金来源：市级财政,mz-rsj,,,,289.60,,,"]);

      // Revoked on 11-25 but still running in December: on December's statement for the check, billed nothing.
      await t.db.update(resources).set({ revokedAt: shanghaiInstant("2026-11-25", "15:00") }).where(eq(resources.id, first!.id));
      const december = [{ vm: "ins-bill-1", time: at("2026-12-03"), cpu: 5, mem: 30 }];
      ok(await t.call("xufeng", "POST", "/api/metrics", { samples: december }, { "Idempotency-Key": "bill-2" }), 201);
      const next = ok(await t.call("guojun", "GET", "/api/billing/statements/2026-12"));
      expect(next.lines.find((l: { resourceId: number }) => l.resourceId === first!.id)).toMatchObject({
        days: 0,
        amount: 0,
        flags: ["dates"],
        mismatch: ["撤销日期 2026-11-25 后仍有运行数据（至 2026-12-03），资源可能未回收"],
      });
      expect(next.lines).toHaveLength(4);
      expect((await t.call("yangfan", "GET", "/api/billing/statements/2026-11")).status).toBe(403);
      expect((await t.call("xufeng", "GET", "/api/billing/statements/2026-13")).status).toBe(400);
      expect(ok(await t.call("xufeng", "GET", "/api/billing/statements/2026-10")).lines).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe("the monthly sign-off", () => {
  test("a party that will not sign sends it back; redrafted, it is checked, submitted and approved again, and all three sign anew", async () => {
    const { createTestApp, ok } = await import("./app-harness");
    const { draftMonthlyStatement } = await import("../src/jobs/monthly-draft");
    const { requests } = await import("../db/schema");
    const { eq } = await import("drizzle-orm");
    const t = await createTestApp({ now: "2026-11-23T01:00:00Z" });
    try {
      await t.deliverApplication("yangfan");
      t.clock.set("2026-12-01T01:00:00Z");
      expect(await draftMonthlyStatement(t.ctx())).toBe(true);
      const [req] = await t.db.select().from(requests).where(eq(requests.flow, "billing"));
      const owner = req!.applicantId;
      await t.actInTurn(req!.id, [
        [owner, { action: "approve" }],
        ["guojun", { action: "approve" }],
        ["guojun", { action: "approve" }], // the reviewer submits the agreed list
        ["zhangwei", { action: "approve" }],
        ["zhangwei", { action: "approve" }], // the manager signs first
        ["guojun", { action: "return", reason: "合计与台账不符" }], // the reviewer will not sign
      ]);
      const detail = ok(await t.show("zhangwei", req!.id));
      expect(detail.status).toBe("returned");
      expect(detail.stages.at(-2)).toMatchObject({ stage: "sign", status: "returned" });
      // Resubmitted after the 25th: redrafted, it goes back to the check, and its submission is already late.
      t.clock.set("2026-12-28T01:00:00Z");
      ok(await t.act(owner, req!.id, { action: "resubmit", note: "已更正" }));
      expect(ok(await t.show("zhangwei", req!.id)).currentStage.stage).toBe("check");
      await t.actInTurn(req!.id, [["guojun", { action: "approve" }]]);
      expect(ok(await t.show("zhangwei", req!.id)).currentStage).toMatchObject({ stage: "submit", deadlineAt: "2026-12-25T15:59:59.999Z" });
      const { runDueTimers } = await import("../src/jobs/timers");
      await runDueTimers(t.ctx());
      expect(ok(await t.show("zhangwei", req!.id)).currentStage.overdue).toBe(true);
      await t.actInTurn(req!.id, [
        ["guojun", { action: "approve" }],
        ["zhangwei", { action: "approve" }],
      ]);
      // All three sign again: the manager's first signature no longer counts.
      expect(ok(await t.show("zhangwei", req!.id)).currentStage.stage).toBe("sign");
      await t.actInTurn(req!.id, [
        ["guojun", { action: "approve" }],
        [owner, { action: "approve" }],
      ]);
      expect(ok(await t.show("zhangwei", req!.id)).status).toBe("in_progress");
      await t.actInTurn(req!.id, [["zhangwei", { action: "approve" }]]);
      expect(ok(await t.show("zhangwei", req!.id)).status).toBe("completed");
    } finally {
      await t.close();
    }
  });

  test("drafted on the 1st working day, exported, checked (a return redrafts it), submitted, approved, signed by three; the hash is audited", async () => {
    const { createTestApp, ok } = await import("./app-harness");
    const { loadPriceTable } = await import("../src/billing/prices");
    const { draftMonthlyStatement } = await import("../src/jobs/monthly-draft");
    const { auditLog, requests } = await import("../db/schema");
    const { eq } = await import("drizzle-orm");
    const t = await createTestApp();
    try {
      const manager = { ...t.ctx(), actor: { userId: "zhangwei", name: "张伟", unitId: "mz-sjj", roles: ["manager" as const] } };
      await loadPriceTable({ ctx: manager, input: { version: "v1", effectiveFrom: "2026-01-01", prices: { vm: { vcpuDay: 1 }, backup: { instanceDay: 1 } } } });
      await t.deliverApplication("yangfan");
      t.clock.set("2026-11-30T01:00:00Z");
      // Still November: the statement due is October's, when nothing was held yet: nothing to settle.
      expect(await draftMonthlyStatement(t.ctx())).toBe(false);
      t.clock.set("2026-12-01T01:00:00Z"); // Tuesday, the 1st working day
      expect(await draftMonthlyStatement(t.ctx())).toBe(true);
      expect(await draftMonthlyStatement(t.ctx())).toBe(false); // once
      // Only a month that is over can be billed.
      for (const month of ["2026-12", "2030-12"]) {
        const early = await t.call("xufeng", "POST", "/api/requests", { flow: "billing", form: { month } });
        expect(early.body.error?.code, month).toBe("month_not_over");
      }
      const statements = await t.db.select().from(requests).where(eq(requests.flow, "billing"));
      expect(statements.map((r) => r.title)).toEqual(["2026-11 费用结算单"]);
      const req = statements.find((r) => r.title === "2026-11 费用结算单");
      expect(req).toMatchObject({ title: "2026-11 费用结算单", currentStage: "export" });
      let detail = ok(await t.show("guojun", req!.id));
      // 2 × 4 + 8 cores at 1.00 a day for 8 days, and the backup at 1.00: 136.00.
      expect(detail.summary).toContainEqual({ label: "金额", value: "136.00 元（4 项）" });
      expect(detail.currentStage.deadlineAt).toBe("2026-12-15T15:59:59.999Z"); // by the 15th
      const owner = req!.applicantId;
      // The provider's colleague can take the export over (转交 within the provider), nobody else can.
      const colleague = owner === "xufeng" ? "linna" : "xufeng";
      expect((await t.act(owner, req!.id, { action: "transfer", toUserId: "yangfan", reason: "x" })).body.error.code).toBe("invalid_target");
      ok(await t.act(owner, req!.id, { action: "transfer", toUserId: colleague, reason: "由同事导出" }));
      await t.actInTurn(req!.id, [
        [colleague, { action: "approve" }],
        ["guojun", { action: "return", reason: "备份计费天数请核对" }],
        [owner, { action: "resubmit", note: "已核对" }], // redrafted from the ledger, back to the reviewer
        ["guojun", { action: "approve" }],
      ]);
      detail = ok(await t.show("zhangwei", req!.id));
      expect(detail.currentStage).toMatchObject({ stage: "submit", deadlineAt: "2026-12-25T15:59:59.999Z" });
      // The reviewer submits, not the provider.
      expect((await t.act(owner, req!.id, { action: "approve" })).status).toBeGreaterThanOrEqual(400);
      expect(ok(await t.show("zhangwei", req!.id)).currentStage.stage).toBe("submit");
      await t.actInTurn(req!.id, [
        ["guojun", { action: "approve" }],
        ["zhangwei", { action: "approve" }],
        ["zhangwei", { action: "approve" }],
        ["guojun", { action: "approve" }],
      ]);
      expect(ok(await t.show("zhangwei", req!.id)).status).toBe("in_progress"); // the provider has not signed yet
      await t.actInTurn(req!.id, [[owner, { action: "approve" }]]);
      expect(ok(await t.show("zhangwei", req!.id)).status).toBe("completed");
      const [signed] = await t.db.select().from(auditLog).where(eq(auditLog.action, "billing.signed"));
      const [after] = await t.db.select().from(requests).where(eq(requests.id, req!.id));
      expect(signed!.details).toMatchObject({ month: "2026-11", total: 136, sha256: (after!.facts as { sha256: string }).sha256 });
      const page = await t.app.request("/api/billing/statements/2026-11/print", { headers: { authorization: `Bearer ${t.tokens.zhangwei}` } });
      const text = await page.text();
      expect(text).toContain("2026-11 政务云资源费用结算单");
      expect(text).toContain("136.00");
      expect(text).toContain("张伟");
      expect(text).toContain((after!.facts as { sha256: string }).sha256);
      expect((await t.call("yangfan", "GET", "/api/billing/statements/2026-11/print")).status).toBe(403);

      // A price table loaded afterwards changes the ledger's figure, never the signed statement's.
      await loadPriceTable({ ctx: manager, input: { version: "v2", effectiveFrom: "2026-11-25", prices: { vm: { vcpuDay: 2 }, backup: { instanceDay: 1 } } } });
      const sha256 = (after!.facts as { sha256: string }).sha256;
      expect(ok(await t.call("guojun", "GET", "/api/billing/statements/2026-11"))).toMatchObject({ source: "signoff", total: 136, signoff: { status: "completed", sha256 } });
      expect(ok(await t.call("guojun", "GET", "/api/billing/statements/2026-11?source=ledger"))).toMatchObject({ source: "ledger", total: 136 + 6 * 16, signoff: null });
      const csv = await t.app.request("/api/billing/statements/2026-11?format=csv", { headers: { authorization: `Bearer ${t.tokens.guojun}` } });
      expect(csv.headers.get("content-disposition")).toContain("yunshen-statement-2026-11-signoff.csv");
      expect((await csv.text()).trimEnd().split("\r\n").slice(-2)).toEqual(["合计,,,,,136.00,,,", "资金来源：市级财政,mz-rsj,,,,136.00,,,"]);
      expect((await t.call("guojun", "GET", "/api/billing/statements/2026-09?source=signoff")).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
