import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, vmAccounts } from "../db/schema";
import { addHost } from "../src/access/hosts";
import { consoleGateway, type SmsCode } from "../src/sms/gateways";
import { createTestApp, ok, serveOnLoopback, type TestApp } from "./app-harness";

// Issue 14, 徽州 (seed 001) 附件1 注2: "虚拟机首次登录后应及时修改密码". A new VM account's request waits, after the
// account is created and its phone confirmed, for its holder to log in, change the initial password and confirm
// it; the answer to the account's first login says the password must be changed. 梅州 (004 第三十七条) is unchanged.
const inbox: SmsCode[] = [];
const sms = () => consoleGateway({ log: () => {}, sink: (m) => inbox.push(m) });
let hz: TestApp;
let mz: TestApp;
const credentials: Record<string, Record<string, string>> = { huizhou: {}, meizhou: {} };
const dir = mkdtempSync(join(tmpdir(), "yunshen-hz-pam-"));
let closeServer: () => Promise<void>;
let conf: string;

beforeAll(async () => {
  hz = await createTestApp({ profile: "huizhou", access: { sms: sms(), codeKey: randomBytes(32), totpKey: randomBytes(32) } });
  mz = await createTestApp({ access: { sms: sms(), codeKey: randomBytes(32), totpKey: randomBytes(32) } });
  for (const [key, t] of [["huizhou", hz], ["meizhou", mz]] as const)
    for (const name of ["vm-web-01", "vm-db-01"]) credentials[key]![name] = (await addHost({ ctx: t.ctx(), input: { name } })).credential;
  const served = await serveOnLoopback(hz.app.fetch);
  closeServer = served.close;
  writeFileSync(join(dir, "host.token"), credentials.huizhou!["vm-db-01"]!, { mode: 0o600 });
  conf = join(dir, "pam.conf");
  writeFileSync(conf, `url=${served.base}\nhost=vm-db-01\ncredential_file=${join(dir, "host.token")}\nexpire_password=${expirePassword}\n`);
});
afterAll(async () => {
  await closeServer?.();
  await hz?.close();
  await mz?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(fakeBin, { recursive: true, force: true });
});

const form = (over: Record<string, unknown> = {}) => ({
  kind: "new",
  holder: "zhaolei",
  account: "zhaolei",
  hosts: ["vm-web-01", "vm-db-01"],
  validity: { workdays: 20 },
  reason: "不动产登记系统日常运维",
  ...over,
});
const submit = (t: TestApp, user: string, f: Record<string, unknown>) => t.call(user, "POST", "/api/requests", { flow: "vm_account", form: f });
const profileOf = (t: TestApp) => (t === hz ? "huizhou" : "meizhou");
const challenge = (t: TestApp, host: string, account: string) =>
  t.call(null, "POST", "/access/challenge", { account, host }, { authorization: `Bearer ${credentials[profileOf(t)]![host]}` });
const verify = (t: TestApp, host: string, account: string, code: string) =>
  t.call(null, "POST", "/access/verify", { account, host, code }, { authorization: `Bearer ${credentials[profileOf(t)]![host]}` });
const binds = async (t: TestApp, id: number) =>
  (await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "vm_account.bind")))).length;

// The configured command that expires a password (the script's expire_password) records its arguments here:
// the test sees the script expire the password, and no account on the machine running the tests is touched.
const fakeBin = mkdtempSync(join(tmpdir(), "yunshen-chage-"));
const chageCalls = join(fakeBin, "calls");
const expirePassword = join(fakeBin, "expire-password");
writeFileSync(expirePassword, `#!/bin/sh\necho "$*" >> "${chageCalls}"\n`, { mode: 0o755 });
const chageArgs = () => (existsSync(chageCalls) ? readFileSync(chageCalls, "utf8").trim().split("\n") : []);

/** contrib/pam/yunshen-otp as pam_exec runs it, against the 徽州 service on loopback (see test/pam.test.ts). */
function pam(mode: "send" | "check", user: string, stdin = "") {
  const script = fileURLToPath(new URL("../contrib/pam/yunshen-otp", import.meta.url));
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn("sh", [script, mode, conf], { env: { PATH: process.env.PATH, PAM_USER: user } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
    child.stdin.on("error", () => {});
    child.stdin.end(stdin);
  });
}

let requestId: number;

