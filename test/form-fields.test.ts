import { eq } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import { requests } from "../db/schema";
import { applicationFormSchema } from "../flows/application/form";
import { SHAOGUAN_SECURITY_PLEDGE, HUIZHOU_PLEDGE } from "../flows/application/documents";
import { applicationForm, formForProfile, valuesFromInput } from "../src/channels/web/forms";
import { ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// The official forms' own blanks and documents, per profile: 韶关's 《…政务云资源申请表》（002 附件1） and the signed
// 《…资源使用安全责任书》（附件2, 第十九条）; 徽州's 《…政务云资源使用审批表》 with its 附表 and 申请单位承诺 (001 附件1).

let t: WebTestApp;
afterEach(async () => {
  await t?.close();
});

type Form = ReturnType<typeof sampleForm>;
const NOW = "2026-09-25T02:00:00Z"; // Friday 10:00 in Shanghai

/** A submission refused with exactly these field messages, writing nothing but the audited refusal. */
async function refusedWith(user: string, form: Form, fields: Record<string, string[]>, code = "not_allowed") {
  const before = await rowCounts(t.db);
  const res = await t.submit(user, form);
  expect(res.status, JSON.stringify(res.body)).toBe(code === "invalid" ? 400 : 422);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.fields).toEqual(fields);
  const after = await rowCounts(t.db);
  expect({ ...after, audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
  expect(after.requests).toBe(before.requests);
}

/** The page's text without tags, so labels and values read as a person sees them. */
const textOf = (html: string) => html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");

/** The message under a field of the web form, by the field's name. */
function messageUnder(html: string, name: string): string | null {
  const id = `f-${name.replace(/[^A-Za-z0-9]+/g, "-")}-error`;
  return new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] ?? null;
}

/** A stored form as the page's fields name it (what a browser posts), for the profile's own form. */
function pageFields(profile: "shaoguan" | "huizhou", form: Form, changes: Record<string, string> = {}): Record<string, string> {
  const values = valuesFromInput(formForProfile(applicationForm, profile), form);
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(values.fields)) if (v !== "") fields[k] = String(v);
  for (const [group, rows] of Object.entries(values.rows)) rows.forEach((row, i) => {
    for (const [k, v] of Object.entries(row)) if (v !== "") fields[`${group}[${i}].${k}`] = v;
  });
  return { ...fields, ...changes };
}

