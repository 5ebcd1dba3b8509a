import { importDirectory, type ImportResult } from "../directory/import";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, readJsonFile, type Command } from "./runtime";

export const directory: Command = {
  section: "database",
  usage: "  directory import FILE                     导入或更新单位和用户（JSON，见 README）",
  options: TOKEN_OPTION,
  async run(args) {
    const [sub, file] = args.words;
    if (sub !== "import") throw new UsageError("directory 只支持 import");
    if (!file) throw new UsageError("directory import 需要通讯录文件");
    const input = readJsonFile(file, "通讯录文件");
    const print = (result: ImportResult) => {
      const line = (n: ImportResult["units"]) => `新增 ${n.created}，更新 ${n.updated}，未变 ${n.unchanged}`;
      args.io.out(`单位：${line(result.units)}\n用户：${line(result.users)}\n`);
      return 0;
    };
    return onDatabaseOrService(
      args,
      async (database) => print(await importDirectory({ ctx: await cliContext(database, args.config), input })),
      async (call) => print((await call("POST", "/api/admin/directory/import", input)) as ImportResult),
    );
  },
};
