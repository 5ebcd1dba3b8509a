import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox } from "../db/schema";
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
      const form = sampleForm();
      form.attachments.push(await sg.attachment("lihua", "security_pledge"));
      const { id } = ok(await sg.submit("lihua", form), 201);
      ok(await sg.act("huangmin", id, { action: "reject", reason: "与已建系统重复" }));
      expect(ok(await sg.show("lihua", id)).status).toBe("rejected");
    } finally {
      await sg.close();
    }
  });
});
