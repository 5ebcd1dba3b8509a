import { createWriteStream, existsSync } from "node:fs";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { DataDirLockedError } from "../db/lock";
import { readAnchors, writeAuditAnchor } from "./audit/anchor";
import { exportAudit, readAuditExport } from "./audit/export";
import { openAuditSigner, publicKeyPem, readPublicKey, signingDb } from "./core/audit-signing";
import { verifyAuditChain, verifyAuditEntries, type AuditVerifyResult } from "./audit/verify";
import { loadCalendar, loadCalendarYear } from "./calendar/store";
import { auditFiles, readConfig, type Config } from "./config";
import { systemClock, type ServiceContext } from "./core/context";
import { DEMO_TOKEN_DAYS, loadDemo } from "./directory/demo";
import { importDirectory } from "./directory/import";
import { createToken, expiryText, listTokens, revokeToken } from "./directory/tokens";
import { addHost, listHosts, revokeHost, rotateHost } from "./access/hosts";
import { importMetricsFile } from "./metrics/import";
import { monthlyReport, monthlyReportCsv, monthlyReportQuery } from "./reports/monthly";
import { listPriceTables, loadPriceTable } from "./billing/prices";
import { recomputePendingDeadlines } from "./engine";
import { invalid, safeErrorMessage, ServiceError } from "./core/errors";
import { readJsonFile, requestCommand } from "./cli-requests";
import { parseInput } from "./core/validation";

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export const USAGE = `用法：yunshen <命令>

数据库（使用 DATABASE_URL 指定的 PostgreSQL，未设置时使用 DATA_DIR 下的 PGlite）：
  migrate                                   应用数据库迁移
  demo [--shell]                            导入演示通讯录并打印演示用户的访问令牌（7 天后到期）
                                            （--shell：输出 export YS_<用户>=<令牌>，供 eval 使用）
  directory import FILE                     导入或更新单位和用户（JSON，见 README）
  token create --user ID [--name NAME] [--expires 30d|YYYY-MM-DD]
                                            为用户签发 API 访问令牌（默认 TOKEN_LIFETIME_DAYS 天后到期，
                                            --expires 指定天数或到期日）
  token revoke TOKEN_ID                     吊销令牌
  token list [--user ID]                    列出令牌及到期时间（不含令牌本身）
  host add NAME                             登记堡垒机或虚拟机，打印它调用 /access 的凭据
  host rotate NAME                          为主机换发新凭据（旧凭据立即失效）
  host revoke NAME                          吊销主机凭据
  host list                                 列出已登记的主机
  metrics import FILE                       导入虚拟机利用率（每分钟采样，CSV 或 JSON Lines），按日汇总保存
  prices load FILE                          加载单价表（JSON，见 README）；同一版本只加载一次
  prices list                               列出已加载的单价表
  report monthly --month YYYY-MM [--unit U] [--format json|csv] [--table units|late|lowload|provider]
                                            月度报告（资源、利用率、低负载、申请、逾期环节）
  audit verify [--public-key PUB.pem] [--anchors ANCHORS.jsonl]
                                            校验审计日志：哈希链、每条签名、与锚点是否相符
  audit verify --export FILE.jsonl --public-key PUB.pem --anchors ANCHORS.jsonl
                                            不连数据库，只凭导出文件、公钥和锚点校验
  audit export [--format jsonl|csv] [--output FILE]
                                            导出审计日志（含签名）
  audit anchor                              把当前链头写入锚点文件（AUDIT_ANCHOR_FILE）
  audit public-key                          打印审计签名公钥（PEM），交给审计人员
  calendar is-workday DATE                  是否工作日（true / false）
  calendar add-workdays DATE N              DATE 之后第 N 个工作日（不含当天）
  calendar load FILE [--override 原因]      加载一年的放假安排（JSON）；须含七个法定节假日，
                                            缺少时须以 --override 写明原因才加载（记入审计日志）

通过运行中的服务（YUNSHEN_URL，默认 http://127.0.0.1:$PORT；令牌 YUNSHEN_TOKEN 或 --token）：
  request submit FILE                       提交申请（申请表 JSON）
  request list [--view mine|todo|all] [--status S]
  request show ID                           申请详情（id 或编号）
  request act ID ACTION [--note T] [--reason T] [--text T] [--to-stage S] [--to-user U]
                 [--kind rectification|warning] [--days N] [--form FILE] [--stage KEY|--stage-run N]
                 [--score satisfied|basic|dissatisfied] [--comment T]
                                            办理：approve confirm reject return fail transfer
                                            comment withdraw resubmit finding extend nudge`;

