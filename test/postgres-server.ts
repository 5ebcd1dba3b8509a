import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A PostgreSQL server of the test's own, on a port of its own, that the test can stop and start again: what
// the outage tests need and the CI server on 5432 cannot give (stopping it would fail every other file).
// Tests run as root and PostgreSQL refuses to run as root, so the binaries run as the `postgres` OS user.

export const POSTGRES_BIN_DIR = process.env.POSTGRES_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
const OS_USER = "postgres";

export interface PostgresServer {
  port: number;
  dataDir: string;
  /** postgres://postgres@127.0.0.1:PORT/DATABASE (trust authentication). */
  url(database?: string): string;
  /** Starts the server and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it: "fast" rolls back open transactions and closes connections, "immediate" is a crash. */
  stop(mode?: "smart" | "fast" | "immediate"): Promise<void>;
  running(): boolean;
  /** The server's own log (pg_ctl -l). */
  log(): string;
  /** Stops the server if it runs and removes its directory. */
  destroy(): Promise<void>;
}

/** Whether this machine can run a server of the test's own (binaries present; the postgres user when root). */
export function canRunPostgresServer(): boolean {
  if (!existsSync(join(POSTGRES_BIN_DIR, "initdb")) || !existsSync(join(POSTGRES_BIN_DIR, "pg_ctl"))) return false;
  if (process.getuid?.() !== 0) return true;
  try {
    execFileSync("id", ["-u", OS_USER], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Runs a PostgreSQL binary, as the postgres user when we are root; rejects with its output when it fails. */
function run(binary: string, args: string[]): Promise<string> {
  const path = join(POSTGRES_BIN_DIR, binary);
  const [command, argv] = process.getuid?.() === 0 ? ["runuser", ["-u", OS_USER, "--", path, ...args]] : [path, args];
  return new Promise((resolve, reject) => {
    // pg_ctl start leaves the server holding inherited pipes: give it none, or "close" would wait for the server.
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${binary} ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}

/**
 * initdb in a fresh temporary directory and start the server on `port` (loopback only, trust authentication,
 * fsync off: a test server, not a durable one).
 */
export async function startPostgresServer(port: number): Promise<PostgresServer> {
  const root = mkdtempSync(join(tmpdir(), "yunshen-pg-"));
  const dataDir = join(root, "data");
  const logFile = join(root, "server.log");
  mkdirSync(dataDir);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", OS_USER], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", OS_USER], { encoding: "utf8" }).trim());
    chownSync(root, uid, gid);
    chownSync(dataDir, uid, gid);
  }
  await run("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  let running = false;
  const server: PostgresServer = {
    port,
    dataDir,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      const options = [`-p ${port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${root}`, "-c fsync=off", "-c max_connections=200"];
      await run("pg_ctl", ["-D", dataDir, "-l", logFile, "-o", options.join(" "), "-w", "-t", "60", "start"]);
      running = true;
    },
    async stop(mode = "fast") {
      await run("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"]);
      running = false;
    },
    running: () => running,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async destroy() {
      if (running) await server.stop("immediate").catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
