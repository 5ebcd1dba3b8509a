import { createRoute, z } from "@hono/zod-openapi";
import { statementCsv, statementOfRecord, statementPage, statementQuery } from "../billing/draft";
import { paymentFormSchema, type PaymentForm } from "../../flows/payment/form";
import { fundersOf, fundingSplit } from "../billing/funding";
import { listPayments, paymentListQuery } from "../billing/payment";
import { STATUS_NAMES, submitRequest } from "../engine";
import { withIdempotency } from "./auth";
import { actionResultSchema } from "./requests";
import { csvHeaders } from "../core/csv";
import { bearerSecurity, checkedByTheVerb, contractApp, csvMedia, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

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
    funding: z
      .array(z.object({ source: z.string(), level: z.enum(["province", "city", "county"]), name: z.string(), amount: z.number(), unitIds: z.array(z.string()) }))
      .openapi({ description: "资金来源（004 第四十二条）：省级、市级或各县（市、区）级财政各付多少，合计等于结算单合计" }),
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

const fundingShare = z.object({ source: z.string(), level: z.enum(["province", "city", "county"]), name: z.string(), amount: z.number(), unitIds: z.array(z.string()) });

const startPayment = createRoute({
  method: "post",
  path: "/payments",
  summary:
    "发起费用支付（统筹管理单位，004 第四十七条）：支付周期内各月结算单须已三方签字，每月只支付一次；之后评估实施单位和复核单位会签确认，统筹管理单位发起报账（意见填报账单号）",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().optional().openapi({ description: "同一用户、同一请求体的重试返回第一次的结果" }) }),
    // Checked by the flow after the caller's role: a non-manager is refused as such, whatever the body holds.
    body: { required: true, content: { "application/json": { schema: checkedByTheVerb(paymentFormSchema), example: { from: "2026-10", to: "2026-12" } } } },
  },
  responses: { 201: jsonContent(actionResultSchema, "已发起：编号、状态、当前环节"), ...errorResponses(403, 409, 422) },
});

const paymentSchema = z
  .object({
    id: z.int(),
    code: z.string(),
    status: z.string(),
    statusName: z.string(),
    currentStage: z.string().nullable(),
    from: z.string(),
    to: z.string(),
    months: z.array(z.object({ month: z.string(), total: z.number(), code: z.string().openapi({ description: "该月结算流程的编号" }), sha256: z.string() })),
    total: z.number(),
    funding: z.array(fundingShare).openapi({ description: "资金来源（004 第四十二条）" }),
    submittedAt: z.iso.datetime(),
    paid: z.object({ reference: z.string().openapi({ description: "报账单号" }), at: z.iso.datetime().nullable() }).nullable(),
  })
  .openapi("Payment");

const listPaymentsRoute = createRoute({
  method: "get",
  path: "/payments",
  summary: "费用支付列表（004 第四十七条）：支付周期、各月金额、合计、资金来源、状态；已支付的附报账单号",
  security: bearerSecurity,
  request: { query: paymentListQuery },
  responses: { 200: jsonContent(z.object({ items: z.array(paymentSchema) }), "费用支付"), ...errorResponses(403) },
});

/**
 * /api/billing/payments: start a payment (the payment flow's submission) and list them.
 * /api/billing/statements/:month: the month's statement, JSON or CSV, or printable (附件13); the one in the
 * month's sign-off when there is one (what is signed), else as the ledger has it now.
 */
export function billingRoutes() {
  return contractApp()
    .openapi(startPayment, async (c) => {
      // The payment flow's prepare parses the form (paymentFormSchema), after the refusal of a non-manager.
      const input = { flow: "payment" as const, form: c.req.valid("json") as PaymentForm };
      return c.json(await submitRequest({ ctx: withIdempotency(c, input), input }), 201);
    })
    .openapi(listPaymentsRoute, async (c) => {
      const items = await listPayments({ ctx: c.get("ctx"), input: c.req.valid("query") });
      return c.json(
        {
          items: items.map((p) => ({
            ...p,
            statusName: p.status === "completed" ? "已支付" : (STATUS_NAMES[p.status] ?? p.status),
            submittedAt: p.submittedAt.toISOString(),
            paid: p.paid && { reference: p.paid.reference, at: p.paid.at?.toISOString() ?? null },
          })),
        },
        200,
      );
    }, refuseInvalid({ query: "查询参数有误" }))
    .openapi(print, async (c) => {
      const ctx = c.get("ctx");
      const { statement, signatures } = await statementOfRecord(ctx, c.req.valid("param").month);
      return c.html(statementPage(statement, signatures, fundingSplit(statement.units, await fundersOf(ctx.db))), 200);
    }, refuseInvalid({ param: "查询参数有误" }))
    .openapi(statement, async (c) => {
      const { month } = c.req.valid("param");
      const q = c.req.valid("query");
      const ctx = c.get("ctx");
      const { statement, signatures, source } = await statementOfRecord(ctx, month, q.source);
      const funding = fundingSplit(statement.units, await fundersOf(ctx.db));
      if (q.format === "json")
        return c.json({ ...statement, funding, source, signoff: signatures ? { status: signatures.status, sha256: signatures.sha256 } : null }, 200);
      return c.body(statementCsv(statement, funding), 200, csvHeaders(`yunshen-statement-${month}${source === "signoff" ? "-signoff" : ""}.csv`));
    }, refuseInvalid({ param: "查询参数有误" }));
}