describe("韶关 (002 附件1, 附件2, 第十九条)", () => {
  async function complete(user = "yangfan"): Promise<Form> {
    const f = sampleForm("shaoguan");
    f.attachments.push(await t.attachment(user, "security_pledge"));
    return f;
  }

  test("002 附件1: an application without 申请期限, 项目名称, 维护单位, 维护单位性质 or a row's 服务器类型 is refused under each field; nothing written", async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: NOW });
    const bare = await complete();
    delete bare.term;
    delete bare.projectName;
    delete bare.maintainer.company;
    delete bare.maintainer.nature;
    delete bare.vms[1].serverType;
    await refusedWith("yangfan", bare, {
      "form.term.kind": ["请填写申请期限：长期，或至指定日期（002 附件1）"],
      "form.projectName": ["请填写项目名称（002 附件1）"],
      "form.maintainer.company": ["请填写维护单位（002 附件1）"],
      "form.maintainer.nature": ["请选择维护单位性质：本单位内设机构、下属单位/部门或委托外包单位（002 附件1）"],
      "form.vms.1.serverType": ["请填写「数据库服务器」的服务器类型（002 附件1 资源申请信息）"],
    });
    // Each one alone.
    for (const [field, drop] of [
      ["form.term.kind", (f: Form) => delete f.term],
      ["form.projectName", (f: Form) => delete f.projectName],
      ["form.maintainer.nature", (f: Form) => delete f.maintainer.nature],
      ["form.vms.0.serverType", (f: Form) => delete f.vms[0].serverType],
    ] as const) {
      const f = await complete();
      drop(f);
      const res = await t.submit("yangfan", f);
      expect(res.status).toBe(422);
      expect(Object.keys(res.body.error.fields)).toEqual([field]);
    }
  });

  test("002 附件1 申请期限: 长期 or until a day not before the 申请日期; the choice and the day checked by the schema", async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: NOW });
    const past = await complete();
    past.term = { kind: "until", until: "2026-09-24" };
    await refusedWith("yangfan", past, { "form.term.until": ["申请期限（至 2026-09-24）不能早于申请日期 2026-09-25"] });
    const noDay = await complete();
    noDay.term = { kind: "until" };
    const res = await t.submit("yangfan", noDay);
    expect(res.status).toBe(400);
    expect(res.body.error.fields["form.term.until"]).toEqual(["申请期限选“至指定日期”时请填写期限至"]);
    const badKind = await complete();
    badKind.term = { kind: "forever" };
    expect((await t.submit("yangfan", badKind)).body.error.fields["form.term.kind"]).toEqual(["申请期限应为以下之一：长期、至指定日期"]);
    const longTerm = await complete();
    longTerm.term = { kind: "long_term" };
    ok(await t.submit("yangfan", longTerm), 201);
  });

  test("002 第十九条, 附件2: without the signed 安全责任书 the application is refused, nothing written; the portal offers its text to print and as a file", async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: NOW });
    const before = await rowCounts(t.db);
    const res = await t.submit("yangfan", sampleForm("shaoguan"));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: "attachments_missing",
      fields: { "form.attachments": ["缺少「已签字盖章的政务云资源使用安全责任书（002 附件2）」（purpose: security_pledge）"] },
    });
    expect((await rowCounts(t.db)).requests).toBe(before.requests);

    const a = await t.signedIn("yangfan");
    const page = await a.get("/documents/shaoguan-security-pledge");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain(SHAOGUAN_SECURITY_PLEDGE.title);
    for (const clause of ["一、资源使用单位在使用", "十四、“数字政府”政务云服务提供商负责", "十七、本责任书自签署之日起生效。", "负责人签字：", "云资源使用（责任）单位"]) expect(text).toContain(clause);
    expect(page.html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/); // served by the service itself, no CDN
    const file = await a.get("/documents/shaoguan-security-pledge.txt");
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toContain("text/plain");
    expect(file.headers.get("content-disposition")).toContain("attachment");
    expect(file.html).toContain("十七、本责任书自签署之日起生效。");
    // Not signed in: to the sign-in page, as every page of the portal.
    expect((await t.agent().get("/documents/shaoguan-security-pledge")).status).toBe(303);
  });

  test("002 附件1: a complete application is accepted and its blanks are kept and shown on the request page", async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: NOW });
    const f = await complete();
    f.remarks = "需与市人社一体化平台对接";
    f.vms[0].remarks = "对外提供服务";
    const { id, code } = ok(await t.submit("yangfan", f), 201);
    const stored = ok(await t.show("yangfan", id)).form;
    expect(stored).toMatchObject({
      term: { kind: "until", until: "2029-12-31" },
      projectName: "梅县区教育资助管理系统迁移上云项目",
      maintainer: { company: "梅州某软件公司", nature: "outsourced" },
      remarks: "需与市人社一体化平台对接",
    });
    expect(stored.vms[0]).toMatchObject({ serverType: "云主机（通用型）", remarks: "对外提供服务" });
    const a = await t.signedIn("zhangwei");
    const text = textOf((await a.get(`/requests/${code}`)).html);
    for (const shown of ["项目名称 梅县区教育资助管理系统迁移上云项目", "申请期限 至 2029-12-31", "维护单位性质 委托外包单位", "服务器类型", "云主机（通用型）", "备注 需与市人社一体化平台对接", "对外提供服务"])
      expect(text).toContain(shown);
  });

  test("002 附件1 on the portal: 韶关's form has its own blanks and the 责任书 link; a missing one is named under its field, nothing written", async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: NOW });
    const a = await t.signedIn("yangfan");
    const page = await a.get("/new/application");
    expect(page.html).toContain("《韶关市“数字政府”政务云资源申请表》（002 附件1）");
    for (const name of ["projectName", "term.kind", "term.until", "maintainer.nature", "vms[0].serverType", "vms[0].remarks", "remarks"]) expect(page.html).toContain(`name="${name}"`);
    for (const name of ["unitNature", "leader.name", "declaration.agreed", "publicStorage.sizeTb", "vms[0].requestType"]) expect(page.html).not.toContain(`name="${name}"`);
    expect(page.html).toContain('href="/documents/shaoguan-security-pledge"');

    const pledge = await t.attachment("yangfan", "security_pledge");
    const { attachments: _, ...form } = sampleForm("shaoguan");
    const fields = pageFields("shaoguan", form, { "attachments[0].purpose": "security_pledge", "attachments[0].fileId": pledge.fileId });
    const before = await rowCounts(t.db);
    const { projectName: __, ...withoutProject } = fields;
    const refused = await a.post("/new/application", { ...withoutProject, "vms[1].serverType": "", _step: "preview" });
    expect(refused.status).toBe(422);
    expect(messageUnder(refused.html, "projectName")).toBe("请填写项目名称（002 附件1）");
    expect(messageUnder(refused.html, "vms[1].serverType")).toBe("请填写「数据库服务器」的服务器类型（002 附件1 资源申请信息）");
    expect((await rowCounts(t.db)).requests).toBe(before.requests);

    const done = await a.post("/new/application", { ...fields, "maintainer.nature": "internal", _step: "submit" });
    expect(done.status, done.html.slice(0, 500)).toBe(303);
    const [row] = await t.db.select({ form: requests.form }).from(requests).where(eq(requests.code, done.location!.split("/")[2]!.split("?")[0]!));
    expect(row!.form).toMatchObject({ projectName: form.projectName, term: form.term, maintainer: { nature: "internal" }, vms: [{ serverType: "云主机（通用型）" }, {}] });
  });
});

