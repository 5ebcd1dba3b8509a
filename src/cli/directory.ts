import { importDirectory } from "../directory/import";
import { UsageError } from "./args";
import { cliContext, readJsonFile, withDatabase, type Command } from "./runtime";

export const directory: Command = {
  section: "database",
  usage: "  directory import FILE                     导入或更新单位和用户（JSON，见 README）",
  options: {},
  async run({ words: [sub, file], config, io }) {
    if (sub !== "import") throw new UsageError("directory 只支持 import");
    if (!file) throw new UsageError("directory import 需要通讯录文件");
    return withDatabase(config, async (database) => {
      const result = await importDirectory({ ctx: await cliContext(database, config), input: readJsonFile(file, "通讯录文件") });
      const line = (n: { created: number; updated: number; unchanged: number }) => `新增 ${n.created}，更新 ${n.updated}，未变 ${n.unchanged}`;
      io.out(`单位：${line(result.units)}\n用户：${line(result.users)}\n`);
      return 0;
    });
  },
};
