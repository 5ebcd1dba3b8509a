import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requests } from "../db/schema";
import { applicationForm, valuesFromInput } from "../src/channels/web/forms";
import { ok, rowCounts, sampleForm, samplePdf } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 发起申请 and 修改后重新提交 on the portal (issue 12, Applicants): every form through app.request, as a browser
// without JavaScript posts it.

let t: WebTestApp;
beforeAll(async () => {
  t = await createWebTestApp({ now: "2026-09-30T01:00:00Z" }); // Wednesday, the day before 国庆
});
afterAll(async () => {
  await t?.close();
});

/** The example 云资源申请 as the page's fields name it, without its attachments (the form uploads none). */
function applicationFields(changes: Record<string, string> = {}): Record<string, string> {
  const { attachments: _, ...form } = sampleForm();
  const values = valuesFromInput(applicationForm, form);
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(values.fields)) if (v !== "") fields[k] = String(v);
  values.rows.vms!.forEach((row, i) => {
    for (const [k, v] of Object.entries(row)) if (v !== "") fields[`vms[${i}].${k}`] = v;
  });
  return { ...fields, ...changes };
}

/** A multipart POST as the form with files sends it, by a signed-in agent with its page's CSRF token. */
async function postFiles(a: Awaited<ReturnType<WebTestApp["signedIn"]>>, path: string, fields: Record<string, string>, files: Record<string, File>) {
  const body = new FormData();
  for (const [k, v] of Object.entries({ ...fields, _csrf: a.csrf ?? "" })) body.append(k, v);
  for (const [k, f] of Object.entries(files)) body.append(k, f);
  const res = await t.app.request(path, { method: "POST", headers: { cookie: a.cookie ?? "" }, body });
  return { status: res.status, location: res.headers.get("location"), html: await res.text() };
}

/** The text of the message shown under a field, by the field's name in the form. */
function messageUnder(html: string, name: string): string | null {
  const id = `f-${name.replace(/[^A-Za-z0-9]+/g, "-")}-error`;
  return new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] ?? null;
}

