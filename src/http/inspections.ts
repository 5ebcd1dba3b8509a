import { createRoute, z } from "@hono/zod-openapi";
import {
  confirmRectification,
  getInspection,
  listInspections,
  recordInput,
  recordInspection,
  reportRectification,
  returnRectification,
} from "../security/inspections";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const inspection = z
  .object({
    id: z.int(),
    inspectedOn: z.string(),
    kind: z.string(),
    kindText: z.string(),
    scope: z.array(z.string()),
    inspectors: z.string(),
    result: z.string(),
    resultText: z.string(),
    findings: z.array(z.object({ text: z.string() })),
    deadline: z.string().nullable(),
    documentFileId: z.string().nullable(),
    status: z.string(),
    statusText: z.string(),
    overdue: z.boolean(),
    open: z.boolean(),
    rectificationNote: z.string().nullable(),
    rectificationFileId: z.string().nullable(),
    returnReason: z.string().nullable(),
    reportedAt: z.string().nullable().openapi({ description: "最近一次报告整改完成的时间" }),
    recordedBy: z.string(),
    recordedAt: z.string(),
  })
  .openapi("SecurityInspection");

const idParams = z.object({ id: z.coerce.number().int().positive().openapi({ type: "integer", description: "检查记录编号", example: 1 }) });

const list = createRoute({
  method: "get",
  path: "/",
  summary: "安全督查与检查记录（004 第三十九条；统筹管理单位、复核单位、评估实施单位可见）",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ inspections: z.array(inspection) }), "检查记录，新的在前"), ...errorResponses(403) },
});

const one = createRoute({
  method: "get",
  path: "/{id}",
  summary: "一条安全督查与检查记录",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: jsonContent(inspection, "检查记录"), ...errorResponses(403, 404) },
});

const record = createRoute({
  method: "post",
  path: "/",
  summary: "记录对评估实施单位的安全督查或安全检查（统筹管理单位），并即时通知评估实施单位",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { body: { required: true, content: { "application/json": { schema: checkedByTheVerb(recordInput) } } } },
  responses: { 200: jsonContent(inspection, "已记录"), ...errorResponses(403, 422) },
});

const bodyOf = (schema: z.ZodType) => ({ body: { required: true, content: { "application/json": { schema: checkedByTheVerb(schema) } } } });

const report = createRoute({
  method: "post",
  path: "/{id}/report",
  summary: "报告整改完成（评估实施单位）",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { params: idParams, ...bodyOf(z.object({ note: z.string(), fileId: z.string().optional() })) },
  responses: { 200: jsonContent(inspection, "已报告整改完成"), ...errorResponses(403, 404, 409, 422) },
});

const confirm = createRoute({
  method: "post",
  path: "/{id}/confirm",
  summary: "确认整改（统筹管理单位），检查关闭",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: jsonContent(inspection, "已确认整改"), ...errorResponses(403, 404, 409) },
});

const giveBack = createRoute({
  method: "post",
  path: "/{id}/return",
  summary: "整改不到位，退回（统筹管理单位），须写明原因",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { params: idParams, ...bodyOf(z.object({ reason: z.string() })) },
  responses: { 200: jsonContent(inspection, "已退回"), ...errorResponses(403, 404, 409) },
});

const badId = { param: "检查记录编号无效" };

/** /api/inspections: 004 第三十九条 安全督查与检查 of the provider by the manager. */
export function inspectionRoutes() {
  return contractApp()
    .openapi(list, async (c) => c.json({ inspections: await listInspections({ ctx: c.get("ctx") }) }, 200))
    .openapi(one, async (c) => c.json(await getInspection({ ctx: c.get("ctx"), input: c.req.valid("param") }), 200), refuseInvalid(badId))
    .openapi(record, async (c) => c.json(await recordInspection({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200))
    .openapi(report, async (c) => c.json(await reportRectification({ ctx: c.get("ctx"), input: { ...(c.req.valid("json") as object), id: c.req.valid("param").id } }), 200), refuseInvalid(badId))
    .openapi(confirm, async (c) => c.json(await confirmRectification({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } }), 200), refuseInvalid(badId))
    .openapi(giveBack, async (c) => c.json(await returnRectification({ ctx: c.get("ctx"), input: { ...(c.req.valid("json") as object), id: c.req.valid("param").id } }), 200), refuseInvalid(badId));
}