describe("001 附件1 注2: 徽州 first login changes the initial password", () => {
  test("001 附件1 注2: the request is not complete after the account is created; it waits for the holder, and the account works", async () => {
    const { id } = ok(await submit(hz, "liuyang", form()), 201);
    requestId = id;
    await hz.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "两台已创建，初始密码已线下告知" }],
      ["zhaolei", { action: "confirm" }],
    ]);
    const detail = ok(await hz.show("zhaolei", id));
    expect(detail.status).toBe("in_progress");
    expect(detail.currentStage).toMatchObject({ stage: "first_login", name: "首次登录修改初始密码并确认" });
    expect(detail.currentStage.tasks.map((x: { userId: string }) => x.userId)).toEqual(["zhaolei"]);
    // The account exists (bound once, to the confirmed phone) so that the holder can log in for the first time.
    const accounts = await hz.db.select().from(vmAccounts).where(eq(vmAccounts.requestId, id));
    expect(accounts.map((a) => a.hostId).sort()).toEqual(["vm-db-01", "vm-web-01"]);
    expect(accounts.every((a) => a.status === "active" && a.mobile === "13807530032" && a.firstLoginAt === null)).toBe(true);
    expect(await binds(hz, id)).toBe(2);
  });

  test("001 附件1 注2: the answer to the account's first login says the initial password must be changed, and only the first", async () => {
    ok(await challenge(hz, "vm-web-01", "zhaolei"));
    const first = ok(await verify(hz, "vm-web-01", "zhaolei", inbox.at(-1)!.code));
    expect(first).toEqual({ allow: true, user: "赵磊", changePassword: true });
    const [row] = await hz.db.select().from(vmAccounts).where(and(eq(vmAccounts.hostId, "vm-web-01"), eq(vmAccounts.account, "zhaolei")));
    expect(row!.firstLoginAt?.getTime()).toBe(hz.clock.now().getTime());
    const [entry] = await hz.db.select().from(auditLog).where(eq(auditLog.action, "access.verify"));
    expect(entry!.details).toMatchObject({ allow: true, firstLogin: true });

    hz.clock.set(new Date(hz.clock.now().getTime() + 61_000).toISOString());
    ok(await challenge(hz, "vm-web-01", "zhaolei"));
    expect(ok(await verify(hz, "vm-web-01", "zhaolei", inbox.at(-1)!.code))).toEqual({ allow: true, user: "赵磊" });
    // The requester sees which of the accounts has had its first login, and which still has its initial password.
    const listed = ok(await hz.call("liuyang", "GET", "/api/vm-accounts?user=zhaolei")).items as { host: string; firstLoginAt: string | null }[];
    expect(Object.fromEntries(listed.map((a) => [a.host, a.firstLoginAt]))).toEqual({ "vm-db-01": null, "vm-web-01": row!.firstLoginAt!.toISOString() });
  });

  test("001 附件1 注2: the PAM script tells the person at the first login to change the initial password", async () => {
    const sent = await pam("send", "zhaolei");
    expect(sent.code).toBe(0);
    const checked = await pam("check", "zhaolei", inbox.at(-1)!.code);
    expect(checked.code).toBe(0);
    expect(checked.out).toContain("首次登录，请立即修改初始密码");
    // The password expires at once, so PAM's account stage asks for a new one before the session opens.
    expect(chageArgs()).toEqual(["zhaolei"]);
    expect(checked.out).not.toContain("无法使初始密码过期");
  });

  test("001 附件1 注2: someone else cannot confirm for the holder", async () => {
    // The requester (security staff), the reviewer, an applicant of another unit: not the holder, not an assignee.
    for (const user of ["liuyang", "guojun", "yangfan"]) {
      const refused = await hz.act(user, requestId, { action: "confirm" });
      expect(refused.status, user).toBe(403);
      expect(refused.body.error.message).toBe("您不是该申请当前环节的处理人");
    }
    // Those who held an earlier stage are told it was decided, and decide nothing here.
    for (const user of ["zhangwei", "chenjing", "xufeng"]) expect((await hz.act(user, requestId, { action: "approve" })).status, user).toBe(409);
    // Nor can the holder hand it to someone else: only the person the account is for knows its password.
    const handed = await hz.act("zhaolei", requestId, { action: "transfer", toUserId: "yangfan", reason: "代为确认" });
    expect(handed.status).toBe(422);
    const refusals = await hz.db.select().from(auditLog).where(and(eq(auditLog.requestId, requestId), eq(auditLog.outcome, "refused")));
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    const detail = ok(await hz.show("liuyang", requestId));
    expect(detail.status).toBe("in_progress");
    expect(detail.currentStage.stage).toBe("first_login");
  });

  test("001 附件1 注2: the holder confirms and the request is complete, its accounts bound once", async () => {
    const done = ok(await hz.act("zhaolei", requestId, { action: "confirm", note: "已登录并修改初始密码" }));
    expect(done.status).toBe("completed");
    expect(await binds(hz, requestId)).toBe(2);
    expect(await hz.db.select().from(vmAccounts).where(eq(vmAccounts.requestId, requestId))).toHaveLength(2);
  });

  test("001 附件1 注2: a renewal has no first login to confirm", async () => {
    const { id } = ok(await submit(hz, "liuyang", form({ kind: "renew", validity: { until: "2026-12-31" } })), 201);
    expect(ok(await hz.act("zhangwei", id, { action: "approve" })).status).toBe("completed");
    expect(await hz.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "vm_account.renew")))).toHaveLength(1);
  });
});

describe("001 附件1 注2: 梅州 unchanged", () => {
  test("001 附件1 注2: 梅州 completes when the holder confirms the phone, and its first login is not told to change a password", async () => {
    const { id } = ok(await submit(mz, "liuyang", form()), 201);
    await mz.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    expect(ok(await mz.act("zhaolei", id, { action: "confirm" })).status).toBe("completed");
    expect(await binds(mz, id)).toBe(2);
    ok(await challenge(mz, "vm-web-01", "zhaolei"));
    expect(ok(await verify(mz, "vm-web-01", "zhaolei", inbox.at(-1)!.code))).toEqual({ allow: true, user: "赵磊" });
    // The first login is still recorded, for every profile.
    const [row] = await mz.db.select().from(vmAccounts).where(and(eq(vmAccounts.hostId, "vm-web-01"), eq(vmAccounts.account, "zhaolei")));
    expect(row!.firstLoginAt).not.toBeNull();
  });
});
