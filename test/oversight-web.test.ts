import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, hosts, portGrants, requests, vmAccounts, totpPermissions } from "../db/schema";
import { addHost } from "../src/access/hosts";
import { loadPriceTable } from "../src/billing/prices";
import { publicKeyPem } from "../src/core/audit-signing";
import { BOM } from "../src/core/csv";
import { draftMonthlyStatement } from "../src/jobs/monthly-draft";
import { ok, sampleForm } from "./app-harness";
import { testAuditSigner } from "./harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// Issue 12, the pages of managers, reviewers, county bureaus, auditors and security officers: search and
// export, the monthly report with charts, the ledger with each VM's utilisation, the statement to check and
// countersign (附件13 printable), the year's demands, the audit log with 校验, and VM accounts and port grants.
// Each role sees only its links and pages; every POST needs the CSRF token; bad input is a clear page.

const work = mkdtempSync(join(tmpdir(), "yunshen-oversight-web-"));
const auditFiles = { signingKey: join(work, "audit-public-key.pem"), anchors: join(work, "audit-anchors.jsonl") };
let t: WebTestApp;
let edu: { id: number; code: string };
let police: { id: number; code: string };
let billing: { id: number; code: string };
let vmId: string;

beforeAll(async () => {
  writeFileSync(auditFiles.signingKey, publicKeyPem(testAuditSigner.publicKey));
  t = await createWebTestApp({ now: "2026-11-23T01:00:00Z", web: { auditFiles } });
  edu = ok(await t.submit("lihua", { ...sampleForm(), systemName: "梅县区教育资助管理系统" }), 201);
  await t.registerSystem("hexin", '=HYPERLINK("http://example.invalid","点我")');
  police = ok(await t.submit("hexin", { ...sampleForm(), systemName: '=HYPERLINK("http://example.invalid","点我")' }), 201);
  // A delivered application (the ledger, the statement) with a VM the monitoring reports on.
  await loadPriceTable({
    ctx: t.ctx(),
    input: { version: "2026-v1", effectiveFrom: "2026-01-01", prices: { vm: { vcpuDay: 0.8, memoryGbDay: 0.3, diskGbDay: 0.01 }, backup: { instanceDay: 5 } } },
  });
  const delivered = await t.deliverApplication("yangfan");
  vmId = "ins-web-001";
  ok(await t.call("xufeng", "PUT", `/api/resources/${delivered.resources[0]!.id}/instance`, { instanceId: vmId }));
  const samples = ["2026-11-24", "2026-11-25", "2026-11-26"].flatMap((day, i) => [
    { vm: vmId, time: `${day}T10:00:00+08:00`, cpu: 20 + i * 10, mem: 40 },
    { vm: vmId, time: `${day}T15:00:00+08:00`, cpu: 60 + i * 10, mem: 50 },
  ]);
  ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": "oversight-web-1" }), 201);
  // December's first working day: yunshen drafts November's statement into its sign-off.
  t.clock.set("2026-12-01T01:00:00Z");
  expect(await draftMonthlyStatement(t.ctx())).toBe(true);
  const [req] = await t.db.select({ id: requests.id, code: requests.code, applicantId: requests.applicantId }).from(requests).where(eq(requests.flow, "billing"));
  billing = { id: req!.id, code: req!.code };
  await t.actInTurn(req!.id, [[req!.applicantId, { action: "approve" }]]); // exported: the reviewer checks it next
  // The security officer's lists: an active account, a locked one, and a port grant.
  await addHost({ ctx: t.ctx(), input: { name: "vm-web-01" } });
  const now = t.clock.now();
  await t.db.insert(vmAccounts).values([
    { hostId: "vm-web-01", account: "lihua", userId: "lihua", mobile: "13807530012", status: "active", validUntil: new Date("2027-06-30T15:59:59Z"), createdAt: now },
    { hostId: "vm-web-01", account: "wangfang", userId: "wangfang", mobile: "13807530013", status: "active", validUntil: new Date("2027-06-30T15:59:59Z"), createdAt: now, lockedAt: now, consecutiveFailures: 5 },
  ]);
  await t.db.insert(portGrants).values({
    hostId: "vm-web-01",
    port: 8443,
    protocol: "tcp",
    sources: ["10.20.0.0/16"],
    reason: "对接省平台接口",
    requestId: edu.id,
    status: "active",
    validUntil: new Date("2027-01-31T15:59:59Z"),
    createdAt: now,
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A download as the browser gets it, keeping the byte order mark that res.text() would drop. */
async function download(cookie: string | null, path: string) {
  const res = await t.app.request(path, { headers: cookie ? { cookie } : {} });
  return { status: res.status, headers: res.headers, text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer()) };
}

const auditCount = async () => Number((await t.db.select({ n: count() }).from(auditLog))[0]!.n);

describe("each role sees its own links and pages", () => {
  const PAGES = ["/requests", "/reports", "/reports/monthly", "/resources", "/billing/2026-11", "/demands/2027", "/audit", "/security"];
  const MAY: Record<string, string[]> = {
    zhangwei: ["/requests", "/reports", "/reports/monthly", "/resources", "/billing/2026-11", "/demands/2027", "/audit", "/security"],
    guojun: ["/requests", "/reports", "/reports/monthly", "/resources", "/billing/2026-11", "/demands/2027", "/audit"],
    xufeng: ["/requests", "/reports", "/reports/monthly", "/resources", "/billing/2026-11", "/demands/2027"],
    // A county bureau reads its county's figures; the statement is the city's (its service refuses it).
    huangmin: ["/requests", "/reports", "/reports/monthly", "/resources", "/demands/2027"],
    liuyang: ["/security"],
    lihua: [],
  };

  test.each(Object.keys(MAY))("%s opens exactly their pages; the others are a 403 page in the layout", async (user) => {
    const a = await t.signedIn(user);
    for (const path of PAGES) {
      const res = await a.get(path);
      const allowed = MAY[user]!.includes(path);
      expect(res.status, `${user} ${path}`).toBe(allowed ? 200 : 403);
      if (!allowed) {
        expect(res.html, `${user} ${path}`).toContain("无权操作");
        expect(res.html).toContain('<nav class="ys-nav"');
      }
    }
  });

  test("the nav links each person to their pages only", async () => {
    const nav = async (user: string) => {
      const home = await (await t.signedIn(user)).get("/");
      return [...home.html.matchAll(/<nav class="ys-nav"[\s\S]*?<\/nav>/g)].map((m) => m[0]).join("");
    };
    const manager = await nav("zhangwei");
    expect(manager).toContain('href="/requests"');
    expect(manager).toContain('href="/reports"');
    expect(manager).toContain('href="/audit"');
    expect(manager).toContain('href="/security"');
    const officer = await nav("liuyang");
    expect(officer).toContain('href="/security"');
    expect(officer).not.toContain('href="/audit"');
    expect(officer).not.toContain('href="/requests"');
    // The reports' index links the statement only for those who may read it.
    expect((await (await t.signedIn("zhangwei")).get("/reports")).html).toContain('href="/billing/2026-11"');
    expect((await (await t.signedIn("huangmin")).get("/reports")).html).not.toContain("/billing/");
    const applicant = await nav("lihua");
    for (const href of ["/requests", "/reports", "/audit", "/security"]) expect(applicant).not.toContain(`href="${href}"`);
  });
});

describe("查询 and 导出", () => {
  test("the manager searches by 系统名称 and 单位; a county bureau sees only its county", async () => {
    const manager = await t.signedIn("zhangwei");
    const found = await manager.get(`/requests?title=${encodeURIComponent("教育资助")}&unit=&flow=&status=`);
    expect(found.status).toBe(200);
    expect(found.html).toContain(edu.code);
    expect(found.html).not.toContain(police.code);
    const county = await (await t.signedIn("huangmin")).get("/requests");
    expect(county.html).toContain(edu.code);
    expect(county.html).not.toContain(police.code);
    expect((await (await t.signedIn("huangmin")).get("/requests?unit=xn-sjj")).html).toContain("没有符合条件的申请");
  });

  test("bad search input is a 400 page naming the field, in Chinese", async () => {
    const a = await t.signedIn("zhangwei");
    const res = await a.get("/requests?from=2026-02-30");
    expect(res.status).toBe(400);
    expect(res.html).toContain("查询条件有误");
    expect(res.html).toContain("提交日期自：应为日期 YYYY-MM-DD");
    const flow = await a.get("/requests?flow=nope");
    expect(flow.status).toBe(400);
    expect(flow.html).toContain("流程");
  });

  test("the page's 导出 CSV link downloads the same rows: a BOM, Chinese headers, a formula kept as text", async () => {
    const a = await t.signedIn("zhangwei");
    const page = await a.get("/requests?unit=xn-sjj");
    const href = /href="(\/requests\/export\.csv[^"]*)"/.exec(page.html)![1]!.replaceAll("&amp;", "&");
    expect(href).toBe("/requests/export.csv?unit=xn-sjj");
    const csv = await download(a.cookie, href);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.text.startsWith(BOM)).toBe(true);
    const lines = csv.text.slice(1).trimEnd().split("\r\n");
    expect(lines[0]).toBe("编号,系统名称,单位,流程,状态,当前环节,是否逾期,提交时间,更新时间,当前环节期限");
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toContain(`${police.code},"'=HYPERLINK(""http://example.invalid"",""点我"")",兴宁市公安局,云资源申请,办理中`);
    // A county bureau's export holds its county only, whatever it asks for.
    const county = await t.signedIn("huangmin");
    expect((await download(county.cookie, "/requests/export.csv?unit=xn-sjj")).text.slice(1).trimEnd().split("\r\n")).toHaveLength(1);
  });
});

