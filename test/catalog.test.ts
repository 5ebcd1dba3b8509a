import { readFileSync } from "node:fs";
import { count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, serviceCatalogs } from "../db/schema";
import { applicationForm, valuesFromInput } from "../src/channels/web/forms";
import { ok, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 服务目录: 000 5.5 (the 监管部门 makes it; resources are chosen from it, one not in it is adapted to the nearest by
// function and performance), 003 第二条(二) (政务云资源 are what the 政务云服务目录 offers), 004 第四条 (the services
// follow 粤财行〔2019〕82 号's 政务云服务分册; a new service, once published, is offered from then on).

const example = () => JSON.parse(readFileSync(new URL("../examples/catalog.json", import.meta.url), "utf8"));
const priceTable = {
  version: "2026-v1",
  effectiveFrom: "2026-01-01",
  prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 }, paas_database: { vcpuDay: 2.0, memoryGbDay: 0.6, storageGbDay: 0.02 }, backup: { instanceDay: 5 } },
};
const kingbase = { code: "RDS-KES-4C16G", kind: "paas_database", name: "人大金仓数据库 4 核 16G", product: "人大金仓 KingbaseES V8", vcpu: 4, memoryGb: 16, storageGb: 500 };
const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").replace(/\s+/g, " ");

/** A multipart body as a browser sends a form with a file. */
function upload(agent: Awaited<ReturnType<WebTestApp["signedIn"]>>, path: string, content: string) {
  const boundary = "----yunshenCatalogBoundary";
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${agent.csrf ?? ""}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="catalog.json"\r\nContent-Type: application/json\r\n\r\n${content}\r\n--${boundary}--\r\n`;
  return agent.raw("POST", path, { form: body, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
}

async function catalogRows(t: WebTestApp) {
  return (await t.db.select({ n: count() }).from(serviceCatalogs))[0]!.n;
}
async function factsOf(t: WebTestApp, id: number) {
  const [row] = await t.db.select({ facts: requests.facts, form: requests.form }).from(requests).where(eq(requests.id, id));
  return row as { facts: any; form: any };
}
const summaryValue = (detail: { summary: { label: string; value: string }[] }, label: string) => detail.summary.find((s) => s.label === label)?.value;

describe("服务目录 in 梅州 (004 第四条)", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp(); // 梅州, Monday 2026-11-23
    ok(await t.call("zhoumin", "POST", "/api/admin/prices", priceTable), 201);
  });
  afterAll(() => t?.close());

  test("000 5.5: with no catalog published nothing changes, and a row cannot name an item", async () => {
    expect(ok(await t.call("lihua", "GET", "/api/catalog"))).toMatchObject({ day: "2026-11-23", catalog: null, items: [], versions: [] });
    const plain = ok(await t.submit("yangfan", sampleForm()), 201);
    expect(plain.message).toBe(`申请 ${plain.code} 已提交，进入「需求评估」`);
    expect((await factsOf(t, plain.id)).facts.catalog).toBeUndefined();
    const form = sampleForm();
    form.vms[0].item = "ECS-4C8G";
    const refused = await t.submit("yangfan", form);
    expect(refused.status).toBe(422);
    expect(refused.body.error.fields["form.vms[0].item"]).toEqual(["尚未发布服务目录，不能按目录编号申请；请不填目录编号，直接填写规格"]);
  });

  test("004 第四条: a version takes effect on its date, and a service published in a new version is offered from then on", async () => {
    expect(ok(await t.call("zhoumin", "POST", "/api/catalog", example()), 201)).toEqual({ version: "2026-v1", effectiveFrom: "2026-01-01", items: 15 });
    const next = { ...example(), version: "2026-v2", effectiveFrom: "2026-12-01", items: [...example().items, kingbase] };
    ok(await t.call("zhangwei", "POST", "/api/catalog", next), 201);

    const today = ok(await t.call("lihua", "GET", "/api/catalog"));
    expect(today.catalog).toEqual({ version: "2026-v1", effectiveFrom: "2026-01-01", source: "粤财行〔2019〕82 号 政务云服务分册" });
    expect(today.items.map((i: { code: string }) => i.code)).not.toContain("RDS-KES-4C16G");
    expect(today.versions.map((v: { version: string }) => v.version)).toEqual(["2026-v1", "2026-v2"]);
    // Each item with its figures and its day price under the table in force (4×0.8 + 8×0.3 + 100×0.01).
    expect(today.items.find((i: { code: string }) => i.code === "ECS-4C8G")).toMatchObject({ kindName: "虚拟机", figures: "4 核 / 8G 内存 / 100G 高性能云盘", dayPrice: 6.6 });
    expect(today.items.find((i: { code: string }) => i.code === "SEC-WAF")).toMatchObject({ dayPrice: null });

    const december = ok(await t.call("lihua", "GET", "/api/catalog?on=2026-12-01"));
    expect(december.catalog.version).toBe("2026-v2");
    expect(december.items.find((i: { code: string }) => i.code === "RDS-KES-4C16G")).toMatchObject({ figures: "人大金仓 KingbaseES V8 4 核 / 16G 内存 / 500G 存储", dayPrice: 4 * 2 + 16 * 0.6 + 500 * 0.02 });
    expect((await t.call("lihua", "GET", "/api/catalog?on=2026-13-01")).status).toBe(400);

    // On its date the new version is the one in force, without anyone doing anything.
    t.clock.set("2026-12-01T01:00:00Z");
    try {
      expect(ok(await t.call("lihua", "GET", "/api/catalog")).catalog.version).toBe("2026-v2");
    } finally {
      t.clock.set("2026-11-23T01:00:00Z");
    }
    expect(ok(await t.call("lihua", "GET", "/api/catalog/versions")).items).toHaveLength(2);
  });

  test("004 第四条: a malformed catalog file is refused in Chinese, field by field, and writes nothing; a version is published once", async () => {
    const before = await catalogRows(t);
    const bad = await t.call("zhoumin", "POST", "/api/catalog", {
      version: "v 3",
      effectiveFrom: "2026-02-30",
      items: [
        { code: "GPU-1", kind: "gpu", name: "GPU 云主机" },
        { code: "ECS-X", kind: "vm", name: "坏的云主机", vcpu: 0, memoryGb: 8, diskGb: 100, storageType: "高性能云盘" },
        { code: "ECS-X", kind: "vm", name: "重复的编号", vcpu: 2, memoryGb: 4, diskGb: 100, storageType: "高性能云盘" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("服务目录文件有误");
    expect(bad.body.error.fields).toMatchObject({
      version: ["版本号应为 1–40 位字母、数字、点、下划线或连字符"],
      effectiveFrom: ["生效日期应为日期 YYYY-MM-DD"],
      "items[1].vcpu": ["vCPU至少为 1"],
    });
    expect(bad.body.error.fields["items[0].kind"][0]).toContain("类型（kind）应为以下之一：vm（虚拟机）");
    const duplicate = await t.call("zhoumin", "POST", "/api/catalog", { ...example(), version: "2026-v9", items: [example().items[0], example().items[0]] });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error.fields["items[1].code"]).toEqual(["目录编号 ECS-2C4G 重复"]);
    const again = await t.call("zhoumin", "POST", "/api/catalog", example());
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe("服务目录 2026-v1 已发布；更正请用新的版本号");
    expect(await catalogRows(t)).toBe(before);
  });

  test("004 第四条: only the system administrator and the 统筹管理单位 publish it; a refusal is audited and writes nothing", async () => {
    const before = await catalogRows(t);
    for (const user of ["lihua", "guojun", "xufeng"]) {
      const refused = await t.call(user, "POST", "/api/catalog", { ...example(), version: `2026-${user}` });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe("只有系统管理员或统筹管理单位可以发布服务目录（004 第四条）");
    }
    expect(await catalogRows(t)).toBe(before);
    const audited = await t.db.select().from(auditLog).where(eq(auditLog.action, "catalog.load"));
    expect(audited.filter((a) => a.outcome === "refused").map((a) => a.actorId)).toEqual(expect.arrayContaining(["lihua", "guojun", "xufeng"]));
  });

  test("000 5.5: the 服务目录 page lists the items with their day prices for everyone signed in; those who publish load a version there", async () => {
    const applicant = await t.signedIn("lihua");
    const page = await applicant.get("/catalog");
    expect(page.status).toBe(200);
    const shown = text(page.html);
    expect(page.html).toContain('href="/catalog"');
    expect(shown).toContain("2026-11-23 执行：服务目录 2026-v1（自 2026-01-01 起）");
    expect(shown).toContain("ECS-4C8G 通用型云主机 4 核 8G 虚拟机 4 核 / 8G 内存 / 100G 高性能云盘 6.60");
    expect(shown).toContain("ECS-8C32G 内存型云主机 8 核 32G 虚拟机 8 核 / 32G 内存 / 200G 高性能云盘 18.00");
    expect(shown).toContain("SEC-WAF Web 应用防火墙 Web 应用防火墙 Web 应用防火墙 1 套 无单价");
    expect(shown).not.toContain("发布新版本");
    expect(text((await applicant.get("/catalog?on=2026-12-01")).html)).toContain("RDS-KES-4C16G");
    expect((await upload(applicant, "/catalog", JSON.stringify({ ...example(), version: "2027-v1" }))).status).toBe(403);

    const manager = await t.signedIn("zhangwei");
    expect(text((await manager.get("/catalog")).html)).toContain("发布新版本");
    const loaded = await upload(manager, "/catalog", JSON.stringify({ ...example(), version: "2027-v1", effectiveFrom: "2027-01-01" }));
    expect(loaded.status).toBe(200);
    expect(text(loaded.html)).toContain("服务目录 2027-v1 已发布（15 项），自 2027-01-01 起执行");
    expect(text(loaded.html)).toContain("2027-v1 ：自 2027-01-01 起，15 项（尚未生效）");
    const bad = await upload(manager, "/catalog", JSON.stringify({ version: "2027-v2", effectiveFrom: "2027-01-01", items: [] }));
    expect(bad.status).toBe(400);
    expect(text(bad.html)).toContain("服务目录至少要有一项");
  });

  test("000 5.5: an application names its items; a row naming one must be it, and nothing is written otherwise", async () => {
    const form = sampleForm();
    form.vms[0].item = "ECS-4C8G";
    form.vms[1].item = "ECS-8C32G";
    const submitted = ok(await t.submit("yangfan", form), 201);
    expect(submitted.message).toBe(
      `申请 ${submitted.code} 已提交，进入「需求评估」。服务目录 2026-v1：虚拟机第 1 行（应用服务器）：ECS-4C8G「通用型云主机 4 核 8G」；虚拟机第 2 行（数据库服务器）：ECS-8C32G「内存型云主机 8 核 32G」`,
    );
    const { facts } = await factsOf(t, submitted.id);
    expect(facts.catalog).toEqual({
      version: "2026-v1",
      rows: [
        expect.objectContaining({ row: "vms[0]", how: "named", item: "ECS-4C8G" }),
        expect.objectContaining({ row: "vms[1]", how: "named", item: "ECS-8C32G" }),
      ],
    });
    expect(summaryValue(ok(await t.show("xufeng", submitted.id)), "服务目录")).toContain("ECS-4C8G");

    const before = (await t.db.select({ n: count() }).from(requests))[0]!.n;
    const wrong = sampleForm();
    wrong.vms[0].item = "ECS-8C16G";
    wrong.vms[1].item = "ECS-NONE";
    const refused = await t.submit("yangfan", wrong);
    expect(refused.status).toBe(422);
    expect(refused.body.error.fields).toEqual({
      "form.vms[0].item": ["所填规格与目录项 ECS-8C16G（8 核 / 16G 内存 / 200G 高性能云盘）不一致：vCPU 4→8 核，内存 8→16G，磁盘 100→200G；请按目录项填写，或不填目录编号"],
      "form.vms[1].item": ["服务目录 2026-v1 中没有编号为 ECS-NONE 的项目"],
    });
    const kind = sampleForm();
    kind.vms[0].item = "RDS-DM8-4C16G";
    expect((await t.submit("yangfan", kind)).body.error.fields["form.vms[0].item"]).toEqual(["目录项 RDS-DM8-4C16G（达梦数据库 4 核 16G）是数据库，不是虚拟机"]);
    expect((await t.db.select({ n: count() }).from(requests))[0]!.n).toBe(before);
  });

  test("000 5.5: a row not in the catalog is matched to the nearest item by function and performance, told to the applicant and shown at the provider's 需求评估", async () => {
    const form = sampleForm();
    form.vms[0] = { ...form.vms[0], vcpu: 6, memoryGb: 12, diskGb: 150 };
    form.vms[1] = { ...form.vms[1], storageType: "SSD云盘" };
    form.plan.plannedTotals = { vcpu: 24, memoryGb: 64, storageGb: 500 };
    const submitted = ok(await t.submit("yangfan", form), 201);
    const adapted = "虚拟机第 1 行（应用服务器）：6 核 / 12G 内存 / 150G 高性能云盘 不在目录中，按功能和性能相近适配为 ECS-8C16G「通用型云主机 8 核 16G」（8 核 / 16G 内存 / 200G 高性能云盘；vCPU 6→8 核，内存 12→16G，磁盘 150→200G）";
    // The applicant is told on submission; the SSD row is the SSD item (same function), not the cheaper 高性能云盘 one.
    expect(submitted.message).toContain(adapted);
    expect(submitted.message).toContain("虚拟机第 2 行（数据库服务器）：ECS-8C32G-SSD「内存型云主机 8 核 32G（SSD 云盘）」");
    const { facts, form: stored } = await factsOf(t, submitted.id);
    expect(facts.catalog.rows[0]).toMatchObject({ how: "nearest", item: "ECS-8C16G", differences: ["vCPU 6→8 核", "内存 12→16G", "磁盘 150→200G"] });
    expect(facts.catalog.rows[0].distance).toBeGreaterThan(0);
    expect(facts.catalog.rows[1]).toMatchObject({ how: "exact", item: "ECS-8C32G-SSD" });
    // The form keeps what the unit asked for: the evaluator weighs the adaptation.
    expect(stored.vms[0]).toMatchObject({ vcpu: 6, memoryGb: 12, diskGb: 150 });

    // The provider's 需求评估: on the request (API and page) and on the card that asks it to decide.
    const detail = ok(await t.show("xufeng", submitted.id));
    expect(detail.currentStage.stage).toBe("evaluate");
    expect(summaryValue(detail, "服务目录适配")).toContain(adapted);
    const cards = await t.db.select().from(outbox).where(eq(outbox.userId, "xufeng"));
    const card = cards.find((c) => c.kind === "task" && JSON.stringify(c.payload).includes(submitted.code));
    expect(JSON.stringify(card?.payload)).toContain("服务目录适配");
    expect(JSON.stringify(card?.payload)).toContain("ECS-8C16G");
    const provider = await t.signedIn("xufeng");
    const page = text((await provider.get(`/requests/${submitted.code}`)).html);
    expect(page).toContain("服务目录适配");
    expect(page).toContain("适配为 ECS-8C16G");
    // And the applicant's own page.
    expect(text((await (await t.signedIn("yangfan")).get(`/requests/${submitted.code}`)).html)).toContain("适配为 ECS-8C16G");
  });

  test("000 5.5: on the portal's 云资源申请 form a row names its 服务目录编号; a wrong one is shown under the field", async () => {
    const { attachments: _, ...example } = sampleForm();
    const values = valuesFromInput(applicationForm, example);
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(values.fields)) if (v !== "") fields[k] = String(v);
    values.rows.vms!.forEach((row, i) => {
      for (const [k, v] of Object.entries(row)) if (v !== "") fields[`vms[${i}].${k}`] = v;
    });
    const a = await t.signedIn("yangfan");
    const page = await a.get("/new/application");
    expect(page.html).toContain('name="vms[0].item"');
    expect(page.html).toContain('href="/catalog"');
    const wrong = await a.post("/new/application", { ...fields, "vms[0].item": "ECS-2C4G", _step: "submit" });
    expect(wrong.status).toBe(422);
    expect(text(wrong.html)).toContain("所填规格与目录项 ECS-2C4G（2 核 / 4G 内存 / 100G 高性能云盘）不一致");
    const filed = await a.post("/new/application", { ...fields, "vms[0].item": "ECS-4C8G", _step: "submit" });
    expect(filed.status).toBe(303);
    const shown = text((await a.get(filed.location!)).html);
    expect(shown).toContain("虚拟机第 1 行（应用服务器）：ECS-4C8G「通用型云主机 4 核 8G」");
  });

  test("000 5.5, 004 第四十三条: what a delivered item is billed a day is the price the catalog shows for it", async () => {
    const delivered = await t.deliverApplication("yangfan");
    const { facts } = await factsOf(t, delivered.id);
    expect(facts.catalog.rows.map((r: { item: string }) => r.item)).toEqual(["ECS-4C8G", "ECS-8C32G"]);
    const shown = ok(await t.call("yangfan", "GET", "/api/catalog")).items as { code: string; dayPrice: number }[];
    const price = (code: string) => shown.find((i) => i.code === code)!.dayPrice;
    const statement = ok(await t.call("xufeng", "GET", "/api/billing/statements/2026-11?source=ledger"));
    const line = (id: number) => statement.lines.find((l: { resourceId: number }) => l.resourceId === id);
    const [app1, app2, db, backup] = delivered.resources;
    expect(line(app1!.id).segments.map((s: { dayPrice: number }) => s.dayPrice)).toEqual([price("ECS-4C8G")]);
    expect(line(app2!.id).segments.map((s: { dayPrice: number }) => s.dayPrice)).toEqual([price("ECS-4C8G")]);
    expect(line(db!.id).segments.map((s: { dayPrice: number }) => s.dayPrice)).toEqual([price("ECS-8C32G")]);
    expect(line(backup!.id).segments.map((s: { dayPrice: number }) => s.dayPrice)).toEqual([price("BAK-DB-SAMECITY")]);
    expect([price("ECS-4C8G"), price("ECS-8C32G"), price("BAK-DB-SAMECITY")]).toEqual([6.6, 18, 5]);
  });
});

describe("服务目录 in 高创中心 (000 5.5: the 监管部门 makes it)", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ profile: "gaochuang" });
  });
  afterAll(() => t?.close());

  test("000 5.5: the 监管部门 (reviewer) publishes the catalog; the manager may not", async () => {
    const refused = await t.call("zhangwei", "POST", "/api/catalog", example());
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe("只有系统管理员或监管部门（复核单位）可以发布服务目录（000 5.5）");
    ok(await t.call("guojun", "POST", "/api/catalog", example()), 201);
    expect(text((await (await t.signedIn("guojun")).get("/catalog")).html)).toContain("由系统管理员或监管部门（复核单位）发布（000 5.5）");
  });

  test("000 5.5: a PaaS row naming an item takes its sizes; one of a product not in the catalog is adapted to the nearest of its kind", async () => {
    const form = sampleForm();
    form.paas = [
      { kind: "database", product: "达梦 DM8", item: "RDS-DM8-4C16G" },
      { kind: "database", product: "人大金仓 KingbaseES V8", vcpu: 4, memoryGb: 16, storageGb: 300 },
    ];
    const submitted = ok(await t.submit("yangfan", form), 201);
    const { facts, form: stored } = await factsOf(t, submitted.id);
    expect(stored.paas[0]).toMatchObject({ item: "RDS-DM8-4C16G", vcpu: 4, memoryGb: 16, storageGb: 500 });
    // Totals count what the item is: 16 + 4 + 4 核.
    expect(facts.totals).toMatchObject({ vcpu: 24, storageGb: 400 + 500 + 300 });
    expect(facts.catalog.rows[2]).toMatchObject({ row: "paas[0]", how: "named", item: "RDS-DM8-4C16G" });
    expect(facts.catalog.rows[3]).toMatchObject({
      row: "paas[1]",
      how: "nearest",
      item: "RDS-DM8-4C16G",
      differences: ["产品 人大金仓 KingbaseES V8→达梦数据库 DM8", "存储 300→500G"],
    });
    // 000 7.2: the 申请审核 is the manager's; the card asking for it carries the adaptation.
    const detail = ok(await t.show("zhangwei", submitted.id));
    expect(detail.currentStage.stage).toBe("approve");
    expect(summaryValue(detail, "服务目录适配")).toContain("数据库第 2 行（人大金仓 KingbaseES V8）：人大金仓 KingbaseES V8 4 核 / 16G 内存 / 300G 存储 不在目录中");
    // The review's decision says how the row is adapted: approving without a note is refused.
    const bare = await t.act("zhangwei", submitted.id, { action: "approve" });
    expect(bare.status).toBe(422);
    expect(JSON.stringify(bare.body)).toContain("有资源不在服务目录中，须在审核意见中写明按目录中功能和性能相近的项目适配的意见（000 5.5）");
    ok(await t.act("zhangwei", submitted.id, { action: "approve", note: "第 2 行按 RDS-DM8-4C16G 适配开通" }));
  });
});

describe("服务目录 in 巴中 (003 第二条(二))", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ profile: "bazhong", now: "2026-09-25T02:00:00Z" });
  });
  afterAll(() => t?.close());

  test("003 第二条(二): 政务云资源 are what the 政务云服务目录 offers: a row not in it is adapted at the 技术论证", async () => {
    ok(await t.call("zhangwei", "POST", "/api/catalog", example()), 201);
    const form = sampleForm();
    form.vms[1] = { ...form.vms[1], vcpu: 12, memoryGb: 48, diskGb: 400 };
    form.attachments.push(await t.attachment("yangfan", "plan"));
    const submitted = ok(await t.submit("yangfan", form), 201);
    expect(submitted.message).toContain("按功能和性能相近适配为 ECS-16C64G");
    const detail = ok(await t.show("zhangwei", submitted.id));
    expect(detail.currentStage.stage).toBe("tech_review");
    expect(summaryValue(detail, "服务目录适配")).toContain("虚拟机第 2 行（数据库服务器）：12 核 / 48G 内存 / 400G 高性能云盘 不在目录中，按功能和性能相近适配为 ECS-16C64G");
  });
});
