import { importMetricsFile } from "../metrics/import";
import { UsageError } from "./args";
import { cliContext, withDatabase, type Command } from "./runtime";

export const metrics: Command = {
  section: "database",
  usage: "  metrics import FILE                       导入虚拟机利用率（每分钟采样，CSV 或 JSON Lines），按日汇总保存",
  options: {},
  async run({ words: [sub, file], config, io }) {
    if (sub !== "import") throw new UsageError("metrics 支持 import");
    if (!file) throw new UsageError("metrics import 需要数据文件");
    return withDatabase(config, async (database) => {
      const r = await importMetricsFile({ ctx: await cliContext(database, config), input: { path: file } });
      io.out(`已导入 ${r.samples} 条采样：${r.vms} 台虚拟机，${r.days} 个虚拟机日\n`);
      return 0;
    });
  },
};
