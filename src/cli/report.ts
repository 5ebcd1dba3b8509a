import { monthlyReport, monthlyReportCsv, monthlyReportQuery } from "../reports/monthly";
import { parseInput } from "../core/validation";
import { UsageError } from "./args";
import { cliContext, printJson, withDatabase, type Command } from "./runtime";

export const report: Command = {
  section: "database",
  usage: `  report monthly --month YYYY-MM [--unit U] [--format json|csv] [--table units|late|lowload|provider]
                                            月度报告（资源、利用率、低负载、申请、逾期环节）`,
  options: { month: { type: "string" }, unit: { type: "string" }, format: { type: "string" }, table: { type: "string" } },
  async run({ words: [sub], flags, config, io }) {
    if (sub !== "monthly") throw new UsageError("report 支持 monthly");
    const input = parseInput(monthlyReportQuery, { month: flags.month, unit: flags.unit, format: flags.format, table: flags.table }, "报告参数有误");
    return withDatabase(config, async (database) => {
      const result = await monthlyReport({ ctx: await cliContext(database, config), input });
      if (input.format === "csv") io.out(monthlyReportCsv(result, input.table));
      else printJson(io, result);
      return 0;
    });
  },
};