describe("徽州 (001 附件1 及附表)", () => {
  async function complete(user = "yangfan"): Promise<Form> {
    const f = sampleForm("huizhou");
    f.attachments.push(await t.attachment(user, "project_approval"));
    return f;
  }

  test("001 附件1: an application without 单位性质, 负责人 or the ticked 申请单位承诺 is refused under each field; nothing written", async () => {
    t = await createWebTestApp({ profile: "huizhou", now: NOW });
    const bare = await complete();
    delete bare.unitNature;
    delete bare.leader;
    delete bare.declaration;
    await refusedWith("yangfan", bare, {
      "form.unitNature": ["请选择单位性质：机关单位、事业单位或其他（001 附件1）"],
      "form.leader.name": ["请填写负责人及其手机（001 附件1）"],
      "form.declaration.agreed": ["请阅读并勾选申请单位承诺（001 附件1）"],
    });
    const unticked = await complete();
    unticked.declaration = { agreed: false };
    await refusedWith("yangfan", unticked, { "form.declaration.agreed": ["请阅读并勾选申请单位承诺（001 附件1）"] });
    const badNature = await complete();
    badNature.unitNature = "company";
    expect((await t.submit("yangfan", badNature)).body.error.fields["form.unitNature"]).toEqual(["单位性质应为以下之一：机关单位、事业单位、其他"]);
  });

  test("001 附表 申请类型, 外网 IP: a row of 资源变更 or 资源退出 is sent to its own request; 其他 says what; the rows' external IPs add up to the 公网 IP 数量", async () => {
    t = await createWebTestApp({ profile: "huizhou", now: NOW });
    const change = await complete();
    change.vms[1].requestType = "change";
    await refusedWith("yangfan", change, {
      "form.vms.1.requestType": ["「数据库服务器」的申请类型为资源变更：在用资源的资源变更请另行提交扩容 / 缩容或用途变更申请（001 第十五条），本申请只含新申请的资源"],
    });
    const exit = await complete();
    exit.vms[0].requestType = "exit";
    expect((await t.submit("yangfan", exit)).body.error.fields["form.vms.0.requestType"][0]).toContain("撤销申请（001 第十六条）");
    const other = await complete();
    other.vms[0].requestType = "other";
    expect((await t.submit("yangfan", other)).body.error.fields["form.vms[0].requestTypeNote"]).toEqual(["申请类型选“其他”时请说明"]);
    const ips = await complete();
    ips.vms[0].publicIps = 1; // 2 VMs in the row: 2 IPs
    ips.publicIps = 1;
    await refusedWith("yangfan", ips, { "form.publicIps": ["公网 IP 数量（1 个）应等于附表中各虚拟机外网 IP 之和（2 个，按台数计）"] });
  });

  test("001 附件1: a complete application is accepted; the 承诺 records who gave it and when, and every blank is shown on the request page", async () => {
    t = await createWebTestApp({ profile: "huizhou", now: NOW });
    const f = await complete();
    // Who and when are the submission's, whatever the form says.
    f.declaration = { agreed: true, by: "别人", at: "2020-01-01T00:00:00Z" };
    f.vms[0].publicIps = 1;
    f.vms[0].remarks = "门户前端";
    f.vms[1].requestType = "other";
    f.vms[1].requestTypeNote = "原物理机迁入";
    f.publicIps = 2;
    f.publicStorage = { sizeTb: 2.5, type: "file" };
    const { id, code } = ok(await t.submit("yangfan", f), 201);
    const stored = ok(await t.show("yangfan", id));
    expect(stored.form.declaration).toEqual({ agreed: true, by: "杨帆", userId: "yangfan", at: "2026-09-25T02:00:00.000Z" });
    expect(stored.form).toMatchObject({ unitNature: "organ", leader: { name: "王局长", mobile: "13800000009" }, publicStorage: { sizeTb: 2.5, type: "file" } });
    expect(stored.summary).toContainEqual({ label: "公共存储", value: "2.5 T（文件）" });
    const a = await t.signedIn("zhangwei");
    const text = textOf((await a.get(`/requests/${code}`)).html);
    for (const shown of [
      "单位性质 机关单位",
      "负责人 王局长 13800000009",
      "申请单位承诺 已承诺（杨帆，2026-09-25 10:00",
      "公共存储 2.5 T，文件",
      "申请类型",
      "资源申请",
      "其他（原物理机迁入）",
      "外网 IP",
      "1 个/台",
      "门户前端",
    ])
      expect(text).toContain(shown);
  });

  test("001 附件1 on the portal: 徽州's form shows the 承诺's text and its tick-box; unticked it is named under the box, nothing written; ticked it is submitted", async () => {
    t = await createWebTestApp({ profile: "huizhou", now: NOW });
    const a = await t.signedIn("yangfan");
    const page = await a.get("/new/application");
    expect(page.html).toContain("《徽州区数据资源管理局政务云资源使用审批表》及附表《虚拟机资源表》（001 附件1）");
    expect(page.html).toContain(HUIZHOU_PLEDGE.slice(0, 40));
    for (const name of ["unitNature", "leader.name", "leader.mobile", "declaration.agreed", "publicStorage.sizeTb", "vms[0].requestType", "vms[0].publicIps", "vms[0].remarks"])
      expect(page.html).toContain(`name="${name}"`);
    // 002 第二十一条's 重大变更重新申请 is 韶关's alone.
    for (const name of ["projectName", "term.kind", "maintainer.nature", "vms[0].serverType", "replaces"]) expect(page.html).not.toContain(`name="${name}"`);

    const approval = await t.attachment("yangfan", "project_approval");
    const { attachments: _, ...form } = sampleForm("huizhou");
    const fields = pageFields("huizhou", form, { "attachments[0].purpose": "project_approval", "attachments[0].fileId": approval.fileId });
    expect(fields["declaration.agreed"]).toBe("on");
    const before = await rowCounts(t.db);
    const { "declaration.agreed": __, ...unticked } = fields;
    const refused = await a.post("/new/application", { ...unticked, _step: "preview" });
    expect(refused.status).toBe(422);
    expect(messageUnder(refused.html, "declaration.agreed")).toBe("请阅读并勾选申请单位承诺（001 附件1）");
    const badSize = await a.post("/new/application", { ...fields, "publicStorage.sizeTb": "两T", "publicStorage.type": "file", _step: "preview" });
    expect(badSize.status).toBe(400);
    expect(messageUnder(badSize.html, "publicStorage.sizeTb")).toBe("空间大小应为数字（T）");
    expect((await rowCounts(t.db)).requests).toBe(before.requests);

    const done = await a.post("/new/application", { ...fields, "publicStorage.sizeTb": "0.5", "publicStorage.type": "backup", _step: "submit" });
    expect(done.status, done.html.slice(0, 500)).toBe(303);
    const [row] = await t.db.select({ form: requests.form }).from(requests).where(eq(requests.code, done.location!.split("/")[2]!.split("?")[0]!));
    expect(row!.form).toMatchObject({ unitNature: "organ", declaration: { agreed: true, by: "杨帆" }, publicStorage: { sizeTb: 0.5, type: "backup" } });
  });
});

