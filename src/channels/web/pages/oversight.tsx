import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Child } from "hono/jsx";
import type { z } from "zod";
import { forbidden } from "../../../core/errors";
import { ROLE_NAMES, type Role } from "../../../core/roles";
import { invalidInput } from "../../../core/validation";
import { assetHref } from "../assets";
import type { WebEnv } from "../session";

// What the oversight pages share (查询, 报表, 台账, 结算, 需求, 审计, 安全): who may open each, their query
// strings read through the services' own schemas, and their stylesheet (highlights and the print layout).

/**
 * A page area for these roles only: anyone else gets the 403 page naming who may open it, before any data is
 * read. The services behind the page still apply their own rules; this keeps links and pages to the roles they
 * serve.
 */
export function onlyFor(roles: readonly Role[]) {
  return createMiddleware<WebEnv>(async (c, next) => {
    if (!c.get("ctx").actor!.roles.some((r) => roles.includes(r))) throw forbidden(`此页面仅供${roles.map((r) => ROLE_NAMES[r]).join("、")}使用`);
    await next();
  });
}

/**
 * A page's query string through a service's schema: fields left empty in the form count as not given (a GET
 * form sends every field), and a bad value is the 400 page naming the field, as the API answers.
 */
export function pageQuery<S extends z.ZodType>(c: Context, schema: S, labels: Record<string, string> = {}): z.output<S> {
  const given = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v.trim() !== ""));
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  const named = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    return { ...issue, path: labels[key] ? [labels[key]] : issue.path };
  });
  throw invalidInput(named, "查询条件有误，请修改后重试");
}

/** The query string of a page's filters, for links to the next page or an export of the same rows. */
export function queryOf(values: Record<string, string | number | null | undefined>): string {
  const entries = Object.entries(values).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== null && e[1] !== "");
  return new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString();
}

/** The oversight pages' stylesheet, served by the service (no CDN), linked from the page's content. */
export function OversightStyle() {
  return <link rel="stylesheet" href={assetHref("oversight.css")} />;
}

/** A table in the portal's style, scrolling sideways on a phone. */
export function Table({ head, children, caption }: { head: readonly string[]; children?: Child; caption?: string }) {
  return (
    <div class="ys-table-wrap">
      <table class="ys-table">
        {caption ? <caption>{caption}</caption> : null}
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A number of yuan as a statement prints it: two decimals. */
export const yuan = (amount: number) => amount.toFixed(2);

/** A filter's drop-down: 全部 first, then the choices as [value, words], the current one selected. */
export function Choice({ label, name, value, options }: { label: string; name: string; value?: string; options: readonly (readonly [string, string])[] }) {
  return (
    <label>
      {label}
      <select name={name}>
        <option value="">全部</option>
        {options.map(([key, words]) => (
          <option value={key} selected={value === key}>
            {words}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The links of a list paged by key (newest first): back to the first page, and on to the next when there is one. */
export function Pager({ path, filters, paged, next }: { path: string; filters: Record<string, string | number | undefined>; paged: boolean; next: number | null }) {
  return (
    <p class="ys-pager">
      {paged ? <a href={`${path}?${queryOf(filters)}`}>回到第一页</a> : null}
      {next ? <a href={`${path}?${queryOf({ ...filters, before: next })}`}>下一页</a> : null}
    </p>
  );
}

/** A from–to pair of date fields (Beijing calendar days, both included). */
export function DateRange({ label, from, to }: { label: string; from?: string; to?: string }) {
  return (
    <>
      <label>
        {label}自
        <input type="date" name="from" value={from ?? ""} />
      </label>
      <label>
        至
        <input type="date" name="to" value={to ?? ""} />
      </label>
    </>
  );
}

/** 查询 and 清除条件 of a filter form, then the page's own links (an export of the same rows). */
export function FilterButtons({ clear, children }: { clear: string; children?: Child }) {
  return (
    <div class="ys-filter-buttons">
      <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
        查询
      </button>
      <a href={clear}>清除条件</a>
      {children}
    </div>
  );
}
