import { createReadStream } from "node:fs";
import { access, constants } from "node:fs/promises";
import { Readable } from "node:stream";
import { importMetricsFile, metricsFileFormat } from "../metrics/import";
import { invalid } from "../core/errors";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, type Command } from "./runtime";

type Imported = { samples: number; vms: number; days: number };

export const metrics: Command = {
  section: "database",
  usage: "  metrics import FILE                       导入虚拟机利用率（每分钟采样，CSV 或 JSON Lines），按日汇总保存",
  options: TOKEN_OPTION,
  async run(args) {
    const [sub, file] = args.words;
    if (sub !== "import") throw new UsageError("metrics 支持 import");
    if (!file) throw new UsageError("metrics import 需要数据文件");
    const r = await onDatabaseOrService(
      args,
      async (database) => importMetricsFile({ ctx: await cliContext(database, args.config), input: { path: file } }),
      async (call) => {
        try {
          await access(file, constants.R_OK);
        } catch {
          throw invalid(`无法读取文件 ${file}`);
        }
        // The file goes up as it is read and the service reduces it as it arrives: the same verb, any size.
        const format = metricsFileFormat(file);
        const stream = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
        const res = await call.raw("POST", `/api/metrics/file?format=${format}`, { stream, contentType: format === "csv" ? "text/csv" : "application/jsonl" });
        return (await res.json()) as Imported;
      },
      "评估实施单位、统筹管理单位或系统管理员",
    );
    args.io.out(`已导入 ${r.samples} 条采样：${r.vms} 台虚拟机，${r.days} 个虚拟机日\n`);
    return 0;
  },
};
