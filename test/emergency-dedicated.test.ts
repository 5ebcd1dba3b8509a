import { and, asc, eq } from "drizzle-orm";
import { parseBody } from "hono/utils/body";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { outbox, requests, resources, stageRuns } from "../db/schema";
import { applicationForm, checkForm, readValues, valuesFromInput, type FormBody } from "../src/channels/web/forms";
import { createTestApp, ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 梅州 (004): a 专属资源池 weighed for its necessity and feasibility (第十四条(二)2), and the fast track for a
// 紧急特殊情况 (第四十八条), around 国庆 2026 (10-01 … 10-07 off, Saturday 10-10 a working day).

let t: WebTestApp;
beforeEach(async () => {
  t = await createWebTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 10:00, two days before 国庆
});
afterEach(() => t?.close());

const emergencyForm = (category = "major_task") => ({ ...sampleForm(), emergency: { category, reason: "省统一部署的疫苗接种预约系统，须于国庆前上线" } });
const dedicatedForm = () => ({
  ...sampleForm(),
  dedicatedPool: { necessity: "涉及学生资助敏感数据，须与其他系统物理隔离", feasibility: "梅州节点有独立机柜，服务商已确认可划分", scale: "3 台物理服务器" },
});

const runsOf = async (id: number) =>
  (await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id)).orderBy(asc(stageRuns.id))).map((r) => ({
    stage: r.stage,
    deadline: r.deadlineAt?.toISOString() ?? null,
  }));
const deliveredOf = (id: number) => t.db.select().from(resources).where(and(eq(resources.requestId, id), eq(resources.status, "delivered")));
/** Rows everywhere but the audit log (a refusal writes its own audit entry and nothing else). */
const written = async () => {
  const { audit_log: _, ...rest } = await rowCounts(t.db);
  return rest;
};

