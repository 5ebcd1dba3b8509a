import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requests, resources } from "../db/schema";
import { loadPriceTable } from "../src/billing/prices";
import { createWebTestApp } from "./web-harness";
import { ok, rowCounts, sampleForm } from "./app-harness";

// 004 第十二条(三)2 硬件托管服务; 第四十八条: 云资源 are IaaS (网络 included), PaaS, 备份 and 安全 resources; 第四十三条:
// billed by the day from 开通. Hosted devices, bandwidth, public IPs and security services are asked for on the
// application, recorded in the ledger on delivery, billed per day, and revoked like the rest.

let t: Awaited<ReturnType<typeof createWebTestApp>>;
beforeAll(async () => {
  t = await createWebTestApp();
  const manager = { ...t.ctx(), actor: { userId: "zhangwei", name: "张伟", unitId: "mz-sjj", roles: ["manager" as const] } };
  // No price for Web 应用防火墙: its line is flagged 无单价, the rest priced.
  await loadPriceTable({
    ctx: manager,
    input: {
      version: "2026-net",
      effectiveFrom: "2026-01-01",
      prices: {
        vm: { vcpuDay: 0.8 },
        hosting: { rackUnitDay: 3 },
        bandwidth: { mbpsDay: 0.5 },
        public_ip: { ipDay: 2 },
        security_firewall: { unitDay: 20 },
        security_host_security: { unitDay: 1.5 },
      },
    },
  });
});
afterAll(() => t?.close());

/** The example application asking for no VM: only hosted devices, bandwidth, public IPs and security services. */
async function hostingOnlyForm() {
  const form = sampleForm();
  form.vms = [];
  form.hosting = [
    { device: "华为 TaiShan 200 服务器", rackUnits: 2, quantity: 2, powerW: 900 },
    { device: "深信服 AF-1000 防火墙", rackUnits: 1 },
  ];
  form.bandwidth = [
    { zone: "gov_extranet", mbps: 50 },
    { zone: "internet", mbps: 20 },
  ];
  form.publicIps = 2;
  form.security = [
    { service: "firewall", quantity: 1 },
    { service: "host_security", quantity: 3 },
    { service: "waf" },
  ];
  // 004 第十二条(三)2: 硬件托管 rides with a 云资源申请依据.
  form.attachments = [await t.attachment("yangfan", "justification")];
  return form;
}

/** Submitted by 杨帆 and walked to delivery (资源开通 approved) on Monday 2026-11-23. */
async function delivered(form: unknown) {
  const submitted = ok(await t.submit("yangfan", form), 201);
  await t.actInTurn(submitted.id, [
    ["xufeng", { action: "approve", note: "配置合理" }],
    ["zhangwei", { action: "approve" }],
    ["linna", { action: "approve", note: "已开通" }],
  ]);
  return submitted as { id: number; code: string };
}

type Line = { name: string; kind: string; days: number; amount: number; flags: string[] };

