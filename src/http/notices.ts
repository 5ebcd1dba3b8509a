import { createRoute, z } from "@hono/zod-openapi";
import { getIncident, INCIDENT_STATUS, listIncidents, reportIncident, reportInput, reportProgress, reportResult } from "../notices/incidents";
import { announceInput, announceMaintenance, cancelMaintenance, completeMaintenance, getMaintenance, listMaintenance, MAINTENANCE_STATUS } from "../notices/maintenance";
import { withIdempotency } from "./auth";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

// /api/incidents: 故障与突发事件通报 (000 8.2; 001 第十九、二十九条; 002 第二十五、三十条; 003 第三十、三十九条).
// /api/maintenance: 平台变更 / 检修公告 (000 8.4; 002 第三十条).

const named = z.object({ id: z.union([z.string(), z.int()]), name: z.string() });

const incident = z
  .object({
    id: z.int(),
    kind: z.string(),
    kindText: z.string(),
    severity: z.string(),
    severityText: z.string(),
    title: z.string(),
    startedAt: z.string(),
    affectedUnits: z.array(named),
    affectedResources: z.array(named),
    responsibleParty: z.string().nullable(),
    status: z.string(),
    statusText: z.string(),
    reportedBy: z.string(),
    reporterUnitId: z.string(),
    reportedAt: z.string(),
    resolvedAt: z.string().nullable(),
    articles: z.array(z.string()),
    reportDueBy: z.string().nullable().openapi({ description: "首报时限；文件未规定时限（仅要求“及时”）时为 null" }),
    reportedLate: z.boolean(),
    resultDueBy: z.string().nullable(),
    reports: z.array(z.object({ id: z.int(), kind: z.string(), kindText: z.string(), text: z.string(), reportedBy: z.string(), reportedAt: z.string() })),
  })
  .openapi("Incident");

const notice = z
  .object({
    id: z.int(),
    kind: z.string(),
    kindText: z.string(),
    title: z.string(),
    windowStart: z.string(),
    windowEnd: z.string(),
    impact: z.string(),
    verification: z.string().nullable(),
    rollback: z.string().nullable(),
    affectedUnits: z.array(named),
    affectedResources: z.array(named),
    status: z.string(),
    statusText: z.string(),
    result: z.string().nullable(),
    cancelReason: z.string().nullable(),
    announcedBy: z.string(),
    announcedAt: z.string(),
    closedBy: z.string().nullable(),
    closedAt: z.string().nullable(),
    articles: z.array(z.string()),
  })
  .openapi("MaintenanceNotice");

const idempotencyKey = z.object({
  "idempotency-key": z.string().optional().openapi({ description: "同一用户、同一接口、同一请求体的重试返回第一次的结果，不重复通知" }),
});

const idParams = (what: string) => z.object({ id: z.coerce.number().int().positive().openapi({ type: "integer", description: what, example: 1 }) });
const bodyOf = (schema: z.ZodType) => ({ body: { required: true, content: { "application/json": { schema: checkedByTheVerb(schema) } } } });
const statusQuery = <K extends string>(statuses: Record<K, string>) =>
  z.object({
    status: z
      .enum(Object.keys(statuses) as [K, ...K[]], `状态应为：${Object.keys(statuses).join("、")}`)
      .optional()
      .openapi({ description: `只列此状态：${Object.entries(statuses).map(([k, v]) => `${k}（${v}）`).join("、")}` }),
  });

const incidentId = idParams("故障通报编号");

const listIncidentsRoute = createRoute({
  method: "get",
  path: "/",
  summary: "故障与突发事件通报（统筹管理单位、复核单位、云服务商见全部，使用单位见涉及本单位的）",
  security: bearerSecurity,
  request: { query: statusQuery(INCIDENT_STATUS) },
  responses: { 200: jsonContent(z.object({ incidents: z.array(incident) }), "通报，新的在前"), ...errorResponses(403) },
});

const oneIncident = createRoute({
  method: "get",
  path: "/{id}",
  summary: "一条故障与突发事件通报，含首报、续报与处置结果",
  security: bearerSecurity,
  request: { params: incidentId },
  responses: { 200: jsonContent(incident, "通报"), ...errorResponses(403, 404) },
});

const reportRoute = createRoute({
  method: "post",
  path: "/",
  summary: "报告故障或突发事件（云服务商、统筹管理单位或使用单位），即时通知受影响单位、统筹管理单位、复核单位与云服务商",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { headers: idempotencyKey, body: { required: true, content: { "application/json": { schema: checkedByTheVerb(reportInput) } } } },
  responses: { 200: jsonContent(incident, "已通报"), ...errorResponses(403, 422) },
});

const progressRoute = createRoute({
  method: "post",
  path: "/{id}/progress",
  summary: "续报处置进度（云服务商），通知同一批人员",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { headers: idempotencyKey, params: incidentId, ...bodyOf(z.object({ text: z.string() })) },
  responses: { 200: jsonContent(incident, "已续报"), ...errorResponses(403, 404, 409) },
});

