import { addHost, listHosts, revokeHost, rotateHost } from "../access/hosts";
import { UsageError } from "./args";
import { cliContext, withDatabase, type Command } from "./runtime";

export const host: Command = {
  section: "database",
  usage: `  host add NAME                             登记堡垒机或虚拟机，打印它调用 /access 的凭据
  host rotate NAME                          为主机换发新凭据（旧凭据立即失效）
  host revoke NAME                          吊销主机凭据
  host list                                 列出已登记的主机`,
  options: {},
  async run({ words: [sub, name], config, io }) {
    if (sub !== "add" && sub !== "rotate" && sub !== "revoke" && sub !== "list") throw new UsageError("host 支持 add、rotate、revoke、list");
    if (sub !== "list" && !name) throw new UsageError(`host ${sub} 需要主机名`);
    return withDatabase(config, async (database) => {
      const ctx = await cliContext(database, config);
      if (sub === "add" || sub === "rotate") {
        const h = sub === "add" ? await addHost({ ctx, input: { name } }) : await rotateHost({ ctx, input: { name } });
        io.out(`${h.credential}\n`);
        io.err(`主机 ${h.name} 的凭据只显示这一次：请写入该主机的 /etc/yunshen/host.token（仅 root 可读）。\n`);
        return 0;
      }
      if (sub === "revoke") {
        await revokeHost({ ctx, input: { name } });
        io.out(`主机 ${name} 的凭据已吊销\n`);
        return 0;
      }
      for (const h of await listHosts(database.db))
        io.out(`${h.name}  登记 ${h.createdAt.toISOString()}${h.revokedAt ? `  已吊销 ${h.revokedAt.toISOString()}` : ""}\n`);
      return 0;
    });
  },
};
