import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { databaseUnavailable, DATABASE_RETRY_AFTER_SECONDS, describeInternalError, invalid, isDatabaseUnavailable, ServiceError } from "../../core/errors";
import { printable, textProblem } from "../../core/validation";
import { Message } from "./layout";
import type { WebEnv } from "./session";

/** A form's fields: url-encoded bodies are small. */
export const FORM_LIMIT_BYTES = 64 * 1024;
/** A multipart body is the upload limit (UPLOAD_MAX_MB) plus this for the form's fields; each file is checked on its own too. */
const MULTIPART_SPARE_MB = 5;

const TITLES: Record<number, string> = {
  400: "提交的内容有误",
  401: "需要登录",
  403: "无权操作",
  404: "页面不存在",
  409: "操作未完成",
  413: "提交的内容过大",
  415: "无法识别的提交方式",
  422: "操作未完成",
  429: "操作过于频繁",
  503: "服务暂时不可用",
};

/** A page saying what went wrong, with the layout and the person's nav when they are signed in. */
export function errorPage(c: Context, status: number, message: string, fields?: Record<string, string[]>) {
  const ctx = (c as Context<WebEnv>).get("ctx");
  const session = (c as Context<WebEnv>).get("session");
  const details = fields ? Object.entries(fields).map(([field, problems]) => `${printable(field)}：${problems.join("；")}`) : [];
  return c.html(
    <Message title={TITLES[status] ?? "出错了"} message={message} ctx={ctx} csrf={session?.csrf}>
      {details.length > 0 ? (
        <ul class="ys-muted">
          {details.map((d) => (
            <li>{d}</li>
          ))}
        </ul>
      ) : null}
      <p class="weui-msg__desc">
        <a href="/">返回首页</a>
      </p>
    </Message>,
    status as 400,
  );
}

/** Every error a person can meet, as a page: never JSON, never a stack; the details go to the operator's log. */
export function renderError(log: (line: string) => void) {
  return (err: Error, c: Context) => {
    if (err instanceof ServiceError) return errorPage(c, err.status, err.message, err.fields);
    if (err instanceof HTTPException) return errorPage(c, err.status, err.message || "请求无效");
    if (isDatabaseUnavailable(err)) {
      c.header("Retry-After", String(DATABASE_RETRY_AFTER_SECONDS));
      return errorPage(c, 503, databaseUnavailable().message);
    }
    log(`internal error on ${c.req.method} ${c.req.path}: ${describeInternalError(err)}`);
    return errorPage(c, 500, "服务内部错误，请稍后重试或联系管理员");
  };
}

const REFUSED = "提交的内容中有不允许的字符，请修改后重试";

/**
 * The portal's first check of every request, before any session or handler, and before its body is read: a
 * POST from another site refused (a forged sign-in, a forged upload), one in another format too, and the path
 * and query held to the text rule of src/core/validation.ts (no NUL, controls or bidi characters). A refusal
 * is a page; nothing is written. The body is checked by formBody, once it is known whose it is.
 */
export function webGuard(opts: { publicUrl?: string }) {
  return createMiddleware(async (c, next) => {
    const fields: Record<string, string[]> = {};
    for (const segment of new URL(c.req.url).pathname.split("/")) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        return errorPage(c, 400, "地址中含有无效的百分号编码，请检查链接");
      }
      const problem = textProblem(decoded);
      if (problem) return errorPage(c, 400, `地址${problem}`);
    }
    for (const [key, values] of Object.entries(c.req.queries()))
      for (const value of [key, ...values]) {
        const problem = textProblem(value);
        if (problem) (fields["链接中的参数"] ??= []).push(problem);
      }
    if (Object.keys(fields).length > 0) throw invalid(REFUSED, fields);
    if (c.req.method !== "POST") return next();

    if (!sameOrigin(c, opts.publicUrl)) return errorPage(c, 403, "请求来自其他网站，已拒绝；请在云审的页面上操作");
    const type = c.req.header("content-type") ?? "";
    if (!type.startsWith("multipart/form-data") && !type.startsWith("application/x-www-form-urlencoded")) return errorPage(c, 415, "请通过页面上的表单提交");
    await next();
  });
}

/**
 * A POST's body: its size by its kind (a form's fields, or a multipart post with a file of the upload limit),
 * then its fields held to the text rule, the fields of the pages that hold every field to it themselves
 * excepted. Runs after the session is known (or on the sign-in pages, whose posts are small forms), so nobody
 * signed out gets a 20 MB body read. A refusal is a page; nothing is written.
 */
export function formBody(opts: {
  uploadMaxMb: number;
  /**
   * The POSTs whose page checks every field's text itself (the forms: checkForm), so the message shows under
   * the field with what was typed kept, instead of on a page of its own.
   */
  fieldsCheckedByPage?: (path: string) => boolean;
}) {
  // A form's post carries at most one new file of the upload limit beside its fields, with room to spare.
  const multipartMb = opts.uploadMaxMb + MULTIPART_SPARE_MB;
  const limits = {
    form: bodyLimit({ maxSize: FORM_LIMIT_BYTES, onError: (c) => errorPage(c, 413, `提交的内容超过 ${FORM_LIMIT_BYTES / 1024} KB 上限`) }),
    multipart: bodyLimit({ maxSize: multipartMb * 1024 * 1024, onError: (c) => errorPage(c, 413, `提交的内容超过 ${multipartMb} MB 上限（每个附件不超过 ${opts.uploadMaxMb} MB）`) }),
  };
  return createMiddleware(async (c, next) => {
    if (c.req.method !== "POST") return next();
    const fields: Record<string, string[]> = {};
    const multipart = (c.req.header("content-type") ?? "").startsWith("multipart/form-data");
    return (multipart ? limits.multipart : limits.form)(c, async () => {
      const body = await c.req.parseBody({ all: true }).catch(() => null);
      if (body === null) throw invalid("提交的表单无法解析，请回到页面重新提交");
      if (opts.fieldsCheckedByPage?.(c.req.path)) return next();
      // Problems are listed by where they are, not by the field's name: a page's field names are codes.
      for (const [key, value] of Object.entries(body))
        for (const v of [key, ...(Array.isArray(value) ? value : [value])]) {
          const problem = typeof v === "string" ? textProblem(v) : null;
          if (problem) (fields["提交的内容"] ??= []).push(problem);
        }
      if (Object.keys(fields).length > 0) throw invalid(REFUSED, fields);
      await next();
    });
  });
}

/**
 * Whether a POST comes from the portal's own pages, as far as the browser says: Sec-Fetch-Site where it is
 * sent (the service's Referrer-Policy no-referrer makes a browser send "Origin: null" even for its own forms),
 * else the Origin. A client that says neither is let through: the session's CSRF token still guards it.
 */
function sameOrigin(c: Context, publicUrl: string | undefined): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) return site === "same-origin" || site === "none";
  const origin = c.req.header("origin");
  return origin === undefined || origin === (publicUrl ? new URL(publicUrl).origin : new URL(c.req.url).origin);
}

/** A text field of a parsed form: trimmed, absent or empty as undefined, the first when sent twice. */
export function field(body: Record<string, unknown>, name: string): string | undefined {
  const raw = body[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}
