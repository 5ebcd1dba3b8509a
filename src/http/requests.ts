import { createRoute, z } from "@hono/zod-openapi";
import {
  actionInputSchema,
  actOnRequest,
  exportRequestsCsv,
  getRequest,
  listQuerySchema,
  listRequests,
  previewRequest,
  requestIdByCode,
  searchQuerySchema,
  submitInputSchema,
  submitRequest,
} from "../engine";
import { csvHeaders } from "../core/csv";
import { shanghaiDate } from "../core/calendar";
import { notFound } from "../core/errors";
import { withIdempotency } from "./auth";
import type { ServiceContext } from "../core/context";
import { bearerSecurity, contractApp, csvMedia, documentedAs, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const requestRef = z.union([
  z.coerce.number<string>().int().positive().max(Number.MAX_SAFE_INTEGER),
  z.string().regex(/^YS-\d{4}-\d{5,}$/, "应为申请编号（如 YS-2026-00001）或数字 id"),
]);
const requestParams = z.object({
  id: z
    .string()
    .transform((ref) => (/^\d+$/.test(ref) ? ref : ref.toUpperCase()))
    .pipe(requestRef)
    .openapi({ type: "string", description: "申请 id 或编号（YS-2026-00001）", example: "YS-2026-00001" }),
});

const idempotencyKey = z.object({
  "idempotency-key": z
    .string()
    .optional()
    .openapi({ description: "同一用户、同一接口、同一请求体的重试返回第一次的结果" }),
});

/** A request named by id or by its code (YS-2026-00001). */
async function resolveRequestId(ctx: ServiceContext, ref: number | string): Promise<number> {
  if (typeof ref === "number") return ref;
  const id = await requestIdByCode(ctx.db, ref);
  if (id === null) throw notFound(`申请 ${ref} 不存在或您无权查看`);
  return id;
}

const date = z.iso.datetime();
const totals = z.object({ hosts: z.number(), vcpu: z.number(), memoryGb: z.number(), storageGb: z.number() });
const summary = z.array(z.object({ label: z.string(), value: z.string() }));

export const actionResultSchema = z
  .object({
    id: z.int(),
    code: z.string(),
    status: z.string(),
    statusName: z.string(),
    currentStage: z.string().nullable(),
    message: z.string(),
  })
  .openapi("ActionResult");

const decisions = z.array(z.object({ action: z.string(), label: z.string(), asks: z.string().nullable() }));

const listItem = z.object({
  id: z.int(),
  code: z.string(),
  title: z.string(),
  unitId: z.string(),
  unitName: z.string(),
  applicantId: z.string(),
  flow: z.string(),
  flowName: z.string(),
  status: z.string(),
  statusName: z.string(),
  currentStage: z.string().nullable(),
  currentStageName: z.string().nullable(),
  overdue: z.boolean(),
  deadlineAt: date.nullable(),
  totals: totals.optional(),
  summary,
  badge: z.string().nullable().openapi({ description: "列表中编号旁的标记，如“紧急”（004 第四十八条紧急特殊情况）" }),
  submittedAt: date,
  updatedAt: date,
  stageRunId: z.int().optional().openapi({ description: "仅待办：当前环节的 runId，办理时作为 stageRunId 提交" }),
  decisions: decisions.optional().openapi({ description: "仅待办：您在当前环节可作的决定；asks 为 null 的无需再填写内容，否则为须填写的内容（如驳回理由）" }),
});

const stageRun = z.object({
  runId: z.int(),
  stage: z.string(),
  name: z.string(),
  mode: z.enum(["any", "all"]),
  elapses: z.boolean(),
  status: z.string(),
  openedAt: date,
  closedAt: date.nullable(),
  deadlineAt: date.nullable(),
  deadlinePending: z.boolean(),
  earliestAt: date.nullable(),
  overdue: z.boolean(),
  workdays: z.object({ used: z.number().nullable(), left: z.number().nullable() }).optional().openapi({ description: "已用与剩余工作日" }),
  decisions: decisions.optional().openapi({ description: "仅办理中的环节：其处理人可作的决定；asks 为 null 的无需再填写内容，否则为须填写的内容" }),
  formSpec: z
    .object({
      name: z.string(),
      fields: z.array(
        z.object({
          name: z.string().openapi({ description: "在 form 中的路径，如 contact.mobile" }),
          label: z.string(),
          kind: z.enum(["text", "textarea", "date", "tel", "select", "file"]),
          optional: z.boolean(),
          purpose: z.string().optional().openapi({ description: "file 栏：先以此 purpose 上传（POST /api/files），再在 form 中填写得到的文件编号" }),
          options: z.array(z.object({ value: z.union([z.string(), z.number()]), label: z.string() })).optional(),
          hint: z.string().optional(),
        }),
      ),
    })
    .optional()
    .openapi({ description: "仅办理中且须填表的环节：同意（或确认）时 form 中须填写的各栏" }),
  form: z
    .object({ name: z.string().nullable(), values: z.record(z.string(), z.unknown()) })
    .nullable()
    .openapi({ description: "该环节办理时填写的表单（如梅州“申请上线前安全检测”的附件6 安全检测申请表），无表单的环节为 null" }),
  tasks: z.array(
    z.object({
      id: z.int(),
      party: z.string(),
      userId: z.string(),
      userName: z.string(),
      status: z.string(),
      note: z.string().nullable(),
      decidedAt: date.nullable(),
    }),
  ),
});

const requestDetail = z
  .object({
    id: z.int(),
    code: z.string(),
    flow: z.string(),
    profile: z.string(),
    title: z.string(),
    status: z.string(),
    statusName: z.string(),
    overdue: z.boolean(),
    unit: z.object({
      id: z.string(),
      name: z.string(),
      county: z.object({ id: z.string(), name: z.string() }).nullable(),
      // 002 第二十三条: the unit's 主管单位 when it is a 下属单位.
      supervisor: z.object({ id: z.string(), name: z.string() }).nullable().openapi({ description: "主管单位（下属单位才有）" }),
    }),
    applicant: z.object({ id: z.string(), name: z.string() }).optional(),
    submittedAt: date,
    closedAt: date.nullable(),
    totals: totals.optional(),
    summary,
    form: z.unknown().openapi({ description: "提交时的表单（按流程的表单结构）" }),
    currentStage: stageRun.nullable(),
    stages: z.array(stageRun),
    findings: z.array(
      z.object({
        id: z.int(),
        requestId: z.int(),
        stage: z.string().nullable(),
        kind: z.enum(["rectification", "warning"]),
        text: z.string(),
        byUserId: z.string().nullable(),
        createdAt: date,
      }),
    ),
    rating: z
      .object({
        score: z.enum(["satisfied", "basic", "dissatisfied"]),
        scoreName: z.enum(["满意", "基本满意", "不满意"]),
        comment: z.string().nullable(),
        at: date,
      })
      .nullable(),
    history: z.array(
      z.object({
        seq: z.int(),
        at: date,
        actorId: z.string().nullable(),
        action: z.string(),
        stage: z.string().nullable(),
        outcome: z.enum(["ok", "refused"]),
        channel: z.string(),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .openapi("RequestDetail");

// One documented schema for both routes that read a submission, so the document names it once.
const submitBody = documentedAs(submitInputSchema, "SubmitRequest");

const submit = createRoute({
  method: "post",
  path: "/",
  summary: "提交申请（申请人）",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    headers: idempotencyKey,
    body: { required: true, content: { "application/json": { schema: submitBody } } },
  },
  responses: { 201: jsonContent(actionResultSchema, "已提交：编号、状态、当前环节"), ...errorResponses(403, 409, 422) },
});

const person = z.object({ id: z.string(), name: z.string(), unitName: z.string() });
const previewSchema = z
  .object({
    flow: z.string(),
    flowName: z.string(),
    title: z.string(),
    unitName: z.string(),
    from: z.iso.date().openapi({ description: "起算日（今天）" }),
    stages: z.array(
      z.object({
        stage: z.string(),
        name: z.string(),
        mode: z.enum(["any", "all"]).openapi({ description: "any 或签（一人决定），all 会签（各方都须同意）" }),
        elapses: z.boolean().openapi({ description: "期满自动结束的期间（无人审批）" }),
        parties: z.array(
          z.object({
            party: z.string(),
            partyName: z.string(),
            people: z.array(person).openapi({ description: "将办理此环节的人；通讯录中尚无此人时为空，只显示单位类别" }),
          }),
        ),
        span: z.string().nullable().openapi({ description: "办理时限，如「3 个工作日」" }),
        by: z.iso.date().nullable().openapi({ description: "前序各环节都用满时限时，此环节最迟的办结日" }),
        deadlineAt: date.nullable(),
        pending: z.boolean().openapi({ description: "期限所在年份的工作日历尚未加载" }),
      }),
    ),
  })
  .openapi("RequestPreview");

const preview = createRoute({
  method: "post",
  path: "/preview",
  summary: "提交前预览：按提交时的规则校验表单（不保存），列出将经过的各环节、由谁办理、最迟哪天办结（按工作日推算）",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { body: { required: true, content: { "application/json": { schema: submitBody } } } },
  responses: { 200: jsonContent(previewSchema, "各环节的办理人和最迟办结日"), ...errorResponses(403, 409, 422) },
});

const list = createRoute({
  method: "get",
  path: "/",
  summary: "申请列表：mine 我的申请，todo 我的待办，all 按角色可见的全部；可按编号、系统名称、单位、流程、状态、提交日期查询",
  security: bearerSecurity,
  request: { query: listQuerySchema },
  responses: {
    200: jsonContent(z.object({
        items: z.array(listItem),
        next: z.int().nullable().openapi({ description: "下一页的 before" }),
        total: z.int().optional().openapi({ description: "order=deadline 时：待办共有多少件" }),
      }), "申请列表"),
    ...errorResponses(),
  },
});

const exportCsv = createRoute({
  method: "get",
  path: "/export.csv",
  summary: "导出查询结果为 CSV（与申请列表同样的查询条件和可见范围，最多 10000 条）",
  security: bearerSecurity,
  request: { query: searchQuerySchema },
  responses: { 200: { description: "查询结果（CSV，UTF-8 带 BOM）", content: csvMedia }, ...errorResponses() },
});

const show = createRoute({
  method: "get",
  path: "/{id}",
  summary: "申请详情：各环节、当前处理人、工作日期限（已用/剩余）、整改与警示、完整历史",
  security: bearerSecurity,
  request: { params: requestParams },
  responses: { 200: jsonContent(requestDetail, "申请详情"), ...errorResponses(404) },
});

const act = createRoute({
  method: "post",
  path: "/{id}/actions",
  summary:
    "办理：approve 同意、confirm 确认、reject 驳回、return 退回、fail 未通过、transfer 转交、comment 评论、withdraw 撤回、resubmit 重新提交、finding 整改通知/工作警示、extend 延长期限、nudge 催办、rate 服务评价（办结后由申请人评价一次）",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    params: requestParams,
    headers: idempotencyKey,
    body: { required: true, content: { "application/json": { schema: documentedAs(actionInputSchema, "RequestAction") } } },
  },
  responses: { 200: jsonContent(actionResultSchema, "办理结果"), ...errorResponses(403, 404, 409, 422) },
});

export function requestRoutes() {
  return contractApp()
    .openapi(submit, async (c) => {
      const input = c.req.valid("json");
      const result = await submitRequest({ ctx: withIdempotency(c, input), input });
      return c.json(result, 201);
    })
    .openapi(preview, async (c) => c.json(await previewRequest({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200))
    .openapi(list, async (c) => c.json(await listRequests({ ctx: c.get("ctx"), input: c.req.valid("query") }), 200))
    .openapi(exportCsv, async (c) => {
      const { csv } = await exportRequestsCsv({ ctx: c.get("ctx"), input: c.req.valid("query") });
      return c.body(csv, 200, csvHeaders(`yunshen-requests-${shanghaiDate(c.get("ctx").clock.now())}.csv`));
    })
    .openapi(
      show,
      async (c) => {
        const ctx = c.get("ctx");
        return c.json(await getRequest({ ctx, input: { id: await resolveRequestId(ctx, c.req.valid("param").id) } }), 200);
      },
      refuseInvalid({ param: "申请编号无效" }),
    )
    .openapi(
      act,
      async (c) => {
        const requestId = await resolveRequestId(c.get("ctx"), c.req.valid("param").id);
        const input = c.req.valid("json");
        // Keyed by the resolved id, so a retry naming the request by its code instead of its id is still a retry.
        const ctx = withIdempotency(c, input, `actions ${requestId}`);
        return c.json(await actOnRequest({ ctx, input: { ...input, requestId } }), 200);
      },
      refuseInvalid({ param: "申请编号无效" }),
    );
}