describe("004 第十四条(二)2 专属资源池", () => {
  test("004 第十四条(二)2: a dedicated-pool application passes 专属资源池必要性和可行性审核 after 需求评估, whose approval needs a note; its card says 专属资源池", async () => {
    const submitted = ok(await t.submit("yangfan", dedicatedForm()), 201);
    const id = submitted.id as number;
    ok(await t.act("xufeng", id, { action: "approve", note: "配置合理" }));
    const shown = ok(await t.show("zhangwei", id));
    expect(shown.currentStage.stage).toBe("dedicated_pool_review");
    const noNote = await t.act("zhangwei", id, { action: "approve" });
    expect(noNote.status).toBe(422);
    expect(noNote.body.error.message).toContain("004 第十四条(二)2");
    ok(await t.act("zhangwei", id, { action: "approve", note: "确有隔离必要，机柜资源可行" }));
    expect(ok(await t.show("zhangwei", id)).currentStage.stage).toBe("approve");
    // The manager's card shows the pool.
    const cards = await t.db.select({ payload: outbox.payload }).from(outbox).where(and(eq(outbox.kind, "task"), eq(outbox.userId, "zhangwei")));
    expect(JSON.stringify(cards[0]!.payload)).toContain("专属资源池");
    expect(JSON.stringify(cards[0]!.payload)).toContain("3 台物理服务器");
    // An ordinary application does not pass it.
    const plain = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", plain.id, { action: "approve", note: "配置合理" }));
    expect(ok(await t.show("zhangwei", plain.id)).currentStage.stage).toBe("approve");
  });

  test("004 第十四条(二)2: the manager may refuse a dedicated pool (驳回)", async () => {
    const { id } = ok(await t.submit("yangfan", dedicatedForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve", note: "配置合理" }));
    ok(await t.act("zhangwei", id, { action: "reject", reason: "共享资源池可满足隔离要求，无必要" }));
    expect(ok(await t.show("yangfan", id)).status).toBe("rejected");
  });

  test("004 第十四条(二)2: a missing 必要性说明 is refused with the field named; nothing written", async () => {
    const form = dedicatedForm();
    delete (form.dedicatedPool as { necessity?: string }).necessity;
    const before = await written();
    const refused = await t.submit("yangfan", form);
    expect(refused.status).toBe(400);
    expect(refused.body.error.fields["form.dedicatedPool.necessity"]).toEqual(["请填写必要性说明"]);
    // Blank is missing too.
    const blank = await t.submit("yangfan", { ...form, dedicatedPool: { ...form.dedicatedPool, necessity: "  " } });
    expect(blank.status).toBe(400);
    expect(blank.body.error.fields["form.dedicatedPool.necessity"]).toEqual(["请填写必要性说明"]);
    expect(await written()).toEqual(before);
  });
});

describe("004 第四十八条 紧急特殊情况", () => {
  test("004 第四十八条: an emergency application is confirmed and provisioned in 1 wd each, before 需求评估; 需求评估 and 审批 follow afterwards with their 3 wd, across 国庆 and the 10-10 调休 Saturday", async () => {
    const submitted = ok(await t.submit("yangfan", emergencyForm()), 201);
    const id = submitted.id as number;
    expect(submitted.currentStage).toBe("emergency_confirm");
    // The manager confirms on Wednesday 09-30, the last working day before 国庆.
    t.clock.set("2026-09-30T02:00:00Z");
    ok(await t.act("zhangwei", id, { action: "approve" }));
    // The provider opens the resources on Friday 10-09.
    t.clock.set("2026-10-09T02:00:00Z");
    ok(await t.act("xufeng", id, { action: "approve" }));
    // Delivered (3 VMs and the database server's backup policy), and not evaluated yet.
    expect(await deliveredOf(id)).toHaveLength(4);
    expect(ok(await t.show("xufeng", id)).currentStage.stage).toBe("post_evaluate");
    ok(await t.act("xufeng", id, { action: "approve", note: "配置合理" }));
    t.clock.set("2026-10-12T02:00:00Z");
    ok(await t.act("zhangwei", id, { action: "approve" }));
    expect(await runsOf(id)).toEqual([
      // 1 wd from Tuesday 09-29.
      { stage: "emergency_confirm", deadline: "2026-09-30T15:59:59.999Z" },
      // 1 wd from Wednesday 09-30: 国庆 skipped, Thursday 10-08.
      { stage: "emergency_provision", deadline: "2026-10-08T15:59:59.999Z" },
      // 3 wd from Friday 10-09: the 调休 Saturday 10-10, 10-12, 10-13.
      { stage: "post_evaluate", deadline: "2026-10-13T15:59:59.999Z" },
      { stage: "post_approve", deadline: "2026-10-13T15:59:59.999Z" },
      { stage: "backup_check", deadline: "2026-10-12T15:59:59.999Z" },
    ]);
    // No ordinary evaluation, approval or provisioning ran.
    expect((await runsOf(id)).map((r) => r.stage)).not.toContain("evaluate");
    // 004 第十七条(一): deployment is still due 20 wd from the delivery (10-09), not from the later checks.
    t.clock.set("2026-10-20T02:00:00Z");
    ok(await t.act("yangfan", id, { action: "confirm", stage: "backup_check" }));
    ok(await t.act("yangfan", id, { action: "confirm", stage: "confirm_delivery" }));
    ok(await t.act("guojun", id, { action: "approve", stage: "verify_delivery" }));
    expect((await runsOf(id)).at(-1)).toEqual({ stage: "deploy", deadline: "2026-11-05T15:59:59.999Z" });
    // Cards and pages say it is an emergency.
    expect(ok(await t.show("zhangwei", id)).summary).toContainEqual({ label: "紧急特殊情况", value: "重大任务和紧急工作（先开通，后补评估和审批）" });
  });

  test("004 第四十八条: refused at 审批（事后补办）, the request is rejected, a revocation of what was delivered opens, and the unit is told the resources will be revoked", async () => {
    const { id } = ok(await t.submit("yangfan", emergencyForm("peak")), 201);
    ok(await t.act("zhangwei", id, { action: "approve" }));
    ok(await t.act("xufeng", id, { action: "approve" }));
    ok(await t.act("xufeng", id, { action: "approve", note: "配置偏大" }));
    const rejected = ok(await t.act("zhangwei", id, { action: "reject", reason: "不属于突发业务波峰" }));
    expect(rejected.status).toBe("rejected");
    expect(rejected.message).toMatch(/已开通的云资源将被撤销（撤销申请 YS-2026-\d{5}）/);
    const [revocation] = await t.db.select().from(requests).where(eq(requests.flow, "revocation"));
    expect(revocation).toMatchObject({ unitId: "mz-rsj", applicantId: "yangfan", status: "in_progress", currentStage: "approve" });
    // The VMs; the backup policy goes with its VM.
    const vms = (await deliveredOf(id)).filter((r) => r.kind === "vm").map((r) => r.id);
    expect(vms).toHaveLength(3);
    expect(revocation!.facts).toMatchObject({ trigger: "emergency_rejected", resourceIds: vms });
    const told = await t.db.select({ payload: outbox.payload }).from(outbox).where(and(eq(outbox.kind, "result"), eq(outbox.userId, "yangfan")));
    const notice = JSON.stringify(told.at(-1)!.payload);
    expect(notice).toContain("事后审批未同意，资源将被撤销");
    expect(notice).toContain(revocation!.code);
  });

  test("004 第四十八条: the manager may refuse the emergency itself before anything is opened", async () => {
    const { id } = ok(await t.submit("yangfan", emergencyForm()), 201);
    ok(await t.act("zhangwei", id, { action: "reject", reason: "不属于紧急特殊情况，请按一般程序申请" }));
    expect(ok(await t.show("yangfan", id)).status).toBe("rejected");
    expect(await deliveredOf(id)).toHaveLength(0);
    expect(await t.db.select().from(requests).where(eq(requests.flow, "revocation"))).toHaveLength(0);
  });

  test("004 第四十八条: an unknown category, a NUL in the reason, or no reason is refused with 400 naming the field; nothing written", async () => {
    const before = await written();
    const unknown = await t.submit("yangfan", emergencyForm("typhoon"));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields["form.emergency.category"]?.[0]).toContain("重大任务和紧急工作");
    const nul = await t.submit("yangfan", { ...sampleForm(), emergency: { category: "holiday", reason: "春节\u0000保障" } });
    expect(nul.status).toBe(400);
    expect(JSON.stringify(nul.body.error.fields)).toContain("form.emergency.reason");
    const none = await t.submit("yangfan", { ...sampleForm(), emergency: { category: "holiday" } });
    expect(none.status).toBe(400);
    expect(none.body.error.fields["form.emergency.reason"]).toEqual(["请说明紧急情况"]);
    expect(await written()).toEqual(before);
  });

  test("004 第四十八条 with 第十三条(二)2 and 第十四条(二)2: an emergency needs the plan's totals and cannot carry a dedicated pool (422)", async () => {
    const before = await written();
    const noTotals = emergencyForm();
    delete (noTotals.plan as { plannedTotals?: unknown }).plannedTotals;
    const refused = await t.submit("yangfan", noTotals);
    expect(refused.status).toBe(422);
    expect(Object.keys(refused.body.error.fields)).toEqual(["form.plan.plannedTotals"]);
    const pooled = await t.submit("yangfan", { ...emergencyForm(), dedicatedPool: dedicatedForm().dedicatedPool });
    expect(pooled.status).toBe(422);
    expect(Object.keys(pooled.body.error.fields)).toEqual(["form.dedicatedPool"]);
    expect(await written()).toEqual(before);
  });

  test("004 第四十八条: a county unit's emergency is still forwarded by its county bureau first (004 第十二条(一))", async () => {
    const { id, currentStage } = ok(await t.submit("lihua", emergencyForm("holiday")), 201);
    expect(currentStage).toBe("county_review");
    ok(await t.act("huangmin", id, { action: "approve" }));
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("emergency_confirm");
  });

  test("002 (韶关) sets no fast track: an emergency section is refused with 422 本地区管理办法未规定紧急通道; nothing written", async () => {
    const sg = await createTestApp({ profile: "shaoguan" });
    try {
      const form: Record<string, any> = { ...sampleForm("shaoguan"), emergency: emergencyForm().emergency };
      form.attachments.push(await sg.attachment("lihua", "security_pledge"));
      const { audit_log: _, ...before } = await rowCounts(sg.db);
      const refused = await sg.submit("lihua", form);
      expect(refused.status).toBe(422);
      expect(refused.body.error).toMatchObject({ message: "本地区管理办法未规定紧急通道", fields: { "form.emergency": ["本地区管理办法未规定紧急通道"] } });
      const { audit_log: __, ...after } = await rowCounts(sg.db);
      expect(after).toEqual(before);
      delete form.emergency;
      ok(await sg.submit("lihua", form), 201);
    } finally {
      await sg.close();
    }
  });
});

describe("004 第四十八条 / 第十四条(二)2 in the monthly report and the lists", () => {
  test("004 第四十八条: the monthly report lists the month's emergency applications with whether 事后审批 is done, and the dedicated-pool requests (JSON, CSV, page); the request list marks 紧急", async () => {
    const done = ok(await t.submit("yangfan", emergencyForm("holiday")), 201).id as number;
    await t.actInTurn(done, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["xufeng", { action: "approve", note: "配置合理" }],
      ["zhangwei", { action: "approve" }],
    ]);
    const waiting = ok(await t.submit("lihua", emergencyForm("other")), 201).id as number;
    const pool = ok(await t.submit("yangfan", dedicatedForm()), 201).id as number;
    ok(await t.submit("yangfan", sampleForm()), 201); // an ordinary one is not listed
    const report = ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-09"));
    const code = async (id: number) => ok(await t.show("zhangwei", id)).code;
    expect(report.emergencies).toEqual([
      expect.objectContaining({ code: await code(done), unitName: "梅州市人力资源和社会保障局", system: "梅县区教育资助管理系统", category: "holiday", categoryName: "重大节日业务保障", postApproval: "done", postApprovalName: "已补办审批" }),
      expect.objectContaining({ code: await code(waiting), category: "other", postApproval: "pending", postApprovalName: "待补办审批" }),
    ]);
    expect(report.dedicatedPools).toEqual([expect.objectContaining({ code: await code(pool), scale: "3 台物理服务器", review: "pending", reviewName: "待审核" })]);
    // Another month lists none.
    expect(ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-08")).emergencies).toEqual([]);
    const csv = await t.app.request("/api/reports/monthly?month=2026-09&format=csv&table=flagged", { headers: { authorization: `Bearer ${t.tokens.zhangwei}` } });
    const text = await csv.text();
    expect(text).toContain(`紧急申请,${await code(done)},梅州市人力资源和社会保障局,梅县区教育资助管理系统,重大节日业务保障,已补办审批`);
    expect(text).toContain(`专属资源池,${await code(pool)}`);
    // The request list marks the emergencies, and only them.
    const listed = ok(await t.call("zhangwei", "GET", "/api/requests?view=all")).items as { id: number; badge: string | null }[];
    expect(listed.filter((r) => r.badge === "紧急").map((r) => r.id).sort()).toEqual([done, waiting].sort());
    const manager = await t.signedIn("zhangwei");
    const page = await manager.get("/reports/monthly?month=2026-09");
    expect(page.html).toContain("紧急申请（先开通，后补评估和审批）");
    expect(page.html).toContain("待补办审批");
    expect(page.html).toContain("专属资源池申请");
    const search = await manager.get("/requests");
    expect(search.html.match(/class="ys-badge">紧急</g)).toHaveLength(2);
  });
});

describe("the web application form's 专属资源池 and 紧急特殊情况 sections", () => {
  async function read(changes: Record<string, string>) {
    const values = valuesFromInput(applicationForm, sampleForm());
    const pairs = new Map<string, string>(Object.entries(values.fields).map(([k, v]) => [k, String(v)]));
    values.rows.vms!.forEach((row, i) => Object.entries(row).forEach(([k, v]) => pairs.set(`vms[${i}].${k}`, v)));
    if (pairs.get("hosting") === "") pairs.delete("hosting");
    for (const [k, v] of Object.entries(changes)) pairs.set(k, v);
    const body = new URLSearchParams([...pairs.entries()]);
    const parsed = (await parseBody(new Request("http://x/", { method: "POST", body }), { all: true })) as FormBody;
    return checkForm(applicationForm, readValues(applicationForm, parsed));
  }

  test("004 第十四条(二)2 / 第四十八条: the portal's application form has both sections, in Chinese", async () => {
    const page = await (await t.signedIn("yangfan")).get("/new/application");
    expect(page.status).toBe(200);
    for (const words of ["申请专属资源池", "必要性说明", "可行性说明", "资源池规模", "紧急特殊情况", "紧急情况类别", "重大节日业务保障", "紧急情况说明"]) expect(page.html).toContain(words);
  });

  test("004 第十四条(二)2: a pool without 必要性说明 is told so beside the field; left blank, none is asked for", async () => {
    const missing = await read({ "dedicatedPool.feasibility": "机柜可划分", "dedicatedPool.scale": "3 台" });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.messages["dedicatedPool.necessity"]).toBe("请填写必要性说明");
    const blank = await read({});
    expect(blank.ok && "dedicatedPool" in (blank.input as object)).toBe(false);
    expect(blank.ok && "emergency" in (blank.input as object)).toBe(false);
  });

  test("004 第四十八条: the category and the reason become the form's emergency section", async () => {
    const filled = await read({ "emergency.category": "peak", "emergency.reason": "开学季访问量激增" });
    expect(filled.ok).toBe(true);
    if (filled.ok) expect((filled.input as { emergency: unknown }).emergency).toEqual({ category: "peak", reason: "开学季访问量激增" });
    const noReason = await read({ "emergency.category": "peak" });
    expect(noReason.ok).toBe(false);
    if (!noReason.ok) expect(noReason.messages["emergency.reason"]).toBe("请填写紧急情况说明");
  });
});
