import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { captureCli } from "./harness";

// The real service process: `node --import tsx src/server.ts`, as `npm start` runs it (tsx ≥ 4 registers
// itself with --import).

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

// A fresh PGlite runs initdb (several seconds, more with other test files running); never assert on speed.
export const START_TIMEOUT_MS = 60_000;
export const STOP_TIMEOUT_MS = 20_000;
export const TEST_TIMEOUT = 180_000;

export interface Service {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

/** Kills every service a test file started and left running. */
export function killStarted() {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** The environment of this process without anything that would pick the database or policy for the child. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "DATA_DIR", "PORT", "POLICY_PROFILE", "JOB_INTERVAL_MS"]) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith("WECOM_")) delete env[name];
  return env;
}

export function startService(env: Record<string, string>, port: number): Service {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: repoRoot,
    env: { ...baseEnv(), PORT: String(port), JOB_INTERVAL_MS: "500", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, port, stdout: () => stdout, stderr: () => stderr, exited };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls GET /healthz until it answers 200, the process exits, or START_TIMEOUT_MS passes. */
export async function waitHealthy(service: Service): Promise<unknown> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  void service.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`service exited before it was healthy:\n${service.stdout()}\n${service.stderr()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${service.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
      if (res.status === 200) return await res.json();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`service not healthy after ${START_TIMEOUT_MS} ms:\n${service.stdout()}\n${service.stderr()}`);
    await sleep(250);
  }
}

/** The exit of a process, or a failure when it has not exited within `ms`. */
export async function exitWithin(service: Service, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`process ${service.child.pid} still running after ${ms} ms:\n${service.stdout()}\n${service.stderr()}`)),
      ms,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}


/**
 * `yunshen demo --shell` on a fresh data directory, then the service started on it, as the README's quick start
 * does: the demo users' tokens by user id, and the environment a CLI command needs to reach that service.
 */
export async function startServiceWithDemo(dataDir: string, port: number) {
  const demo = await captureCli(["demo", "--shell"], { DATA_DIR: dataDir });
  if (demo.code !== 0) throw new Error(`yunshen demo failed: ${demo.err}`);
  const tokens = new Map<string, string>();
  for (const m of demo.out.matchAll(/^export YS_([A-Z]+)=(\S+)$/gm)) tokens.set(m[1]!.toLowerCase(), m[2]!);
  const service = startService({ DATA_DIR: dataDir }, port);
  await waitHealthy(service);
  return { service, tokens, env: { DATA_DIR: dataDir, PORT: String(port) } as NodeJS.ProcessEnv };
}