describe("梅州 (004 附件2) unchanged", () => {
  test("004 附件2: the example form is accepted as it is, read back without any of the other annexes' blanks; its web form has none of them", async () => {
    t = await createWebTestApp({ now: NOW });
    // An old form validates to itself: the new blanks are optional and add no defaults.
    const parsed = applicationFormSchema.parse(sampleForm());
    for (const key of ["term", "projectName", "unitNature", "leader", "publicStorage", "declaration", "remarks"]) expect(parsed).not.toHaveProperty(key);
    expect(parsed.maintainer).not.toHaveProperty("nature");
    for (const vm of parsed.vms) for (const key of ["serverType", "requestType", "publicIps", "remarks"]) expect(vm).not.toHaveProperty(key);
    const { id, code } = ok(await t.submit("yangfan", sampleForm()), 201);
    const stored = ok(await t.show("yangfan", id)).form;
    expect(Object.keys(stored).sort()).toEqual(Object.keys(parsed).sort());
    const a = await t.signedIn("yangfan");
    const page = await a.get("/new/application");
    for (const name of ["projectName", "term.kind", "unitNature", "declaration.agreed", "vms[0].serverType", "vms[0].requestType", "publicStorage.sizeTb"]) expect(page.html).not.toContain(`name="${name}"`);
    const text = textOf((await a.get(`/requests/${code}`)).html);
    for (const absent of ["项目名称", "申请期限", "单位性质", "申请单位承诺", "服务器类型", "公共存储"]) expect(text).not.toContain(absent);
  });
});
