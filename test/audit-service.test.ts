import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readAnchors } from "../src/audit/anchor";
import { captureCli, createScratchDatabase, freePort } from "./harness";

// The real service process signs what it appends and anchors the head on its schedule; the CLI signs with the
// same key file; `audit verify` then checks all of it, and `audit public-key` gives the auditor the public half.

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const TIMEOUT = 180_000;
const work = mkdtempSync(join(tmpdir(), "yunshen-audit-service-"));
const dataDir = join(work, "data");
const keyFile = join(dataDir, "audit-signing-key.pem");
const anchorFile = join(dataDir, "audit-anchors.jsonl");
const started: ChildProcess[] = [];
let env: Record<string, string> = { DATA_DIR: dataDir };
let dropDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return;
  const scratch = await createScratchDatabase(adminUrl, "yunshen_audit_svc");
  env = { ...env, DATABASE_URL: scratch.url };
  dropDatabase = scratch.drop;
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await dropDatabase?.();
  rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | null> | T | null, log: () => string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 60 s:\n${log()}`);
    await sleep(200);
  }
}

/** `node --import tsx src/server.ts` with the anchoring interval at one second; resolves once /healthz answers. */
async function startService() {
  const base = { ...process.env };
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "DATA_DIR", "PORT", "POLICY_PROFILE"]) delete base[name];
  for (const name of Object.keys(base)) if (name.startsWith("WECOM_") || name.startsWith("AUDIT_")) delete base[name];
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: repoRoot,
    env: { ...base, ...env, PORT: String(port), JOB_INTERVAL_MS: "300", AUDIT_ANCHOR_INTERVAL_MS: "1000" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await until(
    "/healthz",
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited:\n${output}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return res?.status === 200 ? true : null;
    },
    () => output,
  );
  return {
    port,
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    },
  };
}

describe("the service and the CLI sign with one key outside the database", () => {
  test("a first start creates the key, mode 0600, and says where it is and to keep it off the database host", { timeout: TIMEOUT }, async () => {
    const service = await startService();
    await service.stop();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, "utf8")).toMatch(/^-{5}BEGIN PRIVATE KEY-{5}\n/);
    expect(service.output()).toContain(`已生成审计签名私钥 ${keyFile}（仅本机可读）：请立即备份，并存放在数据库主机以外`);
    // An empty log has no head: nothing anchored yet.
    expect(existsSync(anchorFile)).toBe(false);
  });

  test("entries from the CLI and from the API are signed; the runner anchors the head as it moves", { timeout: TIMEOUT }, async () => {
    const demo = await captureCli(["demo", "--shell"], env);
    expect(demo.code).toBe(0);
    const lihua = /^export YS_LIHUA=(\S+)$/m.exec(demo.out)![1]!;

    const service = await startService();
    expect(service.output()).not.toContain("已生成审计签名私钥"); // the CLI's key is the service's key
    // The first round anchors the head the CLI left.
    const anchorsSoFar = () => (existsSync(anchorFile) ? readAnchors(anchorFile) : []);
    const first = await until("first anchor", () => (anchorsSoFar().length >= 1 ? anchorsSoFar() : null), service.output);
    expect(first).toHaveLength(1);

    const form = JSON.parse(readFileSync(join(repoRoot, "examples", "application.json"), "utf8"));
    const res = await fetch(`http://127.0.0.1:${service.port}/api/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${lihua}`, "content-type": "application/json" },
      body: JSON.stringify({ form }),
    });
    expect(res.status).toBe(201);
    // A second or so later the head has moved and the interval passed: a second anchor.
    const anchors = await until("second anchor", () => (anchorsSoFar().length >= 2 ? anchorsSoFar() : null), service.output);
    await service.stop();
    expect(anchors[1]!.seq).toBeGreaterThan(anchors[0]!.seq);

    const verify = await captureCli(["audit", "verify"], env);
    expect(verify.code).toBe(0);
    const count = Number(/^审计日志完整：(\d+) 条记录/.exec(verify.out)![1]);
    expect(count).toBe(anchors.at(-1)!.seq);
    expect(verify.out).toContain(`签名：${count} 条全部有效（公钥 ${keyFile}）\n`);
    expect(verify.out).toContain(`锚点：与 ${anchors.length} 个锚点相符，最近一个为第 ${count} 条（${anchors.at(-1)!.at}，${anchorFile}）\n`);
  });

  test("audit anchor on demand, audit public-key, and the three files an auditor needs", { timeout: TIMEOUT }, async () => {
    const anchor = await captureCli(["audit", "anchor"], env);
    expect(anchor.code).toBe(0);
    expect(anchor.out).toMatch(/^链头（第 \d+ 条）已在锚点文件 .* 中，未重复写入\n$/);

    const pub = await captureCli(["audit", "public-key"], env);
    expect(pub).toMatchObject({ code: 0, err: "" });
    expect(pub.out).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    expect(pub.out).not.toContain("PRIVATE");

    const exportFile = join(work, "audit.jsonl");
    expect((await captureCli(["audit", "export", "--output", exportFile], env)).code).toBe(0);
    const publicKeyFile = join(work, "audit-public-key.pem");
    writeFileSync(publicKeyFile, pub.out);
    const offline = await captureCli(
      ["audit", "verify", "--export", exportFile, "--public-key", publicKeyFile, "--anchors", anchorFile],
      { DATA_DIR: join(work, "auditor") },
    );
    expect(offline.code).toBe(0);
    expect(offline.out).toContain(`条全部有效（公钥 ${publicKeyFile}）`);
    expect(existsSync(join(work, "auditor"))).toBe(false);
  });

  test("a command without the key next to a signed log is refused, naming the file to restore", { timeout: TIMEOUT }, async () => {
    rmSync(join(work, "key-backup.pem"), { force: true });
    writeFileSync(join(work, "key-backup.pem"), readFileSync(keyFile));
    rmSync(keyFile);
    const r = await captureCli(["token", "create", "--user", "lihua"], env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^审计签名私钥 .* 不存在，但审计日志已有签名记录（最新第 \d+ 条）：请从备份恢复该文件/);
    expect(r.err).toContain(keyFile);
    expect(existsSync(keyFile)).toBe(false);
    writeFileSync(keyFile, readFileSync(join(work, "key-backup.pem")), { mode: 0o600 });
    expect((await captureCli(["token", "create", "--user", "lihua"], env)).code).toBe(0);
  });
});
