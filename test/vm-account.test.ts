import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { accessCodes, auditLog, outbox, portGrants, vmAccounts } from "../db/schema";
import { runAccountExpiry } from "../src/access/expiry";
import { addHost } from "../src/access/hosts";
import { answerChat } from "../src/chat/answer";
import { verifyAuditChain } from "../src/audit/verify";
import { endOfShanghaiDay } from "../src/core/calendar";
import { demoDirectory } from "../src/directory/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import { consoleGateway, type SmsCode } from "../src/sms/gateways";
import { createTestApp, ok, type TestApp } from "./app-harness";

// Flow 5: 虚拟机账号申请 from request to an account whose logins are checked by SMS.
const inbox: SmsCode[] = [];
let t: TestApp;
const credentials: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp({ access: { sms: consoleGateway({ log: () => {}, sink: (m) => inbox.push(m) }), codeKey: randomBytes(32), totpKey: randomBytes(32) } });
  for (const name of ["vm-web-01", "vm-db-01"]) credentials[name] = (await addHost({ ctx: t.ctx(), input: { name } })).credential;
});
afterAll(() => t?.close());

const form = (over: Record<string, unknown> = {}) => ({
  kind: "new",
  holder: "zhaolei",
  account: "zhaolei",
  hosts: ["vm-web-01", "vm-db-01"],
  validity: { workdays: 20 },
  reason: "不动产登记系统日常运维",
  ...over,
});
const submit = (user: string, f: Record<string, unknown>) => t.call(user, "POST", "/api/requests", { flow: "vm_account", form: f });
const challenge = (host: string, account: string) =>
  t.call(null, "POST", "/access/challenge", { account, host }, { authorization: `Bearer ${credentials[host]}` });
const verify = (host: string, account: string, code: string) =>
  t.call(null, "POST", "/access/verify", { account, host, code }, { authorization: `Bearer ${credentials[host]}` });
const later = (ms: number) => t.clock.set(new Date(t.clock.now().getTime() + ms).toISOString());

