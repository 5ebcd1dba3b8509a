import { Hono } from "hono";
import { draftStatement, statementCsv, statementQuery } from "../billing/draft";
import { parseInput } from "../validation";
import type { ApiEnv } from "./auth";

/** /api/billing/statements/:month: the month's statement as it stands, JSON or CSV. */
export function billingRoutes() {
  return new Hono<ApiEnv>().get("/statements/:month", async (c) => {
    const q = parseInput(statementQuery, { ...c.req.query(), month: c.req.param("month") }, "查询参数有误");
    const statement = await draftStatement({ ctx: c.get("ctx"), input: q });
    if (q.format === "json") return c.json(statement);
    return c.body(statementCsv(statement), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="yunshen-statement-${q.month}.csv"`,
    });
  });
}
