import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, stageRuns, tasks } from "../db/schema";
import { verifyAuditChain } from "../src/audit/verify";
import { coveredByPlan, createTestApp, ok, sampleForm, securityTestForm, type TestApp } from "./app-harness";


async function stageOf(t: TestApp, id: number) {
  return ok(await t.show("zhangwei", id)).currentStage?.stage ?? null;
}

async function outboxFor(t: TestApp, userId: string, kind?: string) {
  const rows = await t.db.select().from(outbox).where(eq(outbox.userId, userId));
  return rows.filter((r) => !kind || r.kind === kind);
}

describe("梅州 application, county unit, submission to go-live", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test("walks every stage with working-day deadlines and ends completed", async () => {
    await t.recordCryptoAssessment("lihua");
    const submitted = ok(await t.submit("lihua", sampleForm()), 201);
    expect(submitted.code).toMatch(/^YS-2026-\d{5}$/);
    expect(submitted.currentStage).toBe("county_review");
    const id = submitted.id;

    // Opened Monday 2026-11-23 09:00; 1 working day → end of Tuesday 11-24 (Shanghai).
    let detail = ok(await t.show("lihua", id));
    expect(detail.currentStage.deadlineAt).toBe("2026-11-24T15:59:59.999Z");
    expect(detail.currentStage.tasks.map((x: any) => x.userId)).toEqual(["huangmin"]);
    expect(detail.totals).toEqual({ hosts: 3, vcpu: 16, memoryGb: 48, storageGb: 400 });
    expect(await outboxFor(t, "huangmin", "task")).toHaveLength(1);

    // The other county's bureau is not an assignee.
    expect((await t.act("zhongli", id, { action: "approve" })).status).toBe(403);

    const steps: [string, Record<string, unknown>, string | null][] = [
      ["huangmin", { action: "approve" }, "evaluate"],
      ["xufeng", { action: "approve", note: "配置合理" }, "approve"],
      ["zhangwei", { action: "approve" }, "provision"],
      // The database server was asked for with a backup: checked the same day; a policy that fails goes back.
      ["linna", { action: "approve", note: "已开通" }, "backup_check"],
      ["lihua", { action: "fail", reason: "恢复测试失败" }, "backup_fix"],
      ["linna", { action: "approve", note: "已改为每日全量" }, "backup_check"],
      ["lihua", { action: "confirm", note: "恢复测试通过" }, "confirm_delivery"],
      // 004 第十七条(一): the unit deploys while the reviewer's 发放核查 runs alongside.
      ["lihua", { action: "confirm" }, "deploy"],
      ["guojun", { action: "approve", stage: "verify_delivery" }, "deploy"],
      ["lihua", { action: "confirm" }, "request_security_test"],
      // 004 第十七条(二): the application for the security test is the filled-in 附件6 (the system's 密评 is on record).
      ["lihua", { action: "confirm", form: securityTestForm() }, "security_test"],
      ["chenjing", { action: "fail", reason: "存在弱口令" }, "security_fix"],
      ["lihua", { action: "confirm", note: "已整改" }, "security_test"],
      ["zhangwei", { action: "approve" }, "go_live"],
      ["lihua", { action: "confirm" }, null],
    ];
    for (const [user, action, next] of steps) {
      const res = ok(await t.act(user, id, action));
      expect(res.currentStage, `${user} ${JSON.stringify(action)}`).toBe(next);
    }
    detail = ok(await t.show("lihua", id));
    expect(detail.status).toBe("completed");
    expect(detail.stages.map((s: any) => `${s.stage}:${s.status}`)).toEqual([
      "county_review:approved",
      "evaluate:approved",
      "approve:approved",
      "provision:approved",
      "backup_check:failed",
      "backup_fix:approved",
      "backup_check:approved",
      "confirm_delivery:approved",
      "verify_delivery:approved",
      "deploy:approved",
      "request_security_test:approved",
      "security_test:failed",
      "security_fix:approved",
      "security_test:approved",
      "go_live:approved",
    ]);
    // 第三十一条: the check is due the day the policy takes effect.
    expect(detail.stages.find((s: any) => s.stage === "backup_check").deadlineAt).toBe("2026-11-23T15:59:59.999Z");
    // 004 第十七条(三): from the first test to passing within 10 working days — the retest keeps that anchor.
    const tests = detail.stages.filter((s: any) => s.stage === "security_test");
    const fix = detail.stages.find((s: any) => s.stage === "security_fix");
    expect(fix.deadlineAt).toBe("2026-12-07T15:59:59.999Z");
    expect(tests[1].deadlineAt).toBe("2026-12-07T15:59:59.999Z");
    // Delivery confirmation is reported to the manager, the reviewer and the county bureau.
    expect((await outboxFor(t, "guojun", "report")).length).toBeGreaterThan(0);
    expect((await outboxFor(t, "huangmin", "report")).length).toBeGreaterThan(0);
    expect(await outboxFor(t, "lihua", "result")).toHaveLength(1);
    const history = detail.history.map((h: any) => h.action);
    expect(history[0]).toBe("request.submit");
    expect(history.at(-1)).toBe("request.complete");
    expect(detail.history.find((h: any) => h.action === "request.fail" && h.stage === "security_test").details.reason).toBe("存在弱口令");
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
    // What the greyed cards say: a label that says 已 itself is not doubled (已由李华已上线), a same-day deadline is 当天.
    const settled = await t.db.select({ payload: outbox.payload }).from(outbox).where(eq(outbox.kind, "card_update"));
    const labels = settled.map((o) => (o.payload as { label: string }).label);
    expect(labels).toContain("已由李华上线");
    expect(labels.filter((l) => /已由.+已/.test(l))).toEqual([]);
    const cards = await t.db.select({ payload: outbox.payload }).from(outbox).where(and(eq(outbox.kind, "task"), eq(outbox.userId, "lihua")));
    const texts = JSON.stringify(cards.map((c) => c.payload));
    expect(texts).toContain("（当天）");
    expect(texts).not.toContain("0 个日历天");
  });

  test("a city-level unit skips the county bureau", async () => {
    const res = ok(await t.submit("yangfan", sampleForm()), 201);
    expect(res.currentStage).toBe("evaluate");
  });
});

