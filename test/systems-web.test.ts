import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { files, systems } from "../db/schema";
import { rowCounts, samplePdf } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 系统登记 on the portal (004 第二条, 第十二条(二), 第三十八条, 第四十条): the register of 政务信息系统 as each role
// sees it, a system registered with its 立项方案, and its 等保 and 密评 recorded with their documents, through the
// real app as a browser without JavaScript posts the forms (multipart, the page's CSRF token).

let t: WebTestApp;
beforeAll(async () => {
  t = await createWebTestApp({ now: "2026-09-29T02:00:00Z" }); // Tuesday 29 September 2026
});
afterAll(async () => {
  await t?.close();
});

type Agent = Awaited<ReturnType<WebTestApp["signedIn"]>>;

/** A multipart POST as the page's form sends it, with the agent's CSRF token. */
async function post(a: Agent, path: string, fields: Record<string, string>, chosen: Record<string, File> = {}) {
  const body = new FormData();
  for (const [k, v] of Object.entries({ _csrf: a.csrf ?? "", ...fields })) body.append(k, v);
  for (const [k, f] of Object.entries(chosen)) body.append(k, f);
  const res = await t.app.request(path, { method: "POST", headers: { cookie: a.cookie ?? "" }, body });
  return { status: res.status, location: res.headers.get("location"), html: await res.text() };
}

const pdf = (name: string) => new File([samplePdf()], name);

/** The text of the message under a field, by the field's name in the form. */
function messageUnder(html: string, name: string): string | null {
  const id = `f-${name.replace(/[^A-Za-z0-9]+/g, "-")}-error`;
  return new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] ?? null;
}

/** The value a hidden or text input of the page holds. */
const valueOf = (html: string, name: string) => new RegExp(`name="${name.replace(/[.[\]]/g, "\\$&")}" value="([^"]*)"`).exec(html)?.[1];

const NAME = "梅县区智慧校园平台";
let systemId: number;
let approvalFileId: string;

