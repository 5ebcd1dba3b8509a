import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, stageRuns, tasks } from "../db/schema";
import { applicationFlow } from "../flows/application/definition";
import { FLOW_MODULES } from "../flows";
import { profileStages } from "../flows/types";
import { POLICY_PROFILES } from "../profiles";
import { DEMO_SYSTEM } from "../src/systems/demo";
import { ok, sampleForm, securityTestForm } from "./app-harness";
import { createWebTestApp } from "./web-harness";

// 004 第十七条(二): once deployed, the unit applies within 2 working days for the pre-go-live security test,
// "按要求填报《…政务信息系统迁云上云安全检测申请表》（附件6）". 第七条(三) puts 商用密码应用 before go-live and
// 第四十条 requires the 商用密码应用安全性评估: the application is taken only for a system whose 密评 is on record
// and did not conclude 不符合. 等保 comes after go-live (第三十八条): the form asks only the proposed level.

let t: Awaited<ReturnType<typeof createWebTestApp>>;
beforeEach(async () => {
  t = await createWebTestApp();
});
afterEach(() => t?.close());

/** 杨帆 (a city unit) files the example; everyone decides at once up to 申请上线前安全检测. */
async function atSecurityTestApplication() {
  const { id, code } = ok(await t.submit("yangfan", sampleForm()), 201);
  await t.actInTurn(id, [
    ["xufeng", { action: "approve", stage: "evaluate" }],
    ["zhangwei", { action: "approve", stage: "approve" }],
    ["xufeng", { action: "approve", stage: "provision" }],
    ["yangfan", { action: "confirm", stage: "backup_check" }],
    ["yangfan", { action: "confirm", stage: "confirm_delivery" }],
    ["guojun", { action: "approve", stage: "verify_delivery" }],
    ["yangfan", { action: "approve", stage: "deploy" }],
  ]);
  expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("request_security_test");
  return { id: id as number, code: code as string };
}

const apply = (id: number, form?: unknown, user = "yangfan") =>
  t.act(user, id, { action: "approve", stage: "request_security_test", ...(form === undefined ? {} : { form }) });

/** What a refused application must leave as it was: the stage runs (and their forms), the tasks, the outbox, the accepted audit entries. */
async function written(id: number) {
  const runs = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id));
  return {
    runs: runs.map((r) => `${r.stage}:${r.status}:${JSON.stringify(r.form)}`).sort(),
    tasks: (await t.db.select().from(tasks).where(eq(tasks.requestId, id))).map((x) => `${x.id}:${x.status}`).sort(),
    outbox: (await t.db.select().from(outbox)).length,
    accepted: (await t.db.select().from(auditLog).where(eq(auditLog.outcome, "ok"))).length,
  };
}