describe("conditions of 004 第十二、十三条", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test("a VM over 8 vCPU needs the provider's evaluation note", async () => {
    const form = sampleForm();
    form.vms[1].vcpu = 16;
    const { id } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
    const refused = await t.act("xufeng", id, { action: "approve" });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("note_required");
    expect(refused.body.error.message).toContain("8 核");
    ok(await t.act("xufeng", id, { action: "approve", note: "数据库需 16 核，已与使用单位核实" }));
    expect(await stageOf(t, id)).toBe("approve");
  });

  test("exactly 8 vCPU and 32 GB needs no note", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve" }));
  });

  test("storage over 500 GB needs the written explanation and a countersign by manager and provider", async () => {
    const form = sampleForm();
    form.vms[1].diskGb = 400; // 2×100 + 400 = 600 GB
    const missing = await t.submit("yangfan", coveredByPlan(form));
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe("attachments_missing");
    expect(missing.body.error.message).toContain("500G");

    form.attachments.push(await t.attachment("yangfan", "storage_explanation"));
    const { id } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
    ok(await t.act("xufeng", id, { action: "approve", note: "存储依据充分" }));
    expect(await stageOf(t, id)).toBe("storage_review");
    const first = ok(await t.act("zhangwei", id, { action: "approve" }));
    expect(first.currentStage).toBe("storage_review");
    expect(first.message).toContain("会签");
    // The manager party has decided; the second manager has nothing left to sign.
    expect((await t.act("chenjing", id, { action: "approve" })).status).toBe(409);
    ok(await t.act("linna", id, { action: "approve" }));
    expect(await stageOf(t, id)).toBe("approve");
    const run = ok(await t.show("zhangwei", id)).stages.find((s: any) => s.stage === "storage_review");
    expect(run.mode).toBe("all");
    expect(run.tasks.filter((x: any) => x.status === "approved").map((x: any) => x.party).sort()).toEqual(["manager", "provider"]);
  });

  test("middleware, containers and big PaaS databases need their documents", async () => {
    const mw = sampleForm();
    mw.paas = [{ kind: "middleware", product: "分布式服务框架" }];
    expect((await t.submit("yangfan", coveredByPlan(mw))).body.error.fields["form.attachments"][0]).toContain("申请依据");
    const db = sampleForm();
    db.paas = [{ kind: "database", product: "PostgreSQL", vcpu: 20, memoryGb: 32 }];
    expect((await t.submit("yangfan", coveredByPlan(db))).body.error.fields["form.attachments"][0]).toContain("测试报告");
    db.paas[0].vcpu = 19;
    ok(await t.submit("yangfan", coveredByPlan(db)), 201);
    db.paas[0].memoryGb = 40;
    expect((await t.submit("yangfan", coveredByPlan(db))).status).toBe(422);
    db.attachments.push(await t.attachment("yangfan", "test_report"));
    ok(await t.submit("yangfan", coveredByPlan(db)), 201);
  });
});