describe("虚拟机账号申请", () => {
  test("security staff ask, the manager approves, the provider creates, the person confirms: the account works", async () => {
    const { id, code } = ok(await submit("liuyang", form()), 201);
    let detail = ok(await t.show("liuyang", id));
    expect(detail.title).toBe("虚拟机账号新开账号：zhaolei（赵磊）");
    expect(detail.summary).toEqual([
      { label: "事项", value: "新开账号" },
      { label: "账号", value: "zhaolei" },
      { label: "使用人", value: "赵磊" },
      { label: "主机", value: "vm-web-01、vm-db-01" },
      { label: "有效期", value: "批准后 20 个工作日" },
    ]);
    expect(detail.currentStage.name).toBe("审批");
    // No account exists before the approval is complete.
    expect((await challenge("vm-web-01", "zhaolei")).status).toBe(404);

    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "两台已创建" }],
    ]);
    detail = ok(await t.show("zhaolei", id));
    expect(detail.currentStage).toMatchObject({ stage: "enrol", name: "使用人确认手机号" });
    expect(detail.currentStage.tasks.map((x: { userId: string }) => x.userId)).toEqual(["zhaolei"]);
    const card = await t.db.select().from(outbox).where(and(eq(outbox.userId, "zhaolei"), eq(outbox.kind, "task")));
    expect(JSON.stringify(card.at(-1)!.payload)).toContain("使用人确认手机号");

    const done = ok(await t.act("zhaolei", id, { action: "confirm" }));
    expect(done.status).toBe("completed");
    const accounts = await t.db.select().from(vmAccounts).where(eq(vmAccounts.requestId, id));
    expect(accounts.map((a) => a.hostId).sort()).toEqual(["vm-db-01", "vm-web-01"]);
    // 20 working days from the day of completion (Monday 2026-11-23) end on 2026-12-21.
    expect(accounts.every((a) => a.validUntil.getTime() === endOfShanghaiDay("2026-12-21").getTime())).toBe(true);
    expect(accounts.every((a) => a.userId === "zhaolei" && a.mobile === "13807530032" && a.status === "active")).toBe(true);

    ok(await challenge("vm-web-01", "zhaolei"));
    expect(inbox.at(-1)!.mobile).toBe("13807530032");
    expect(ok(await verify("vm-web-01", "zhaolei", inbox.at(-1)!.code)).allow).toBe(true);
    const bound = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "vm_account.bind")));
    expect(bound).toHaveLength(2);
    expect(code).toMatch(/^YS-2026-\d{5}$/);
  });

  test("refused at submission: unknown person or host, a name someone else holds, an existing account, the wrong people", async () => {
    const unknownUser = await submit("liuyang", form({ holder: "nobody" }));
    expect(unknownUser.status).toBe(422);
    expect(unknownUser.body.error.fields["form.holder"]).toBeDefined();
    const unknownHost = await submit("liuyang", form({ hosts: ["vm-nowhere"] }));
    expect(unknownHost.body.error.message).toContain("vm-nowhere");
    const taken = await submit("liuyang", form({ holder: "guojun" }));
    expect(taken.status).toBe(422);
    expect(taken.body.error.message).toContain("已属于他人，账号不得共用");
    const again = await submit("liuyang", form());
    expect(again.body.error.message).toContain("请申请续期");
    expect((await submit("zhangwei", form({ account: "other" }))).status).toBe(403);
    // An applicant may ask only for someone of their own unit.
    expect((await submit("yangfan", form({ account: "other" }))).status).toBe(403);
    const bad = await submit("liuyang", form({ account: "Root", hosts: [], validity: undefined }));
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(["form.account", "form.hosts", "form.validity"]);
  });

  test("renewal is one approval and moves the end date; the old reminder gives way to a new one", async () => {
    t.clock.set("2026-12-16T01:00:00Z"); // Wednesday; the account ends on Monday 2026-12-21
    await runAccountExpiry(t.ctx());
    const reminders = await t.db.select().from(outbox).where(eq(outbox.kind, "account_expiry"));
    expect(reminders.map((r) => r.userId).sort()).toEqual(["liuyang", "liuyang", "zhaolei", "zhaolei"]);
    expect(JSON.stringify(reminders[0]!.payload)).toContain("将于 2026-12-21 到期");
    await runAccountExpiry(t.ctx());
    expect(await t.db.select().from(outbox).where(eq(outbox.kind, "account_expiry"))).toHaveLength(4);

    const { id } = ok(await submit("liuyang", form({ kind: "renew", validity: { until: "2026-12-31" } })), 201);
    const done = ok(await t.act("zhangwei", id, { action: "approve" }));
    expect(done.status).toBe("completed");
    const accounts = await t.db.select().from(vmAccounts).where(eq(vmAccounts.userId, "zhaolei"));
    expect(accounts.every((a) => a.validUntil.getTime() === endOfShanghaiDay("2026-12-31").getTime())).toBe(true);
    expect((await t.db.select().from(auditLog).where(eq(auditLog.action, "vm_account.renew")))).toHaveLength(1);
  });

  test("a new phone is an approval and the person's confirmation; codes then go to the new phone only", async () => {
    later(61_000);
    ok(await challenge("vm-db-01", "zhaolei"));
    const oldCode = inbox.at(-1)!.code;
    const users = demoDirectory.users.map((u) => (u.id === "zhaolei" ? { ...u, mobile: "13900009999" } : u));
    await importDirectory({ ctx: t.ctx(), input: { units: demoDirectory.units, users } });
    const { id } = ok(await submit("liuyang", form({ kind: "rebind", validity: undefined })), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["zhaolei", { action: "confirm" }],
    ]);
    expect((await verify("vm-db-01", "zhaolei", oldCode)).status).toBe(403);
    const codes = await t.db.select().from(accessCodes).where(eq(accessCodes.hostId, "vm-db-01"));
    expect(codes.at(-1)!.closedReason).toBe("replaced");
    later(61_000);
    ok(await challenge("vm-db-01", "zhaolei"));
    expect(inbox.at(-1)!.mobile).toBe("13900009999");
  });

  test("security staff can ask in chat too: 申请账号, with the person by name", async () => {
    const liuyang = { userId: "liuyang", name: "刘洋", unitId: "mz-sjj", roles: ["security_officer" as const] };
    const say = (text: string, key = String(Math.random())) =>
      answerChat({ ctx: { ...t.ctx(), actor: liuyang, channel: "wecom" }, input: { text, messageKey: key } });
    const reply = await say("申请账号 郭军 guojun vm-web-01 10个工作日 监理抽查");
    expect(reply).toMatch(/^申请 YS-2026-\d{5} 已提交，进入「审批」。审批进度可发送“查询 YS-2026-\d{5}”查看$/);
    const code = /YS-2026-\d{5}/.exec(reply)![0];
    const detail = ok(await t.show("liuyang", code));
    expect(detail.summary).toContainEqual({ label: "使用人", value: "郭军" });
    expect(detail.summary).toContainEqual({ label: "有效期", value: "批准后 10 个工作日" });
    // The same message delivered again submits nothing new.
    const before = ok(await t.call("liuyang", "GET", "/api/requests?view=mine")).items.length;
    await say("申请账号 郭军 guojun2 vm-web-01 10 x", "same-msg");
    await say("申请账号 郭军 guojun2 vm-web-01 10 x", "same-msg");
    expect(ok(await t.call("liuyang", "GET", "/api/requests?view=mine")).items.length).toBe(before + 1);

    expect(await say("申请账号 郭军 guojun")).toContain("格式：申请账号");
    expect(await say("申请账号 郭军 guojun vm-web-01 二十天 运维")).toContain("有效期“二十天”无法识别");
    expect(await say("申请账号 无此人 x vm-web-01 10 运维")).toBe("通讯录中没有“无此人”");
    const bad = await say("申请账号 郭军 Bad!Name vm-web-01 10 运维");
    expect(bad).toContain("form.account");
    expect(await say("帮助")).toContain("申请账号 使用人 账号名 主机 有效期 用途");
  });

  test("the API lists accounts with masked phones, to security staff all and to others their own; revoke and unlock", async () => {
    const all = ok(await t.call("liuyang", "GET", "/api/vm-accounts?status=active")).items;
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all[0]).toMatchObject({ account: "zhaolei", user: { id: "zhaolei", name: "赵磊" }, mobile: "139****9999", status: "active", locked: false });
    expect(JSON.stringify(all)).not.toContain("13900009999");
    expect(ok(await t.call("yangfan", "GET", "/api/vm-accounts")).items).toEqual([]);
    expect((await t.call("liuyang", "GET", "/api/vm-accounts?status=gone")).status).toBe(400);

    const id = all.find((a: { host: string }) => a.host === "vm-web-01").id;
    expect((await t.call("yangfan", "POST", `/api/vm-accounts/${id}/revoke`)).status).toBe(403);
    expect((await t.call("zhangwei", "POST", `/api/vm-accounts/${id}/unlock`, { reason: "x" })).status).toBe(403);
    expect((await t.call("liuyang", "POST", `/api/vm-accounts/${id}/unlock`)).body.error.code).toBe("not_locked");
    expect((await t.call("zhangwei", "POST", `/api/vm-accounts/abc/revoke`)).status).toBe(400);
    expect((await t.call("zhangwei", "POST", `/api/vm-accounts/${id}/revoke`, "{not json")).status).toBe(400);
    ok(await t.call("zhangwei", "POST", `/api/vm-accounts/${id}/revoke`));
    expect((await challenge("vm-web-01", "zhaolei")).status).toBe(404);
    expect((await t.call("zhangwei", "POST", `/api/vm-accounts/${id}/revoke`)).body.error.code).toBe("account_ended");
  });

  test("an account past its end is marked expired and gets no codes", async () => {
    t.clock.set("2027-01-01T00:00:00Z");
    const { expired } = await runAccountExpiry(t.ctx());
    // vm-web-01's was revoked above; vm-db-01's runs out now.
    expect(expired).toBe(1);
    const statuses = (await t.db.select().from(vmAccounts).where(eq(vmAccounts.userId, "zhaolei"))).map((a) => `${a.hostId}:${a.status}`);
    expect(statuses.sort()).toEqual(["vm-db-01:expired", "vm-web-01:revoked"]);
    expect((await challenge("vm-web-01", "zhaolei")).status).toBe(404);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
  test("ports asked for with a new account become grants of their own, ending with it", async () => {
    t.clock.set("2026-12-02T01:00:00Z");
    const { id } = ok(
      await submit("liuyang", form({ holder: "liuyang", account: "ops", hosts: ["vm-web-01"], validity: { until: "2026-12-31" }, ports: [{ port: 22 }], sources: ["10.9.0.0/24"], portReason: "堡垒机登录" })),
      201,
    );
    const detail = ok(await t.show("liuyang", id));
    expect(detail.summary).toContainEqual({ label: "开放端口", value: "22/tcp（来源 10.9.0.0/24）" });
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
      ["liuyang", { action: "confirm" }],
    ]);
    const [account] = await t.db.select().from(vmAccounts).where(eq(vmAccounts.requestId, id));
    const grants = await t.db.select().from(portGrants).where(eq(portGrants.requestId, id));
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ hostId: "vm-web-01", port: 22, protocol: "tcp", sources: ["10.9.0.0/24"], reason: "堡垒机登录", status: "active" });
    expect(grants[0]!.validUntil.getTime()).toBe(account!.validUntil.getTime());
    const renewWithPorts = await submit("liuyang", form({ holder: "liuyang", account: "ops", hosts: ["vm-web-01"], kind: "renew", ports: [{ port: 80 }], sources: ["10.9.0.1"], portReason: "x" }));
    expect(renewWithPorts.status).toBe(400);
    const noSources = await submit("liuyang", form({ account: "ops2", ports: [{ port: 80 }] }));
    expect(Object.keys(noSources.body.error.fields).sort()).toEqual(["form.portReason", "form.sources"]);
  });
});

