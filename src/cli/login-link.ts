import { portalBase } from "../config";
import { createLoginLink, LOGIN_LINK_HOURS } from "../directory/login-links";
import { expiryText } from "../directory/tokens";
import { UsageError } from "./args";
import { cliContext, withDatabase, type Command } from "./runtime";

export const loginLink: Command = {
  section: "database",
  usage: `  login-link --user ID                      签发网页端一次性登录链接（${LOGIN_LINK_HOURS} 小时内有效，只能使用一次；
                                            地址取 PUBLIC_URL，未设置时为 http://localhost:$PORT）`,
  options: { user: { type: "string" } },
  async run({ flags, config, io }) {
    if (!flags.user) throw new UsageError("login-link 需要 --user ID");
    return withDatabase(config, async (database) => {
      const link = await createLoginLink({ ctx: await cliContext(database, config), input: { userId: flags.user! } });
      io.out(`${portalBase(config)}/login/${link.token}\n`);
      io.err(`登录链接已签发给 ${link.userId}，${expiryText(link.expiresAt)}前有效，只能使用一次；请只发给本人。\n`);
      return 0;
    });
  },
};