describe("reject, return, resubmit, transfer, comment, withdraw, findings", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      extraUsers: [
        { id: "selfmgr", name: "兼职经理", unit: "mz-sjj", roles: ["applicant", "manager"] },
        { id: "outsider", name: "路人", unit: "mz-zrzyj", roles: ["applicant"] },
        { id: "twohats", name: "身兼两职", unit: "mz-sjj", roles: ["manager", "provider"] },
      ],
    });
  });
  afterAll(() => t.close());

  test("reject needs a reason, ends the request and tells the applicant", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve" }));
    expect((await t.act("zhangwei", id, { action: "reject" })).status).toBe(400);
    const res = ok(await t.act("zhangwei", id, { action: "reject", reason: "与已建系统重复" }));
    expect(res.status).toBe("rejected");
    const notice = (await outboxFor(t, "yangfan", "result")).find((r) => JSON.stringify(r.payload).includes("与已建系统重复"));
    expect(notice).toBeDefined();
    expect((await t.act("chenjing", id, { action: "approve" })).body.error.code).toBe("request_closed");
    // The provider's evaluation stage cannot reject.
    const other = ok(await t.submit("yangfan", sampleForm()), 201);
    expect((await t.act("xufeng", other.id, { action: "reject", reason: "x" })).body.error.code).toBe("not_allowed");
  });

  test("return to the applicant, edit and resubmit: back to the stage that returned it", async () => {
    const { id } = ok(await t.submit("lihua", sampleForm()), 201);
    ok(await t.act("huangmin", id, { action: "approve" }));
    ok(await t.act("xufeng", id, { action: "approve" }));
    const returned = ok(await t.act("zhangwei", id, { action: "return", reason: "请补充数据库规格依据" }));
    expect(returned.status).toBe("returned");
    expect(returned.currentStage).toBe("revise");
    // Approving is not how a returned request goes back.
    expect((await t.act("lihua", id, { action: "confirm" })).body.error.code).toBe("resubmit_required");
    const form = sampleForm();
    form.vms[1].memoryGb = 16;
    const back = ok(await t.act("lihua", id, { action: "resubmit", form, note: "已调整内存" }));
    expect(back.status).toBe("in_progress");
    expect(back.currentStage).toBe("approve");
    const detail = ok(await t.show("lihua", id));
    expect(detail.totals.memoryGb).toBe(32);
    expect(detail.currentStage.tasks.map((x: any) => x.userId).sort()).toEqual(["chenjing", "selfmgr", "twohats", "zhangwei"]);
  });

  test("return to a named earlier stage reopens it; a stage not passed is refused", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    await t.actInTurn(id, [
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["yangfan", { action: "confirm" }], // the backup works
      ["yangfan", { action: "confirm" }],
    ]);
    expect(await stageOf(t, id)).toBe("deploy");
    // The reviewer's 发放核查 runs beside the deployment: what it finds is a 整改通知, never a return.
    const noReturn = await t.act("guojun", id, { action: "return", reason: "x", stage: "verify_delivery" });
    expect(noReturn.body.error).toMatchObject({ code: "not_allowed", message: "「发放核查」不能退回" });
    ok(await t.act("guojun", id, { action: "finding", kind: "rectification", text: "数据盘规格与工单不符" }));
    expect((await outboxFor(t, "xufeng", "finding")).length).toBeGreaterThan(0);

    const { id: other } = ok(await t.submit("yangfan", sampleForm()), 201);
    await t.actInTurn(other, [["xufeng", { action: "approve" }]]);
    expect(await stageOf(t, other)).toBe("approve");
    const bad = await t.act("zhangwei", other, { action: "return", reason: "x", toStage: "provision" });
    expect(bad.body.error.code).toBe("invalid_target");
    ok(await t.act("zhangwei", other, { action: "return", reason: "请补充评估说明", toStage: "evaluate" }));
    expect(await stageOf(t, other)).toBe("evaluate");
    const detail = ok(await t.show("yangfan", id));
    expect(detail.findings.map((f: any) => f.kind)).toEqual(["rectification"]);
  });

  test("transfer to another user of the same role, recorded; the original holder can no longer decide", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve" }));
    expect((await t.act("zhangwei", id, { action: "transfer", toUserId: "guojun" })).body.error.code).toBe("invalid_target");
    expect((await t.act("zhangwei", id, { action: "transfer", toUserId: "nobody" })).body.error.code).toBe("invalid_target");
    ok(await t.act("zhangwei", id, { action: "transfer", toUserId: "chenjing", reason: "出差" }));
    expect((await t.act("zhangwei", id, { action: "approve" })).status).toBe(409);
    ok(await t.act("chenjing", id, { action: "approve" }));
    const detail = ok(await t.show("zhangwei", id));
    expect(detail.history.some((h: any) => h.action === "request.transfer" && h.details.to === "chenjing")).toBe(true);
  });

  test("an action aimed at a stage that has moved on is refused, not applied to the next one", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    const evaluate = ok(await t.show("xufeng", id)).currentStage.runId;
    ok(await t.act("xufeng", id, { action: "approve", stageRunId: evaluate }));
    ok(await t.act("zhangwei", id, { action: "approve" }));
    // xufeng also holds the provision stage now; a stale click on the evaluation card must not deliver resources.
    const stale = await t.act("xufeng", id, { action: "approve", stageRunId: evaluate });
    expect(stale.status).toBe(409);
    expect(stale.body.error.message).toContain("需求评估");
    expect(await stageOf(t, id)).toBe("provision");
    expect((await t.act("xufeng", id, { action: "confirm" })).body.error.code).toBe("wrong_action");
  });

  test("a county bureau hands over only within its own county", async () => {
    const { id } = ok(await t.submit("lihua", sampleForm()), 201);
    const other = await t.act("huangmin", id, { action: "transfer", toUserId: "zhongli" });
    expect(other.status).toBe(422);
    expect(other.body.error.message).toContain("本县");
    expect((await t.act("huangmin", id, { action: "transfer", toUserId: "huangmin" })).body.error.code).toBe("invalid_target");
  });

  test("one person with two roles signs a 会签 for one party only", async () => {
    const form = sampleForm();
    form.vms[1].diskGb = 400;
    form.attachments.push(await t.attachment("yangfan", "storage_explanation"));
    const { id } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
    ok(await t.act("twohats", id, { action: "approve", note: "存储依据充分" }));
    ok(await t.act("twohats", id, { action: "approve" }));
    const again = await t.act("twohats", id, { action: "approve" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_decided");
    const waiting = ok(await t.show("yangfan", id)).currentStage.tasks.filter((x: any) => x.status === "pending");
    expect(waiting.every((x: any) => x.userId !== "twohats")).toBe(true);
    ok(await t.act(waiting[0].userId, id, { action: "approve" }));
    expect(await stageOf(t, id)).toBe("approve");
  });

  test("nobody approves their own request", async () => {
    const { id } = ok(await t.submit("selfmgr", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve" }));
    const detail = ok(await t.show("selfmgr", id));
    expect(detail.currentStage.tasks.map((x: any) => x.userId)).not.toContain("selfmgr");
    const refused = await t.act("selfmgr", id, { action: "approve" });
    expect(refused.status).toBe(403);
    const [entry] = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.requestId, id), eq(auditLog.outcome, "refused")));
    expect(entry?.actorId).toBe("selfmgr");
  });

  test("comments from participants; outsiders are refused and cannot see the request", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "comment", text: "请补充部署拓扑" }));
    expect((await outboxFor(t, "yangfan", "comment")).some((r) => JSON.stringify(r.payload).includes("拓扑"))).toBe(true);
    expect((await t.act("outsider", id, { action: "comment", text: "hi" })).status).toBe(403);
    expect((await t.show("outsider", id)).status).toBe(404);
    expect((await t.show("lihua", id)).status).toBe(404);
    expect((await t.act("xufeng", id, { action: "finding", kind: "warning", text: "x" })).status).toBe(403);
  });

  test("withdraw before the first decision, not after", async () => {
    const early = ok(await t.submit("yangfan", sampleForm()), 201);
    expect((await t.act("xufeng", early.id, { action: "withdraw" })).status).toBe(403);
    const res = ok(await t.act("yangfan", early.id, { action: "withdraw", reason: "需求变化" }));
    expect(res.status).toBe("withdrawn");
    const pending = await t.db.select().from(tasks).where(and(eq(tasks.requestId, early.id), eq(tasks.status, "pending")));
    expect(pending).toHaveLength(0);

    const late = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", late.id, { action: "approve" }));
    expect((await t.act("yangfan", late.id, { action: "withdraw" })).body.error.code).toBe("already_decided");
  });

  test("lists: mine, todo and all by role", async () => {
    const mine = ok(await t.call("yangfan", "GET", "/api/requests?view=mine"));
    expect(mine.items.length).toBeGreaterThan(0);
    expect(mine.items.every((r: any) => r.applicantId === "yangfan")).toBe(true);
    const todo = ok(await t.call("chenjing", "GET", "/api/requests?view=todo"));
    for (const r of todo.items) expect(r.status).toBe("in_progress");
    const county = ok(await t.call("huangmin", "GET", "/api/requests?view=all"));
    expect(county.items.every((r: any) => r.unitId.startsWith("mx-"))).toBe(true);
    const page = ok(await t.call("zhangwei", "GET", "/api/requests?limit=2"));
    expect(page.items).toHaveLength(2);
    const next = ok(await t.call("zhangwei", "GET", `/api/requests?limit=2&before=${page.next}`));
    expect(next.items[0].id).toBeLessThan(page.items[1].id);
    expect((await t.call("zhangwei", "GET", "/api/requests?view=bogus")).status).toBe(400);
  });
});

