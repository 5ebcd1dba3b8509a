import { z } from "zod";
import { actionInputSchema, submitInputSchema, listQuerySchema } from "../engine";
import { ROLES } from "../core/roles";
import { listAccountsQuery } from "../access/accounts";
import { listGrantsQuery } from "../access/port-grants";
import { confirmTotpInput } from "../access/totp";
import { pushMetricsSchema } from "../metrics/import";
import { listResourcesQuery } from "../resources";
import { demandInput } from "../resources/demand";
import { monthlyReportQuery } from "../reports/monthly";
import { scaleUpQuery, utilisationQuery } from "../metrics/views";

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
  429: "过于频繁：验证码每分钟一次、每小时十次",
  503: "依赖的服务不可用（短信网关）或未配置",
};

const queryParams = (s: z.ZodType) =>
  Object.entries((schema(s) as { properties: Record<string, object> }).properties).map(([name, p]) => ({ name, in: "query", required: false, schema: p }));
const reasonBody = {
  required: false,
  content: { "application/json": { schema: { type: "object", properties: { reason: { type: "string", maxLength: 500 } } } } },
};
const hostCredential = [{ hostCredential: [] }];
const accessBody = (withCode: boolean) => ({
  required: true,
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["account", "host", ...(withCode ? ["code"] : [])],
        properties: { account: { type: "string", example: "liuyang" }, host: { type: "string", example: "vm-web-01" }, ...(withCode ? { code: { type: "string", example: "123456" } } : {}) },
      },
    },
  },
});

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
    info: {
      title: "云审 yunshen API",
      version: "0.1.0",
      description: "政务云资源申请审批：提交、办理、查询与通讯录；虚拟机账号与登录验证码。/api 接口需用户 Bearer 令牌，/access 接口需主机凭据。",
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        hostCredential: { type: "http", scheme: "bearer", description: "主机凭据（yunshen host add 签发，ysh_…）" },
      },
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
          summary: "办理：approve 同意、confirm 确认、reject 驳回、return 退回、fail 未通过、transfer 转交、comment 评论、withdraw 撤回、resubmit 重新提交、finding 整改通知/工作警示、extend 延长期限、nudge 催办、rate 服务评价（办结后由申请人评价一次）",
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
      "/api/vm-accounts": {
        get: { summary: "虚拟机账号（手机号脱敏）：安全管理员与统筹管理单位看全部，其他人看本人的", parameters: queryParams(listAccountsQuery), responses: { "200": ok("{ items }"), ...errors(400, 401) } },
      },
      "/api/vm-accounts/{id}/revoke": {
        post: { summary: "撤销账号（统筹管理单位、安全管理员），立即生效", parameters: [{ ...idParam, description: "账号 id" }], requestBody: reasonBody, responses: { "200": ok("已撤销"), ...errors(400, 401, 403, 404, 409) } },
      },
      "/api/vm-accounts/{id}/unlock": {
        post: { summary: "解锁账号（安全管理员）", parameters: [{ ...idParam, description: "账号 id" }], requestBody: reasonBody, responses: { "200": ok("已解锁"), ...errors(400, 401, 403, 404, 409) } },
      },
      "/api/port-grants": {
        get: { summary: "端口开放记录（报备）：主机、端口、来源地址、到期日", parameters: queryParams(listGrantsQuery), responses: { "200": ok("{ items }"), ...errors(400, 401) } },
      },
      "/api/port-grants/{id}/revoke": {
        post: { summary: "撤销端口开放（统筹管理单位、安全管理员），并通知关闭", parameters: [{ ...idParam, description: "记录 id" }], requestBody: reasonBody, responses: { "200": ok("已撤销"), ...errors(400, 401, 403, 404, 409) } },
      },
      "/api/me/totp": {
        post: { summary: "开始启用动态口令（TOTP）：返回密钥与 otpauth:// 链接（只显示一次）", responses: { "201": ok("{ secret, otpauthUrl, smsSentTo }：并向绑定手机发送短信验证码"), ...errors(401, 403, 409, 429, 503) } },
        delete: { summary: "停用动态口令", responses: { "200": ok("已停用"), ...errors(401, 404) } },
      },
      "/api/me/totp/confirm": {
        post: {
          summary: "用应用显示的第一个口令和短信验证码确认启用",
          requestBody: { required: true, content: { "application/json": { schema: schema(confirmTotpInput) } } },
          responses: { "200": ok("已启用"), ...errors(400, 401, 404, 409, 422, 503) },
        },
      },
      "/api/resources": {
        get: { summary: "资源台账：交付、部署、安全检测、上线的日期（由流程环节记录）", parameters: queryParams(listResourcesQuery), responses: { "200": ok("{ items }"), ...errors(400, 401) } },
      },
      "/api/resources/{id}/instance": {
        put: {
          summary: "登记资源的云主机标识（评估实施单位），利用率按此标识归属",
          parameters: [{ ...idParam, description: "资源 id" }],
          requestBody: { required: true, content: { "application/json": { schema: { type: "object", required: ["instanceId"], properties: { instanceId: { type: "string" } } } } } },
          responses: { "200": ok("已登记"), ...errors(400, 401, 403, 404, 409) },
        },
      },
      "/api/demands/{year}": {
        get: { summary: "年度资源需求：各单位、各县与全市合计（按角色可见）", parameters: [{ name: "year", in: "path", required: true, schema: { type: "integer" } }], responses: { "200": ok("{ units, counties, total }"), ...errors(400, 401) } },
        put: {
          summary: "填报本单位下一年的资源需求（申请人），9 月 30 日前",
          parameters: [{ name: "year", in: "path", required: true, schema: { type: "integer" } }],
          requestBody: { required: true, content: { "application/json": { schema: schema(demandInput.omit({ year: true })) } } },
          responses: { "200": ok("已填报"), ...errors(400, 401, 403, 422) },
        },
      },
      "/api/demands/{year}/pass": {
        post: { summary: "县级数据局汇总上报本县各单位的需求", parameters: [{ name: "year", in: "path", required: true, schema: { type: "integer" } }], responses: { "200": ok("{ passed }"), ...errors(400, 401, 403) } },
      },
      "/api/reports/monthly": {
        get: {
          summary: "月度报告：各单位资源、利用率、低负载虚拟机、新提交与办结的申请、逾期环节及其处理人、评估实施单位的履职与服务评价（json；csv 按 table 给出各单位表、逾期环节、低负载虚拟机或评估实施单位表）",
          parameters: queryParams(monthlyReportQuery),
          responses: { "200": ok("报告"), ...errors(400, 401) },
        },
      },
      "/api/billing/statements/{month}/print": {
        get: {
          summary: "可打印的结算单（附件13 格式）：明细、各单位金额、三方签字及签字时的摘要",
          parameters: [{ name: "month", in: "path", required: true, schema: { type: "string", example: "2026-11" } }],
          responses: { "200": { description: "HTML", content: { "text/html": { schema: { type: "string" } } } }, ...errors(400, 401, 403) },
        },
      },
      "/api/billing/statements/{month}": {
        get: {
          summary:
            "某月费用结算单（按天、按当日规格与单价计）；标记新增、调整、撤销、备份、无单价与日期不符的资源（json 或 csv）。已进入结算流程的，默认给出流程中的结算单（签字所据），source=ledger 按台账重新计算",
          parameters: [
            { name: "month", in: "path", required: true, schema: { type: "string", example: "2026-11" } },
            { name: "format", in: "query", required: false, schema: { type: "string", enum: ["json", "csv"] } },
            { name: "source", in: "query", required: false, schema: { type: "string", enum: ["signoff", "ledger"] } },
          ],
          responses: { "200": ok("结算单"), ...errors(400, 401, 403, 404) },
        },
      },
      "/api/metrics": {
        post: {
          summary: "推送每分钟利用率采样（云监控，评估实施单位令牌）；按日汇总保存；需 Idempotency-Key",
          parameters: [{ ...idempotencyKey, required: true }],
          requestBody: { required: true, content: { "application/json": { schema: schema(pushMetricsSchema) } } },
          responses: { "201": ok("{ samples, vms, days }"), ...errors(400, 401, 403, 409, 413) },
        },
      },
      "/api/metrics/vms/{vm}": {
        get: {
          summary: "某虚拟机的每日利用率（08:00–20:00 平均、全天峰值、存储），低负载判定与每月低负载天数",
          parameters: [{ name: "vm", in: "path", required: true, schema: { type: "string" } }, ...queryParams(utilisationQuery)],
          responses: { "200": ok("{ vm, days, months }"), ...errors(400, 401, 403) },
        },
      },
      "/api/metrics/vms/{vm}/scale-up": {
        get: {
          summary: "扩容条件（004 第十九条(二)）：前 5 个工作日的证据与结论",
          parameters: [{ name: "vm", in: "path", required: true, schema: { type: "string" } }, ...queryParams(scaleUpQuery)],
          responses: { "200": ok("{ ok, kind, threshold, figures, reason }"), ...errors(400, 401, 403, 422) },
        },
      },
      "/access/challenge": {
        post: { summary: "堡垒机 / 虚拟机 PAM：向账号绑定的手机发送验证码", security: hostCredential, requestBody: accessBody(false), responses: { "200": ok("{ sentTo, expiresInSeconds }"), ...errors(400, 401, 403, 404, 409, 422, 429, 503) } },
      },
      "/access/verify": {
        post: { summary: "堡垒机 / 虚拟机 PAM：校验验证码（短信或 TOTP），200 放行，403 拒绝", security: hostCredential, requestBody: accessBody(true), responses: { "200": ok("{ allow: true, user }"), "403": ok("{ allow: false, error }"), ...errors(400, 401, 404, 409) } },
      },
    },
  };
  return cached;
}
