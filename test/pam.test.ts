import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bindVmAccount } from "../src/access/accounts";
import { addHost } from "../src/access/hosts";
import { mutate } from "../src/core/mutate";
import { consoleGateway, type SmsCode } from "../src/sms/gateways";
import { createTestApp, type TestApp, serveOnLoopback } from "./app-harness";
import { freePort } from "./harness";

// contrib/pam/yunshen-otp as pam_exec runs it: PAM_USER in the environment, the code on stdin, the service
// over real HTTP.
const script = fileURLToPath(new URL("../contrib/pam/yunshen-otp", import.meta.url));
const inbox: SmsCode[] = [];
let t: TestApp;
let close: () => Promise<void>;
let conf: string;
const dir = mkdtempSync(join(tmpdir(), "yunshen-pam-"));

function run(mode: string, opts: { user?: string; stdin?: string; config?: string } = {}) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn("sh", [script, mode, opts.config ?? conf], {
      env: { PATH: process.env.PATH, ...(opts.user === undefined ? { PAM_USER: "liuyang" } : { PAM_USER: opts.user }) },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
    // `send`, and any run that stops early, never reads stdin: writing to it may then fail with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(opts.stdin ?? "");
  });
}

beforeAll(async () => {
  t = await createTestApp({ now: new Date().toISOString(), access: { sms: consoleGateway({ log: () => {}, sink: (m) => inbox.push(m) }), codeKey: randomBytes(32), totpKey: randomBytes(32) } });
  const { credential } = await addHost({ ctx: t.ctx(), input: { name: "vm-web-01" } });
  await mutate(t.ctx(), { action: "vm_account.bind" }, (tx, j) =>
    bindVmAccount(tx, j, { hostId: "vm-web-01", account: "liuyang", userId: "liuyang", validUntil: new Date(Date.now() + 86_400_000), requestId: null, at: new Date() }),
  );
  const served = await serveOnLoopback(t.app.fetch);
  close = served.close;
  writeFileSync(join(dir, "host.token"), credential, { mode: 0o600 });
  conf = join(dir, "pam.conf");
  writeFileSync(conf, `url=${served.base}\nhost=vm-web-01\ncredential_file=${join(dir, "host.token")}\n`);
});
afterAll(async () => {
  await close?.();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("contrib/pam/yunshen-otp", () => {
  test("send texts a code and tells the person where; check lets the right code in once", async () => {
    const sent = await run("send");
    expect(sent.code).toBe(0);
    expect(sent.out).toContain("验证码已发送至 138****0003");
    const code = inbox.at(-1)!.code;
    expect((await run("check", { stdin: code })).code).toBe(0);
    const reused = await run("check", { stdin: code });
    expect(reused.code).toBe(1);
    expect(reused.out).toContain("验证码已使用");
  });

  test("a wrong or malformed code is denied with the reason", async () => {
    t.clock.set(new Date(t.clock.now().getTime() + 61_000).toISOString());
    expect((await run("send")).code).toBe(0);
    const right = inbox.at(-1)!.code;
    const wrong = await run("check", { stdin: right === "000000" ? "000001" : "000000" });
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain("验证码错误");
    const junk = await run("check", { stdin: `"; rm -rf / #` });
    expect(junk.code).toBe(1);
    expect((await run("check", { stdin: right })).code).toBe(0);
  });

  test("refuses unknown users, odd names, a second send within the minute, and an unreachable service", async () => {
    expect((await run("send", { user: "nobody" })).out).toContain("没有在用的账号");
    expect((await run("send", { user: "Root;id" })).code).toBe(1);
    t.clock.set(new Date(t.clock.now().getTime() + 61_000).toISOString());
    expect((await run("send")).code).toBe(0);
    const again = await run("send");
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/请 \d+ 秒后再获取验证码/);
    const offline = join(dir, "offline.conf");
    writeFileSync(offline, `url=http://127.0.0.1:${await freePort()}\nhost=vm-web-01\ncredential_file=${join(dir, "host.token")}\n`);
    const down = await run("send", { config: offline });
    expect(down.code).toBe(1);
    expect(down.out).toContain("服务不可达");
    expect((await run("send", { config: join(dir, "missing.conf") })).out).toContain("无法读取配置");
  });
});
