import { Hono } from "hono";
import { csvHeaders } from "../core/csv";
import { monthlyReport, monthlyReportCsv, monthlyReportQuery } from "../reports/monthly";
import { parseInput } from "../core/validation";
import type { ApiEnv } from "./auth";

/** /api/reports/monthly: the monthly report, as JSON or one of its tables as CSV for Excel. */
export function reportRoutes() {
  return new Hono<ApiEnv>().get("/monthly", async (c) => {
    const q = parseInput(monthlyReportQuery, c.req.query(), "查询参数有误");
    const report = await monthlyReport({ ctx: c.get("ctx"), input: q });
    if (q.format === "json") return c.json(report);
    return c.body(monthlyReportCsv(report, q.table), 200, csvHeaders(`yunshen-report-${q.month}${q.table === "units" ? "" : `-${q.table}`}.csv`));
  });
}