describe("发起申请: the list and the 云资源申请 form", () => {
  test("an applicant sees every form a unit can start; a manager none, and the form itself is not found", async () => {
    const a = await t.signedIn("lihua");
    const list = await a.get("/new");
    expect(list.status).toBe(200);
    for (const title of ["云资源申请", "扩容 / 缩容", "备份", "撤销", "虚拟机账号申请", "端口与访问地址开放申请", "年度资源需求"]) expect(list.html).toContain(title);
    const manager = await t.signedIn("zhangwei");
    expect((await manager.get("/new")).html).toContain("您的角色不发起申请");
    const refused = await manager.get("/new/application");
    expect(refused.status).toBe(404);
    expect(refused.html).toContain("您的角色不能发起此类申请");
  });

  test("the form: the official labels, one blank VM row, options by their Chinese names", async () => {
    const a = await t.signedIn("lihua");
    const page = await a.get("/new/application");
    expect(page.status).toBe(200);
    for (const label of ["系统名称", "联系人", "联系电话", "网络区域", "用途", "vCPU(核)", "内存(GB)", "系统盘/数据盘(GB)", "存储类型", "操作系统", "数量", "备份"])
      expect(page.html).toContain(`${label}`);
    expect(page.html).toContain("建设单位：梅州市梅县区教育局");
    expect(page.html).toContain('name="vms[0].vcpu"');
    expect(page.html).not.toContain('name="vms[1].vcpu"');
    expect(page.html).toMatch(/<option value="gov_extranet"[^>]*>政务外网<\/option>/);
    // The codes stay in value attributes: no text node shows one.
    expect(page.html.replace(/<[^>]*>/g, "")).not.toMatch(/gov_extranet|same_city|off_site|UPLOAD_MAX_MB/);
    expect(page.html).toContain("每个文件不超过 20 MB");
  });

  test("bad input: 400, each message under its field, what was typed kept, nothing written", async () => {
    const a = await t.signedIn("lihua");
    await a.get("/new/application");
    const before = await rowCounts(t.db);
    const res = await a.post("/new/application", applicationFields({ systemName: "", "contact.mobile": "0753-123", "vms[0].vcpu": "四", _step: "preview" }));
    expect(res.status).toBe(400);
    expect(messageUnder(res.html, "systemName")).toBe("请填写系统名称");
    expect(messageUnder(res.html, "contact.mobile")).toBe("联系电话格式不正确，应为 11 位手机号");
    expect(messageUnder(res.html, "vms[0].vcpu")).toBe("vCPU应为整数");
    expect(res.html).toContain('value="0753-123"');
    expect(res.html).toContain("有 3 处需要修改");
    expect(await rowCounts(t.db)).toEqual(before);
  });

  test("a NUL byte or a bidi control typed into a field is told under that field, the rest kept, nothing written", async () => {
    const a = await t.signedIn("lihua");
    await a.get("/new/application");
    const before = await rowCounts(t.db);
    const res = await a.post("/new/application", applicationFields({ systemName: "教育\u202E系统", "vms[0].purpose": "应用\u0000服务器", _step: "submit" }));
    expect(res.status).toBe(400);
    expect(messageUnder(res.html, "systemName")).toMatch(/双向文本控制字符/);
    expect(messageUnder(res.html, "vms[0].purpose")).toMatch(/控制字符/);
    expect(res.html).toContain('value="13800000001"');
    expect(res.html).not.toContain("systemName：");
    expect(await rowCounts(t.db)).toEqual(before);
    // Pages other than the forms still refuse such text whole, before their handler.
    const comment = await a.post("/requests/YS-2026-00001/actions", { action: "comment", text: "正常\u202E文字" });
    expect(comment.status).toBe(400);
    expect(await rowCounts(t.db)).toEqual(before);
  });

  test("添加一行 without JavaScript: the rows typed so far kept, one blank row more", async () => {
    const a = await t.signedIn("lihua");
    await a.get("/new/application");
    const res = await a.post("/new/application", { ...applicationFields(), _row: "add:vms" });
    expect(res.status).toBe(200);
    expect(res.html).toContain('name="vms[2].vcpu" value=""');
    expect(res.html).toContain('value="数据库服务器"');
    const removed = await a.post("/new/application", { ...applicationFields(), _row: "remove:vms:0" });
    expect(removed.html).not.toContain('value="应用服务器"');
    expect(removed.html).toContain('name="vms[0].purpose" value="数据库服务器"');
  });

  test("预览 shows who decides each stage by which date, writes nothing; 提交 files it once, however often pressed", async () => {
    const a = await t.signedIn("lihua");
    await a.get("/new/application");
    const before = await rowCounts(t.db);
    const preview = await a.post("/new/application", { ...applicationFields(), _step: "preview" });
    expect(preview.status).toBe(200);
    expect(await rowCounts(t.db)).toEqual(before);
    // The date and its span are kept whole on a phone by spans around each; the text is read without them.
    const shown = preview.html.replace(/<wbr\s*\/?>|<\/?span[^>]*>/g, "");
    expect(shown).toMatch(/县级数据局初审<\/td><td>黄敏（梅州市梅县区政务服务数据管理局）<\/td><td>2026-10-08 前（1 个工作日）/);
    expect(shown).toContain("2026-10-12 前（3 个工作日）"); // 需求评估 counts the 10-10 调休 Saturday
    expect(preview.html).toContain("麒麟 V10");
    // The preview carries the form on, and a key that makes the submission happen once.
    const hidden = Object.fromEntries([...preview.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replaceAll("&amp;", "&")]));
    expect(hidden._once).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const first = await a.post("/new/application", { ...hidden, _step: "submit" });
    expect(first.status).toBe(303);
    expect(first.location).toMatch(/^\/requests\/YS-2026-\d{5}\?done=submit$/);
    const again = await a.post("/new/application", { ...hidden, _step: "submit" });
    expect(again.location).toBe(first.location);
    const code = first.location!.slice("/requests/".length, first.location!.indexOf("?"));
    const rows = await t.db.select().from(requests).where(eq(requests.code, code));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.currentStage).toBe("county_review");
    expect((rows[0]!.form as any).vms[1].backup).toEqual({ type: "database", strategy: "每日 02:00 全量", retentionMonths: 2, copies: "same_city" });
  });

  test("a rule of the flow refuses on the form: a missing document named at the top, nothing written", async () => {
    const a = await t.signedIn("lihua");
    await a.get("/new/application");
    const before = await rowCounts(t.db);
    const res = await a.post("/new/application", { ...applicationFields({ "vms[1].diskGb": "500", "plan.plannedTotals.storageGb": "700" }), _step: "preview" });
    expect(res.status).toBe(422);
    expect(res.html).toContain("缺少附件：存储需求超过 500G 的书面说明");
    expect(res.html).not.toContain("purpose:");
    expect(await rowCounts(t.db)).toEqual(before);
  });

  test("附件: the written explanation uploaded with the form, shown by name, bound to the request on 提交", async () => {
    const a = await t.signedIn("lihua");
    const page = await a.get("/new/application");
    expect(page.html).toContain('enctype="multipart/form-data"');
    const fields = { ...applicationFields({ "vms[1].diskGb": "500", "plan.plannedTotals.storageGb": "700" }), "attachments[0].purpose": "storage_explanation", _step: "preview" };
    // A file of a type not allowed: named under its field, the rest kept, no file stored.
    const before = await rowCounts(t.db);
    const refused = await postFiles(a, "/new/application", fields, { "attachments[0].fileId": new File([new Uint8Array([77, 90, 0, 0])], "setup.exe") });
    expect(refused.status).toBe(400);
    expect(messageUnder(refused.html, "attachments[0].fileId")).toMatch(/exe|类型/);
    expect(await rowCounts(t.db)).toEqual(before);

    const preview = await postFiles(a, "/new/application", fields, { "attachments[0].fileId": new File([samplePdf()], "存储需求说明.pdf") });
    expect(preview.status, preview.html.slice(0, 300)).toBe(200);
    expect(preview.html).toContain("大容量存储共同审核");
    expect(preview.html).toMatch(/存储需求说明\.pdf（\d+ KB）/);
    const hidden = Object.fromEntries([...preview.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    expect(hidden["attachments[0].fileId"]).toMatch(/^f_/);
    const done = await postFiles(a, "/new/application", { ...hidden, _step: "submit" }, {});
    expect(done.status).toBe(303);
    const code = done.location!.slice("/requests/".length, done.location!.indexOf("?"));
    const [row] = await t.db.select().from(requests).where(eq(requests.code, code));
    expect((row!.form as any).attachments).toMatchObject([{ purpose: "storage_explanation", fileId: hidden["attachments[0].fileId"], name: "存储需求说明.pdf" }]);
  });

  test("附件: a file over UPLOAD_MAX_MB is named under its field, and a post far over it is refused whole; nothing is written", async () => {
    const small = await createWebTestApp({ now: "2026-09-30T01:00:00Z", web: { uploadMaxMb: 1 } });
    // postFiles posts to `t`: this test's own app while it runs.
    const prior = t;
    t = small;
    try {
      const a = await small.signedIn("lihua");
      expect((await a.get("/new/application")).html).toContain("每个文件不超过 1 MB");
      const fields = { ...applicationFields({ "vms[1].diskGb": "500", "plan.plannedTotals.storageGb": "700" }), "attachments[0].purpose": "storage_explanation", _step: "preview" };
      const pdf = (mb: number) => new File([samplePdf(), new Uint8Array(mb * 1024 * 1024)], "存储需求说明.pdf");
      const before = await rowCounts(small.db);
      const over = await postFiles(a, "/new/application", fields, { "attachments[0].fileId": pdf(1.5) });
      expect(over.status).toBe(400);
      expect(messageUnder(over.html, "attachments[0].fileId")).toContain("1 MB");
      const huge = await postFiles(a, "/new/application", fields, { "attachments[0].fileId": pdf(7) });
      expect(huge.status).toBe(413);
      expect(huge.html).toContain("每个附件不超过 1 MB");
      expect(await rowCounts(small.db)).toEqual(before);
    } finally {
      t = prior;
      await small.close();
    }
  });

  test("a POST without the CSRF token is refused and writes nothing", async () => {
    const a = await t.signedIn("lihua");
    const before = await rowCounts(t.db);
    const res = await a.post("/new/application", { ...applicationFields(), _step: "submit" }, { csrf: false });
    expect(res.status).toBe(403);
    expect(await rowCounts(t.db)).toEqual(before);
  });
});

