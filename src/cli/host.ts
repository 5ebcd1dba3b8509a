import { addHost, listHosts, revokeHost, rotateHost } from "../access/hosts";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, type Command } from "./runtime";

export const host: Command = {
  section: "database",
  usage: `  host add NAME                             登记堡垒机或虚拟机，打印它调用 /access 的凭据
  host rotate NAME                          为主机换发新凭据（旧凭据立即失效）
  host revoke NAME                          吊销主机凭据
  host list                                 列出已登记的主机`,
  options: TOKEN_OPTION,
  async run(args) {
    const { words: [sub, name], config, io } = args;
    if (sub !== "add" && sub !== "rotate" && sub !== "revoke" && sub !== "list") throw new UsageError("host 支持 add、rotate、revoke、list");
    if (sub !== "list" && !name) throw new UsageError(`host ${sub} 需要主机名`);
    const path = `/api/admin/hosts/${encodeURIComponent(name ?? "")}/${sub}`;
    if (sub === "add" || sub === "rotate") {
      const print = (h: { name: string; credential: string }) => {
        io.out(`${h.credential}\n`);
        io.err(`主机 ${h.name} 的凭据只显示这一次：请写入该主机的 /etc/yunshen/host.token（仅 root 可读）。\n`);
        return 0;
      };
      return onDatabaseOrService(
        args,
        async (database) => {
          const ctx = await cliContext(database, config);
          return print(sub === "add" ? await addHost({ ctx, input: { name } }) : await rotateHost({ ctx, input: { name } }));
        },
        async (call) => print((await (sub === "add" ? call("POST", "/api/admin/hosts", { name }) : call("POST", path))) as { name: string; credential: string }),
      );
    }
    if (sub === "revoke") {
      await onDatabaseOrService(
        args,
        async (database) => revokeHost({ ctx: await cliContext(database, config), input: { name } }),
        (call) => call("POST", path),
      );
      io.out(`主机 ${name} 的凭据已吊销\n`);
      return 0;
    }
    const print = (hosts: { name: string; createdAt: Date | string; revokedAt: Date | string | null }[]) => {
      const iso = (at: Date | string) => new Date(at).toISOString();
      for (const h of hosts) io.out(`${h.name}  登记 ${iso(h.createdAt)}${h.revokedAt ? `  已吊销 ${iso(h.revokedAt)}` : ""}\n`);
      return 0;
    };
    return onDatabaseOrService(
      args,
      async (database) => print(await listHosts(database.db)),
      async (call) => print(((await call("GET", "/api/admin/hosts")) as { items: Parameters<typeof print>[0] }).items),
    );
  },
};
