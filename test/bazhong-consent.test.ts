import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, files, planConsents, resources } from "../db/schema";
import { builtinSchedules, WorkCalendar } from "../src/core/calendar";
import { verifyAuditChain } from "../src/audit/verify";
import { purgeUnboundFiles } from "../src/files";
import { ok, rowCounts, sampleForm, samplePdf } from "./app-harness";
import { schedule2027 } from "./schedule-2027";
import { createWebTestApp, csrfIn, type WebTestApp } from "./web-harness";

// 巴中 003 第十四条: units send next year's 政务云资源使用申请 by the end of September; the bureau puts them into the
// year's 采购计划 and takes it to the city government (市人民政府审定同意), whose consent a manager records. An
// application outside the consented plan (未列入年度计划, on the figures) goes to the city government on its own
// (报市人民政府审定) after the bureau's technical review, before any resource is configured. Walked across 春节 2027
// (02-06 … 02-14 off, the test calendar's year).

let t: WebTestApp;
beforeAll(async () => {
  t = await createWebTestApp({ profile: "bazhong", now: "2026-09-10T02:00:00Z" }); // Thursday 10:00
  t.setCalendar(new WorkCalendar([...builtinSchedules(), schedule2027]));
});
afterAll(() => t?.close());

const consent = (user: string, year: number, body: Record<string, unknown>) => t.call(user, "PUT", `/api/demands/${year}/consent`, body);
const migration = async (user: string, form = sampleForm()) => {
  form.attachments.push(await t.attachment(user, "plan")); // 003 第十五条
  return form;
};
const stagesOf = async (id: number) => ok(await t.show("zhangwei", id)).stages.map((s: { stage: string }) => s.stage);
const planLine = async (id: number) => ok(await t.show("zhangwei", id)).summary.find((f: { label: string }) => f.label === "年度计划")?.value ?? null;

