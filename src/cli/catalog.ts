import { listServiceCatalogs, loadServiceCatalog, type ServiceCatalog } from "../billing/service-catalog";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, readJsonFile, type Command } from "./runtime";

// 服务目录 (000 5.5, 004 第四条): versions loaded like price tables, each from its effective date.
export const catalog: Command = {
  section: "database",
  usage: `  catalog load FILE                         发布服务目录的新版本（JSON，见 examples/catalog.json）；同一版本只发布一次
  catalog list                              列出已发布的服务目录版本`,
  options: TOKEN_OPTION,
  async run(args) {
    const { words: [sub, file], config, io } = args;
    if (sub !== "load" && sub !== "list") throw new UsageError("catalog 支持 load、list");
    if (sub === "list") {
      const versions = await onDatabaseOrService(
        args,
        (database) => listServiceCatalogs(database.db),
        async (call) => ((await call("GET", "/api/catalog/versions")) as { items: ServiceCatalog[] }).items,
      );
      for (const c of versions) io.out(`${c.version}  自 ${c.effectiveFrom}  ${c.items.length} 项${c.source ? `  ${c.source}` : ""}\n`);
      return 0;
    }
    if (!file) throw new UsageError("catalog load 需要服务目录文件");
    const input = readJsonFile(file, "服务目录文件");
    const r = await onDatabaseOrService(
      args,
      async (database) => loadServiceCatalog({ ctx: await cliContext(database, config), input }),
      async (call) => (await call("POST", "/api/catalog", input)) as { version: string; effectiveFrom: string; items: number },
    );
    io.out(`服务目录 ${r.version} 已发布（${r.items} 项），自 ${r.effectiveFrom} 起执行\n`);
    return 0;
  },
};
