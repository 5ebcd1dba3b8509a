import { createToken, expiryText, listTokens, revokeToken } from "../directory/tokens";
import { UsageError, type Options } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, type CliIo, type Command } from "./runtime";

const user: Options = { ...TOKEN_OPTION, user: { type: "string" } };
const createOptions: Options = { ...user, name: { type: "string" }, expires: { type: "string" } };

/** A token as the service answers it (dates as ISO text) or the database holds it. */
interface ListedToken {
  id: string;
  userId: string;
  name: string;
  createdAt: Date | string;
  expiresAt: Date | string;
  expiryAssumed: boolean;
  revokedAt: Date | string | null;
}

const iso = (at: Date | string) => new Date(at).toISOString();

function printTokens(io: CliIo, tokens: readonly ListedToken[], now: Date, lifetimeDays: number) {
  for (const t of tokens) {
    const expired = new Date(t.expiresAt).getTime() <= now.getTime();
    // A token from before tokens expired shows the expiry it is given, marked as worked out.
    const expiry = `${expired ? "已过期" : "到期"} ${iso(t.expiresAt)}${t.expiryAssumed ? `（签发时未设到期，按签发后 ${lifetimeDays} 天计）` : ""}`;
    io.out(`${t.id}  ${t.userId}  ${t.name || "-"}  签发 ${iso(t.createdAt)}  ${expiry}${t.revokedAt ? `  已吊销 ${iso(t.revokedAt)}` : ""}\n`);
  }
  return 0;
}

export const token: Command = {
  section: "database",
  usage: `  token create --user ID [--name NAME] [--expires 30d|YYYY-MM-DD]
                                            为用户签发 API 访问令牌（默认 TOKEN_LIFETIME_DAYS 天后到期，
                                            --expires 指定天数或到期日）
  token revoke TOKEN_ID                     吊销令牌
  token list [--user ID]                    列出令牌及到期时间（不含令牌本身）`,
  options: createOptions,
  optionsFor: ([sub]) => (sub === "list" ? user : sub === "revoke" ? TOKEN_OPTION : createOptions),
  async run(args) {
    const { words: [sub, id], flags, config, io } = args;
    if (sub === "create" && !flags.user) throw new UsageError("token create 需要 --user ID");
    if (sub === "revoke" && !id) throw new UsageError("token revoke 需要令牌 id（tok_…）");
    if (sub !== "create" && sub !== "revoke" && sub !== "list") throw new UsageError("token 支持 create、revoke、list");
    if (sub === "create") {
      const input = { userId: flags.user!, name: flags.name ?? "", ...(flags.expires === undefined ? {} : { expires: flags.expires }) };
      const print = (t: { id: string; token: string; userId: string; expiresAt: Date | string }) => {
        io.out(`${t.token}\n`);
        io.err(`令牌 ${t.id} 已签发给 ${t.userId}，${expiryText(new Date(t.expiresAt))}到期；只显示这一次，请妥善保存。\n`);
        return 0;
      };
      return onDatabaseOrService(
        args,
        async (database) => print(await createToken({ ctx: await cliContext(database, config), input, lifetimeDays: config.TOKEN_LIFETIME_DAYS })),
        async (call) => print((await call("POST", "/api/admin/tokens", input)) as { id: string; token: string; userId: string; expiresAt: string }),
      );
    }
    if (sub === "revoke") {
      await onDatabaseOrService(
        args,
        async (database) => revokeToken({ ctx: await cliContext(database, config), input: { id } }),
        (call) => call("POST", `/api/admin/tokens/${encodeURIComponent(id!)}/revoke`),
      );
      io.out(`令牌 ${id} 已吊销\n`);
      return 0;
    }
    return onDatabaseOrService(
      args,
      async (database) => printTokens(io, await listTokens(database.db, flags.user, { lifetimeDays: config.TOKEN_LIFETIME_DAYS }), new Date(), config.TOKEN_LIFETIME_DAYS),
      async (call) => {
        const { items } = (await call("GET", `/api/admin/tokens${flags.user ? `?user=${encodeURIComponent(flags.user)}` : ""}`)) as { items: ListedToken[] };
        return printTokens(io, items, new Date(), config.TOKEN_LIFETIME_DAYS);
      },
    );
  },
};