const BOOLEAN_FLAGS = new Set(["shell", "help"]);

/** `--name value` flags (`--shell`, `--help` stand alone) and positional words. */
export function parseArgs(argv: string[]) {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word.startsWith("--")) {
      // Split at the first "=" only: `--text="限额=100"` keeps its own "=".
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      if (BOOLEAN_FLAGS.has(name)) {
        flags[name] = inline ?? "true";
        continue;
      }
      const value = inline ?? argv[i + 1];
      if (value === undefined || (inline === undefined && value.startsWith("--"))) throw invalid(`参数 --${name} 缺少取值`);
      flags[name] = value;
      if (inline === undefined) i++;
    } else positional.push(word);
  }
  return { positional, flags };
}

/** Opens an output file before any work is done, so an unwritable path fails with one line and nothing held. */
async function openOutput(path: string) {
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

async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>): Promise<T> {
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

async function cliContext(database: Database, config: Config): Promise<ServiceContext> {
  return {
    db: database.db,
    clock: systemClock,
    calendar: await loadCalendar(database.db),
    profile: config.POLICY_PROFILE,
    actor: null,
    channel: "cli",
  };
}

function progress(io: CliIo, label: string) {
  if (!io.isTTY) return undefined;
  return (done: number, total: number) => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const bar = "█".repeat(Math.floor(pct / 5)).padEnd(20, "░");
    io.err(`\r${label} ${bar} ${done}/${total}（${pct}%）${done >= total ? "\n" : ""}`);
  };
}