describe("policy profiles", () => {
  test("韶关: security pledge required, county pre-review, manager 5 wd, provider 3 wd, then deployment", async () => {
    const t = await createTestApp({ profile: "shaoguan" });
    try {
      expect((await t.submit("lihua", sampleForm("shaoguan"))).body.error.fields["form.attachments"][0]).toContain("安全责任书");
      const form = sampleForm("shaoguan");
      form.attachments.push(await t.attachment("lihua", "security_pledge"));
      const { id } = ok(await t.submit("lihua", coveredByPlan(form)), 201);
      ok(await t.act("huangmin", id, { action: "approve" }));
      const detail = ok(await t.show("zhangwei", id));
      expect(detail.currentStage.stage).toBe("approve");
      // Monday 11-23 + 5 working days = Monday 11-30.
      expect(detail.currentStage.deadlineAt).toBe("2026-11-30T15:59:59.999Z");
      ok(await t.act("zhangwei", id, { action: "approve" }));
      ok(await t.act("xufeng", id, { action: "approve" }));
      // 002 第三十五条: the confirmed delivery is not the end; the system goes live only after its security test
      // (test/shaoguan-application.test.ts walks the rest).
      expect(ok(await t.act("lihua", id, { action: "confirm" }))).toMatchObject({ status: "in_progress", currentStage: "deploy" });
    } finally {
      await t.close();
    }
  });

  test("巴中: technical review → provision 3 wd → deploy 5 wd (extendable) → tests within a month → report review → cutover", async () => {
    const t = await createTestApp({ profile: "bazhong" });
    try {
      await t.planConsented(); // 003 第十四条: within the year's consented plan
      // The example is a migration: it needs the uploaded migration plan (003 第十五条); a new system its basis (第十六条).
      const fresh = { ...sampleForm(), plan: { ...sampleForm().plan, kind: "new" } };
      expect((await t.submit("yangfan", fresh)).body.error.fields["form.attachments"][0]).toContain("建设依据");
      expect((await t.submit("yangfan", sampleForm())).body.error.fields["form.attachments"][0]).toContain("迁移方案");
      const form = sampleForm();
      form.attachments.push(await t.attachment("yangfan", "plan"));
      const { id } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
      expect(await stageOf(t, id)).toBe("tech_review");
      await t.actInTurn(id, [
        ["zhangwei", { action: "approve", note: "论证通过，配额 16 核" }],
        ["xufeng", { action: "approve" }],
      ]);
      let detail = ok(await t.show("yangfan", id));
      // Monday 11-23 + 5 working days = Monday 11-30.
      expect(detail.currentStage).toMatchObject({ stage: "deploy", deadlineAt: "2026-11-30T15:59:59.999Z" });
      ok(await t.act("zhangwei", id, { action: "extend", days: 5, reason: "技术要求较高" }));
      ok(await t.act("yangfan", id, { action: "confirm" }));
      detail = ok(await t.show("yangfan", id));
      // 1 month from 11-23: 2026-12-23.
      expect(detail.currentStage).toMatchObject({ stage: "test_report", deadlineAt: "2026-12-23T15:59:59.999Z" });
      await t.actInTurn(id, [
        ["yangfan", { action: "confirm" }],
        ["zhangwei", { action: "approve" }],
      ]);
      await t.recordSecurityAssessments("yangfan"); // 003 第三十三条: 等保测评 and 密评 before the cutover
      ok(await t.act("yangfan", id, { action: "confirm" }));
      expect(ok(await t.show("yangfan", id)).status).toBe("completed");
    } finally {
      await t.close();
    }
  });

  test("高创中心: review 5 wd → the provider opens the resources, deploys and tests → the reports are filed", async () => {
    const t = await createTestApp({ profile: "gaochuang" });
    try {
      const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
      expect(ok(await t.show("yangfan", id)).currentStage).toMatchObject({ stage: "approve", name: "申请审核", deadlineAt: "2026-11-30T15:59:59.999Z" });
      await t.actInTurn(id, [
        ["zhangwei", { action: "approve" }],
        ["xufeng", { action: "approve", note: "已开通" }],
        ["xufeng", { action: "approve", note: "部署测试完成" }],
        ["chenjing", { action: "approve" }],
      ]);
      // The ledger holds what was opened, dated through deployment and going live.
      const held = ok(await t.call("zhangwei", "GET", `/api/resources?request=${id}`)).items;
      expect(held.length).toBe(4);
      expect(held.every((r: { deployedAt: string | null; liveAt: string | null }) => r.deployedAt && r.liveAt)).toBe(true);
      expect(ok(await t.show("yangfan", id)).status).toBe("completed");
    } finally {
      await t.close();
    }
  });

  test("徽州: accept 3 wd → review 2 wd → test resources 2 wd → 15-day test (extendable) → trial ≥ 30 days", async () => {
    const t = await createTestApp({ profile: "huizhou" });
    try {
      const form = sampleForm("huizhou");
      form.attachments.push(await t.attachment("yangfan", "project_approval"));
      const { id } = ok(await t.submit("yangfan", coveredByPlan(form)), 201);
      expect(await stageOf(t, id)).toBe("accept");
      // 不予受理 is a return with reasons, not a rejection.
      expect((await t.act("zhangwei", id, { action: "reject", reason: "x" })).body.error.code).toBe("not_allowed");
      ok(await t.act("zhangwei", id, { action: "approve" }));
      ok(await t.act("chenjing", id, { action: "approve" }));
      ok(await t.act("xufeng", id, { action: "approve" }));
      let detail = ok(await t.show("yangfan", id));
      expect(detail.currentStage.stage).toBe("test");
      expect(detail.currentStage.deadlineAt).toBe("2026-12-08T15:59:59.999Z"); // 11-23 + 15 calendar days
      expect((await t.act("yangfan", id, { action: "extend", days: 5, reason: "x" })).status).toBe(403);
      ok(await t.act("zhangwei", id, { action: "extend", days: 5, reason: "等待第三方接口联调" }));
      detail = ok(await t.show("yangfan", id));
      expect(detail.currentStage.deadlineAt).toBe("2026-12-13T15:59:59.999Z");
      ok(await t.act("yangfan", id, { action: "confirm" }));
      ok(await t.act("zhangwei", id, { action: "approve" }));
      const early = await t.act("yangfan", id, { action: "confirm" });
      expect(early.status).toBe(422);
      expect(early.body.error.code).toBe("too_early");
      expect(early.body.error.message).toContain("2026-12-23");
      t.clock.set("2026-12-23T01:00:00Z");
      expect(ok(await t.act("yangfan", id, { action: "confirm" })).status).toBe("completed");
    } finally {
      await t.close();
    }
  });
});

