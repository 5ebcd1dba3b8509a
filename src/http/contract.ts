import { OpenAPIHono, z, type Hook } from "@hono/zod-openapi";
import type { Env } from "hono";
import { createMiddleware } from "hono/factory";
import { ERROR_CODES, invalid } from "../core/errors";
import { invalidInput } from "../core/validation";
import type { ApiEnv } from "./auth";

/**
 * The pieces every route's contract shares: the error body, the standard error responses, and sub-apps whose
 * validation failures answer as the hand-written checks did (design.md invariant 7).
 */

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string().openapi({ example: "「审批」已由李华处理" }),
      fields: z.record(z.string(), z.array(z.string())).optional().openapi({ description: "每个有误字段及其说明" }),
    }),
  })
  .openapi("Error");

const ERROR_TEXT = {
  400: "输入有误（fields 列出每个错误字段）",
  401: "缺少或无效的凭据",
  403: "无权进行此操作",
  404: "不存在或无权查看",
  409: "状态冲突：已由他人处理、已结束、Idempotency-Key 重用等",
  413: "请求体过大",
  422: "规则不允许：缺少附件、需要说明、未到期限、工作日历未覆盖等",
  429: "过于频繁",
  503: "依赖的服务不可用（数据库、短信网关）或未配置",
} as const;
type ErrorStatus = keyof typeof ERROR_TEXT;

/** The error responses a route may give; 400, 401, 413 and 503 every /api route can give, so they are always listed. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  const all = [...new Set<ErrorStatus>([400, 401, 413, 503, ...statuses])];
  return Object.fromEntries(
    all.map((status) => [status, { description: ERROR_TEXT[status], content: { "application/json": { schema: errorBodySchema } } }]),
  ) as Record<S | 400 | 401 | 413 | 503, { description: string; content: { "application/json": { schema: typeof errorBodySchema } } }>;
}

export const jsonContent = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A CSV download (a UTF-8 file with a BOM, for Excel), as a media type of a response's content. */
export const csvMedia = { "text/csv": { schema: z.string().openapi({ description: "CSV（UTF-8，带 BOM，供 Excel 打开）" }) } };

export const bearerSecurity = [{ bearer: [] }];

type Target = "query" | "param" | "json" | "header";
const DEFAULT_MESSAGE: Record<Target, string> = { query: "查询参数有误", param: "输入有误", json: "输入有误", header: "输入有误" };

/**
 * A validation failure as a 400 `invalid_input` naming every field, with the message the route gave before its
 * contract was declared (查询参数有误 for a query, 输入有误 for a body unless the route says otherwise).
 */
export function refuseInvalid<T, E extends Env, P extends string>(messages: Partial<Record<Target, string>> = {}): Hook<T, E, P, undefined> {
  return (result) => {
    if (result.success) return undefined;
    const target = result.target as Target;
    throw invalidInput(result.error.issues, messages[target] ?? DEFAULT_MESSAGE[target]);
  };
}

/** A sub-app whose routes declare their contract; validation runs in the route, after the parent's authentication. */
export function contractApp<E extends Env = ApiEnv>() {
  return new OpenAPIHono<E>({ defaultHook: refuseInvalid<unknown, E, string>() });
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Route middleware for a JSON body, run before the validator: an empty body is refused as not JSON, or read as
 * `{}` when the body is optional, and a body sent as another media type is refused in Chinese, not by the
 * validator's English 415.
 */
export function jsonBodyGate(opts: { optional?: boolean } = {}) {
  return createMiddleware(async (c, next) => {
    const text = await c.req.text();
    if (text.trim() === "") {
      if (!opts.optional) throw invalid("请求体不是有效的 JSON");
      c.req.bodyCache.json = Promise.resolve({});
    } else if (!JSON_MEDIA_TYPE.test((c.req.header("content-type") ?? "").split(";")[0]!.trim()))
      throw invalid("请求体应为 JSON，请设置 Content-Type: application/json");
    await next();
  });
}

/**
 * The parts of a createRoute config for a route whose one input is a required JSON body (gated as jsonBodyGate
 * says, then validated by `schema`): spread into the config, `...jsonBodyRoute(schema)`.
 */
export function jsonBodyRoute<S extends z.ZodType>(schema: S) {
  return {
    middleware: [jsonBodyGate()],
    request: { body: { required: true as const, content: { "application/json": { schema } } } },
  };
}

function jsonSchemaOf(schema: z.ZodType) {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return json;
}

/**
 * A service's schema documented by zod's own JSON Schema, under a component name: the flows' form schemas hold
 * what zod-to-openapi cannot walk (z.undefined() refusing an old field), which zod renders as "anything".
 */
export function documentedAs<S extends z.ZodType>(schema: S, id: string): S {
  return schema.meta({ id, ...jsonSchemaOf(schema), type: "object" }) as S;
}

/**
 * A JSON object checked for shape only, documented as `documented`: for verbs that validate their input
 * themselves after authorizing the caller, so a refusal stays a refusal (audited) whatever the body holds.
 */
export function checkedByTheVerb(documented: z.ZodType) {
  return z.record(z.string(), z.unknown()).meta({ ...jsonSchemaOf(documented), type: "object" });
}
