import { createRoute, z } from "@hono/zod-openapi";
import { statementCsv, statementOfRecord, statementPage, statementQuery } from "../billing/draft";
import { csvHeaders } from "../core/csv";
import { bearerSecurity, contractApp, csvMedia, errorResponses, refuseInvalid } from "./contract";

const monthParams = z.object({ month: statementQuery.shape.month.meta({ description: "月份", example: "2026-11" }) });

const statementSchema = z
  .object({
    month: z.string(),
    lines: z.array(
      z.object({
        resourceId: z.int(),
        name: z.string(),
        unitId: z.string(),
        system: z.string(),
        kind: z.string(),
        days: z.int(),
        amount: z.number(),
        segments: z.array(
          z.object({
            from: z.iso.date(),
            to: z.iso.date(),
            days: z.int(),
            spec: z.record(z.string(), z.unknown()),
            version: z.string().nullable().openapi({ description: "所用价格表的版本" }),
            dayPrice: z.number().nullable().openapi({ description: "日单价（元），无适用单价时为 null" }),
          }),
        ),
        flags: z.array(z.enum(["new", "adjusted", "revoked", "backup", "unpriced", "dates"])),
        mismatch: z.array(z.string()),
      }),
    ),
    units: z.array(z.object({ unitId: z.string(), unitName: z.string(), amount: z.number() })),
    total: z.number(),
    source: z.enum(["signoff", "ledger"]),
    signoff: z.object({ status: z.string(), sha256: z.string() }).nullable(),
  })
  .openapi("Statement");

const print = createRoute({
  method: "get",
  path: "/statements/{month}/print",
  summary: "可打印的结算单（附件13 格式）：明细、各单位金额、三方签字及签字时的摘要",
  security: bearerSecurity,
  request: { params: monthParams },
  responses: {
    200: { description: "可打印的 HTML 页面", content: { "text/html": { schema: z.string() } } },
    ...errorResponses(403),
  },
});

const statement = createRoute({
  method: "get",
  path: "/statements/{month}",
  summary:
    "某月费用结算单（按天、按当日规格与单价计）；标记新增、调整、撤销、备份、无单价与日期不符的资源（json 或 csv）。已进入结算流程的，默认给出流程中的结算单（签字所据），source=ledger 按台账重新计算",
  security: bearerSecurity,
  request: { params: monthParams, query: statementQuery.omit({ month: true }) },
  responses: {
    200: { description: "结算单（format=json），或其明细（format=csv）", content: { "application/json": { schema: statementSchema }, ...csvMedia } },
    ...errorResponses(403, 404),
  },
});

/**
 * /api/billing/statements/:month: the month's statement, JSON or CSV, or printable (附件13); the one in the
 * month's sign-off when there is one (what is signed), else as the ledger has it now.
 */
export function billingRoutes() {
  return contractApp()
    .openapi(print, async (c) => {
      const { statement, signatures } = await statementOfRecord(c.get("ctx"), c.req.valid("param").month);
      return c.html(statementPage(statement, signatures), 200);
    }, refuseInvalid({ param: "查询参数有误" }))
    .openapi(statement, async (c) => {
      const { month } = c.req.valid("param");
      const q = c.req.valid("query");
      const { statement, signatures, source } = await statementOfRecord(c.get("ctx"), month, q.source);
      if (q.format === "json")
        return c.json({ ...statement, source, signoff: signatures ? { status: signatures.status, sha256: signatures.sha256 } : null }, 200);
      return c.body(statementCsv(statement), 200, csvHeaders(`yunshen-statement-${month}${source === "signoff" ? "-signoff" : ""}.csv`));
    }, refuseInvalid({ param: "查询参数有误" }));
}
