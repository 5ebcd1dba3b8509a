import { listPriceTables, loadPriceTable, type PriceTable } from "../billing/prices";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, readJsonFile, type Command } from "./runtime";

export const prices: Command = {
  section: "database",
  usage: `  prices load FILE                          加载单价表（JSON，见 README）；同一版本只加载一次
  prices list                               列出已加载的单价表`,
  options: TOKEN_OPTION,
  async run(args) {
    const { words: [sub, file], config, io } = args;
    if (sub !== "load" && sub !== "list") throw new UsageError("prices 支持 load、list");
    if (sub === "list") {
      const tables = await onDatabaseOrService(
        args,
        (database) => listPriceTables(database.db),
        async (call) => ((await call("GET", "/api/admin/prices")) as { items: PriceTable[] }).items,
      );
      for (const t of tables) io.out(`${t.version}  自 ${t.effectiveFrom}  ${Object.keys(t.prices).join("、")}\n`);
      return 0;
    }
    if (!file) throw new UsageError("prices load 需要单价表文件");
    const table = readJsonFile(file, "单价表文件");
    const r = await onDatabaseOrService(
      args,
      async (database) => loadPriceTable({ ctx: await cliContext(database, config), input: table }),
      async (call) => (await call("POST", "/api/admin/prices", table)) as { version: string; effectiveFrom: string },
    );
    io.out(`单价表 ${r.version} 已加载，自 ${r.effectiveFrom} 起执行\n`);
    return 0;
  },
};
