import { createRoute, z } from "@hono/zod-openapi";
import { aggregateDemands, demandInput, demandOverview, demandYear, passDemands, planConsentBody, recordPlanConsent, submitDemand } from "../resources/demand";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const sizes = { vcpu: z.number(), memoryGb: z.number(), storageGb: z.number() };
// The verbs that change demands check the year after the caller's role, so their year is only documented here.
const yearParams = z.object({ year: z.string().openapi({ type: "integer", description: "年度", example: 2027 }) });

const consentView = z.object({
  year: z.int(),
  docNo: z.string(),
  consentedOn: z.string(),
  fileId: z.string().nullable(),
  units: z.array(z.object({ unitId: z.string(), ...sizes })),
  total: z.object(sizes),
  recordedBy: z.string(),
  recordedAt: z.iso.datetime(),
});

const overview = createRoute({
  method: "get",
  path: "/{year}",
  summary: "年度资源需求：各单位、各县与全市合计（按角色可见）",
  security: bearerSecurity,
  request: { params: z.object({ year: demandYear.meta({ type: "integer", description: "年度", example: 2027 }) }) },
  responses: {
    200: jsonContent(
      z.object({
        year: z.int(),
        units: z.array(
          z.object({
            unitId: z.string(),
            unitName: z.string(),
            ...sizes,
            note: z.string(),
            submittedAt: z.iso.datetime(),
            passedAt: z.iso.datetime().nullable(),
            passedBy: z.string().nullable().meta({ description: "县级数据局报送人" }),
            supervisorId: z.string().nullable().meta({ description: "主管单位（下属单位才有）" }),
            supervisedAt: z.iso.datetime().nullable().meta({ description: "主管单位汇总报送时间（002 第十七条）" }),
            supervisedBy: z.string().nullable().meta({ description: "主管单位汇总报送人" }),
          }),
        ),
        counties: z.array(z.object({ countyId: z.string(), ...sizes })),
        supervisors: z.array(z.object({ supervisorId: z.string(), units: z.int(), ...sizes })),
        total: z.object(sizes),
        consent: consentView.nullable().openapi({ description: "市人民政府对该年度计划的审定同意（巴中 003 第十四条；市级角色可见）" }),
      }),
      "各单位、各县与全市合计",
    ),
    ...errorResponses(),
  },
});

const submit = createRoute({
  method: "put",
  path: "/{year}",
  summary: "填报本单位下一年的资源需求（申请人），9 月 30 日前",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    params: yearParams,
    body: { required: true, content: { "application/json": { schema: checkedByTheVerb(demandInput.omit({ year: true })) } } },
  },
  responses: {
    200: jsonContent(z.object({ year: z.int(), unitId: z.string(), late: z.boolean(), message: z.string() }), "已填报"),
    ...errorResponses(403, 422),
  },
});

const pass = createRoute({
  method: "post",
  path: "/{year}/pass",
  summary: "县级数据局汇总上报本县各单位的需求",
  security: bearerSecurity,
  request: { params: yearParams },
  responses: { 200: jsonContent(z.object({ year: z.int(), passed: z.int() }), "已上报的单位数"), ...errorResponses(403) },
});

const aggregate = createRoute({
  method: "post",
  path: "/{year}/aggregate",
  summary: "主管单位汇总报送下属单位的需求（002 第十七条）",
  security: bearerSecurity,
  request: { params: yearParams },
  responses: {
    200: jsonContent(z.object({ year: z.int(), passed: z.int(), missing: z.array(z.string()) }), "已报送的下属单位数，及尚未填报的下属单位"),
    ...errorResponses(403),
  },
});

const consent = createRoute({
  method: "put",
  path: "/{year}/consent",
  summary: "登记市人民政府对该年度政务云资源采购计划的审定同意（统筹管理单位；巴中 003 第十四条）",
  description:
    "登记文号、审定同意日期和（可选）审定同意文件（先以 purpose=plan_consent 上传）。计划即登记时市级可见的各单位年度需求（县级单位须已由县级数据局报送），按登记时的数字保存；每年度登记一次。",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    params: yearParams,
    body: { required: true, content: { "application/json": { schema: checkedByTheVerb(planConsentBody) } } },
  },
  responses: { 200: jsonContent(consentView, "已登记的审定同意与计划"), ...errorResponses(403, 409, 422) },
});

/** /api/demands/:year: 年度资源需求 — units submit, 主管单位 and county bureaus pass on, the city sees the totals. */
export function demandRoutes() {
  return contractApp()
    .openapi(overview, async (c) => c.json(await demandOverview({ ctx: c.get("ctx"), input: c.req.valid("param") }), 200), refuseInvalid({ param: "年度无效" }))
    .openapi(submit, async (c) =>
      c.json(await submitDemand({ ctx: c.get("ctx"), input: { ...c.req.valid("json"), year: c.req.valid("param").year } }), 200),
    )
    .openapi(pass, async (c) => c.json(await passDemands({ ctx: c.get("ctx"), input: { year: c.req.valid("param").year } }), 200))
    .openapi(aggregate, async (c) => c.json(await aggregateDemands({ ctx: c.get("ctx"), input: { year: c.req.valid("param").year } }), 200))
    .openapi(consent, async (c) =>
      c.json(await recordPlanConsent({ ctx: c.get("ctx"), input: { ...c.req.valid("json"), year: c.req.valid("param").year } }), 200),
    );
}
