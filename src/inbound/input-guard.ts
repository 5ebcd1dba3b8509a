import type { HonoRequest } from "hono";
import { createMiddleware } from "hono/factory";
import { invalid } from "../core/errors";
import { jsonNestsDeeperThan, MAX_NESTING, printable, ROOT_FIELD, textErrors, textProblem } from "../core/validation";
import { IDEMPOTENCY_KEY } from "./source";

const REFUSED = "请求中有不允许的字符，请按各字段的说明修改后重试";

const MULTIPART = /^\s*multipart\/form-data\s*(;|$)/i;

/**
 * An upload (multipart/form-data): its text fields are held to the rule as a JSON body's strings are; a file's
 * bytes are not text, and its name is cleaned where the file is stored (src/files). Parsed once: the route reads
 * the same parsed form.
 */
async function checkMultipart(req: HonoRequest): Promise<void> {
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw invalid("请求体不是有效的 multipart/form-data，请检查上传方式（如 curl -F file=@文件名）");
  }
  const fields: Record<string, string[]> = {};
  for (const [key, value] of form.entries()) {
    const keyProblem = textProblem(key);
    if (keyProblem) (fields[printable(key)] ??= []).push(`字段名${keyProblem}`);
    else if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) (fields[key] ??= []).push(problem);
    }
  }
  if (Object.keys(fields).length > 0) throw invalid(REFUSED, fields);
}

/**
 * The first thing a request to /api, /access or the WeCom routes meets, after the body-size limit: the raw
 * path, query, stored headers and body are checked against the text rule of src/core/validation.ts (no NUL, no
 * lone surrogates, no control or bidi formatting characters) and JSON nesting is bounded on the raw text, all
 * before anything parses, authenticates, fingerprints or stores them. A refusal is a 400 naming each field and
 * writes nothing (design.md invariant 7).
 *
 * `body`: "json" for the JSON APIs (the body is parsed here, and Hono keeps its text for the route; an upload's
 * multipart body is parsed as a form instead), "text" for bodies in another format (WeCom's XML envelope),
 * checked as one text, "none" for a body its route reads as a stream and checks line by line (a metrics file).
 */
export function inputGuard(opts: { body: "json" | "text" | "none" }) {
  return createMiddleware(async (c, next) => {
    const fields: Record<string, string[]> = {};
    const add = (field: string, message: string) => (fields[field] ??= []).push(message);

    // Path parameters are decoded from these segments; Hono decodes them the same way.
    for (const segment of new URL(c.req.url).pathname.split("/")) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        add("路径", "含有无效的百分号编码，请检查地址");
        break;
      }
      const problem = textProblem(decoded);
      if (problem) {
        add("路径", problem);
        break;
      }
    }
    for (const [key, values] of Object.entries(c.req.queries())) {
      const keyProblem = textProblem(key);
      if (keyProblem) add(printable(key), `参数名${keyProblem}`);
      else for (const value of values) {
        const problem = textProblem(value);
        if (problem) {
          add(key, problem);
          break;
        }
      }
    }
    // The one header we store: Idempotency-Key, kept in inbound_events.
    const idempotencyKey = c.req.header("idempotency-key");
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) add("Idempotency-Key", "应为 1–200 个可见 ASCII 字符");
    if (Object.keys(fields).length > 0) throw invalid(REFUSED, fields);

    if (c.req.method !== "GET" && c.req.method !== "HEAD" && opts.body !== "none") {
      if (opts.body === "json" && MULTIPART.test(c.req.header("content-type") ?? "")) {
        await checkMultipart(c.req);
        return next();
      }
      const text = await c.req.text();
      if (opts.body === "text") {
        const problem = textProblem(text);
        if (problem) throw invalid(REFUSED, { 请求体: [problem] });
      } else if (text.trim() !== "") {
        if (jsonNestsDeeperThan(text))
          throw invalid(`请求体嵌套超过 ${MAX_NESTING} 层，请检查数据结构`, { [ROOT_FIELD]: [`嵌套超过 ${MAX_NESTING} 层`] });
        let body: unknown;
        try {
          body = JSON.parse(text.startsWith("\uFEFF") ? text.slice(1) : text);
        } catch {
          throw invalid("请求体不是有效的 JSON");
        }
        const bad = textErrors(body);
        if (bad) throw invalid(REFUSED, bad);
      }
    }
    await next();
  });
}
