import { Hono } from "hono";
import { statementCsv, statementOfRecord, statementPage, statementQuery } from "../billing/draft";
import { csvHeaders } from "../core/csv";
import { parseInput } from "../core/validation";
import type { ApiEnv } from "./auth";

/**
 * /api/billing/statements/:month: the month's statement, JSON or CSV, or printable (附件13); the one in the
 * month's sign-off when there is one (what is signed), else as the ledger has it now.
 */
export function billingRoutes() {
  return new Hono<ApiEnv>()
    .get("/statements/:month/print", async (c) => {
      const { month } = parseInput(statementQuery, { month: c.req.param("month") }, "查询参数有误");
      const { statement, signatures } = await statementOfRecord(c.get("ctx"), month);
      return c.html(statementPage(statement, signatures));
    })
    .get("/statements/:month", async (c) => {
      const q = parseInput(statementQuery, { ...c.req.query(), month: c.req.param("month") }, "查询参数有误");
      const { statement, signatures, source } = await statementOfRecord(c.get("ctx"), q.month, q.source);
      if (q.format === "json")
        return c.json({ ...statement, source, signoff: signatures ? { status: signatures.status, sha256: signatures.sha256 } : null });
      return c.body(statementCsv(statement), 200, csvHeaders(`yunshen-statement-${q.month}${source === "signoff" ? "-signoff" : ""}.csv`));
    });
}