describe("系统登记 (004 第二条)", () => {
  test("004 第二条: an applicant registers a system with its 立项方案 from the page; without the 非涉密 declaration it is refused under the field, what was typed kept, nothing written", async () => {
    const a = await t.signedIn("lihua");
    const page = await a.get("/systems");
    expect(page.status).toBe(200);
    expect(page.html).toContain('href="/systems" aria-current="page"');
    expect(page.html).toContain('enctype="multipart/form-data"');
    expect(page.html).toContain("本系统为非涉密政务信息系统（004 第二条）");
    // The unit's system the example registered, with nothing recorded yet.
    expect(page.html).toContain("梅县区教育资助管理系统");
    expect(page.html).toContain("未录入");

    const typed = { name: NAME, kind: "new", approvalRef: "梅县发改投审〔2026〕8 号" };
    const before = await rowCounts(t.db);
    const undeclared = await post(a, "/systems", typed);
    expect(undeclared.status).toBe(400);
    expect(messageUnder(undeclared.html, "nonClassified")).toContain("非涉密");
    expect(valueOf(undeclared.html, "name")).toBe(NAME);
    expect(valueOf(undeclared.html, "approvalRef")).toBe("梅县发改投审〔2026〕8 号");
    expect(undeclared.html).toMatch(/<option value="new" selected/);
    expect(await rowCounts(t.db)).toEqual(before);

    // With the 立项方案 chosen but still undeclared: the file is stored and kept on the form by its name.
    const withFile = await post(a, "/systems", typed, { approvalFileId: pdf("智慧校园立项方案.pdf") });
    expect(withFile.status).toBe(400);
    expect(messageUnder(withFile.html, "nonClassified")).toContain("非涉密");
    expect(withFile.html).toContain("智慧校园立项方案.pdf");
    approvalFileId = valueOf(withFile.html, "approvalFileId")!;
    expect(approvalFileId).toMatch(/^f_/);
    expect(await t.db.select().from(systems).where(eq(systems.name, NAME))).toEqual([]);

    const done = await post(a, "/systems", { ...typed, approvalFileId, nonClassified: "on" });
    expect(done.status).toBe(303);
    const [row] = await t.db.select().from(systems).where(eq(systems.name, NAME));
    systemId = row!.id;
    expect(done.location).toBe(`/systems?done=register#system-${systemId}`);
    expect(row).toMatchObject({ unitId: "mx-jyj", kind: "new", approvalRef: "梅县发改投审〔2026〕8 号", approvalFileId, nonClassifiedBy: "lihua" });
    const [file] = await t.db.select({ purpose: files.purpose, heldBy: files.heldBy }).from(files).where(eq(files.id, approvalFileId));
    expect(file).toEqual({ purpose: "project_approval", heldBy: `system:${systemId}` });

    const list = await a.get(done.location!);
    expect(list.html).toContain("系统已登记");
    expect(list.html).toContain(`<a href="/systems/${systemId}">${NAME}</a>`);
    expect(list.html).toContain("新建系统上云");
    expect(list.html).toContain(`href="/files/${approvalFileId}"`);
    const download = await t.app.request(`/files/${approvalFileId}`, { headers: { cookie: a.cookie! } });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/pdf");

    // A second registration of the name is told under the name.
    const again = await post(a, "/systems", { ...typed, nonClassified: "on" });
    expect(again.status).toBe(409);
    expect(messageUnder(again.html, "name")).toContain("无须重复登记");
  });

  test("004 第二条: the manager registers a system for the unit it chooses, and must choose one", async () => {
    const m = await t.signedIn("zhangwei");
    const page = await m.get("/systems");
    expect(page.html).toContain('<option value="xn-rsj">兴宁市人力资源和社会保障局</option>');
    const system = { name: "兴宁市就业服务信息系统", kind: "migration", approvalRef: "兴发改〔2024〕3 号", nonClassified: "on" };
    const noUnit = await post(m, "/systems", system);
    expect(noUnit.status).toBe(400);
    expect(messageUnder(noUnit.html, "unitId")).toBe("请选择使用单位");
    const done = await post(m, "/systems", { ...system, unitId: "xn-rsj" });
    expect(done.status).toBe(303);
    const [row] = await t.db.select({ unitId: systems.unitId, registeredBy: systems.registeredBy }).from(systems).where(eq(systems.name, system.name));
    expect(row).toEqual({ unitId: "xn-rsj", registeredBy: "zhangwei" });
  });

  test("004 第三十八条, 第四十条: the unit records 等保 and 密评 with their documents; a refusal keeps what was typed and the file; the document stays unless another is chosen", async () => {
    const a = await t.signedIn("lihua");
    const page = await a.get(`/systems/${systemId}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain(`action="/systems/${systemId}/mlps"`);
    expect(page.html).toContain(`action="/systems/${systemId}/crypto"`);
    expect(page.html).toContain("第五级");
    expect(page.html).toContain("李华 于 2026-09-29 10:00 声明本系统为非涉密政务信息系统（004 第二条）");

    // 备案日期 after today: refused by the service, under the field; the report chosen is stored and kept.
    const mlps = { "mlps.level": "3", "mlps.filedOn": "2026-10-08", "mlps.recordNo": "44140099001-26001", "mlps.testedOn": "2026-08-20" };
    const future = await post(a, `/systems/${systemId}/mlps`, mlps, { "mlps.fileId": pdf("等保备案证明.pdf") });
    expect(future.status).toBe(400);
    expect(messageUnder(future.html, "mlps.filedOn")).toBe("不能晚于今天（2026-09-29）");
    expect(valueOf(future.html, "mlps.recordNo")).toBe("44140099001-26001");
    expect(future.html).toContain("等保备案证明.pdf");
    const mlpsFileId = valueOf(future.html, "mlps.fileId")!;
    expect(mlpsFileId).toMatch(/^f_/);
    const [untouched] = await t.db.select({ level: systems.mlpsLevel }).from(systems).where(eq(systems.id, systemId));
    expect(untouched!.level).toBeNull();

    const recorded = await post(a, `/systems/${systemId}/mlps`, { ...mlps, "mlps.filedOn": "2026-09-01", "mlps.fileId": mlpsFileId });
    expect(recorded.status).toBe(303);
    expect(recorded.location).toBe(`/systems/${systemId}?done=mlps`);

    // 密评: the conclusion must be chosen; then recorded with its report.
    const noResult = await post(a, `/systems/${systemId}/crypto`, { "crypto.assessedOn": "2026-09-10" });
    expect(noResult.status).toBe(400);
    expect(messageUnder(noResult.html, "crypto.result")).toBe("请选择密评结论");
    expect(valueOf(noResult.html, "crypto.assessedOn")).toBe("2026-09-10");
    const crypto = await post(a, `/systems/${systemId}/crypto`, { "crypto.assessedOn": "2026-09-10", "crypto.result": "basic" }, { "crypto.fileId": pdf("密评报告.pdf") });
    expect(crypto.status).toBe(303);

    const [row] = await t.db.select().from(systems).where(eq(systems.id, systemId));
    expect(row).toMatchObject({ mlpsLevel: 3, mlpsFiledOn: "2026-09-01", mlpsRecordNo: "44140099001-26001", mlpsTestedOn: "2026-08-20", mlpsFileId, cryptoAssessedOn: "2026-09-10", cryptoResult: "basic" });
    const held = await t.db.select({ id: files.id, purpose: files.purpose, heldBy: files.heldBy }).from(files).where(eq(files.heldBy, `system:${systemId}`));
    expect(new Set(held.map((f) => f.purpose))).toEqual(new Set(["project_approval", "mlps_report", "crypto_report"]));

    const list = (await a.get("/systems")).html;
    for (const words of ["第三级", "备案日期 2026-09-01", "备案证明编号 44140099001-26001", "测评日期 2026-08-20", "2026-09-10 基本符合"]) expect(list).toContain(words);
    expect(list).toContain(`href="/files/${mlpsFileId}"`);
    expect(list).toContain(`href="/files/${row!.cryptoFileId}"`);

    // The manager corrects the record without choosing a file: the unit's report stays with it.
    const m = await t.signedIn("zhangwei");
    const detail = await m.get(`/systems/${systemId}`);
    expect(detail.html).toContain("已保存的文件「等保备案证明.pdf」");
    expect(valueOf(detail.html, "mlps.recordNo")).toBe("44140099001-26001");
    const corrected = await post(m, `/systems/${systemId}/mlps`, { ...mlps, "mlps.filedOn": "2026-09-02" });
    expect(corrected.status).toBe(303);
    const [after] = await t.db.select({ filedOn: systems.mlpsFiledOn, fileId: systems.mlpsFileId }).from(systems).where(eq(systems.id, systemId));
    expect(after).toEqual({ filedOn: "2026-09-02", fileId: mlpsFileId });
  });

  test("004 第二条: another unit's applicant does not see the system; the county bureau sees its county's; the city's roles all", async () => {
    const other = await t.signedIn("hexin"); // 兴宁市公安局
    expect((await other.get("/systems")).html).not.toContain(NAME);
    expect((await other.get(`/systems/${systemId}`)).status).toBe(404);
    expect((await t.app.request(`/files/${approvalFileId}`, { headers: { cookie: other.cookie! } })).status).toBe(404);
    // Another unit of the same county neither sees it nor records its 等保.
    const colleague = await t.signedIn("wangfang"); // 梅县区卫生健康局
    expect((await colleague.get("/systems")).html).not.toContain(NAME);
    const refused = await post(colleague, `/systems/${systemId}/mlps`, { "mlps.level": "1", "mlps.filedOn": "2026-09-01", "mlps.recordNo": "x" });
    expect(refused.status).toBe(404);

    const county = await t.signedIn("huangmin"); // 梅县区 county bureau
    const seen = await county.get("/systems");
    expect(seen.html).toContain(NAME);
    expect(seen.html).not.toContain("兴宁市就业服务信息系统");
    // It reads the register, and registers nothing.
    expect(seen.html).not.toContain('action="/systems"');
    const detail = await county.get(`/systems/${systemId}`);
    expect(detail.status).toBe(200);
    expect(detail.html).not.toContain(`action="/systems/${systemId}/mlps"`);
    const notKeeper = await post(county, `/systems/${systemId}/crypto`, { "crypto.assessedOn": "2026-09-10", "crypto.result": "fail" });
    expect(notKeeper.status).toBe(403);
    expect(notKeeper.html).toContain("系统登记由使用单位的申请人或统筹管理单位办理");
    expect((await t.app.request(`/files/${approvalFileId}`, { headers: { cookie: county.cookie! } })).status).toBe(200);

    const otherCounty = await t.signedIn("zhongli"); // 兴宁市 county bureau
    const theirs = (await otherCounty.get("/systems")).html;
    expect(theirs).not.toContain(NAME);
    expect(theirs).toContain("兴宁市就业服务信息系统");

    for (const user of ["xufeng", "guojun"]) {
      const html = (await (await t.signedIn(user)).get("/systems")).html;
      expect(html).toContain(NAME);
      expect(html).toContain("兴宁市就业服务信息系统");
    }
    expect((await (await t.signedIn("liuyang")).get("/systems")).status).toBe(403);
  });

  test("004 第十二条(二)1: the application form's 系统名称 points to 系统登记; a post without the page's token is refused", async () => {
    const a = await t.signedIn("lihua");
    const form = await a.get("/new/application");
    expect(form.html).toMatch(/<a href="\/systems">[^<]*登记[^<]*<\/a>/);
    const before = await rowCounts(t.db);
    const forged = await post(a, "/systems", { name: "梅县区校车管理系统", kind: "migration", approvalRef: "x 号", nonClassified: "on", _csrf: "forged" });
    expect(forged.status).toBe(403);
    expect(await rowCounts(t.db)).toEqual(before);
  });
});
