import { createToken, expiryText, listTokens, revokeToken } from "../directory/tokens";
import { UsageError, type Options } from "./args";
import { cliContext, withDatabase, type Command } from "./runtime";

const user: Options = { user: { type: "string" } };
const createOptions: Options = { ...user, name: { type: "string" }, expires: { type: "string" } };

export const token: Command = {
  section: "database",
  usage: `  token create --user ID [--name NAME] [--expires 30d|YYYY-MM-DD]
                                            为用户签发 API 访问令牌（默认 TOKEN_LIFETIME_DAYS 天后到期，
                                            --expires 指定天数或到期日）
  token revoke TOKEN_ID                     吊销令牌
  token list [--user ID]                    列出令牌及到期时间（不含令牌本身）`,
  options: createOptions,
  optionsFor: ([sub]) => (sub === "list" ? user : sub === "revoke" ? {} : createOptions),
  async run({ words: [sub, id], flags, config, io }) {
    if (sub === "create" && !flags.user) throw new UsageError("token create 需要 --user ID");
    if (sub === "revoke" && !id) throw new UsageError("token revoke 需要令牌 id（tok_…）");
    if (sub !== "create" && sub !== "revoke" && sub !== "list") throw new UsageError("token 支持 create、revoke、list");
    return withDatabase(config, async (database) => {
      const ctx = await cliContext(database, config);
      if (sub === "create") {
        const t = await createToken({
          ctx,
          input: { userId: flags.user!, name: flags.name ?? "", expires: flags.expires },
          lifetimeDays: config.TOKEN_LIFETIME_DAYS,
        });
        io.out(`${t.token}\n`);
        io.err(`令牌 ${t.id} 已签发给 ${t.userId}，${expiryText(t.expiresAt)}到期；只显示这一次，请妥善保存。\n`);
        return 0;
      }
      if (sub === "revoke") {
        await revokeToken({ ctx, input: { id } });
        io.out(`令牌 ${id} 已吊销\n`);
        return 0;
      }
      const now = ctx.clock.now();
      for (const t of await listTokens(database.db, flags.user, { lifetimeDays: config.TOKEN_LIFETIME_DAYS })) {
        const expired = t.expiresAt.getTime() <= now.getTime();
        // A token from before tokens expired shows the expiry it is given, marked as worked out.
        const expiry = `${expired ? "已过期" : "到期"} ${t.expiresAt.toISOString()}${t.expiryAssumed ? `（签发时未设到期，按签发后 ${config.TOKEN_LIFETIME_DAYS} 天计）` : ""}`;
        io.out(`${t.id}  ${t.userId}  ${t.name || "-"}  签发 ${t.createdAt.toISOString()}  ${expiry}${t.revokedAt ? `  已吊销 ${t.revokedAt.toISOString()}` : ""}\n`);
      }
      return 0;
    });
  },
};