describe("解锁", () => {
  test("security staff cannot unlock their own account: another security officer does, and the refusal is audited", async () => {
    // liuyang, the security officer, holds "ops" on vm-web-01 (above); ten wrong codes locked it.
    const [own] = await t.db.select().from(vmAccounts).where(and(eq(vmAccounts.userId, "liuyang"), eq(vmAccounts.account, "ops")));
    await t.db.update(vmAccounts).set({ lockedAt: t.clock.now(), consecutiveFailures: 10 }).where(eq(vmAccounts.id, own!.id));

    const refused = await t.call("liuyang", "POST", `/api/vm-accounts/${own!.id}/unlock`, { reason: "我自己输错了" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe("不能解锁自己的账号 ops@vm-web-01，请由另一位安全管理员核实后解锁");
    expect((await t.db.select().from(vmAccounts).where(eq(vmAccounts.id, own!.id)))[0]!.lockedAt).not.toBeNull();
    const audited = await t.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "vm_account.unlock"), eq(auditLog.outcome, "refused"), eq(auditLog.actorId, "liuyang")));
    // (An earlier refusal of liuyang's was of an account not locked.)
    expect(audited.map((a) => (a.details as { code: string }).code)).toEqual(["not_locked", "forbidden"]);
    expect(audited.at(-1)!.details).toMatchObject({ message: refused.body.error.message });

    // Someone else in the role may.
    await importDirectory({
      ctx: t.ctx(),
      input: { users: [{ id: "sunli", name: "孙丽", unit: "mz-sjj", mobile: "13807530004", roles: ["security_officer"] }] },
    });
    t.tokens.sunli = (await createToken({ ctx: t.ctx(), input: { userId: "sunli" } })).token;
    ok(await t.call("sunli", "POST", `/api/vm-accounts/${own!.id}/unlock`, { reason: "已与刘洋电话核实" }));
    const after = (await t.db.select().from(vmAccounts).where(eq(vmAccounts.id, own!.id)))[0]!;
    expect(after.lockedAt).toBeNull();
    expect(after.consecutiveFailures).toBe(0);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});