describe("报表, 台账, 结算, 需求", () => {
  test("the monthly report draws its charts as SVG with titles, and a bad month is a 400 page", async () => {
    const a = await t.signedIn("zhangwei");
    const res = await a.get("/reports/monthly?month=2026-11");
    expect(res.status).toBe(200);
    for (const title of ["各单位虚拟机 vCPU 平均利用率", "逾期环节（按办理人）", "评估实施单位办结环节", "服务评价"]) expect(res.html).toContain(title);
    expect(res.html).toContain('<svg role="img"');
    expect(res.html).toContain("梅州市人力资源和社会保障局");
    expect(res.html).not.toContain("<script");
    const bad = await a.get("/reports/monthly?month=2026-13");
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("月份");
  });

  test("the ledger lists the delivered VMs; a VM's page draws its daily peak and average", async () => {
    const a = await t.signedIn("guojun");
    const ledger = await a.get("/resources");
    expect(ledger.html).toContain(`/resources/vm/${vmId}`);
    const vm = await a.get(`/resources/vm/${vmId}?from=2026-11-24&to=2026-11-26`);
    expect(vm.status).toBe(200);
    expect(vm.html).toContain("vCPU 利用率（2026-11-24 至 2026-11-26）");
    expect(vm.html).toContain("<polyline");
    // Peaks 60, 70, 80 and day averages 40, 50, 60 (08:00–20:00), as text too.
    expect(vm.html).toContain('<th scope="row">2026-11-26</th><td>80%</td><td>60%</td>');
    expect((await a.get(`/resources/vm/${vmId}?from=2026-11-26&to=2026-11-01`)).status).toBe(400);
  });

  test("the statement highlights its new lines, prints as 附件13, and the reviewer checks it through the flow's own action", async () => {
    const reviewer = await t.signedIn("guojun");
    const page = await reviewer.get("/billing/2026-11");
    expect(page.status).toBe(200);
    expect(page.html).toContain("2026-11 政务云资源费用结算单");
    expect(page.html).toMatch(/<tr class="ys-flag-new[^"]*">/);
    expect(page.html).toContain("重点核对");
    expect(page.html).toContain("/assets/oversight.css");
    expect(page.html).toContain('class="ys-print-sheet"');
    expect((await reviewer.get("/billing/2026-11/print")).html).toContain("复核单位（监理）<br>（未签）");
    const form = /<form method="post" action="(\/requests\/[^"]+\/actions)">[\s\S]*?name="stageRunId" value="(\d+)"/.exec(page.html)!;
    expect(form[1]).toBe(`/requests/${billing.code}/actions`);
    expect(page.html).toContain("核对无误");

    const before = await auditCount();
    const forged = await reviewer.post(form[1]!, { action: "approve", stageRunId: form[2]! }, { csrf: false });
    expect(forged.status).toBe(403);
    expect(await auditCount()).toBe(before);
    const checked = await reviewer.post(form[1]!, { action: "approve", stageRunId: form[2]! });
    expect(checked.status).toBe(303);
    expect(ok(await t.show("zhangwei", billing.id)).currentStage.stage).toBe("submit");
    // The manager holds nothing of it now: no button on their page.
    expect((await (await t.signedIn("zhangwei")).get("/billing/2026-11")).html).not.toContain("核对无误");
    expect((await reviewer.get("/billing/2026-13")).status).toBe(400);
  });

  test("the year's demands per unit and county", async () => {
    ok(await t.call("lihua", "PUT", "/api/demands/2027", { vcpu: 16, memoryGb: 64, storageGb: 1000 }));
    ok(await t.call("huangmin", "POST", "/api/demands/2027/pass"));
    ok(await t.call("yangfan", "PUT", "/api/demands/2027", { vcpu: 8, memoryGb: 32, storageGb: 500 }));
    const page = await (await t.signedIn("zhangwei")).get("/demands/2027");
    expect(page.html).toContain("合计：vCPU 24 核，内存 96 G，存储 1500 G（2 个单位）");
    expect(page.html).toContain("2027 年各县区 vCPU 需求（核）");
    expect(page.html).toContain("梅州市梅县区政务服务数据管理局");
    expect((await (await t.signedIn("zhangwei")).get("/demands/20x7")).status).toBe(400);
  });
});