/** Runs one command; returns the exit status. Errors print one line on stderr. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof ServiceError || err instanceof DataDirLockedError) {
      io.err(`${err.message}\n`);
      if (err instanceof ServiceError && err.fields)
        for (const [field, messages] of Object.entries(err.fields)) io.err(`  ${field}：${messages.join("；")}\n`);
      return err instanceof ServiceError && err.code === "usage" ? 2 : 1;
    }
    // Never a database error's message: it carries the statement's parameters (invariant 8).
    io.err(`出错：${safeErrorMessage(err)}\n`);
    return 1;
  }
}

const usage = (hint?: string) => new ServiceError("usage", `${hint ? `${hint}\n` : ""}${USAGE}`, 400);

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const [command, sub, ...rest] = positional;
  if (!command || command === "help" || flags.help !== undefined) {
    io.out(`${USAGE}\n`);
    return command || flags.help !== undefined ? 0 : 2;
  }
  const config = readConfig(io.env);

  switch (command) {
    case "migrate":
      await withDatabase(config, async () => undefined);
      io.out("数据库迁移已完成\n");
      return 0;

    case "demo":
      return withDatabase(config, async (database) => {
        const { tokens, expiresAt } = await loadDemo(await cliContext(database, config));
        const expiry = `演示令牌 ${DEMO_TOKEN_DAYS} 天有效，${expiryText(expiresAt)}到期，到期后再运行 yunshen demo 即可重新签发`;
        if (flags.shell !== undefined) {
          // `eval "$(npx yunshen demo --shell)"` puts every token in a variable named after the user; the expiry
          // goes to stderr, where a person sees it and eval does not.
          for (const t of tokens) io.out(`export YS_${t.userId.toUpperCase()}=${t.token}\n`);
          io.err(`${expiry}\n`);
          return 0;
        }
        io.out(`演示通讯录已导入。${expiry}。演示用户的访问令牌（只显示这一次）：\n`);
        for (const t of tokens) io.out(`  ${t.userId.padEnd(12)} ${t.name}（${t.roles.join(",")}）\n    ${t.token}\n`);
        return 0;
      });

    case "directory":
      if (sub !== "import") throw usage("directory 只支持 import");
      if (!rest[0]) throw usage("directory import 需要通讯录文件");
      return withDatabase(config, async (database) => {
        const result = await importDirectory({ ctx: await cliContext(database, config), input: readJsonFile(rest[0]!, "通讯录文件") });
        const line = (n: { created: number; updated: number; unchanged: number }) => `新增 ${n.created}，更新 ${n.updated}，未变 ${n.unchanged}`;
        io.out(`单位：${line(result.units)}\n用户：${line(result.users)}\n`);
        return 0;
      });

    case "token":
      if (sub === "create" && !flags.user) throw usage("token create 需要 --user ID");
      if (sub === "revoke" && !rest[0]) throw usage("token revoke 需要令牌 id（tok_…）");
      if (sub !== "create" && sub !== "revoke" && sub !== "list") throw usage("token 支持 create、revoke、list");
      return withDatabase(config, async (database) => {
        const ctx = await cliContext(database, config);
        if (sub === "create") {
          const t = await createToken({
            ctx,
            input: { userId: flags.user!, name: flags.name ?? "", expires: flags.expires },
            lifetimeDays: config.TOKEN_LIFETIME_DAYS,
          });
          io.out(`${t.token}\n`);
          io.err(`令牌 ${t.id} 已签发给 ${t.userId}，${expiryText(t.expiresAt)}到期；只显示这一次，请妥善保存。\n`);
          return 0;
        }
        if (sub === "revoke") {
          await revokeToken({ ctx, input: { id: rest[0] } });
          io.out(`令牌 ${rest[0]} 已吊销\n`);
          return 0;
        }
        const now = ctx.clock.now();
        for (const t of await listTokens(database.db, flags.user, { lifetimeDays: config.TOKEN_LIFETIME_DAYS })) {
          const expired = t.expiresAt.getTime() <= now.getTime();
          // A token from before tokens expired shows the expiry it is given, marked as worked out.
          const expiry = `${expired ? "已过期" : "到期"} ${t.expiresAt.toISOString()}${t.expiryAssumed ? `（签发时未设到期，按签发后 ${config.TOKEN_LIFETIME_DAYS} 天计）` : ""}`;
          io.out(`${t.id}  ${t.userId}  ${t.name || "-"}  签发 ${t.createdAt.toISOString()}  ${expiry}${t.revokedAt ? `  已吊销 ${t.revokedAt.toISOString()}` : ""}\n`);
        }
        return 0;
      });

    case "host":
      if (sub !== "add" && sub !== "rotate" && sub !== "revoke" && sub !== "list") throw usage("host 支持 add、rotate、revoke、list");
      if (sub !== "list" && !rest[0]) throw usage(`host ${sub} 需要主机名`);
      return withDatabase(config, async (database) => {
        const ctx = await cliContext(database, config);
        if (sub === "add" || sub === "rotate") {
          const h = sub === "add" ? await addHost({ ctx, input: { name: rest[0] } }) : await rotateHost({ ctx, input: { name: rest[0] } });
          io.out(`${h.credential}\n`);
          io.err(`主机 ${h.name} 的凭据只显示这一次：请写入该主机的 /etc/yunshen/host.token（仅 root 可读）。\n`);
          return 0;
        }
        if (sub === "revoke") {
          await revokeHost({ ctx, input: { name: rest[0] } });
          io.out(`主机 ${rest[0]} 的凭据已吊销\n`);
          return 0;
        }
        for (const h of await listHosts(database.db))
          io.out(`${h.name}  登记 ${h.createdAt.toISOString()}${h.revokedAt ? `  已吊销 ${h.revokedAt.toISOString()}` : ""}\n`);
        return 0;
      });

    case "metrics":
      if (sub !== "import") throw usage("metrics 支持 import");
      if (!rest[0]) throw usage("metrics import 需要数据文件");
      return withDatabase(config, async (database) => {
        const ctx = await cliContext(database, config);
        const r = await importMetricsFile({ ctx, input: { path: rest[0]! } });
        io.out(`已导入 ${r.samples} 条采样：${r.vms} 台虚拟机，${r.days} 个虚拟机日\n`);
        return 0;
      });

    case "prices":
      if (sub !== "load" && sub !== "list") throw usage("prices 支持 load、list");
      if (sub === "load" && !rest[0]) throw usage("prices load 需要单价表文件");
      return withDatabase(config, async (database) => {
        if (sub === "list") {
          for (const t of await listPriceTables(database.db)) io.out(`${t.version}  自 ${t.effectiveFrom}  ${Object.keys(t.prices).join("、")}\n`);
          return 0;
        }
        const ctx = await cliContext(database, config);
        const r = await loadPriceTable({ ctx, input: readJsonFile(rest[0]!, "单价表文件") });
        io.out(`单价表 ${r.version} 已加载，自 ${r.effectiveFrom} 起执行\n`);
        return 0;
      });

    case "report": {
      if (sub !== "monthly") throw usage("report 支持 monthly");
      const input = parseInput(monthlyReportQuery, { month: flags.month, unit: flags.unit, format: flags.format, table: flags.table }, "报告参数有误");
      return withDatabase(config, async (database) => {
        const ctx = await cliContext(database, config);
        const report = await monthlyReport({ ctx, input });
        io.out(input.format === "csv" ? monthlyReportCsv(report, input.table) : `${JSON.stringify(report, null, 2)}\n`);
        return 0;
      });
    }

    case "audit":
      return auditCommand(config, sub, flags, io);

    case "calendar":
      return calendarCommand(config, sub, rest, flags, io);

    case "request":
      return requestCommand(config, [sub, ...rest].filter((w): w is string => w !== undefined), flags, io);

    default:
      throw usage(`不认识的命令：${command}`);
  }
}

async function auditCommand(config: Config, sub: string | undefined, flags: Record<string, string>, io: CliIo): Promise<number> {
  if (sub !== "verify" && sub !== "export" && sub !== "anchor" && sub !== "public-key") throw usage("audit 支持 verify、export、anchor、public-key");
  const files = auditFiles(config);
  if (sub === "public-key") {
    if (!existsSync(files.signingKey)) throw invalid(`找不到审计签名私钥 ${files.signingKey}：服务首次启动（或命令首次写入审计记录）时生成；若已移走，请用 AUDIT_SIGNING_KEY_FILE 指向它`);
    io.out(publicKeyPem(readPublicKey(files.signingKey)));
    return 0;
  }
  if (sub === "anchor")
    return withDatabase(config, async (database) => {
      const signer = await openAuditSigner({ file: files.signingKey, db: database.db, log: (line) => io.err(`${line}\n`) });
      const { written, head } = await writeAuditAnchor({ db: database.db, signer, file: files.anchors, clock: systemClock });
      if (!head) io.out("审计日志为空，没有需要锚定的链头\n");
      else if (!written) io.out(`链头（第 ${head.seq} 条）已在锚点文件 ${files.anchors} 中，未重复写入\n`);
      else io.out(`已把链头第 ${written.seq} 条（哈希 ${written.hash.slice(0, 16)}…）写入锚点文件 ${files.anchors}\n`);
      return 0;
    });
  if (sub === "verify") return auditVerifyCommand(config, flags, io);
  const format = flags.format ?? "jsonl";
  if (format !== "jsonl" && format !== "csv") throw usage("--format 只能是 jsonl 或 csv");
  const output = flags.output ? await openOutput(flags.output) : null;
  return withDatabase(config, async (database) => {
    const count = await exportAudit(database.db, format, output ? output.write : (chunk) => io.out(chunk), {
      onProgress: output ? progress(io, "导出") : undefined,
    });
    await output?.close();
    io.err(`已导出 ${count} 条审计记录${output ? `到 ${flags.output}` : ""}\n`);
    return 0;
  });
}

/**
 * `audit verify`: the database (or, with --export, only the file), the public key (--public-key, else the half
 * of the signing key file when this host has it) and the anchors (--anchors, else AUDIT_ANCHOR_FILE if present).
 */
