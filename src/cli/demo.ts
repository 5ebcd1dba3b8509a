import { DEMO_TOKEN_DAYS, loadDemo } from "../directory/demo";
import { registerDemoSystems } from "../systems/demo";
import { portalBase } from "../config";
import { LOGIN_LINK_HOURS } from "../directory/login-links";
import { expiryText } from "../directory/tokens";
import { invalid } from "../core/errors";
import { cliContext, serviceHolder, withDatabase, type Command } from "./runtime";

export const demo: Command = {
  section: "database",
  usage: `  demo [--shell]                            导入演示通讯录并打印演示用户的访问令牌（7 天后到期；在服务启动前运行）
                                            （--shell：输出 export YS_<用户>=<令牌>，供 eval 使用）`,
  options: { shell: { type: "boolean" } },
  run: ({ flags, config, io }) => {
    // The demo is where one starts with no token at all, so it cannot go through the service's API; and a
    // made-up directory is not for loading into a service that may already serve real people.
    const holder = serviceHolder(config);
    if (holder !== null)
      throw invalid(
        `数据目录 ${config.DATA_DIR} 正被运行中的服务（进程 ${holder}）使用。yunshen demo 在服务启动前运行：请先停止服务，运行 yunshen demo，再启动服务。` +
          `已有系统管理员的令牌时，也可以经服务用 yunshen directory import 和 yunshen token create 导入通讯录、签发令牌`,
      );
    return withDatabase(config, async (database) => {
      const ctx = await cliContext(database, config);
      const { tokens, expiresAt } = await loadDemo(ctx);
      // The example application's system, on the register 梅州 requires (004 第二条).
      await registerDemoSystems(ctx);
      const expiry = `演示令牌 ${DEMO_TOKEN_DAYS} 天有效，${expiryText(expiresAt)}到期，到期后再运行 yunshen demo 即可重新签发`;
      if (flags.shell !== undefined) {
        // `eval "$(npx yunshen demo --shell)"` puts every token in a variable named after the user; the expiry
        // goes to stderr, where a person sees it and eval does not.
        for (const t of tokens) io.out(`export YS_${t.userId.toUpperCase()}=${t.token}\n`);
        io.err(`${expiry}\n`);
        return 0;
      }
      io.out(`演示通讯录已导入。${expiry}。演示用户的访问令牌（只显示这一次）及网页端一次性登录链接（${LOGIN_LINK_HOURS} 小时内有效）：\n`);
      const base = portalBase(config);
      for (const t of tokens) io.out(`  ${t.userId.padEnd(12)} ${t.name}（${t.roles.join(",")}）\n    ${t.token}\n    ${base}/login/${t.loginLink}\n`);
      return 0;
    });
  },
};
