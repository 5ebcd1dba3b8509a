import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, files, outbox, requests, systems } from "../db/schema";
import { purgeUnboundFiles, UNBOUND_FILE_HOURS } from "../src/files";
import { mlpsReminders } from "../src/systems/reminders";
import { PROFILES } from "../profiles";
import { shanghaiDate } from "../src/core/calendar";
import { createTestApp, ok, rowCounts, sampleForm, securityTestForm, type TestApp } from "./app-harness";

// The register of 政务信息系统 (004 第二条) and what 梅州 asks of an application through it: the system named exactly
// as registered (第十二条(二)1), the basis its kind calls for (第十二条(二)2), the six parts of the 实施方案 (第十一条);
// and the system's 等保 (第三十八条) and 密评 (第四十条) records.
let t: TestApp;
const MEIZHOU_MLPS = PROFILES.meizhou.mlps;
const register = (user: string, body: Record<string, unknown>) => t.call(user, "POST", "/api/systems", body);
const system = (name: string, more: Record<string, unknown> = {}) => ({ name, kind: "migration", approvalRef: "梅市发改投审〔2025〕21 号", nonClassified: true, ...more });
/** The example form for another system of the unit, with a plan of that kind. */
function formFor(name: string, kind: "migration" | "new" = "migration") {
  const form = sampleForm();
  form.systemName = name;
  form.plan.kind = kind;
  return form;
}

beforeAll(async () => {
  t = await createTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September 2026, 国庆 ahead
});
afterAll(() => t?.close());