describe("input at the boundary", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test("field errors say what to write, in words, not the parser's (期望 int，实际接收 数字)", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    const unknown = await t.call("zhangwei", "POST", `/api/requests/${id}/actions`, { action: "aprove" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields.action[0]).toMatch(/^应为以下之一：approve、confirm、reject、return、fail、transfer、comment、/);
    const days = await t.call("zhangwei", "POST", `/api/requests/${id}/actions`, { action: "extend", days: 1.5 });
    expect(days.body.error.fields).toEqual({ days: ["应为整数"], reason: ["必填"] });
    const form = sampleForm();
    form.systemName = 42;
    expect((await t.submit("yangfan", coveredByPlan(form))).body.error.fields["form.systemName"]).toEqual(["应为文字"]);
  });

  test("malformed, unauthenticated, oversized and unknown input gets JSON errors and writes nothing", async () => {
    const count = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog))[0]!.n;
    const before = await count();
    expect((await t.call("yangfan", "POST", "/api/requests", "{not json")).body.error.code).toBe("invalid_input");
    const wrong = await t.submit("yangfan", { systemName: 42, vms: "many" });
    expect(wrong.status).toBe(400);
    expect(Object.keys(wrong.body.error.fields)).toEqual(expect.arrayContaining(["form.systemName", "form.vms"]));
    expect((await t.call(null, "GET", "/api/requests")).status).toBe(401);
    expect((await t.call(null, "GET", "/api/requests", undefined, { authorization: "Bearer ys_forged" })).status).toBe(401);
    const huge = await t.call("yangfan", "POST", "/api/requests", JSON.stringify({ form: { x: "啊".repeat(600_000) } }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("payload_too_large");
    expect((await t.act("yangfan", 1, { action: "explode" })).status).toBe(400);
    expect((await t.show("yangfan", "not-an-id")).status).toBe(400);
    expect((await t.show("yangfan", "99999999999999999999")).status).toBe(400);
    expect((await t.call("yangfan", "GET", "/api/nothing")).status).toBe(404);
    expect((await t.submit("zhangwei", sampleForm())).status).toBe(403);
    expect(await count()).toBe(before + 1); // only the refused submission by a non-applicant is evidence
  });

  test("a form field the schema does not know is refused by name, not silently dropped, and nothing is written", async () => {
    const count = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog))[0]!.n;
    const held = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(requests))[0]!.n;
    const [audited, submitted] = [await count(), await held()];
    const res = await t.submit("yangfan", { ...sampleForm(), 备注: "请尽快" });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe("表单中有不认识的字段：备注");
    expect(res.body.error.fields).toEqual({ "form.备注": ["不认识的字段「备注」"] });
    // Nested objects are as strict: a key inside the contact is named with its path.
    const nested = sampleForm();
    nested.contact = { ...nested.contact, wechat: "lihua01" };
    const deep = await t.submit("yangfan", nested);
    expect(deep.status).toBe(400);
    expect(deep.body.error.fields).toEqual({ "form.contact.wechat": ["不认识的字段「wechat」"] });
    expect([await count(), await held()]).toEqual([audited, submitted]);
  });

  test("an unknown field in the submission or in an action body is refused by name: a typo never passes as an empty note", async () => {
    const envelope = await t.call("yangfan", "POST", "/api/requests", { flow: "application", form: sampleForm(), priority: "加急" });
    expect(envelope.status).toBe(400);
    expect(envelope.body.error.fields).toEqual({ priority: ["不认识的字段「priority」"] });
    const id = ok(await t.submit("yangfan", sampleForm()), 201).id;
    const typo = await t.act("zhongli", id, { action: "approve", nite: "同意" });
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toBe("表单中有不认识的字段：nite");
    expect(ok(await t.show("yangfan", id)).history).toHaveLength(1);
  });

  test("healthz and openapi", async () => {
    expect(ok(await t.call(null, "GET", "/healthz"))).toEqual({ status: "ok" });
    const doc = ok(await t.call(null, "GET", "/openapi.json"));
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/requests", "/api/requests/{id}/actions"]));
    expect(doc.components.schemas.RequestAction).toBeDefined();
    // Every API route the app serves is described, with its method.
    const served = t.app.routes
      .filter((r) => r.method !== "ALL" && /^\/(api|access)\//.test(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/\/$/, "").replace(/:(\w+)/g, "{$1}")}`);
    const described = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(served).toEqual(expect.arrayContaining(["post /api/requests/{id}/actions", "get /api/vm-accounts", "post /api/port-grants/{id}/revoke"]));
    expect(served.filter((r) => !described.includes(r))).toEqual([]);
  });

  test("Idempotency-Key: a retry returns the first result; the key with another body is refused", async () => {
    const headers = { "Idempotency-Key": "submit-0001" };
    const first = ok(await t.submit("yangfan", sampleForm(), headers), 201);
    const again = ok(await t.submit("yangfan", sampleForm(), headers), 201);
    expect(again).toEqual(first);
    const other = sampleForm();
    other.systemName = "另一个系统";
    expect((await t.submit("yangfan", other, headers)).body.error.code).toBe("idempotency_key_reused");
    const submits = await t.db.select().from(auditLog).where(and(eq(auditLog.action, "request.submit"), eq(auditLog.actorId, "yangfan")));
    expect(submits.filter((e) => (e.details as any).code === first.code)).toHaveLength(1);

    const act = { "Idempotency-Key": "approve-1" };
    // A retry is the same call again, bound to the stage the first one was bound to.
    const a = ok(await t.act("xufeng", first.id, { action: "approve", stage: "evaluate" }, act));
    const b = ok(await t.act("xufeng", first.code, { action: "approve", stage: "evaluate" }, act));
    expect(b).toEqual(a);
    const runs = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, first.id));
    expect(runs.map((r) => r.stage)).toEqual(["evaluate", "approve"]);
  });
});