describe("004 第十七条(二) 附件6 安全检测申请表", () => {
  test("004 第十七条(二), 第七条(三), 第四十条: without a 密评 record the application is refused and nothing is written; with one it passes and the 附件6 is on the stage in the detail", async () => {
    const { id } = await atSecurityTestApplication();
    const before = await written(id);
    // The open stage tells an API client what to fill in.
    const spec = ok(await t.show("yangfan", id)).currentStage.formSpec;
    expect(spec.fields.map((f: { name: string }) => f.name)).toEqual(["deployedOn", "accessAddress", "ports", "mlpsLevel", "cryptoUse", "contact.name", "contact.mobile", "remarks"]);
    expect(spec.fields.find((f: { name: string }) => f.name === "mlpsLevel").options[2]).toEqual({ value: 3, label: "第三级" });

    // Without the form: a 400 naming it, in Chinese.
    const bare = await apply(id);
    expect(bare.status).toBe(400);
    expect(bare.body.error.fields.form[0]).toContain("附件6");

    // The system's register carries no 密评: refused, pointing to 系统登记.
    const refused = await apply(id, securityTestForm());
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("not_allowed");
    expect(refused.body.error.message).toContain(`「${DEMO_SYSTEM.name}」尚无商用密码应用安全性评估记录`);
    expect(refused.body.error.message).toContain("004 第七条(三)、第四十条");
    expect(refused.body.error.message).toMatch(/系统登记.*\/systems.*PATCH \/api\/systems\/\d+ 的 crypto/);
    expect(await written(id)).toEqual(before);
    expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("request_security_test");

    // The unit records its 密评 (基本符合) on the register, and applies again: taken.
    await t.recordCryptoAssessment("yangfan", { result: "basic" });
    const done = ok(await apply(id, securityTestForm({ contact: { name: "杨帆", mobile: "13800000002" }, remarks: "请安排在工作日检测" })));
    expect(done.currentStage).toBe("security_test");

    const detail = ok(await t.show("zhangwei", id));
    const stage = detail.stages.find((s: { stage: string }) => s.stage === "request_security_test");
    expect(stage.form.name).toBe("《广东“数字政府”政务云梅州节点政务信息系统迁云上云安全检测申请表》（附件6）");
    expect(stage.form.values).toEqual({
      systemName: DEMO_SYSTEM.name,
      deployedOn: "2026-11-20",
      accessAddress: "https://jyzz.meixian.gov.cn",
      ports: "443,8443",
      mlpsLevel: 2,
      cryptoUse: "采用 SM2/SM3/SM4 国产商用密码算法：SSL 证书与数据库字段加密",
      contact: { name: "杨帆", mobile: "13800000002" },
      remarks: "请安排在工作日检测",
    });
    // Other stages carry no form.
    expect(detail.stages.filter((s: { form: unknown }) => s.form !== null).map((s: { stage: string }) => s.stage)).toEqual(["request_security_test"]);
    // The audit entry keeps the form, its phone number masked (invariant 8).
    const entry = detail.history.find((h: { action: string; stage: string }) => h.action === "request.approve" && h.stage === "request_security_test");
    expect(entry.details.form).toMatchObject({ systemName: DEMO_SYSTEM.name, mlpsLevel: 2, contact: { name: "杨帆", mobile: "138****0002" } });
  });

  test("004 第十七条(二): bad fields (a future date, NUL and bidi characters, port 70000, a level of 6, an address that is neither URL nor IP, a stray field) are refused in Chinese under form.<field>, and nothing is written", async () => {
    await t.recordCryptoAssessment("yangfan");
    const { id } = await atSecurityTestApplication();
    const before = await written(id);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ deployedOn: "2026-11-24" }, "form.deployedOn", /部署完成日期不能晚于今天（2026-11-23）/],
      [{ deployedOn: "2026-02-30" }, "form.deployedOn", /应为存在的日期/],
      [{ cryptoUse: "SM4\u0000加密" }, "form.cryptoUse", /控制字符（U\+0000）/],
      [{ contact: { name: "杨\u202E帆", mobile: "13800000002" } }, "form.contact.name", /双向文本控制字符（U\+202E）/],
      [{ ports: "443,70000" }, "form.ports", /端口应在 1–65535 之间/],
      [{ ports: "" }, "form.ports", /请填写对外开放端口/],
      [{ mlpsLevel: 6 }, "form.mlpsLevel", /拟定等保级别应为 1–5/],
      [{ accessAddress: "jyzz 系统" }, "form.accessAddress", /应为 http\(s\):\/\/ 开头的网址或 IP 地址/],
      [{ accessAddress: "300.1.2.3" }, "form.accessAddress", /IP 地址/],
      [{ contact: { name: "杨帆", mobile: "12345" } }, "form.contact.mobile", /手机号/],
      [{ systemName: "别的系统" }, "form.systemName", /不认识的字段「systemName」/],
    ];
    for (const [over, field, message] of cases) {
      const res = await apply(id, securityTestForm(over));
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(res.body.error.code).toBe("invalid_input");
      expect(res.body.error.fields[field]?.join("；"), JSON.stringify(res.body.error)).toMatch(message);
    }
    expect(await written(id)).toEqual(before);
    // The accepted shapes of an address: a URL, an IPv4 with its port, an IPv6.
    for (const accessAddress of ["http://10.1.2.3:8080/login", "10.1.2.3:8443", "[2001:db8::1]:443"])
      expect(FLOW_MODULES.application.definition.profiles.meizhou!.overrides!.request_security_test!.form!.schema.safeParse(securityTestForm({ accessAddress })).success, accessAddress).toBe(true);
  });

  test("004 第四十条: a 密评 that concluded 不符合 is refused until the system is re-assessed", async () => {
    await t.recordCryptoAssessment("yangfan", { result: "fail", assessedOn: "2026-10-15" });
    const { id } = await atSecurityTestApplication();
    const refused = await apply(id, securityTestForm());
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toContain("结论为“不符合”（2026-10-15）");
    expect(refused.body.error.message).toContain("国产商用密码应用改造");
    expect(ok(await t.show("yangfan", id)).currentStage.stage).toBe("request_security_test");
    await t.recordCryptoAssessment("yangfan", { result: "pass", assessedOn: "2026-11-20" });
    expect(ok(await apply(id, securityTestForm())).currentStage).toBe("security_test");
  });

  test("004 第十七条(二): a request from before the register (no facts.system) is not held back by the 密评 rule, but still files the 附件6", async () => {
    const { id } = await atSecurityTestApplication();
    const [row] = await t.db.select({ facts: requests.facts }).from(requests).where(eq(requests.id, id));
    const { system: _, ...older } = row!.facts as Record<string, unknown>;
    await t.db.update(requests).set({ facts: older }).where(eq(requests.id, id));
    expect((await apply(id)).status).toBe(400);
    expect(ok(await apply(id, securityTestForm())).currentStage).toBe("security_test");
  });

  test("004 第十七条(二): the card offers the portal page instead of a one-click approve, and 待办 does not offer it as needing nothing", async () => {
    const { id, code } = await atSecurityTestApplication();
    const [card] = (await t.db.select().from(outbox).where(and(eq(outbox.userId, "yangfan"), eq(outbox.kind, "task")))).slice(-1);
    const payload = card!.payload as { title: string; actions: unknown[]; open?: { label: string; path: string }; summary: string };
    expect(payload.title).toBe("待处理：申请上线前安全检测");
    expect(payload.actions).toEqual([]);
    expect(payload.open).toEqual({ label: "提交安全检测申请", path: `/requests/${code}#actions` });
    expect(payload.summary).toContain("请在网页端填写《广东“数字政府”政务云梅州节点政务信息系统迁云上云安全检测申请表》（附件6）后提交");
    const todo = ok(await t.call("yangfan", "GET", "/api/requests?view=todo")).items.find((r: { id: number }) => r.id === id);
    expect(todo.decisions).toEqual([{ action: "approve", label: "提交安全检测申请", asks: "《广东“数字政府”政务云梅州节点政务信息系统迁云上云安全检测申请表》（附件6）" }]);
  });

  test("004 第十七条(二): on the portal the decision panel shows the 附件6's fields, refuses bad ones under each field, and the filed form shows under the stage", async () => {
    await t.recordCryptoAssessment("yangfan");
    const { code } = await atSecurityTestApplication();
    const a = await t.signedIn("yangfan");
    const page = await a.get(`/requests/${code}`);
    expect(page.status).toBe(200);
    for (const label of ["部署完成日期", "系统访问地址", "对外开放端口", "拟定等保级别", "商用密码应用情况", "检测联系人", "检测联系人手机", "备注"]) expect(page.html).toContain(label);
    expect(page.html).toContain(`系统名称：${DEMO_SYSTEM.name}`);
    const runId = /name="stageRunId" value="(\d+)"/.exec(page.html)![1]!;
    const fields = {
      action: "approve",
      stageRunId: runId,
      deployedOn: "2026-11-20",
      accessAddress: "https://jyzz.meixian.gov.cn",
      ports: "443",
      mlpsLevel: "3",
      cryptoUse: "SM2 证书",
      "contact.name": "杨帆",
      "contact.mobile": "13800000002",
    };
    // A port out of range and a date ahead: the page comes back with what was typed and a message under each field.
    const bad = await a.post(`/requests/${code}/actions`, { ...fields, ports: "70000", deployedOn: "2026-12-01" });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/data-field="ports"[\s\S]*?端口应在 1–65535 之间/);
    expect(bad.html).toContain('value="70000"');
    const late = await a.post(`/requests/${code}/actions`, { ...fields, deployedOn: "2026-12-01" });
    expect(late.status).toBe(400);
    expect(late.html).toMatch(/data-field="deployedOn"[\s\S]*?部署完成日期不能晚于今天（2026-11-23）/);
    expect(ok(await t.show("yangfan", code)).currentStage.stage).toBe("request_security_test");

    const filed = await a.post(`/requests/${code}/actions`, fields);
    expect(filed.status).toBe(303);
    const after = await a.get(filed.location!);
    expect(after.html).toContain("已提交您的意见");
    expect(after.html).toContain("迁云上云安全检测申请表》（附件6）");
    expect(after.html).toMatch(/拟定等保级别<\/dt><dd>第三级/);
    expect(after.html).toContain("https://jyzz.meixian.gov.cn");
    expect(ok(await t.show("yangfan", code)).currentStage.stage).toBe("security_test");
  });
});