describe("审计", () => {
  test("filters by person, exports with a BOM, and 校验 needs the CSRF token", async () => {
    const a = await t.signedIn("guojun");
    const byPerson = await a.get("/audit?actor=hexin");
    expect(byPerson.html).toContain(`href="/requests/${police.code}"`);
    expect(byPerson.html).not.toContain(`href="/requests/${edu.code}"`);
    expect((await a.get("/audit?from=2026-12-31&to=2026-12-01")).status).toBe(400);
    const csv = await download(a.cookie, "/audit/export?format=csv");
    expect(csv.text.startsWith(BOM)).toBe(true);
    expect(csv.text.slice(1).split("\r\n")[0]).toBe("seq,at,actorId,actorRole,action,requestId,stage,outcome,channel,sourceIp,details,prevHash,hash,sig");

    expect((await a.post("/audit/verify", {}, { csrf: false })).status).toBe(403);
    const verified = await a.post("/audit/verify");
    expect(verified.status).toBe(200);
    expect(verified.html).toMatch(/审计日志完整：\d+ 条记录/);
    expect(verified.html).toMatch(/签名：\d+ 条全部有效/);
  });
});

describe("账号与端口", () => {
  test("the manager sees what the API shows it, phones masked, and may revoke but not unlock", async () => {
    const m = await t.signedIn("zhangwei");
    const [extra] = await t.db
      .insert(vmAccounts)
      .values({ hostId: "vm-web-01", account: "hexin", userId: "hexin", mobile: "13807530022", status: "active", validUntil: new Date("2027-06-30T15:59:59Z"), createdAt: t.clock.now() })
      .returning();
    const page = await m.get("/security");
    expect(page.status).toBe(200);
    expect(page.html).toContain("138****0013");
    expect(page.html).not.toContain("13807530013");
    const listed = ok(await t.call("zhangwei", "GET", "/api/vm-accounts"));
    expect(listed.items.length).toBeGreaterThan(0);
    for (const a of listed.items as { account: string }[]) expect(page.html).toContain(`<td>${a.account}</td>`);
    expect(page.html).toContain("对接省平台接口");
    // wangfang's account is locked: the security officer's page offers 解锁, the manager's does not.
    expect(page.html).not.toContain("/unlock");
    expect((await (await t.signedIn("liuyang")).get("/security")).html).toContain("/unlock");
    expect(page.html).toContain(`/security/accounts/${extra!.id}/revoke`);

    const [locked] = await t.db.select().from(vmAccounts).where(eq(vmAccounts.account, "wangfang"));
    const unlock = await m.post(`/security/accounts/${locked!.id}/unlock`, { reason: "试试" });
    expect(unlock.status).toBe(403);
    expect(unlock.html).toContain("只有安全管理员可以解锁账号");
    expect((await t.db.select().from(vmAccounts).where(eq(vmAccounts.id, locked!.id)))[0]!.lockedAt).not.toBeNull();
    expect(await m.post(`/security/accounts/${extra!.id}/revoke`, { reason: "调岗" })).toMatchObject({ status: 303 });
    expect((await t.db.select().from(vmAccounts).where(eq(vmAccounts.id, extra!.id)))[0]!.status).toBe("revoked");
  });

  test("phones masked; unlock and revoke through the services, each audited; without the CSRF token nothing changes", async () => {
    const a = await t.signedIn("liuyang");
    const page = await a.get("/security");
    expect(page.html).toContain("138****0012");
    expect(page.html).not.toContain("13807530012");
    const [locked] = await t.db.select().from(vmAccounts).where(eq(vmAccounts.account, "wangfang"));
    const [active] = await t.db.select().from(vmAccounts).where(eq(vmAccounts.account, "lihua"));
    const [grant] = await t.db.select().from(portGrants);

    expect((await a.post(`/security/accounts/${active!.id}/revoke`, { reason: "离职" }, { csrf: false })).status).toBe(403);
    expect((await t.db.select().from(vmAccounts).where(eq(vmAccounts.id, active!.id)))[0]!.status).toBe("active");

    const unlocked = await a.post(`/security/accounts/${locked!.id}/unlock`, { reason: "已电话核实本人" });
    expect(unlocked.status).toBe(303);
    expect((await a.get(unlocked.location!)).html).toContain("账号已解锁");
    expect(await a.post(`/security/accounts/${active!.id}/revoke`, { reason: "离职" })).toMatchObject({ status: 303 });
    expect(await a.post(`/security/grants/${grant!.id}/revoke`, { reason: "对接结束" })).toMatchObject({ status: 303 });
    expect((await t.db.select().from(vmAccounts).where(eq(vmAccounts.id, active!.id)))[0]!.status).toBe("revoked");
    expect((await t.db.select().from(portGrants).where(eq(portGrants.id, grant!.id)))[0]!.status).toBe("revoked");
    const actions = await t.db.select({ action: auditLog.action }).from(auditLog).where(and(eq(auditLog.actorId, "liuyang"), eq(auditLog.channel, "web")));
    expect(actions.map((e) => e.action)).toEqual(expect.arrayContaining(["vm_account.unlock", "vm_account.revoke", "port_grant.revoke"]));

    // Revoked twice: the service's refusal on the page, not a stack.
    const again = await a.post(`/security/accounts/${active!.id}/revoke`, {});
    expect(again.status).toBe(409);
    expect(again.html).toContain("已撤销");
    const bad = await a.post("/security/accounts/abc/revoke", {});
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("参数有误");
    expect(await t.db.select({ id: hosts.id }).from(hosts)).toHaveLength(1);
  });
});