describe("the other forms", () => {
  test("端口与访问地址开放申请: bad input under its fields, nothing written", async () => {
    const a = await t.signedIn("lihua");
    await a.get("/new/port_grant");
    const before = await rowCounts(t.db);
    const res = await a.post("/new/port_grant", { hosts: "mx-app-01", ports: "443, abc", sources: "10.0.0.0/4", reason: "", _step: "preview" });
    expect(res.status).toBe(400);
    expect(messageUnder(res.html, "ports")).toBe("「abc」端口格式不正确，如：80, 443/tcp, 53/udp");
    expect(messageUnder(res.html, "sources")).toBe("「10.0.0.0/4」网段过大（不小于 /8），请按最小权限写明来源");
    expect(messageUnder(res.html, "reason")).toBe("请填写开放理由");
    expect(await rowCounts(t.db)).toEqual(before);
  });

  test("撤销, 扩容 and 备份 offer the unit's own resources only; 扩容 shows where the resource stands", async () => {
    const mine = await t.deliverApplication("lihua");
    const theirs = await t.deliverApplication("yangfan");
    const a = await t.signedIn("lihua");
    const revocation = await a.get("/new/revocation");
    expect(revocation.html).toContain(`value="${mine.resources[0]!.id}"`);
    expect(revocation.html).not.toContain(`value="${theirs.resources[0]!.id}"`);
    const vm = mine.resources.find((r) => r.kind === "vm")!;
    const adjustment = await a.get(`/new/adjustment?resource=${vm.id}`);
    expect(adjustment.html).toContain("近期利用率与扩容条件");
    expect(adjustment.html).toContain("尚未登记此资源的云主机标识");
    expect((await a.get(`/new/adjustment?resource=${theirs.resources[0]!.id}`)).html).not.toContain("近期利用率与扩容条件");
    const backup = await a.get("/new/backup");
    const backups = mine.resources.filter((r) => r.kind === "backup");
    for (const b of backups) expect(backup.html).not.toContain(`<option value="${b.id}"`);
    expect(backup.html).toContain(`<option value="${vm.id}"`);
    // The ledger refuses what the unit does not hold, on the form.
    const before = await rowCounts(t.db);
    const refused = await a.post("/new/revocation", { resources: String(theirs.resources[0]!.id), reason: "不再使用", _step: "preview" });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("只能申请撤销本单位的资源");
    expect(await rowCounts(t.db)).toEqual(before);
  });

  test("虚拟机账号申请: the unit's own people to choose from; a bad account name told in words", async () => {
    const a = await t.signedIn("lihua");
    const page = await a.get("/new/vm_account");
    expect(page.html).toContain('<option value="lihua">李华（lihua）</option>');
    expect(page.html).not.toContain('value="hexin"');
    const res = await a.post("/new/vm_account", { kind: "new", holder: "lihua", account: "Li Hua", hosts: "mx-app-01", "validity.workdays": "20", reason: "运维", _step: "preview" });
    expect(res.status).toBe(400);
    expect(messageUnder(res.html, "account")).toBe("账号名格式不正确：小写字母或下划线开头，最多 32 位小写字母、数字、下划线或连字符");
  });

  test("年度资源需求 is filed directly, next year's by default", async () => {
    const a = await t.signedIn("lihua");
    const page = await a.get("/new/demand");
    expect(page.html).toContain('name="year" value="2027"');
    const bad = await a.post("/new/demand", { year: "2027", vcpu: "1.5", memoryGb: "", storageGb: "10", _step: "submit" });
    expect(bad.status).toBe(400);
    expect(messageUnder(bad.html, "vcpu")).toBe("vCPU应为整数");
    const done = await a.post("/new/demand", { year: "2027", vcpu: "64", memoryGb: "256", storageGb: "4000", _step: "submit" });
    expect(done.status).toBe(200);
    expect(done.html).toContain("已填报");
  });
});

