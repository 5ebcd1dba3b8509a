import { withDatabase, type Command } from "./runtime";

export const migrate: Command = {
  section: "database",
  usage: "  migrate                                   应用数据库迁移",
  options: {},
  async run({ config, io }) {
    await withDatabase(config, async () => undefined);
    io.out("数据库迁移已完成\n");
    return 0;
  },
};