describe("巴中 市人民政府审定同意 (003 第十四条)", () => {
  test("003 第十四条: before the year's plan is consented, an application is 未列入年度计划", async () => {
    const { id } = ok(await t.submit("yangfan", await migration("yangfan")), 201);
    expect(await planLine(id)).toBe("2026 年度政务云资源采购计划尚未经市人民政府审定同意，须报市人民政府审定同意（003 第十四条）");
    ok(await t.act("yangfan", id, { action: "withdraw", reason: "待年度计划审定后再申请" }));
  });

  test("003 第十四条: the manager records the city government's consent of the year's plan once, with its 文号, date and document; the plan is the demands the city sees then", async () => {
    // Next year's demands, by 30 September: a city unit's, and a county unit's its bureau does not pass on.
    ok(await t.call("yangfan", "PUT", "/api/demands/2027", { vcpu: 20, memoryGb: 64, storageGb: 1000, note: "社保卡系统扩容" }));
    ok(await t.call("lihua", "PUT", "/api/demands/2027", { vcpu: 8, memoryGb: 16, storageGb: 200 }));

    t.clock.set("2026-12-28T02:00:00Z"); // Monday
    const doc = ok(await t.upload("zhangwei", { name: "市政府审定同意.pdf", purpose: "plan_consent" }), 201);
    const body = { docNo: "巴府阅〔2026〕88 号", consentedOn: "2026-12-25", fileId: doc.id };
    // Only a manager records it; a unit, the provider and a county bureau are refused, and nothing is written.
    const before = await rowCounts(t.db);
    for (const user of ["yangfan", "xufeng", "huangmin", "guojun"]) expect((await consent(user, 2027, body)).status).toBe(403);
    // Bad input: a clear message, nothing written.
    const future = await consent("zhangwei", 2027, { ...body, consentedOn: "2026-12-29" });
    expect(future.status).toBe(400);
    expect(future.body.error.fields.consentedOn).toEqual(["审定同意日期不能晚于今天（2026-12-28）"]);
    const noNumber = await consent("zhangwei", 2027, { consentedOn: "2026-12-25" });
    expect(noNumber.body.error.fields.docNo).toEqual(["请填写市人民政府审定同意的文号"]);
    expect((await consent("zhangwei", 2027, { ...body, consentedOn: "2026-02-30" })).status).toBe(400);
    expect(await rowCounts(t.db)).toEqual(before);
    // A year nobody asked anything for has no plan to consent (the refusal is audited, nothing else written).
    expect((await consent("zhangwei", 2028, { docNo: "x", consentedOn: "2026-12-25" })).body.error.code).toBe("not_allowed");
    expect(await rowCounts(t.db)).toEqual({ ...before, audit_log: before.audit_log! + 1 });

    const recorded = ok(await consent("zhangwei", 2027, body));
    // 梅县区教育局's figures never reached the city: its bureau did not pass them on.
    expect(recorded).toMatchObject({
      year: 2027,
      docNo: "巴府阅〔2026〕88 号",
      consentedOn: "2026-12-25",
      fileId: doc.id,
      units: [{ unitId: "mz-rsj", vcpu: 20, memoryGb: 64, storageGb: 1000 }],
      total: { vcpu: 20, memoryGb: 64, storageGb: 1000 },
      recordedBy: "zhangwei",
    });
    expect((await consent("zhangwei", 2027, { ...body, docNo: "巴府阅〔2026〕89 号" })).status).toBe(409);
    // Kept as consented: a revision afterwards changes the demand, not the plan.
    ok(await t.call("yangfan", "PUT", "/api/demands/2027", { vcpu: 200, memoryGb: 640, storageGb: 10000 }));
    const [kept] = await t.db.select().from(planConsents).where(eq(planConsents.year, 2027));
    expect(kept!.units).toEqual([{ unitId: "mz-rsj", vcpu: 20, memoryGb: 64, storageGb: 1000 }]);
    expect((await t.db.select({ heldBy: files.heldBy }).from(files).where(eq(files.id, doc.id)))[0]!.heldBy).toBe("plan:2027");
    const [entry] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, "demand.plan_consent"), eq(auditLog.outcome, "ok")));
    expect(entry).toMatchObject({ actorId: "zhangwei", details: { year: 2027, docNo: "巴府阅〔2026〕88 号", article: "003 第十四条" } });

    // The city's roles see it with the year's figures; a unit does not.
    expect(ok(await t.call("guojun", "GET", "/api/demands/2027")).consent).toMatchObject({ docNo: "巴府阅〔2026〕88 号" });
    expect(ok(await t.call("yangfan", "GET", "/api/demands/2027")).consent).toBeNull();
    const page = await (await t.signedIn("zhangwei")).get("/demands/2027");
    expect(page.html).toContain("市人民政府审定同意");
    expect(page.html).toContain("巴府阅〔2026〕88 号");
    // The document is the city's to read, not a unit's.
    expect((await t.call("zhangwei", "GET", `/api/files/${doc.id}`)).status).toBe(200);
    expect((await t.call("yangfan", "GET", `/api/files/${doc.id}`)).status).toBe(404);
  });

  test("003 第十四条: within the plan an application goes from the technical review to the configuration; beyond it, or outside it, to the city government first, across 春节", async () => {
    t.clock.set("2027-02-01T02:00:00Z"); // Monday
    // 16 核 / 48G / 400G, within 巴府阅〔2026〕88 号's 20 核 / 64G / 1000G for 梅州市人社局.
    const { id: planned } = ok(await t.submit("yangfan", await migration("yangfan")), 201);
    expect(await planLine(planned)).toBeNull();
    // 003 第十七条's review (5 wd): 02-02 … 02-05, then 春节, 02-15.
    expect(ok(await t.show("yangfan", planned)).currentStage).toMatchObject({ stage: "tech_review", deadlineAt: "2027-02-15T15:59:59.999Z" });
    ok(await t.act("zhangwei", planned, { action: "approve", note: "论证通过" }));
    expect(ok(await t.show("yangfan", planned)).currentStage.stage).toBe("provision");

    // A second one the same year: 32 核 and 96G in all, beyond the plan.
    const { id: beyond } = ok(await t.submit("yangfan", await migration("yangfan")), 201);
    expect(await planLine(beyond)).toBe(
      "超出 2027 年度计划（巴府阅〔2026〕88 号）：已申请 32核，计划 20核；已申请 96G 内存，计划 64G 内存，须报市人民政府审定同意（003 第十四条）",
    );
    // A county unit whose demand its bureau never passed on is not in the plan at all.
    const { id: outside } = ok(await t.submit("lihua", await migration("lihua")), 201);
    expect(await planLine(outside)).toBe("本单位需求未列入 2027 年度政务云资源采购计划（巴府阅〔2026〕88 号），须报市人民政府审定同意（003 第十四条）");

    t.clock.set("2027-02-03T02:00:00Z");
    ok(await t.act("zhangwei", beyond, { action: "approve", note: "论证通过，超出年度计划" }));
    let detail = ok(await t.show("yangfan", beyond));
    // The city government's time is not the bureau's to set: no deadline.
    expect(detail.currentStage).toMatchObject({ stage: "city_consent", name: "报市人民政府审定", deadlineAt: null, deadlinePending: false });
    expect(detail.currentStage.tasks.map((x: { userId: string }) => x.userId).sort()).toEqual(["chenjing", "zhangwei"]);

    // Only a manager records it; the unit and the provider are refused, and nothing but the refusals is written.
    const before = await rowCounts(t.db);
    expect((await t.act("yangfan", beyond, { action: "confirm", form: { docNo: "x", consentedOn: "2027-02-03" } })).status).toBe(403);
    expect((await t.act("xufeng", beyond, { action: "approve", form: { docNo: "x", consentedOn: "2027-02-03" } })).status).toBe(403);
    expect(await rowCounts(t.db)).toEqual({ ...before, audit_log: before.audit_log! + 2 });
    // Without the 文号 and date, or dated ahead, it is refused and nothing is written.
    const checked = await rowCounts(t.db);
    expect((await t.act("zhangwei", beyond, { action: "approve" })).body.error.fields.form[0]).toContain("市人民政府审定同意");
    const ahead = await t.act("zhangwei", beyond, { action: "approve", form: { docNo: "巴府阅〔2027〕9 号", consentedOn: "2027-02-04" } });
    expect(ahead.body.error.fields["form.consentedOn"]).toEqual(["审定同意日期不能晚于今天（2027-02-03）"]);
    expect(await rowCounts(t.db)).toEqual(checked);
    expect(await t.db.select().from(resources).where(eq(resources.requestId, beyond))).toEqual([]);

    // Consented on Friday 02-05, the last working day before 春节: configured within 3 wd, 02-15 … 02-17.
    t.clock.set("2027-02-05T02:00:00Z");
    ok(await t.act("zhangwei", beyond, { action: "approve", form: { docNo: "巴府阅〔2027〕9 号", consentedOn: "2027-02-05" }, note: "市政府常务会议审定同意" }));
    detail = ok(await t.show("yangfan", beyond));
    expect(detail.currentStage).toMatchObject({ stage: "provision", deadlineAt: "2027-02-17T15:59:59.999Z" });
    const consentRun = detail.stages.find((s: { stage: string }) => s.stage === "city_consent");
    expect(consentRun.form).toEqual({ name: "市人民政府审定同意", values: { docNo: "巴府阅〔2027〕9 号", consentedOn: "2027-02-05" } });
    const [audited] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, beyond), eq(auditLog.stage, "city_consent"), eq(auditLog.outcome, "ok")));
    expect(audited).toMatchObject({ actorId: "zhangwei", action: "request.approve", details: { form: { docNo: "巴府阅〔2027〕9 号", consentedOn: "2027-02-05" } } });
    t.clock.set("2027-02-15T02:00:00Z");
    ok(await t.act("xufeng", beyond, { action: "approve", note: "已配置" }));
    expect(await stagesOf(beyond)).toEqual(["tech_review", "city_consent", "provision", "deploy"]);
    const page = await (await t.signedIn("yangfan")).get(`/requests/${detail.code}`);
    expect(page.html).toContain("巴府阅〔2027〕9 号");

    // The city government does not consent: the request ends there, with nothing configured.
    ok(await t.act("zhangwei", outside, { action: "approve" }));
    ok(await t.act("chenjing", outside, { action: "reject", reason: "市人民政府未同意，纳入下一年度计划" }));
    expect(ok(await t.show("lihua", outside)).status).toBe("rejected");
    expect(await t.db.select().from(resources).where(eq(resources.requestId, outside))).toEqual([]);

    // What went to the city government on its own does not use up the plan: 4 核 more is within it (16 + 4 = 20).
    const small = await migration("yangfan");
    small.vms = [{ ...small.vms[0], quantity: 1 }];
    const { id: more } = ok(await t.submit("yangfan", small), 201);
    expect(await planLine(more)).toBeNull();
    ok(await t.act("zhangwei", more, { action: "approve" }));
    expect(await stagesOf(more)).toEqual(["tech_review", "provision"]);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  test("003 第十四条: on the portal, the manager records the consent on the year's demand page; a bad entry is shown back, nothing written", async () => {
    // Next year's figures, from a unit, as of 2027.
    ok(await t.call("yangfan", "PUT", "/api/demands/2028", { vcpu: 24, memoryGb: 64, storageGb: 800 }));
    const manager = await t.signedIn("zhangwei");
    let page = await manager.get("/demands/2028");
    expect(page.html).toContain("登记市人民政府审定同意（003 第十四条）");
    // The provider reads the page but has no form, and its POST is refused.
    const provider = await t.signedIn("xufeng");
    const seen = await provider.get("/demands/2028");
    expect(seen.html).not.toContain("登记市人民政府审定同意");
    expect((await provider.post("/demands/2028/consent", { docNo: "x", consentedOn: "2027-02-15" })).status).toBe(403);
    const before = await rowCounts(t.db);
    page = await manager.post("/demands/2028/consent", { docNo: "", consentedOn: "2027-02-16" });
    expect(page.status).toBe(400);
    expect(page.html).toContain("请填写市人民政府审定同意的文号");
    expect(await rowCounts(t.db)).toEqual(before);
    page = await manager.post("/demands/2028/consent", { docNo: "巴府阅〔2027〕3 号", consentedOn: "2027-02-15" });
    expect(page.status).toBe(303);
    page = await manager.get(page.location!);
    expect(page.html).toContain("市人民政府审定同意已登记");
    expect(page.html).toContain("巴府阅〔2027〕3 号，2027-02-15");
    expect(page.html).not.toContain("登记审定同意</button>");
  });

  test("003 第十四条: the city government's reply is the 审定's document, kept with the request; chosen with the form on the portal, read by the request's readers only; another unit's file or another purpose is refused, nothing written", async () => {
    // Beyond the 2027 plan, already used up: 报市人民政府审定 after the technical review.
    const { id, code } = ok(await t.submit("yangfan", await migration("yangfan")), 201);
    ok(await t.act("zhangwei", id, { action: "approve", note: "论证通过，超出年度计划" }));
    const open = ok(await t.show("zhangwei", id)).currentStage;
    expect(open.stage).toBe("city_consent");
    expect(open.formSpec.fields).toContainEqual({ name: "fileId", label: "审定同意文件", kind: "file", optional: true, purpose: "plan_consent" });
    const typed = { docNo: "巴府阅〔2027〕15 号", consentedOn: "2027-02-15" };

    const unitsOwn = ok(await t.upload("yangfan", { name: "单位的文件.pdf", purpose: "plan_consent" }), 201);
    const otherPurpose = ok(await t.upload("zhangwei", { name: "迁移方案.pdf", purpose: "plan" }), 201);
    const before = await rowCounts(t.db);
    const notOurs = await t.act("zhangwei", id, { action: "approve", form: { ...typed, fileId: unitsOwn.id } });
    expect(notOurs.status).toBe(422);
    expect(notOurs.body.error.code).toBe("unknown_file");
    expect(Object.keys(notOurs.body.error.fields)).toEqual(["form.fileId"]);
    const mislabelled = await t.act("zhangwei", id, { action: "approve", form: { ...typed, fileId: otherPurpose.id } });
    expect(mislabelled.body.error).toMatchObject({ code: "file_purpose_mismatch", fields: { "form.fileId": ["「迁移方案.pdf」应以「市人民政府审定同意文件」上传"] } });
    expect((await t.act("zhangwei", id, { action: "approve", form: { ...typed, fileId: ["f_x"] } })).status).toBe(400);
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
    expect(ok(await t.show("zhangwei", id)).currentStage.stage).toBe("city_consent");

    // On the portal the manager fills in the form and chooses the reply in the same post.
    const manager = await t.signedIn("zhangwei");
    const page = await manager.get(`/requests/${code}`);
    expect(page.html).toContain('enctype="multipart/form-data"');
    expect(page.html).toMatch(/<input id="f-fileId" type="file" name="fileId"/);
    const reply = samplePdf();
    const post = new FormData();
    for (const [k, v] of Object.entries({ _csrf: csrfIn(page.html)!, action: "approve", stageRunId: String(open.runId), ...typed, note: "市政府常务会议审定同意" })) post.set(k, v);
    post.set("fileId", new File([reply], "巴府阅〔2027〕15号.pdf", { type: "application/pdf" }));
    const done = await t.app.request(`/requests/${code}/actions`, { method: "POST", headers: { cookie: manager.cookie! }, body: post });
    expect(done.status, (await done.clone().text()).slice(0, 400)).toBe(303);

    const decided = ok(await t.show("yangfan", id)).stages.find((s: { stage: string }) => s.stage === "city_consent");
    const sha256 = createHash("sha256").update(reply).digest("hex");
    const kept = { fileId: expect.stringMatching(/^f_/), name: "巴府阅〔2027〕15号.pdf", size: reply.length, sha256 };
    expect(decided.form.values).toEqual({ ...typed, fileId: kept });
    const fileId = decided.form.values.fileId.fileId as string;
    const [row] = await t.db.select().from(files).where(eq(files.id, fileId));
    expect(row).toMatchObject({ requestId: id, heldBy: `stage:${open.runId}`, uploadedBy: "zhangwei", purpose: "plan_consent" });
    const [audited] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.stage, "city_consent"), eq(auditLog.outcome, "ok")));
    expect(audited!.details).toMatchObject({ form: { docNo: typed.docNo, fileId: { sha256 } } });
    // The applicant reads it from the request page; a unit that cannot see the request cannot read it.
    const applicant = await t.signedIn("yangfan");
    expect((await applicant.get(`/requests/${code}`)).html).toContain(`<a href="/files/${fileId}">巴府阅〔2027〕15号.pdf</a>`);
    expect((await t.call("yangfan", "GET", `/api/files/${fileId}`)).status).toBe(200);
    expect((await t.call("lihua", "GET", `/api/files/${fileId}`)).status).toBe(404);
    // Kept: uploads no request or record names are deleted after 24 hours; the reply stays.
    t.clock.set("2027-02-17T02:00:00Z");
    await purgeUnboundFiles(t.ctx());
    const left = async (fid: string) => (await t.db.select({ id: files.id }).from(files).where(eq(files.id, fid))).length;
    expect(await left(fileId)).toBe(1);
    expect(await left(unitsOwn.id)).toBe(0);
  });
});
