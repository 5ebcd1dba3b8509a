import { createWriteStream, readFileSync } from "node:fs";
import { migrateDatabase, openDatabase, type Database } from "../../db/client";
import { openAuditSigner, signingDb } from "../core/audit-signing";
import { loadCalendar } from "../calendar/store";
import { auditFiles, type Config } from "../config";
import { systemClock, type ServiceContext } from "../core/context";
import { invalid } from "../core/errors";
import { parseJsonText } from "../core/validation";
import { dataDirHolder } from "../../db/lock";
import type { Flags, Options } from "./args";
import { serviceClient, type ServiceCall } from "./client";

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** What a command is given: its words after its name, its flags (already checked against its options). */
export interface CommandArgs {
  words: string[];
  flags: Flags;
  config: Config;
  io: CliIo;
}

export interface Command {
  /** Where the whole CLI's help lists it: commands that open the database, or clients of the running service. */
  section: "database" | "service";
  /** Its lines in the whole CLI's help. */
  usage: string;
  /** What `yunshen NAME --help` prints under 用法：; its `usage` when it has nothing more to say. */
  help?: string;
  /** Every flag it knows. */
  options: Options;
  /** The flags its given words (subcommand, action) accept, when fewer than all it knows. */
  optionsFor?: (words: string[]) => Options;
  run(args: CommandArgs): Promise<number>;
}

/** Opens an output file before any work is done, so an unwritable path fails with one line and nothing held. */
export async function openOutput(path: string) {
  const file = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    file.once("open", () => resolve());
    file.once("error", () => reject(invalid(`无法写入文件 ${path}`)));
  });
  return {
    // Waits when the stream's buffer is full, so a large export does not pile up in memory.
    write: (chunk: string) => (file.write(chunk) ? undefined : new Promise<void>((resolve) => file.once("drain", () => resolve()))),
    close: () => new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve()))),
  };
}

export async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, max: 2 });
  try {
    await migrateDatabase(database, { url: config.DATABASE_URL });
    // Audit entries a command appends are signed; the key is read (or created) at its first transaction only,
    // so read-only commands never create one. The notice goes to stderr like db/client's, keeping stdout data.
    const signer = () => openAuditSigner({ file: auditFiles(config).signingKey, db: database.db, log: (line) => console.error(line) });
    return await fn({ ...database, db: signingDb(database.db, signer) });
  } finally {
    await database.close();
  }
}

/** The process holding the PGlite data directory, other than this one: the running service. */
export function serviceHolder(config: Config): number | null {
  const holder = config.DATABASE_URL ? null : dataDirHolder(config.DATA_DIR);
  return holder === process.pid ? null : holder;
}

/**
 * Runs a command on the database itself or, while the service holds the PGlite data directory (PGlite allows
 * one process per directory), through the service's API with the caller's token: the same verbs, and the same
 * output. `who` names whose token the API takes for it (the role its verb authorizes). With PostgreSQL, or no
 * service running, the command opens the database.
 */
export async function onDatabaseOrService<T>(
  { config, flags, io }: CommandArgs,
  onDatabase: (database: Database) => Promise<T>,
  onService: (call: ServiceCall) => Promise<T>,
  who = "系统管理员",
): Promise<T> {
  const holder = serviceHolder(config);
  if (holder === null) return withDatabase(config, onDatabase);
  return onService(
    serviceClient(io, config, flags, {
      noToken:
        `数据目录 ${config.DATA_DIR} 正被运行中的服务（进程 ${holder}）使用，此命令改经服务的接口执行，需要${who}的访问令牌：` +
        `请用 --token 或环境变量 YUNSHEN_TOKEN 提供。还没有令牌时，先停止服务，运行 yunshen token create --user <用户 id> 签发，再启动服务`,
      unreachable: (base) =>
        `数据目录 ${config.DATA_DIR} 正被进程 ${holder} 使用，但无法连接服务 ${base}：请确认服务已启动完毕，或用 YUNSHEN_URL 指定它的地址`,
    }),
  );
}

export async function cliContext(database: Database, config: Config): Promise<ServiceContext> {
  return {
    db: database.db,
    clock: systemClock,
    calendar: await loadCalendar(database.db),
    profile: config.POLICY_PROFILE,
    actor: null,
    channel: "cli",
  };
}

/** A progress bar on stderr, only on a terminal. */
export function progress(io: CliIo, label: string) {
  if (!io.isTTY) return undefined;
  return (done: number, total: number) => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const bar = "█".repeat(Math.floor(pct / 5)).padEnd(20, "░");
    io.err(`\r${label} ${bar} ${done}/${total}（${pct}%）${done >= total ? "\n" : ""}`);
  };
}

/** A JSON file named on the command line; `what` names it in messages ("申请表文件"). */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw invalid(`无法读取文件 ${path}`);
  }
  return parseJsonText(text, what);
}

export const printJson = (io: CliIo, value: unknown) => io.out(`${JSON.stringify(value, null, 2)}\n`);
