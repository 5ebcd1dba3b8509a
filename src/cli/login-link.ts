import { portalBase } from "../config";
import { createLoginLink, LOGIN_LINK_HOURS } from "../directory/login-links";
import { expiryText } from "../directory/tokens";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, type Command } from "./runtime";

export const loginLink: Command = {
  section: "database",
  usage: `  login-link --user ID                      签发网页端一次性登录链接（${LOGIN_LINK_HOURS} 小时内有效，只能使用一次；
                                            地址取 PUBLIC_URL，未设置时为 http://localhost:$PORT）`,
  options: { ...TOKEN_OPTION, user: { type: "string" } },
  async run(args) {
    const { flags, config, io } = args;
    if (!flags.user) throw new UsageError("login-link 需要 --user ID");
    const input = { userId: flags.user };
    const link = await onDatabaseOrService<{ token: string; userId: string; expiresAt: Date | string }>(
      args,
      async (database) => createLoginLink({ ctx: await cliContext(database, config), input }),
      async (call) => (await call("POST", "/api/admin/login-links", input)) as { token: string; userId: string; expiresAt: string },
    );
    io.out(`${portalBase(config)}/login/${link.token}\n`);
    io.err(`登录链接已签发给 ${link.userId}，${expiryText(new Date(link.expiresAt))}前有效，只能使用一次；请只发给本人。\n`);
    return 0;
  },
};
