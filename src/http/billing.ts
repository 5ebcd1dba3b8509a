import { Hono } from "hono";
import { draftStatement, statementCsv, statementPage, statementQuery, statementSignatures } from "../billing/draft";
import { parseInput } from "../validation";
import type { ApiEnv } from "./auth";

/** /api/billing/statements/:month: the month's statement as it stands, JSON or CSV, or printable (附件13). */
export function billingRoutes() {
  return new Hono<ApiEnv>()
    .get("/statements/:month/print", async (c) => {
      const { month } = parseInput(statementQuery, { month: c.req.param("month") }, "查询参数有误");
      // The statement in the sign-off, as drafted there; before there is one, as it stands now.
      const signatures = await statementSignatures(c.get("ctx"), month);
      const statement = signatures?.statement ?? (await draftStatement({ ctx: c.get("ctx"), input: { month } }));
      return c.html(statementPage(statement, signatures));
    })
    .get("/statements/:month", async (c) => {
    const q = parseInput(statementQuery, { ...c.req.query(), month: c.req.param("month") }, "查询参数有误");
    const statement = await draftStatement({ ctx: c.get("ctx"), input: q });
    if (q.format === "json") return c.json(statement);
    return c.body(statementCsv(statement), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="yunshen-statement-${q.month}.csv"`,
    });
  });
}
