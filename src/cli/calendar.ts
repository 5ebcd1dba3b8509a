import { loadCalendar } from "../calendar/store";
import { loadCalendarYearWithDeadlines } from "../engine";
import { UsageError, type Options } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, readJsonFile, type Command } from "./runtime";

const loadOptions: Options = { ...TOKEN_OPTION, override: { type: "string" } };

export const calendar: Command = {
  section: "database",
  usage: `  calendar is-workday DATE                  是否工作日（true / false）
  calendar add-workdays DATE N              DATE 之后第 N 个工作日（不含当天）
  calendar load FILE [--override 原因]      加载一年的放假安排（JSON）；须含七个法定节假日，
                                            缺少时须以 --override 写明原因才加载（记入审计日志）`,
  options: loadOptions,
  optionsFor: ([sub]) => (sub === "load" ? loadOptions : TOKEN_OPTION),
  async run(args) {
    const { words: [sub, ...rest], flags, config, io } = args;
    if (sub === "load") {
      if (!rest[0]) throw new UsageError("calendar load 需要放假安排文件");
      const schedule = readJsonFile(rest[0], "放假安排文件");
      const { year, replaced, missing, recomputed } = await onDatabaseOrService(
        args,
        async (database) => loadCalendarYearWithDeadlines({ ctx: await cliContext(database, config), input: schedule, override: flags.override }),
        async (call) =>
          (await call("POST", "/api/admin/calendar", { schedule, ...(flags.override === undefined ? {} : { override: flags.override }) })) as {
            year: number;
            replaced: boolean;
            missing: string[];
            recomputed: number;
          },
      );
      io.out(`${year} 年工作日历已${replaced ? "更新" : "加载"}${recomputed > 0 ? `；${recomputed} 个待定期限已计算` : ""}\n`);
      if (missing.length > 0) io.err(`注意：按 --override 加载，缺少 ${missing.join("、")}；公布后请补全再加载一次\n`);
      return 0;
    }
    if (sub !== "is-workday" && sub !== "add-workdays") throw new UsageError("calendar 支持 is-workday、add-workdays、load");
    const [date, count] = rest;
    const n = Number(count);
    if (!date) throw new UsageError(`calendar ${sub} 需要日期 YYYY-MM-DD`);
    if (sub === "add-workdays" && (!Number.isInteger(n) || n < 1)) throw new UsageError("calendar add-workdays 需要日期和正整数 N");
    // Years loaded after release live in the database, so the answer comes from there, or from the running
    // service, which has them all in memory (a year loaded through it is used at once).
    const answer = await onDatabaseOrService(
      args,
      async (database) => {
        const calendar = await loadCalendar(database.db);
        return sub === "is-workday" ? calendar.isWorkday(date) : calendar.addWorkdays(date, n);
      },
      async (call) => {
        const query = new URLSearchParams(sub === "is-workday" ? { date } : { date, n: String(n) });
        const r = (await call("GET", `/api/calendar/${sub}?${query}`)) as { workday: boolean } | { result: string };
        return "workday" in r ? r.workday : r.result;
      },
      "任一用户",
    );
    io.out(`${answer}\n`);
    return 0;
  },
};