async function auditVerifyCommand(config: Config, flags: Record<string, string>, io: CliIo): Promise<number> {
  const files = auditFiles(config);
  const keyFile = flags["public-key"] ?? (existsSync(files.signingKey) ? files.signingKey : null);
  const publicKey = keyFile ? readPublicKey(keyFile) : null;
  const anchorFile = flags.anchors ?? (existsSync(files.anchors) ? files.anchors : null);
  const anchors = anchorFile ? readAnchors(anchorFile) : [];
  const opts = { publicKey, anchors, onProgress: progress(io, "校验") };
  const result = flags.export
    ? await verifyAuditEntries(readAuditExport(flags.export), 0, { ...opts, onProgress: undefined })
    : await withDatabase(config, (database) => verifyAuditChain(database.db, opts));
  return reportVerify(result, { keyFile, anchorFile }, io);
}

function reportVerify(result: AuditVerifyResult, used: { keyFile: string | null; anchorFile: string | null }, io: CliIo): number {
  if (!result.ok) {
    io.err(`审计日志校验失败：${result.firstBad.reason}（第 ${result.firstBad.seq} 条；已校验 ${result.count} 条）\n`);
    for (const more of result.findings.slice(1)) io.err(`另：${more.reason}\n`);
    return 1;
  }
  io.out(`审计日志完整：${result.count} 条记录，哈希链校验通过\n`);
  // The unsigned entries come first (1..unsignedBefore): a signed entry or an anchor after them vouches for them.
  const vouched = result.signed > 0 || (result.lastAnchor?.seq ?? 0) >= result.unsignedBefore;
  const before =
    result.unsignedBefore === 0
      ? ""
      : vouched
        ? `；签名启用前的 ${result.unsignedBefore} 条由其后的签名或锚点担保`
        : `；另有 ${result.unsignedBefore} 条没有签名，也没有锚点为它们担保：请运行 yunshen audit anchor`;
  io.out(
    result.signaturesChecked
      ? `签名：${result.signed} 条全部有效（公钥 ${used.keyFile}）${before}\n`
      : `签名：未校验（找不到公钥）。请用 --public-key 指定 yunshen audit public-key 打印的公钥\n`,
  );
  io.out(
    result.lastAnchor
      ? `锚点：与 ${result.anchors} 个锚点相符，最近一个为第 ${result.lastAnchor.seq} 条（${result.lastAnchor.at}，${used.anchorFile}）\n`
      : `锚点：${used.anchorFile ? `${used.anchorFile} 中没有锚点` : "未提供锚点文件"}，无法发现被删除的最新记录。请用 --anchors 指定锚点文件\n`,
  );
  return 0;
}

