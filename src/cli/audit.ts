import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { writeAuditAnchor } from "../audit/anchor";
import { auditVerifyKeys } from "../audit/auditors";
import { auditExportEntries, exportAudit, readAuditExport } from "../audit/export";
import { verifyAuditChain, verifyAuditEntries, type AuditVerifyResult } from "../audit/verify";
import { auditFiles } from "../config";
import { openAuditSigner, publicKeyPem, readPublicKey } from "../core/audit-signing";
import { systemClock } from "../core/context";
import { invalid } from "../core/errors";
import { UsageError, type Options } from "./args";
import { TOKEN_OPTION } from "./client";
import { onDatabaseOrService, openOutput, progress, withDatabase, type CliIo, type Command, type CommandArgs } from "./runtime";

const verifyOptions: Options = { ...TOKEN_OPTION, "public-key": { type: "string" }, anchors: { type: "string" }, export: { type: "string" } };
const exportOptions: Options = { ...TOKEN_OPTION, format: { type: "string" }, output: { type: "string" } };

export const audit: Command = {
  section: "database",
  usage: `  audit verify [--public-key PUB.pem] [--anchors ANCHORS.jsonl]
                                            校验审计日志：哈希链、每条签名、与锚点是否相符
  audit verify --export FILE.jsonl --public-key PUB.pem --anchors ANCHORS.jsonl
                                            不连数据库，只凭导出文件、公钥和锚点校验
  audit export [--format jsonl|csv] [--output FILE]
                                            导出审计日志（含签名）
  audit anchor                              把当前链头写入锚点文件（AUDIT_ANCHOR_FILE；服务运行时它按时自动写入）
  audit public-key                          打印审计签名公钥（PEM），交给审计人员`,
  options: { ...verifyOptions, ...exportOptions },
  optionsFor: ([sub]) => (sub === "verify" ? verifyOptions : sub === "export" ? exportOptions : {}),
  async run(args) {
    const { words: [sub], flags, config, io } = args;
    if (sub !== "verify" && sub !== "export" && sub !== "anchor" && sub !== "public-key") throw new UsageError("audit 支持 verify、export、anchor、public-key");
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
    if (sub === "verify") return verify(args);
    const format = flags.format ?? "jsonl";
    if (format !== "jsonl" && format !== "csv") throw new UsageError("--format 只能是 jsonl 或 csv");
    const output = flags.output ? await openOutput(flags.output) : null;
    const write = output ? output.write : (chunk: string) => io.out(chunk);
    const count = await onDatabaseOrService(
      args,
      (database) => exportAudit(database.db, format, write, { onProgress: output ? progress(io, "导出") : undefined }),
      async (call) => copyExport(await call.raw("GET", `/api/audit/export?format=${format}`), format, write),
      AUDITORS,
    );
    await output?.close();
    io.err(`已导出 ${count} 条审计记录${output ? `到 ${flags.output}` : ""}\n`);
    return 0;
  },
};

/** Whose token /api/audit takes (audit/auditors isAuditor). */
const AUDITORS = "统筹管理单位或复核单位";

/** The service's export written out as it arrives; the records it held (a CSV's header and quoted line breaks not counted). */
async function copyExport(res: Response, format: "jsonl" | "csv", write: (chunk: string) => void | Promise<void>): Promise<number> {
  let breaks = 0;
  let quoted = false;
  // ignoreBOM keeps the CSV's BOM (for Excel), as the export on the database writes it.
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream("utf-8", { ignoreBOM: true }))) {
    for (const ch of chunk)
      if (ch === '"' && format === "csv") quoted = !quoted;
      else if (ch === "\n" && !quoted) breaks++;
    await write(chunk);
  }
  return format === "csv" ? Math.max(breaks - 1, 0) : breaks;
}

/** The service's jsonl export, line by line as it arrives. */
function exportLines(res: Response): AsyncIterable<string> {
  return createInterface({ input: Readable.fromWeb(res.body! as never, { encoding: "utf8" }), crlfDelay: Infinity });
}

/**
 * `audit verify`: the database (or, with --export, only the file), the public key (--public-key, else the half
 * of the signing key file when this host has it) and the anchors (--anchors, else AUDIT_ANCHOR_FILE if present).
 * While the service holds the database the entries come from its export and are checked here, with these same
 * keys and anchors: the service is not asked to vouch for itself, and the output names what was used.
 */
async function verify(args: CommandArgs): Promise<number> {
  const { config, flags, io } = args;
  const { keyFile, publicKey, anchorFile, anchors } = auditVerifyKeys(auditFiles(config), { publicKey: flags["public-key"], anchors: flags.anchors });
  const opts = { publicKey, anchors, onProgress: progress(io, "校验") };
  const result = flags.export
    ? await verifyAuditEntries(readAuditExport(flags.export), 0, { ...opts, onProgress: undefined })
    : await onDatabaseOrService(
        args,
        (database) => verifyAuditChain(database.db, opts),
        async (call) =>
          verifyAuditEntries(auditExportEntries(exportLines(await call.raw("GET", "/api/audit/export?format=jsonl")), "服务导出的审计日志"), 0, {
            ...opts,
            onProgress: undefined,
          }),
        AUDITORS,
      );
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