describe("concurrency", () => {
  const managers = Array.from({ length: 20 }, (_, i) => ({ id: `mgr${i}`, name: `经理${i}`, unit: "mz-sjj", roles: ["manager"] }));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ extraUsers: managers });
  });
  afterAll(() => t.close());

  test("20 approvers on one 或签 stage at once: exactly one decision, the rest told it is decided", async () => {
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    ok(await t.act("xufeng", id, { action: "approve" }));
    const results = await Promise.all(managers.map((m) => t.act(m.id, id, { action: "approve", stage: "approve" })));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r.status !== 200);
    expect(losers.every((r) => r.status === 409 && r.body.error.code === "already_decided")).toBe(true);
    expect(losers[0]!.body.error.message).toMatch(/已由经理\d+处理/);
    const runs = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id));
    expect(runs.filter((r) => r.stage === "approve")).toHaveLength(1);
    expect(runs.filter((r) => r.stage === "provision")).toHaveLength(1);
    const approvals = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.requestId, id), eq(auditLog.action, "request.approve"), eq(auditLog.outcome, "ok")));
    expect(approvals).toHaveLength(2); // the provider's and the one manager's
    const verified = await verifyAuditChain(t.db);
    expect(verified.ok).toBe(true);
  });

  // Invariant 3 over REST: the applicant holds backup_check and then confirm_delivery, so an unbound second
  // copy of the same confirm used to decide the next stage too (004 第十七条: 使用单位确认资源 skipped).
  test("two identical confirms at once at backup_check: one decides it, the other is told it is decided", async () => {
    const { id } = await t.deliverApplication("lihua");
    const same = { action: "confirm", stage: "backup_check", note: "恢复正常" };
    const results = await Promise.all([1, 2].map(() => t.call("lihua", "POST", `/api/requests/${id}/actions`, same)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)!.body.error).toMatchObject({ code: "already_decided", message: "「备份有效性核验」已由李华处理" });
    const runs = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id));
    expect(runs.filter((r) => r.stage === "confirm_delivery").map((r) => r.status)).toEqual(["open"]);
    // The same call by the stage's run id, once the stage is decided, is refused the same way.
    const backupRun = runs.find((r) => r.stage === "backup_check")!;
    const byRun = await t.call("lihua", "POST", `/api/requests/${id}/actions`, { action: "confirm", stageRunId: backupRun.id });
    expect(byRun.status).toBe(409);
  });

  test("a decision that names no stage is refused with the field named, and changes nothing", async () => {
    const { id } = await t.deliverApplication("lihua");
    const before = await t.db.select().from(auditLog);
    const res = await t.call("lihua", "POST", `/api/requests/${id}/actions`, { action: "confirm" });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.stage[0]).toMatch(/请注明要办理的环节/);
    const ahead = await t.call("lihua", "POST", `/api/requests/${id}/actions`, { action: "confirm", stage: "confirm_delivery" });
    expect(ahead.status).toBe(409);
    expect(ahead.body.error).toMatchObject({ code: "stage_not_open", message: expect.stringContaining("还未到「使用单位确认资源」") });
    const unknown = await t.call("lihua", "POST", `/api/requests/${id}/actions`, { action: "confirm", stage: "no_such_stage" });
    expect(unknown.status).toBe(422);
    const runs = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id));
    expect(runs.find((r) => r.stage === "backup_check")!.status).toBe("open");
    // Refusals of a known person are audited (invariant 4); no change was.
    const after = await t.db.select().from(auditLog);
    expect(after.filter((e) => e.outcome === "ok").length).toBe(before.filter((e) => e.outcome === "ok").length);
  });

  test("details read while decisions are made never show an open stage with nobody to act", async () => {
    await t.recordCryptoAssessment("yangfan");
    const { id } = ok(await t.submit("yangfan", sampleForm()), 201);
    const steps: [string, Record<string, unknown>][] = [
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["linna", { action: "approve", note: "已开通" }],
      ["yangfan", { action: "confirm", note: "恢复测试通过" }],
      ["yangfan", { action: "confirm" }],
      ["guojun", { action: "approve", stage: "verify_delivery" }],
      ["yangfan", { action: "confirm" }],
      ["yangfan", { action: "confirm", form: securityTestForm() }], // 004 第十七条(二): the 附件6
      ["chenjing", { action: "approve" }],
      ["yangfan", { action: "confirm" }],
    ];
    const reads: any[] = [];
    for (const [user, action] of steps) {
      // Readers keep reading, before, during and after the decision's statements, until it has been made.
      let decided = false;
      const reader = async () => {
        for (let n = 0; n < 3 || !decided; n++) reads.push(ok(await t.show("zhangwei", id)));
      };
      const decision = t.act(user, id, action).then((r) => {
        decided = true;
        ok(r);
      });
      await Promise.all([reader(), reader(), reader(), reader(), decision]);
    }
    const torn = reads.filter((r) => {
      const open = r.stages.filter((s: any) => s.status === "open" && !s.elapses);
      const unheld = open.filter((s: any) => !s.tasks.some((task: any) => task.status === "pending"));
      // One snapshot: the request's current stage is open and someone holds it; the only other open stage is
      // the 发放核查 that runs alongside the deployment (004 第十七条(一)).
      const current = r.currentStage?.stage ?? null;
      const beside = open.filter((s: any) => s.stage !== current);
      return unheld.length > 0 || beside.some((s: any) => s.stage !== "verify_delivery") || (current !== null && beside.length === open.length);
    });
    expect(torn.map((r) => r.stages.map((s: any) => `${s.stage}:${s.status}:${s.tasks.map((x: any) => x.status).join("/")}`).join(" "))).toEqual([]);
  });
});
