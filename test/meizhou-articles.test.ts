import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox } from "../db/schema";
import { rowCounts } from "./app-harness";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// 梅州 (004), article by article, where a rule is not the flow's shape alone (see also meizhou-go-live.test.ts).

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe("004 第十二条(一) 汇总提交", () => {
  test("004 第十二条(一) the county bureau forwards or returns, never rejects; its card offers no 驳回", async () => {
    const { id } = ok(await t.submit("lihua", sampleForm()), 201);
    const refused = await t.act("huangmin", id, { action: "reject", reason: "不同意" });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: "not_allowed", message: "「县级数据局初审」不能驳回，可以退回" });
    expect(ok(await t.show("lihua", id)).status).toBe("in_progress");
    const [card] = await t.db.select({ payload: outbox.payload }).from(outbox).where(and(eq(outbox.kind, "task"), eq(outbox.userId, "huangmin")));
    expect(JSON.stringify(card!.payload)).not.toContain("驳回");
    // Returning for what is missing stays the bureau's to do.
    ok(await t.act("huangmin", id, { action: "return", reason: "请补充系统现状说明" }));
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("revise");
  });

  test("002 第二十三条 韶关's 县级初审 is a review of its own and may refuse", async () => {
    const sg = await createTestApp({ profile: "shaoguan" });
    try {
      const form = sampleForm("shaoguan");
      form.attachments.push(await sg.attachment("lihua", "security_pledge"));
      const { id } = ok(await sg.submit("lihua", form), 201);
      ok(await sg.act("huangmin", id, { action: "reject", reason: "与已建系统重复" }));
      expect(ok(await sg.show("lihua", id)).status).toBe("rejected");
    } finally {
      await sg.close();
    }
  });
});

describe("004 第十三条(二)2 the plan's totals", () => {
  test("004 第十三条(二)2 a first application over the plan's totals is refused, naming each total and its excess; nothing written", async () => {
    const form = sampleForm(); // 16 核, 48 GB, 400 GB asked
    form.plan.plannedTotals = { vcpu: 12, memoryGb: 48, storageGb: 300 };
    // Nothing written but the refusal's own audit entry.
    const written = async () => {
      const { audit_log: _, ...rest } = await rowCounts(t.db);
      return rest;
    };
    const before = await written();
    const refused = await t.submit("yangfan", form);
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toBe(
      "首次申请不得超过立项方案或实施方案中的云资源总量（004 第十三条(二)2）：vCPU 申请 16 核，方案 12 核，超出 4 核；存储 申请 400 GB，方案 300 GB，超出 100 GB",
    );
    expect(Object.keys(refused.body.error.fields)).toEqual(["form.plan.plannedTotals.vcpu"]);
    expect(await written()).toEqual(before);
    // Exactly the plan's totals pass.
    form.plan.plannedTotals = { vcpu: 16, memoryGb: 48, storageGb: 400 };
    ok(await t.submit("yangfan", form), 201);
  });

  test("004 第十三条(二)2 without the plan's totals 需求评估 cannot pass: the evaluator returns it for them", async () => {
    const form = sampleForm();
    delete (form.plan as { plannedTotals?: unknown }).plannedTotals;
    const { id } = ok(await t.submit("yangfan", form), 201);
    const refused = await t.act("xufeng", id, { action: "approve", note: "配置合理" });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toContain("立项方案");
    // The card offers no 同意, only 退回.
    const cards = await t.db.select({ payload: outbox.payload }).from(outbox).where(and(eq(outbox.kind, "task"), eq(outbox.userId, "xufeng")));
    expect(JSON.stringify(cards.at(-1)!.payload)).not.toContain("提交评估意见");
    ok(await t.act("xufeng", id, { action: "return", reason: "请补充立项方案的资源总量" }));
    expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("revise");
  });
});