const resultRoute = createRoute({
  method: "post",
  path: "/{id}/result",
  summary: "报告处置结果（云服务商），通报关闭，通知同一批人员",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { headers: idempotencyKey, params: incidentId, ...bodyOf(z.object({ text: z.string() })) },
  responses: { 200: jsonContent(incident, "已处置"), ...errorResponses(403, 404, 409) },
});

const badIncident = { param: "故障通报编号无效" };

/** /api/incidents: 故障与突发事件通报. */
export function incidentRoutes() {
  return contractApp()
    .openapi(listIncidentsRoute, async (c) => c.json({ incidents: await listIncidents({ ctx: c.get("ctx"), input: c.req.valid("query") }) }, 200))
    .openapi(oneIncident, async (c) => c.json(await getIncident({ ctx: c.get("ctx"), input: c.req.valid("param") }), 200), refuseInvalid(badIncident))
    .openapi(reportRoute, async (c) => c.json(await reportIncident({ ctx: withIdempotency(c, c.req.valid("json")), input: c.req.valid("json") }), 200))
    .openapi(progressRoute, async (c) => {
      const input = { ...(c.req.valid("json") as object), id: c.req.valid("param").id };
      return c.json(await reportProgress({ ctx: withIdempotency(c, input), input }), 200);
    }, refuseInvalid(badIncident))
    .openapi(resultRoute, async (c) => {
      const input = { ...(c.req.valid("json") as object), id: c.req.valid("param").id };
      return c.json(await reportResult({ ctx: withIdempotency(c, input), input }), 200);
    }, refuseInvalid(badIncident));
}

const noticeId = idParams("变更检修公告编号");

const listNoticesRoute = createRoute({
  method: "get",
  path: "/",
  summary: "平台变更与检修公告（统筹管理单位、复核单位、云服务商见全部，使用单位见涉及本单位的）",
  security: bearerSecurity,
  request: { query: statusQuery(MAINTENANCE_STATUS) },
  responses: { 200: jsonContent(z.object({ notices: z.array(notice) }), "公告，窗口晚的在前"), ...errorResponses(403) },
});

const oneNotice = createRoute({
  method: "get",
  path: "/{id}",
  summary: "一条平台变更与检修公告",
  security: bearerSecurity,
  request: { params: noticeId },
  responses: { 200: jsonContent(notice, "公告"), ...errorResponses(403, 404) },
});

const announceRoute = createRoute({
  method: "post",
  path: "/",
  summary: "提前公告平台升级、变更或检修（云服务商），通知复核单位、统筹管理单位与受影响单位；须满足提前公告期限",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { headers: idempotencyKey, body: { required: true, content: { "application/json": { schema: checkedByTheVerb(announceInput) } } } },
  responses: { 200: jsonContent(notice, "已公告"), ...errorResponses(403, 422) },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/{id}/cancel",
  summary: "取消变更检修（云服务商），须写明原因，通知同一批人员",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { headers: idempotencyKey, params: noticeId, ...bodyOf(z.object({ reason: z.string() })) },
  responses: { 200: jsonContent(notice, "已取消"), ...errorResponses(403, 404, 409) },
});

const completeRoute = createRoute({
  method: "post",
  path: "/{id}/complete",
  summary: "报告变更检修实施结果（云服务商，窗口开始后），通知同一批人员",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { headers: idempotencyKey, params: noticeId, ...bodyOf(z.object({ result: z.string() })) },
  responses: { 200: jsonContent(notice, "已完成"), ...errorResponses(403, 404, 409, 422) },
});

const badNotice = { param: "变更检修公告编号无效" };

/** /api/maintenance: 平台变更 / 检修公告. */
export function maintenanceRoutes() {
  return contractApp()
    .openapi(listNoticesRoute, async (c) => c.json({ notices: await listMaintenance({ ctx: c.get("ctx"), input: c.req.valid("query") }) }, 200))
    .openapi(oneNotice, async (c) => c.json(await getMaintenance({ ctx: c.get("ctx"), input: c.req.valid("param") }), 200), refuseInvalid(badNotice))
    .openapi(announceRoute, async (c) => c.json(await announceMaintenance({ ctx: withIdempotency(c, c.req.valid("json")), input: c.req.valid("json") }), 200))
    .openapi(cancelRoute, async (c) => {
      const input = { ...(c.req.valid("json") as object), id: c.req.valid("param").id };
      return c.json(await cancelMaintenance({ ctx: withIdempotency(c, input), input }), 200);
    }, refuseInvalid(badNotice))
    .openapi(completeRoute, async (c) => {
      const input = { ...(c.req.valid("json") as object), id: c.req.valid("param").id };
      return c.json(await completeMaintenance({ ctx: withIdempotency(c, input), input }), 200);
    }, refuseInvalid(badNotice));
}
