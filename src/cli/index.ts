import { readFileSync } from "node:fs";
import { DataDirLockedError } from "../../db/lock";
import { readConfig } from "../config";
import { safeErrorMessage, ServiceError } from "../core/errors";
import { HELP_OPTIONS, locateCommand, nearest, parseStrict, UsageError, type Options } from "./args";
import { audit } from "./audit";
import { calendar } from "./calendar";
import { demo } from "./demo";
import { directory } from "./directory";
import { host } from "./host";
import { loginLink } from "./login-link";
import { metrics } from "./metrics";
import { migrate } from "./migrate";
import { prices } from "./prices";
import { catalog } from "./catalog";
import { report } from "./report";
import { request } from "./request";
import type { CliIo, Command } from "./runtime";
import { token } from "./token";

export type { CliIo } from "./runtime";

/** Every command by its name, in the order the help lists them. */
const COMMANDS: Record<string, Command> = { migrate, demo, directory, token, "login-link": loginLink, host, metrics, prices, catalog, report, audit, calendar, request };
// Own keys only: "constructor" is no command.
const commandNamed = (name: string) => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);

const SECTIONS: Record<Command["section"], string> = {
  database:
    "数据库（使用 DATABASE_URL 指定的 PostgreSQL，未设置时使用 DATA_DIR 下的 PGlite；服务运行中占用 DATA_DIR 时，\n" +
    "除 demo 和 audit anchor 外的命令改经服务的接口执行（YUNSHEN_URL，令牌 YUNSHEN_TOKEN 或 --token，须是该接口允许的角色），\n" +
    "migrate 说明服务已在启动时应用迁移",
  service: "通过运行中的服务（YUNSHEN_URL，默认 http://127.0.0.1:$PORT；令牌 YUNSHEN_TOKEN 或 --token）",
};

const EXIT_STATUS = "退出状态：0 成功；1 出错；2 用法有误（缺少参数，不认识的命令或参数）";

export const USAGE = `用法：yunshen <命令>

${Object.entries(SECTIONS)
  .map(([section, title]) => {
    const commands = Object.values(COMMANDS).filter((c) => c.section === section);
    return `${title}：\n${commands.map((c) => c.usage).join("\n")}`;
  })
  .join("\n\n")}

其他：
  help [命令]、-h、--help                   打印用法；yunshen <命令> --help 只打印该命令的用法
  --version                                 打印版本号

${EXIT_STATUS}`;

/** What `yunshen NAME --help` prints: that command's lines and where it works. */
export function commandHelp(name: string): string {
  const command = COMMANDS[name]!;
  return `用法：yunshen ${name} …\n\n${SECTIONS[command.section]}：\n${command.help ?? command.usage}\n\n${EXIT_STATUS}`;
}

const GLOBAL: Options = { ...HELP_OPTIONS, version: { type: "boolean" } };
// Every flag of every command, so that the command's name is found wherever its flags are put.
const ALL_OPTIONS: Options = Object.assign({}, ...Object.values(COMMANDS).map((c) => c.options), GLOBAL);

const version = () => (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function unknownCommand(name: string): UsageError {
  const meant = nearest(name, [...Object.keys(COMMANDS), "help"]);
  return new UsageError(`不认识的命令：${name}${meant ? `，你是不是想用 ${meant}？` : ""}`, USAGE);
}

/** Runs one command; returns the exit status. Errors print one line on stderr (a usage error then the usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n${err.usage ?? USAGE}\n`);
      return 2;
    }
    if (err instanceof ServiceError || err instanceof DataDirLockedError) {
      io.err(`${err.message}\n`);
      if (err instanceof ServiceError && err.fields)
        for (const [field, messages] of Object.entries(err.fields)) io.err(`  ${field}：${messages.join("；")}\n`);
      return 1;
    }
    // Never a database error's message: it carries the statement's parameters (invariant 8).
    io.err(`出错：${safeErrorMessage(err)}\n`);
    return 1;
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const located = locateCommand(argv, ALL_OPTIONS);
  const name = located.command;
  if (name === undefined) {
    const { flags } = parseStrict(argv, GLOBAL);
    if (flags.version) {
      io.out(`${version()}\n`);
      return 0;
    }
    io.out(`${USAGE}\n`);
    return flags.help ? 0 : 2;
  }
  if (name === "help") {
    const [about] = located.words;
    if (about !== undefined && !commandNamed(about)) throw unknownCommand(about);
    io.out(`${about ? commandHelp(about) : USAGE}\n`);
    return 0;
  }
  const command = commandNamed(name);
  if (!command) throw unknownCommand(name);
  if (located.flags.help) {
    io.out(`${commandHelp(name)}\n`);
    return 0;
  }
  try {
    const { words, flags } = parseStrict(located.rest, command.optionsFor?.(located.words) ?? command.options);
    return await command.run({ words, flags, config: readConfig(io.env), io });
  } catch (err) {
    if (err instanceof UsageError) err.usage ??= commandHelp(name);
    throw err;
  }
}