describe("004 第三十七条 动态口令 on the security page", () => {
  test("004 第三十七条 a security officer turns a person's authenticator on and off from the page; the manager cannot", async () => {
    const a = await t.signedIn("liuyang");
    const [account] = await t.db.select().from(vmAccounts).where(eq(vmAccounts.account, "wangfang"));
    const page = await a.get("/security");
    expect(page.html).toContain(`/security/authenticators/${account!.userId}/permit`);
    expect(page.html).toContain("未开启");
    const m = await t.signedIn("zhangwei");
    expect((await m.get("/security")).html).not.toContain("/authenticators/");
    const refused = await m.post(`/security/authenticators/${account!.userId}/permit`, { reason: "试试" });
    expect(refused.status).toBe(403);
    expect(refused.html).toContain("只有安全管理员可以开启动态口令");
    expect(await t.db.select().from(totpPermissions)).toEqual([]);

    const on = await a.post(`/security/authenticators/${account!.userId}/permit`, { reason: "短信偶有延迟" });
    expect(on.status).toBe(303);
    const after = await a.get(on.location!);
    expect(after.html).toContain("已开启动态口令");
    expect(after.html).toContain("已开启（待本人绑定）");
    expect(after.html).toContain(`/security/authenticators/${account!.userId}/withdraw`);
    const off = await a.post(`/security/authenticators/${account!.userId}/withdraw`, { reason: "不再需要" });
    expect((await a.get(off.location!)).html).toContain("已关闭动态口令");
    expect(await t.db.select().from(totpPermissions)).toEqual([]);
  });
});

// Last: it rewrites the log the way a superuser would (test/audit-forgery.test.ts), which the rest must not see.
describe("审计 校验 finds a changed entry", () => {
  test("the page names the first bad entry", async () => {
    await t.db.execute(sql.raw("ALTER TABLE audit_log DISABLE TRIGGER ALL"));
    const [first] = await t.db.select().from(auditLog).where(eq(auditLog.action, "request.submit")).limit(1);
    await t.db.execute(sql`update audit_log set actor_id = 'zhangwei' where seq = ${first!.seq}`);
    const a = await t.signedIn("zhangwei");
    await a.get("/audit");
    const res = await a.post("/audit/verify");
    expect(res.html).toContain("审计日志校验失败");
    expect(res.html).toContain(`第 ${first!.seq} 条`);
  });
});