describe("退回 → 修改 → 重新提交", () => {
  test("the form opens filled in with the reason; the edited form goes through resubmit; attachments kept", async () => {
    const plan = await t.attachment("lihua", "plan", "迁云上云实施方案.pdf");
    const filed = ok(await t.submit("lihua", { ...sampleForm(), attachments: [plan] }), 201);
    ok(await t.act("huangmin", filed.id, { action: "return", reason: "请将应用服务器内存调整为 16G" }));
    const a = await t.signedIn("lihua");
    // The request's page leads to the form; it offers no 重新提交 button that could only be refused.
    const detail = await a.get(`/requests/${filed.code}`);
    expect(detail.html).toContain(`href="/requests/${filed.code}/edit"`);
    expect(detail.html).not.toContain('name="action" value="approve"');
    const page = await a.get(`/requests/${filed.code}/edit`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("已被黄敏在「县级数据局初审」退回，理由：请将应用服务器内存调整为 16G");
    expect(page.html).toContain('name="vms[0].memoryGb" value="8"');
    expect(page.html).toMatch(/迁云上云实施方案\.pdf（\d+ KB）/);
    expect(page.html).toContain("重新提交");

    const before = await rowCounts(t.db);
    const kept = { "attachments[0].purpose": "plan", "attachments[0].fileId": plan.fileId };
    const bad = await a.post(`/requests/${filed.code}/edit`, applicationFields({ "vms[0].memoryGb": "", ...kept }));
    expect(bad.status).toBe(400);
    expect(messageUnder(bad.html, "vms[0].memoryGb")).toBe("请填写内存");
    expect(await rowCounts(t.db)).toEqual(before);

    const done = await a.post(`/requests/${filed.code}/edit`, applicationFields({ "vms[0].memoryGb": "16", "plan.plannedTotals.memoryGb": "64", ...kept }));
    expect(done.status).toBe(303);
    expect(done.location).toBe(`/requests/${filed.code}?done=resubmit`);
    const [row] = await t.db.select().from(requests).where(eq(requests.id, filed.id));
    expect(row!.status).toBe("in_progress");
    expect(row!.currentStage).toBe("county_review");
    expect((row!.form as any).vms[0].memoryGb).toBe(16);
    expect((row!.form as any).attachments).toMatchObject([{ purpose: "plan", fileId: plan.fileId, name: "迁云上云实施方案.pdf" }]);

    // No longer returned: the page says so and changes nothing.
    const again = await a.get(`/requests/${filed.code}/edit`);
    expect(again.status).toBe(409);
    expect(again.html).toContain("无需修改");
  });

  test("someone else cannot open it: another unit's applicant is told it is not found", async () => {
    const filed = ok(await t.submit("lihua", sampleForm()), 201);
    ok(await t.act("huangmin", filed.id, { action: "return", reason: "材料不全" }));
    const other = await t.signedIn("hexin");
    const res = await other.get(`/requests/${filed.code}/edit`);
    expect(res.status).toBe(404);
    expect(res.html).not.toContain("材料不全");
  });
});

describe("撤销 on the portal: the unit's declarations where the document asks them", () => {
  test("002 第二十二条, 001 第十六条: 韶关's and 徽州's 撤销 form asks whether the system is offline and its data migrated; 梅州's does not", async () => {
    const a = await t.signedIn("lihua");
    const meizhou = await a.get("/new/revocation");
    expect(meizhou.status).toBe(200);
    expect(meizhou.html).not.toContain('name="offline"');
    expect(meizhou.html).not.toContain('name="dataMigrated"');
    for (const profile of ["shaoguan", "huizhou"] as const) {
      const other = await createWebTestApp({ profile, now: "2026-09-30T01:00:00Z" });
      try {
        const page = await (await other.signedIn("lihua")).get("/new/revocation");
        expect(page.status, profile).toBe(200);
        expect(page.html, profile).toContain('name="offline"');
        expect(page.html, profile).toContain('name="dataMigrated"');
        expect(page.html, profile).toContain("须在申请前完成（002 第二十二条、001 第十六条）");
      } finally {
        await other.close();
      }
    }
  });
});

describe("变更, 撤销 and 备份 on the portal name the profile's own document", () => {
  const expected = {
    shaoguan: ["002 第二十一条、附件3", "002 第二十二条、附件4", "002 第二十八条"],
    huizhou: ["001 第十五条", "001 第十六条", "001 附件1"],
    bazhong: ["003 第二十四条", "003 第二十二条", "003 第二十三条"],
    gaochuang: ["000 7.2.3.1", "000 7.2.3", "000 5.2"],
  } as const;
  // What the list of forms says of each (its description), by profile.
  const listed = {
    shaoguan: ["002 第二十一条", "002 第二十二条", "002 第二十八条"],
    huizhou: ["001 第十五条", "001 第十六条", "001 附件1"],
    bazhong: ["003 第二十四条(一)", "003 第二十二条", "003 第二十三条"],
    gaochuang: ["000 7.2.3.1", "000 7.2.3、6.3", "000 5.2"],
  } as const;
  test("002 第二十一、二十二、二十八条, 001 第十五、十六条, 003 第二十二至二十四条, 000 7.2.3, 5.2: no profile but 梅州 is shown 梅州's 附件8, 附件10 or 附件12", async () => {
    for (const [profile, articles] of Object.entries(expected) as [keyof typeof expected, readonly string[]][]) {
      const other = await createWebTestApp({ profile, now: "2026-09-30T01:00:00Z" });
      try {
        const a = await other.signedIn("lihua");
        const list = await a.get("/new");
        expect(list.status, profile).toBe(200);
        ["adjustment", "revocation", "backup"].forEach((key, i) => expect(list.html, `${profile} /new lists ${key}`).toContain(listed[profile][i]!));
        expect(list.html, profile).not.toContain("004 第二十五条");
        for (const [i, key] of ["adjustment", "revocation", "backup"].entries()) {
          const page = await a.get(`/new/${key}`);
          expect(page.status, `${profile} ${key}`).toBe(200);
          expect(page.html, `${profile} ${key}`).toContain(articles[i]!);
          expect(page.html, `${profile} ${key}`).not.toMatch(/梅州节点|004 附件(8|10|12)/);
        }
      } finally {
        await other.close();
      }
    }
    const meizhou = await (await t.signedIn("lihua")).get("/new/backup");
    expect(meizhou.html).toContain("004 附件12");
  });
});