describe("系统登记 (004 第二条)", () => {
  test("004 第二条: a unit registers its system with its 立项 reference and the 非涉密 declaration; the declaration is required and a second registration refused", async () => {
    const before = await rowCounts(t.db);
    const undeclared = await register("yangfan", system("梅州市社会保障卡管理系统", { nonClassified: false }));
    expect(undeclared.status).toBe(400);
    expect(undeclared.body.error.fields.nonClassified[0]).toContain("非涉密");
    const noRef = await register("yangfan", system("梅州市社会保障卡管理系统", { approvalRef: " " }));
    expect(noRef.body.error.fields.approvalRef).toEqual(["请填写立项批复文号或立项依据"]);
    for (const name of ["社保\u0000系统", "社保\u202E系统", "x"]) expect((await register("yangfan", system(name))).status).toBe(400);
    expect(await rowCounts(t.db)).toEqual(before);
    // Only a unit's applicants (or the manager) keep its register; another role or unit cannot, and the refusal is
    // audited (invariant 4) with nothing else written.
    expect((await register("xufeng", system("梅州市社会保障卡管理系统"))).status).toBe(403);
    expect((await register("lihua", system("梅州市社会保障卡管理系统", { unitId: "mz-rsj" }))).status).toBe(403);
    const refusals = await t.db.select().from(auditLog).where(eq(auditLog.outcome, "refused"));
    expect(refusals.filter((a) => a.action === "system.register").map((a) => a.actorId)).toEqual(["xufeng", "lihua"]);
    expect(await rowCounts(t.db)).toEqual({ ...before, audit_log: before.audit_log! + 2 });

    const created = ok(await register("yangfan", system("梅州市社会保障卡管理系统")), 201);
    expect(created).toMatchObject({ unitId: "mz-rsj", unitName: "梅州市人力资源和社会保障局", kind: "migration", kindText: "已建系统迁云", mlps: null, crypto: null });
    expect(created.nonClassified.by).toBe("yangfan");
    const again = await register("yangfan", system("梅州市社会保障卡管理系统"));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("system_exists");
    // The manager registers for a unit it names.
    ok(await register("zhangwei", system("兴宁市社会治安视频系统", { unitId: "xn-gaj" })), 201);
  });

  test("004 第二条: the city's roles read every unit's register, a county bureau its county's, a unit its own", async () => {
    const names = async (user: string) => ok(await t.call(user, "GET", "/api/systems")).systems.map((s: { unitId: string }) => s.unitId);
    expect(new Set(await names("guojun"))).toEqual(new Set(["mx-jyj", "mx-wjj", "xn-gaj", "xn-rsj", "mz-rsj", "mz-zrzyj"]));
    expect(new Set(await names("zhongli"))).toEqual(new Set(["xn-gaj", "xn-rsj"]));
    expect(new Set(await names("hexin"))).toEqual(new Set(["xn-gaj"]));
    const [mine] = ok(await t.call("lihua", "GET", "/api/systems")).systems;
    expect((await t.call("hexin", "GET", `/api/systems/${mine.id}`)).status).toBe(404);
    expect(ok(await t.call("huangmin", "GET", `/api/systems/${mine.id}`)).name).toBe("梅县区教育资助管理系统");
  });

  test("004 第二条, 第十二条(二)1: 梅州 takes an application only for a registered system of the unit, named exactly as registered", async () => {
    // Nothing written but the refusals' own audit entries.
    const written = async () => {
      const { audit_log: _, ...rest } = await rowCounts(t.db);
      return rest;
    };
    const before = await written();
    const unknown = await t.submit("wangfang", formFor("梅县区基层卫生信息系统"));
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.fields["form.systemName"][0]).toContain("004 第二条、第十二条(二)1");
    // Another unit's registered system is not this unit's.
    expect((await t.submit("wangfang", formFor("梅州市社会保障卡管理系统"))).status).toBe(422);
    expect(await written()).toEqual(before);
    const registered = ok(await register("wangfang", system("梅县区基层卫生信息系统")), 201);
    // Named by id, the name must be the registered one character for character (a trailing 平台 is another system).
    const renamed = await t.submit("wangfang", { ...formFor("梅县区基层卫生信息系统平台"), systemId: registered.id });
    expect(renamed.body.error.fields["form.systemName"]).toEqual(["系统名称须与登记的「梅县区基层卫生信息系统」完全一致（004 第十二条(二)1）"]);
    const notOurs = await t.submit("wangfang", { ...formFor("梅县区基层卫生信息系统"), systemId: registered.id + 1000 });
    expect(notOurs.body.error.fields["form.systemId"]).toEqual([`本单位没有编号为 ${registered.id + 1000} 的登记系统`]);

    const filed = ok(await t.submit("wangfang", { ...formFor("梅县区基层卫生信息系统"), systemId: registered.id }), 201);
    const [row] = await t.db.select({ facts: requests.facts }).from(requests).where(eq(requests.id, filed.id));
    expect((row!.facts as { system: unknown }).system).toEqual({ id: registered.id, kind: "migration", approvalFile: false });
  });

  test("004 第十二条(二)2: a new system's application carries its 立项方案, or the register holds it; the plan's kind is the registered one", async () => {
    ok(await register("zhaolei", system("梅州市国土空间规划一张图系统", { kind: "new" })), 201);
    const asMigration = await t.submit("zhaolei", formFor("梅州市国土空间规划一张图系统", "migration"));
    expect(asMigration.body.error.fields["form.plan.kind"]).toEqual(["系统登记为「新建系统上云（new）」，实施方案的类型应与之一致（004 第十二条(二)2）"]);
    const bare = await t.submit("zhaolei", formFor("梅州市国土空间规划一张图系统", "new"));
    expect(bare.status).toBe(422);
    expect(bare.body.error.code).toBe("attachments_missing");
    expect(bare.body.error.message).toContain("新建系统的立项方案（004 第十二条(二)2）");
    const withIt = formFor("梅州市国土空间规划一张图系统", "new");
    withIt.attachments = [await t.attachment("zhaolei", "project_approval")];
    ok(await t.submit("zhaolei", withIt), 201);

    // Kept on the register, the 立项方案 need not ride with every application of the system.
    const approval = ok(await t.upload("zhaolei", { name: "立项批复.pdf", purpose: "project_approval" }), 201);
    ok(await register("zhaolei", system("梅州市矿产资源监管系统", { kind: "new", approvalFileId: approval.id })), 201);
    ok(await t.submit("zhaolei", formFor("梅州市矿产资源监管系统", "new")), 201);
  });

  test("004 第十一条: each of the six parts of the 实施方案 is required in 梅州, each told under its field", async () => {
    const form = sampleForm();
    form.plan.currentState = "";
    form.plan.rollback = " ";
    form.plan.emergency = "";
    const res = await t.submit("lihua", form);
    expect(res.status).toBe(422);
    expect(res.body.error.fields).toEqual({
      "form.plan.currentState": ["实施方案须包括系统现状描述（系统功能、服务器和网络现状、使用情况）（004 第十一条）"],
      "form.plan.rollback": ["实施方案须包括回退方案（004 第十一条）"],
      "form.plan.emergency": ["实施方案须包括应急保障措施（004 第十一条）"],
    });
  });

  test("004 第三十八条, 第四十条: the unit records the system's 等保 and 密评 with their documents; its unit, county bureau and the city's roles read them, no one else; they are never purged", async () => {
    const [mine] = ok(await t.call("lihua", "GET", "/api/systems")).systems;
    const future = await t.call("lihua", "PATCH", `/api/systems/${mine.id}`, { crypto: { assessedOn: "2026-10-08", result: "pass" } });
    expect(future.body.error.fields).toEqual({ "crypto.assessedOn": ["不能晚于今天（2026-09-29）"] });
    const badLevel = await t.call("lihua", "PATCH", `/api/systems/${mine.id}`, { mlps: { level: 6, filedOn: "2026-06-01", recordNo: "44140099001-26001" } });
    expect(badLevel.status).toBe(400);
    expect((await t.call("lihua", "PATCH", `/api/systems/${mine.id}`, {})).status).toBe(400);
    expect((await t.call("wangfang", "PATCH", `/api/systems/${mine.id}`, { approvalRef: "x" })).status).toBe(403);
    // A document uploaded as something else is not taken as the 等保 report.
    const plan = ok(await t.upload("lihua", { name: "方案.pdf", purpose: "plan" }), 201);
    const mislabelled = await t.call("lihua", "PATCH", `/api/systems/${mine.id}`, { mlps: { level: 2, filedOn: "2026-06-01", recordNo: "44140099001-26001", fileId: plan.id } });
    expect(mislabelled.body.error.code).toBe("file_purpose_mismatch");

    const mlpsReport = ok(await t.upload("lihua", { name: "等保备案证明.pdf", purpose: "mlps_report" }), 201);
    const cryptoReport = ok(await t.upload("lihua", { name: "密评报告.pdf", purpose: "crypto_report" }), 201);
    const updated = ok(
      await t.call("lihua", "PATCH", `/api/systems/${mine.id}`, {
        mlps: { level: 2, filedOn: "2026-06-01", recordNo: "44140099001-26001", testedOn: "2026-08-20", fileId: mlpsReport.id },
        crypto: { assessedOn: "2026-09-10", result: "basic", fileId: cryptoReport.id },
      }),
    );
    expect(updated.mlps).toEqual({ level: 2, levelText: "第二级", filedOn: "2026-06-01", recordNo: "44140099001-26001", testedOn: "2026-08-20", fileId: mlpsReport.id });
    expect(updated.crypto).toEqual({ assessedOn: "2026-09-10", result: "basic", resultText: "基本符合", fileId: cryptoReport.id });

    // The register's documents cannot ride with an application, and are not purged as unsubmitted uploads.
    const reused = sampleForm();
    reused.attachments = [{ purpose: "mlps_report", fileId: mlpsReport.id }];
    expect((await t.submit("lihua", reused)).body.error.code).toBe("file_attached_elsewhere");
    t.clock.set(new Date(t.clock.now().getTime() + (UNBOUND_FILE_HOURS + 1) * 3_600_000).toISOString());
    await purgeUnboundFiles(t.ctx());
    const kept = await t.db.select({ id: files.id, heldBy: files.heldBy }).from(files).where(eq(files.id, mlpsReport.id));
    expect(kept).toEqual([{ id: mlpsReport.id, heldBy: `system:${mine.id}` }]);
    expect(await t.db.select().from(files).where(eq(files.id, plan.id))).toEqual([]);

    for (const [user, status] of [["lihua", 200], ["huangmin", 200], ["zhangwei", 200], ["guojun", 200], ["wangfang", 404], ["zhongli", 404]] as const)
      expect((await t.call(user, "GET", `/api/files/${cryptoReport.id}`)).status, user).toBe(status);
    const [row] = await t.db.select().from(systems).where(eq(systems.id, mine.id));
    expect(row!.cryptoResult).toBe("basic");

    // The manager re-records the block naming the document the system already keeps: it stays, though another unit uploaded it.
    const corrected = ok(await t.call("zhangwei", "PATCH", `/api/systems/${mine.id}`, { mlps: { level: 3, filedOn: "2026-06-02", recordNo: "44140099001-26001", fileId: mlpsReport.id } }));
    expect(corrected.mlps).toMatchObject({ level: 3, fileId: mlpsReport.id });
    // Another of the unit's files it did not upload is still refused to the manager.
    const other = ok(await t.upload("lihua", { name: "新等保备案证明.pdf", purpose: "mlps_report" }), 201);
    expect((await t.call("zhangwei", "PATCH", `/api/systems/${mine.id}`, { mlps: { level: 3, filedOn: "2026-06-02", recordNo: "x", fileId: other.id } })).body.error.code).toBe("unknown_file");
  });

  test("004 第三十八条: once the system is live without an 等保 备案 on the register, its unit is reminded, once a month, until it records one", async () => {
    const systemName = "梅县区卫生监督执法系统";
    const { id: systemId } = ok(await register("wangfang", system(systemName)), 201);
    const { id } = ok(await t.submit("wangfang", formFor(systemName)), 201);
    ok(await t.call("wangfang", "PATCH", `/api/systems/${systemId}`, { crypto: { assessedOn: "2026-09-01", result: "pass" } }));
    const steps: [string, string, Record<string, unknown>][] = [
      ["huangmin", "county_review", { action: "approve" }],
      ["xufeng", "evaluate", { action: "approve" }],
      ["zhangwei", "approve", { action: "approve" }],
      ["xufeng", "provision", { action: "approve" }],
      ["wangfang", "backup_check", { action: "confirm" }],
      ["wangfang", "confirm_delivery", { action: "confirm" }],
      ["guojun", "verify_delivery", { action: "approve" }],
      ["wangfang", "deploy", { action: "approve" }],
      // 004 第十七条(二): the 附件6, for a system whose 密评 is on the register (第七条(三), 第四十条).
      ["wangfang", "request_security_test", { action: "approve", form: securityTestForm({ deployedOn: shanghaiDate(t.clock.now()) }) }],
      ["zhangwei", "security_test", { action: "approve" }],
    ];
    for (const [user, stage, action] of steps) ok(await t.act(user, id, { ...action, stage }));
    const reminders = () => t.db.select().from(outbox).where(eq(outbox.kind, "system"));
    // Not live yet: nothing to remind of.
    expect(await mlpsReminders(t.ctx(), MEIZHOU_MLPS)).toBe(0);
    ok(await t.act("wangfang", id, { action: "approve", stage: "go_live" }));
    expect(await mlpsReminders(t.ctx(), MEIZHOU_MLPS)).toBe(1);
    const [card] = await reminders();
    expect(card!.userId).toBe("wangfang");
    expect(JSON.stringify(card!.payload)).toContain(`「${systemName}」已于`);
    // Once a month: a second round the same month sends nothing; the next month reminds again.
    expect(await mlpsReminders(t.ctx(), MEIZHOU_MLPS)).toBe(0);
    t.clock.set(new Date(t.clock.now().getTime() + 31 * 86_400_000).toISOString());
    expect(await mlpsReminders(t.ctx(), MEIZHOU_MLPS)).toBe(1);
    expect(await t.db.select().from(auditLog).where(eq(auditLog.action, "system.mlps_reminder"))).toHaveLength(2);
    // Recorded on the register, the reminders stop.
    ok(await t.call("wangfang", "PATCH", `/api/systems/${systemId}`, { mlps: { level: 2, filedOn: shanghaiDate(t.clock.now()), recordNo: "44140099001-26002" } }));
    t.clock.set(new Date(t.clock.now().getTime() + 31 * 86_400_000).toISOString());
    expect(await mlpsReminders(t.ctx(), MEIZHOU_MLPS)).toBe(0);
  });

  test("001 第二十八条: in 徽州 等保 is due 6 months after the system is deployed on the cloud; the unit is reminded monthly, the managers too once it is late, until the 备案 and 测评 with their document are on the register", async () => {
    const hz = await createTestApp({ profile: "huizhou", now: "2026-09-28T02:00:00Z" }); // Monday 10:00
    try {
      const rule = PROFILES.huizhou.mlps;
      const form = sampleForm("huizhou");
      form.attachments = [await hz.attachment("yangfan", "project_approval")];
      const { id } = ok(await hz.submit("yangfan", form), 201);
      ok(await hz.act("zhangwei", id, { action: "approve", stage: "accept" }));
      ok(await hz.act("zhangwei", id, { action: "approve", stage: "review" }));
      expect(await mlpsReminders(hz.ctx(), rule)).toBe(0);
      // The test resources the unit deploys its system on, delivered on 2026-09-30.
      hz.clock.set("2026-09-30T02:00:00Z");
      ok(await hz.act("xufeng", id, { action: "approve", stage: "test_resources" }));
      expect(await mlpsReminders(hz.ctx(), rule)).toBe(1);
      const cards = async () => (await hz.db.select().from(outbox).where(eq(outbox.kind, "system"))).map((c) => [c.userId, JSON.stringify(c.payload)] as const);
      const [first] = await cards();
      expect(first![0]).toBe("yangfan");
      expect(first![1]).toContain("请于 2027-03-30 前完成定级、备案及测评");
      // Filed but not yet tested, and past the 6 months: the managers are warned with the unit.
      const [mine] = ok(await hz.call("yangfan", "GET", "/api/systems")).systems;
      hz.clock.set("2027-03-31T02:00:00Z");
      ok(await hz.call("yangfan", "PATCH", `/api/systems/${mine.id}`, { mlps: { level: 2, filedOn: "2026-12-01", recordNo: "34100099001-26001" } }));
      expect(await mlpsReminders(hz.ctx(), rule)).toBe(1);
      const late = (await cards()).slice(1);
      expect(late.map(([user]) => user).sort()).toEqual(["chenjing", "yangfan", "zhangwei"]);
      expect(late[0]![1]).toContain("已超过期限");
      // The 测评 and the 备案证明 / 测评报告 on the register complete it: no more reminders.
      const report = ok(await hz.upload("yangfan", { name: "测评报告.pdf", purpose: "mlps_report" }), 201);
      ok(await hz.call("yangfan", "PATCH", `/api/systems/${mine.id}`, { mlps: { level: 2, filedOn: "2026-12-01", recordNo: "34100099001-26001", testedOn: "2027-03-31", fileId: report.id } }));
      hz.clock.set("2027-05-03T02:00:00Z");
      expect(await mlpsReminders(hz.ctx(), rule)).toBe(0);
    } finally {
      await hz.close();
    }
  });
});
