import { monthlyReport, monthlyReportCsv, monthlyReportQuery } from "../reports/monthly";
import { parseInput } from "../core/validation";
import { UsageError } from "./args";
import { TOKEN_OPTION } from "./client";
import { cliContext, onDatabaseOrService, printJson, type Command } from "./runtime";

export const report: Command = {
  section: "database",
  usage: `  report monthly --month YYYY-MM [--unit U] [--format json|csv] [--table units|late|lowload|provider|flagged|inspections]
                                            月度报告（资源、利用率、低负载、申请、逾期环节、紧急申请与专属资源池、安全督查与检查）`,
  options: { ...TOKEN_OPTION, month: { type: "string" }, unit: { type: "string" }, format: { type: "string" }, table: { type: "string" } },
  async run(args) {
    const { words: [sub], flags, config, io } = args;
    if (sub !== "monthly") throw new UsageError("report 支持 monthly");
    const input = parseInput(monthlyReportQuery, { month: flags.month, unit: flags.unit, format: flags.format, table: flags.table }, "报告参数有误");
    // The CSV table as text, or the report as JSON (dates print as the API answers them).
    const answer: unknown = await onDatabaseOrService(
      args,
      async (database) => {
        const result = await monthlyReport({ ctx: await cliContext(database, config), input });
        return input.format === "csv" ? monthlyReportCsv(result, input.table) : result;
      },
      async (call) => {
        const query = new URLSearchParams({ month: input.month, format: input.format, table: input.table, ...(input.unit ? { unit: input.unit } : {}) });
        const res = await call.raw("GET", `/api/reports/monthly?${query}`);
        // The CSV's BOM (for Excel) kept, as on the database; res.text() would drop it.
        return input.format === "csv" ? new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer()) : res.json();
      },
      // These roles see every unit, as the CLI does on the database.
      "统筹管理单位、评估实施单位或复核单位",
    );
    if (input.format === "csv") io.out(answer as string);
    else printJson(io, answer);
    return 0;
  },
};
