import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, totpEnrolments, totpPermissions, vmAccounts } from "../db/schema";
import { bindVmAccount } from "../src/access/accounts";
import { addHost } from "../src/access/hosts";
import { mutate } from "../src/core/mutate";
import { consoleGateway, type SmsCode } from "../src/sms/gateways";
import { createTestApp, ok, type TestApp } from "./app-harness";

// 004 第三十七条 (梅州, the default profile): "必须通过个人手机强验证（即每次登陆均要短信下发随机密码，正确输入后
// 方可以通过）". Every login needs the SMS code; an authenticator app the person enrolled is a second factor
// typed after it, never a way in without it.

const inbox: SmsCode[] = [];
const sms = consoleGateway({ log: () => {}, sink: (m) => inbox.push(m) });
let t: TestApp;
let credential = "";

const call = (path: string, body: unknown) => t.call(null, "POST", path, body, { authorization: `Bearer ${credential}` });
const challenge = () => call("/access/challenge", { account: "liuyang", host: "bastion-1" });
const verify = (code: string) => call("/access/verify", { account: "liuyang", host: "bastion-1", code });
const later = (ms: number) => t.clock.set(new Date(t.clock.now().getTime() + ms).toISOString());
const totpAt = (secret: string) => generate({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
const failures = async () => (await t.db.select().from(vmAccounts).where(eq(vmAccounts.userId, "liuyang")))[0]!.consecutiveFailures;

beforeAll(async () => {
  t = await createTestApp({ access: { sms, codeKey: randomBytes(32), totpKey: randomBytes(32) } });
  expect(t.ctx().profile).toBe("meizhou");
  credential = (await addHost({ ctx: t.ctx(), input: { name: "bastion-1" } })).credential;
  await mutate(t.ctx(), { action: "vm_account.bind" }, (tx, j) =>
    bindVmAccount(tx, j, { hostId: "bastion-1", account: "liuyang", userId: "liuyang", validUntil: new Date("2026-12-31T16:00:00Z"), requestId: null, at: t.clock.now() }),
  );
});
afterAll(() => t?.close());

describe("004 第三十七条: an SMS code at every login", () => {
  test("004 第三十七条 every login sends an SMS code; an enrolled authenticator is a second factor after it, never instead", async () => {
    // Without an authenticator: the SMS code alone, as everywhere.
    expect(ok(await challenge())).toMatchObject({ sentTo: "138****0003", withAuthenticator: false });
    expect(ok(await verify(inbox.at(-1)!.code)).allow).toBe(true);

    // liuyang enrols an app (confirmed with a code texted to the bound phone), once security staff turned it on.
    later(61_000);
    ok(await t.call("liuyang", "POST", "/api/authenticators/liuyang", { reason: "出差期间短信偶有延迟" }));
    const started = ok(await t.call("liuyang", "POST", "/api/me/totp"), 201);
    ok(await t.call("liuyang", "POST", "/api/me/totp/confirm", { code: await totpAt(started.secret), smsCode: inbox.at(-1)!.code }));

    // The app's code alone opens nothing here: it is a wrong code, counted as one.
    later(61_000);
    const sent = ok(await challenge());
    expect(sent.withAuthenticator).toBe(true);
    const sms1 = inbox.at(-1)!.code;
    const alone = await verify(await totpAt(started.secret));
    expect(alone.status).toBe(403);
    expect(alone.body.allow).toBe(false);
    expect(await failures()).toBe(1);

    // The right SMS code without the app's: asked for the app's code too, not counted, the SMS code kept.
    const smsOnly = await verify(sms1);
    expect(smsOnly.status).toBe(403);
    expect(smsOnly.body.error.code).toBe("second_factor_missing");
    expect(smsOnly.body.error.message).toContain("共 12 位");
    expect(await failures()).toBe(1);

    // The SMS code followed by a wrong app code: refused and counted.
    const wrongApp = await verify(`${sms1}000000`);
    expect(wrongApp.status).toBe(403);
    expect(await failures()).toBe(2);

    // Both, one after the other at the one prompt: in, once; failures reset.
    later(30_000);
    const both = `${sms1}${await totpAt(started.secret)}`;
    expect(ok(await verify(both))).toMatchObject({ allow: true, user: "刘洋" });
    expect(await failures()).toBe(0);
    const again = await verify(both);
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe("code_used");

    const audited = await t.db.select().from(auditLog).where(eq(auditLog.action, "access.verify")).orderBy(auditLog.seq);
    expect(audited.map((a) => (a.details as { method?: string; reason?: string }).reason ?? (a.details as { method?: string }).method)).toContain("second_factor_missing");
    expect(audited.find((a) => (a.details as { allow?: boolean; method?: string }).method === "sms+totp" && (a.details as { allow?: boolean }).allow)).toBeDefined();
    // No code, app secret or phone number in the audit log.
    const logged = JSON.stringify(audited);
    for (const secret of [sms1, started.secret, "13807530003"]) expect(logged).not.toContain(secret);
  });

  test("004 第三十七条 the app is an extra factor security staff turn on: not before, and turned off it is gone and the SMS code alone opens", async () => {
    await t.db.delete(totpEnrolments);
    await t.db.delete(totpPermissions);
    later(61_000);
    const refused = await t.call("liuyang", "POST", "/api/me/totp");
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain("须由安全管理员为您开启");
    // Only security staff turn it on; a wrong user id gets a plain answer; neither changes anything (refusals are audited as such).
    const auditRows = async () => (await t.db.select().from(auditLog).where(eq(auditLog.action, "totp.permit"))).filter((a) => a.outcome !== "refused").length;
    const before = await auditRows();
    expect((await t.call("zhangwei", "POST", "/api/authenticators/liuyang")).status).toBe(403);
    const unknown = await t.call("liuyang", "POST", "/api/authenticators/nobody");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe("没有用户 nobody");
    expect((await t.call("liuyang", "POST", "/api/authenticators/liu%00yang")).status).toBe(400);
    expect(await t.db.select().from(totpPermissions)).toEqual([]);

    ok(await t.call("liuyang", "POST", "/api/authenticators/liuyang", { reason: "本人申请" }));
    // A double click changes nothing.
    ok(await t.call("liuyang", "POST", "/api/authenticators/liuyang", { reason: "本人申请" }));
    expect(await auditRows()).toBe(before + 1);
    const [account] = ok(await t.call("liuyang", "GET", "/api/vm-accounts?user=liuyang")).items;
    expect(account.authenticator).toBe("permitted");
    const started = ok(await t.call("liuyang", "POST", "/api/me/totp"), 201);
    ok(await t.call("liuyang", "POST", "/api/me/totp/confirm", { code: await totpAt(started.secret), smsCode: inbox.at(-1)!.code }));
    expect(ok(await t.call("liuyang", "GET", "/api/vm-accounts?user=liuyang")).items[0].authenticator).toBe("enrolled");
    later(61_000);
    expect(ok(await challenge()).withAuthenticator).toBe(true);

    // Turned off: the app is removed, and the SMS code alone opens again.
    ok(await t.call("liuyang", "POST", "/api/authenticators/liuyang/withdraw", { reason: "手机更换" }));
    expect(await t.db.select().from(totpEnrolments)).toEqual([]);
    later(61_000);
    expect(ok(await challenge()).withAuthenticator).toBe(false);
    expect(ok(await verify(inbox.at(-1)!.code)).allow).toBe(true);
    expect((await t.call("liuyang", "POST", "/api/authenticators/liuyang/withdraw")).status).toBe(404);
  });
});