describe("other profiles", () => {
  test("004 第十七条(二): only 梅州's 申请上线前安全检测 has a form (附件6); elsewhere the only stage forms are their own documents' records (巴中 003 第十四条 审定, 高创中心 000 6.3 移交记录)", () => {
    const ownRecords: Record<string, string[]> = {
      meizhou: ["application.request_security_test"],
      bazhong: ["application.city_consent"],
      gaochuang: ["revocation.handover"],
    };
    for (const profile of POLICY_PROFILES) {
      const withForm = Object.values(FLOW_MODULES).flatMap((m) =>
        m.definition.profiles[profile] || m.definition.profiles.default
          ? profileStages(m.definition, profile).filter((s) => s.form).map((s) => `${m.definition.key}.${s.key}`)
          : [],
      );
      expect(withForm.sort(), profile).toEqual(ownRecords[profile] ?? []);
    }
    // The stage itself, as the catalogue describes it for everyone, has none.
    expect(applicationFlow.stages.request_security_test!.form).toBeUndefined();
  });

  test("004 第十七条(二): a 韶关 application is decided without any form, as before", async () => {
    const s = await createWebTestApp({ profile: "shaoguan" });
    try {
      const { id } = ok(await s.submit("yangfan", { ...sampleForm("shaoguan"), attachments: [await s.attachment("yangfan", "security_pledge")] }), 201);
      // A form sent to a stage without one is refused rather than silently kept.
      const stray = await s.act("zhangwei", id, { action: "approve", form: securityTestForm() });
      expect(stray.status).toBe(400);
      expect(stray.body.error.fields.form[0]).toBe("「审批」没有要填写的表单，请不要提交 form");
      ok(await s.act("zhangwei", id, { action: "approve" }));
      ok(await s.act("xufeng", id, { action: "approve" }));
      ok(await s.act("yangfan", id, { action: "confirm" }));
      // 002 第三十五条: 韶关 deploys and is security-tested before go-live, with no 附件6 at any of its stages.
      ok(await s.act("yangfan", id, { action: "approve", stage: "deploy" }));
      ok(await s.act("yangfan", id, { action: "approve", stage: "request_security_test" }));
      ok(await s.act("zhangwei", id, { action: "approve", stage: "security_test" }));
      const done = ok(await s.act("yangfan", id, { action: "approve", stage: "go_live" }));
      expect(done.status).toBe("completed");
      expect(ok(await s.show("yangfan", id)).stages.every((x: { form: unknown }) => x.form === null)).toBe(true);
    } finally {
      await s.close();
    }
  });
});