async function calendarCommand(config: Config, sub: string | undefined, rest: string[], flags: Record<string, string>, io: CliIo): Promise<number> {
  if (sub === "load") {
    if (!rest[0]) throw usage("calendar load 需要放假安排文件");
    const schedule = readJsonFile(rest[0], "放假安排文件");
    return withDatabase(config, async (database) => {
      const ctx = await cliContext(database, config);
      const { year, replaced, missing } = await loadCalendarYear({ ctx, input: schedule, override: flags.override });
      const filled = await recomputePendingDeadlines({ ctx: { ...ctx, calendar: await loadCalendar(database.db) } });
      io.out(`${year} 年工作日历已${replaced ? "更新" : "加载"}${filled > 0 ? `；${filled} 个待定期限已计算` : ""}\n`);
      if (missing.length > 0) io.err(`注意：按 --override 加载，缺少 ${missing.join("、")}；公布后请补全再加载一次\n`);
      return 0;
    });
  }
  if (sub !== "is-workday" && sub !== "add-workdays") throw usage("calendar 支持 is-workday、add-workdays、load");
  const [date, count] = rest;
  const n = Number(count);
  if (!date) throw usage(`calendar ${sub} 需要日期 YYYY-MM-DD`);
  if (sub === "add-workdays" && (!Number.isInteger(n) || n < 1)) throw usage("calendar add-workdays 需要日期和正整数 N");
  // Years loaded after release live in the database, so the answer comes from there.
  const calendar = await withDatabase(config, (database) => loadCalendar(database.db));
  io.out(`${sub === "is-workday" ? calendar.isWorkday(date) : calendar.addWorkdays(date, n)}\n`);
  return 0;
}
