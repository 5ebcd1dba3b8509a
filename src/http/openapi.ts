import { z } from "zod";
import { actionInputSchema, submitInputSchema } from "../engine/requests";
import { listQuerySchema } from "../engine/views";
import { ROLES } from "../directory/roles";

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any", target: "openapi-3.0" });

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", example: "already_decided" },
        message: { type: "string", example: "「审批」已由李华处理" },
        fields: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
      },
    },
  },
};

const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [String(code), { description: ERROR_TEXT[code], content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: "输入有误（fields 列出每个错误字段）",
  401: "缺少或无效的访问令牌",
  403: "无权进行此操作",
  404: "不存在或无权查看",
  409: "状态冲突：已由他人处理、申请已结束、Idempotency-Key 重用",
  413: "请求体过大",
  422: "规则不允许：缺少附件、需要说明、未到期限、工作日历未覆盖等",
};

const ok = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });
const idParam = { name: "id", in: "path", required: true, schema: { type: "string" }, description: "申请 id 或编号（YS-2026-00001）" };
const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", maxLength: 200 },
  description: "同一用户、同一接口、同一请求体的重试返回第一次的结果",
};

let cached: object | null = null;

/** GET /openapi.json: generated from the same zod schemas the routes validate with. */
export function openApiDocument(): object {
  cached ??= {
    openapi: "3.0.3",
    info: { title: "云审 yunshen API", version: "0.1.0", description: "政务云资源申请审批：提交、办理、查询与通讯录。所有 /api 接口需 Bearer 令牌。" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: errorSchema, SubmitRequest: schema(submitInputSchema), RequestAction: schema(actionInputSchema) },
    },
    security: [{ bearer: [] }],
    paths: {
      "/healthz": { get: { summary: "健康检查", security: [], responses: { "200": ok("{\"status\":\"ok\"}"), "503": ok("数据库不可用") } } },
      "/api/me": { get: { summary: "当前用户", responses: { "200": ok("令牌对应的用户及角色"), ...errors(401) } } },
      "/api/requests": {
        post: {
          summary: "提交申请（申请人）",
          parameters: [idempotencyKey],
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/SubmitRequest" } } } },
          responses: { "201": ok("已提交：编号、状态、当前环节"), ...errors(400, 401, 403, 409, 413, 422) },
        },
        get: {
          summary: "申请列表：mine 我的申请，todo 我的待办，all 按角色可见的全部",
          parameters: Object.entries((schema(listQuerySchema) as { properties: Record<string, object> }).properties).map(([name, s]) => ({
            name,
            in: "query",
            required: false,
            schema: s,
          })),
          responses: { "200": ok("{ items, next }，next 作为下一页的 before"), ...errors(400, 401) },
        },
      },
      "/api/requests/{id}": {
        get: {
          summary: "申请详情：各环节、当前处理人、工作日期限（已用/剩余）、整改与警示、完整历史",
          parameters: [idParam],
          responses: { "200": ok("申请详情"), ...errors(400, 401, 404) },
        },
      },
      "/api/requests/{id}/actions": {
        post: {
          summary: "办理：approve 同意、confirm 确认、reject 驳回、return 退回、fail 未通过、transfer 转交、comment 评论、withdraw 撤回、resubmit 重新提交、finding 整改通知/工作警示、extend 延长期限",
          parameters: [idParam, idempotencyKey],
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/RequestAction" } } } },
          responses: { "200": ok("办理结果"), ...errors(400, 401, 403, 404, 409, 413, 422) },
        },
      },
      "/api/directory/units": { get: { summary: "单位列表", responses: { "200": ok("{ items }"), ...errors(401) } } },
      "/api/directory/units/{id}": {
        get: { summary: "单位详情：上级单位与成员（手机号脱敏）", parameters: [{ ...idParam, description: "单位 id" }], responses: { "200": ok("单位"), ...errors(401, 404) } },
      },
      "/api/directory/users": {
        get: {
          summary: "用户列表（手机号脱敏）",
          parameters: [
            { name: "role", in: "query", required: false, schema: { type: "string", enum: [...ROLES] } },
            { name: "unit", in: "query", required: false, schema: { type: "string" } },
          ],
          responses: { "200": ok("{ items }"), ...errors(400, 401) },
        },
      },
      "/api/directory/users/{id}": {
        get: { summary: "用户详情（手机号脱敏）", parameters: [{ ...idParam, description: "用户 id" }], responses: { "200": ok("用户"), ...errors(401, 404) } },
      },
    },
  };
  return cached;
}