describe("hosting, network and security resources", () => {
  test("004 第十二条(三)2, 第四十八条, 第四十三条: a hosting-only application is recorded on delivery, billed by the day, and a revoked service stops billing", async () => {
    const { id, code } = await delivered(await hostingOnlyForm());
    // The request's summary (its cards and page) says what is asked for, not just "0 台".
    expect(ok(await t.show("zhangwei", id)).summary).toContainEqual({
      label: "托管、网络与安全",
      value: "托管设备 3 台（5U）；带宽 政务外网 50 Mbps、互联网 20 Mbps；公网 IP 2 个；安全服务 云防火墙 1 套、主机安全 3 套、Web 应用防火墙 1 套",
    });

    // The ledger: one row per hosted device, one per zone's bandwidth, one for the public IPs, one per service.
    const ledger = ok(await t.call("yangfan", "GET", `/api/resources?request=${id}`)).items as { id: number; kind: string; spec: Record<string, unknown>; status: string }[];
    expect(ledger.map((r) => [r.kind, r.spec])).toEqual([
      ["hosting", { kindName: "硬件托管", device: "华为 TaiShan 200 服务器", rackUnits: 2, powerW: 900 }],
      ["hosting", { kindName: "硬件托管", device: "华为 TaiShan 200 服务器", rackUnits: 2, powerW: 900 }],
      ["hosting", { kindName: "硬件托管", device: "深信服 AF-1000 防火墙", rackUnits: 1 }],
      ["bandwidth", { kindName: "带宽", zone: "gov_extranet", zoneName: "政务外网", mbps: 50 }],
      ["bandwidth", { kindName: "带宽", zone: "internet", zoneName: "互联网", mbps: 20 }],
      ["public_ip", { kindName: "公网 IP", ips: 2 }],
      ["security_firewall", { kindName: "云防火墙", service: "firewall", units: 1 }],
      ["security_host_security", { kindName: "主机安全", service: "host_security", units: 3 }],
      ["security_waf", { kindName: "Web 应用防火墙", service: "waf", units: 1 }],
    ]);
    const manager = await t.signedIn("zhangwei");
    // The admin's price page names the new kinds and their prices.
    const prices = (await manager.get("/admin/prices")).html;
    for (const shown of ["硬件托管：机柜（元/U/天） 3", "带宽：带宽（元/Mbps/天） 0.5", "公网 IP：公网 IP（元/个/天） 2", "云防火墙：安全服务（元/套/天） 20"]) expect(prices).toContain(shown);
    const page = (await manager.get("/resources")).html;
    for (const shown of ["硬件托管", "华为 TaiShan 200 服务器 2U 900W", "政务外网 50 Mbps", "公网 IP", "2 个", "安全服务 云防火墙", "3 套"]) expect(page).toContain(shown);

    // November: delivered on the 23rd, so 8 days (23rd–30th, weekends counted: 以天为单位).
    const november = ok(await t.call("xufeng", "GET", "/api/billing/statements/2026-11")).lines as Line[];
    const mine = (lines: Line[]) => lines.filter((l) => l.name.startsWith(`${code}-`));
    const byKind = (lines: Line[]) => mine(lines).map((l) => `${l.kind}:${l.days}:${l.amount}`);
    expect(byKind(november)).toEqual([
      "hosting:8:48", // 2U × 3.00
      "hosting:8:48",
      "hosting:8:24",
      "bandwidth:8:200", // 50 Mbps × 0.50
      "bandwidth:8:80",
      "public_ip:8:32", // 2 × 2.00
      "security_firewall:8:160",
      "security_host_security:8:36", // 3 套 × 1.50
      "security_waf:8:0",
    ]);
    expect(mine(november).at(-1)!.flags).toEqual(["new", "unpriced"]);

    // The firewall service is revoked on 2026-12-10: December bills it 1st–9th, the rest the whole month.
    const firewall = ledger.find((r) => r.kind === "security_firewall")!;
    const revocation = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "revocation", form: { resources: [firewall.id], reason: "改用自建防火墙" } }), 201);
    await t.actInTurn(revocation.id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["yangfan", { action: "confirm" }],
      ["yangfan", { action: "confirm", note: "配置已导出" }],
    ]);
    t.clock.set("2026-12-10T02:00:00Z");
    await t.actInTurn(revocation.id, [["xufeng", { action: "approve" }]]);
    const december = ok(await t.call("xufeng", "GET", "/api/billing/statements/2026-12")).lines as Line[];
    expect(byKind(december)).toEqual([
      "hosting:31:186",
      "hosting:31:186",
      "hosting:31:93",
      "bandwidth:31:775",
      "bandwidth:31:310",
      "public_ip:31:124",
      "security_firewall:9:180",
      "security_host_security:31:139.5",
      "security_waf:31:0",
    ]);
    expect(mine(december).find((l) => l.kind === "security_firewall")!.flags).toEqual(["revoked"]);
    const january = ok(await t.call("xufeng", "GET", "/api/billing/statements/2027-01")).lines as Line[];
    expect(byKind(january).some((l) => l.startsWith("security_firewall"))).toBe(false);

    // The 附件13 page and the CSV carry the lines like any other.
    const csv = await t.app.request("/api/billing/statements/2026-12?format=csv", { headers: { authorization: `Bearer ${t.tokens.xufeng}` } });
    const text = Buffer.from(await csv.arrayBuffer()).subarray(3).toString("utf8");
    expect(text).toContain(",security_firewall,9,180.00,撤销,2026-12-01~2026-12-09 9天×20,");
    expect(text).toContain(",security_waf,31,0.00,无单价,2026-12-01~2026-12-31 31天×无单价,");
  });

  test("004 第十二条(三)2: a hosted device of negative U, an unknown security service or a NUL is refused with its field named, and nothing is written", async () => {
    const form = await hostingOnlyForm();
    const before = await rowCounts(t.db);
    const refused = async (changed: unknown, field: string, message: string) => {
      const res = await t.submit("yangfan", changed);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.fields[field]).toEqual([message]);
    };
    await refused({ ...form, hosting: [{ device: "服务器", rackUnits: -2 }] }, "form.hosting[0].rackUnits", "机柜 U 数至少为 1");
    await refused({ ...form, security: [{ service: "antivirus" }] }, "form.security[0].service", "应为以下之一：云防火墙、Web 应用防火墙、漏洞扫描、日志审计、数据库审计、堡垒机、主机安全");
    await refused({ ...form, hosting: [{ device: "服务\u0000器", rackUnits: 2 }] }, "form.hosting[0].device", "含有不允许的控制字符（U+0000），请删除后重试");
    await refused({ ...form, bandwidth: [{ zone: "internet", mbps: 10 }, { zone: "internet", mbps: 20 }] }, "form.bandwidth[1].zone", "同一网络区域的带宽请合并为一行");
    // true alone, as forms said before devices were listed, no longer says what to host.
    await refused({ ...form, hosting: true }, "form.hosting", "硬件托管请逐台填写托管设备（设备名称/型号、机柜 U 数、数量）");
    // Nothing of any kind: still refused (at least one resource).
    await refused({ ...form, hosting: [], bandwidth: [], publicIps: 0, security: [] }, "form.vms", "至少申请一项资源（虚拟机、PaaS、托管、带宽、公网 IP 或安全服务）");
    // The attachment files were uploaded before; no request, resource or audit row was added since.
    expect(await rowCounts(t.db)).toEqual(before);
  });

  test("004 第十二条(三)2: the web form's 硬件托管, 网络资源 and 安全服务 sections, with messages in Chinese", async () => {
    const a = await t.signedIn("yangfan");
    const page = (await a.get("/new/application")).html;
    for (const label of ["硬件托管", "设备名称/型号", "机柜 U 数", "电源功率(W)", "网络资源", "带宽(Mbps)", "公网 IP 数量", "安全服务", "堡垒机", "数据库审计"]) expect(page).toContain(label);
    const res = await a.post("/new/application", {
      _step: "preview",
      systemName: "梅州市托管测试系统",
      "contact.name": "杨帆",
      "contact.mobile": "13800000001",
      "maintainer.name": "陈工",
      "maintainer.mobile": "13800000002",
      networkZone: "gov_extranet",
      "hosting[0].device": "华为 TaiShan 200",
      "hosting[0].rackUnits": "-1",
      "hosting[0].quantity": "1",
      "plan.kind": "new",
      "plan.resourceNeeds": "托管 1 台",
      "plan.steps": "12 月上架",
    });
    expect(res.status).toBe(400);
    expect(res.html).toContain('<div id="f-hosting-0-rackUnits-error" class="ys-field-error" role="alert">机柜 U 数不能小于 1U</div>');
    expect(res.html).not.toMatch(/too_small|Invalid/);
  });

  test("004 第十二条(三)2: a request stored with the old form's hosting: true still opens, on the page and through the API", async () => {
    const form = sampleForm();
    form.hosting = false; // the old form's "no hosting" is still accepted
    const { id, code } = ok(await t.submit("yangfan", form), 201);
    const [stored] = await t.db.select({ form: requests.form }).from(requests).where(eq(requests.id, id));
    const { bandwidth: _b, publicIps: _p, security: _s, ...before } = stored!.form as Record<string, unknown>;
    const old = { ...before, hosting: true };
    await t.db.update(requests).set({ form: old }).where(eq(requests.id, id));

    expect(ok(await t.show("yangfan", id)).form.hosting).toBe(true);
    const a = await t.signedIn("yangfan");
    const page = await a.get(`/requests/${code}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("是（申请表未列明托管设备）");
    // Delivered, it records its VMs; the old form names no device, so there is no hosting row to bill.
    await t.actInTurn(id, [
      ["xufeng", { action: "approve", note: "配置合理" }],
      ["zhangwei", { action: "approve" }],
      ["linna", { action: "approve", note: "已开通" }],
    ]);
    const kinds = (await t.db.select({ kind: resources.kind }).from(resources).where(eq(resources.requestId, id)).orderBy(asc(resources.id))).map((r) => r.kind);
    expect(kinds).toEqual(["vm", "vm", "vm", "backup"]);
  });
});
