import { listPriceTables, loadPriceTable } from "../billing/prices";
import { UsageError } from "./args";
import { cliContext, readJsonFile, withDatabase, type Command } from "./runtime";

export const prices: Command = {
  section: "database",
  usage: `  prices load FILE                          加载单价表（JSON，见 README）；同一版本只加载一次
  prices list                               列出已加载的单价表`,
  options: {},
  async run({ words: [sub, file], config, io }) {
    if (sub !== "load" && sub !== "list") throw new UsageError("prices 支持 load、list");
    if (sub === "load" && !file) throw new UsageError("prices load 需要单价表文件");
    return withDatabase(config, async (database) => {
      if (sub === "list") {
        for (const t of await listPriceTables(database.db)) io.out(`${t.version}  自 ${t.effectiveFrom}  ${Object.keys(t.prices).join("、")}\n`);
        return 0;
      }
      const r = await loadPriceTable({ ctx: await cliContext(database, config), input: readJsonFile(file!, "单价表文件") });
      io.out(`单价表 ${r.version} 已加载，自 ${r.effectiveFrom} 起执行\n`);
      return 0;
    });
  },
};
