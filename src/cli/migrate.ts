import { statSync } from "node:fs";
import { join } from "node:path";
import { migrationsFolder } from "../../db/client";
import { DataDirLockedError, lockPath } from "../../db/lock";
import { invalid } from "../core/errors";
import { serviceUrl } from "./client";
import { serviceHolder, withDatabase, type Command } from "./runtime";

export const migrate: Command = {
  section: "database",
  usage: "  migrate                                   应用数据库迁移（服务运行中时，它已在启动时应用过）",
  options: {},
  async run({ config, io }) {
    const holder = serviceHolder(config);
    if (holder === null) {
      await withDatabase(config, async () => undefined);
      io.out("数据库迁移已完成\n");
      return 0;
    }
    // The service migrates before it listens, so one that answers /healthz has applied the migrations it read
    // at start. Those are this version's unless the migrations changed after it took the directory.
    const healthy = await fetch(`${serviceUrl(io, config)}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (!healthy) throw new DataDirLockedError(config.DATA_DIR, holder);
    const startedAt = statSync(lockPath(config.DATA_DIR)).mtimeMs;
    if (statSync(join(migrationsFolder, "meta", "_journal.json")).mtimeMs > startedAt)
      throw invalid(`运行中的服务（进程 ${holder}）启动之后，数据库迁移有了更新：请重启服务，它在启动时应用迁移`);
    io.out(`数据库迁移已由运行中的服务（进程 ${holder}）在启动时完成，无需再次运行\n`);
    return 0;
  },
};
