import { createRoute, z } from "@hono/zod-openapi";
import { catalogView, listServiceCatalogs, loadServiceCatalog, serviceCatalogSchema } from "../billing/service-catalog";
import { shanghaiDate } from "../core/calendar";
import { invalid } from "../core/errors";
import { isIsoDate } from "../core/calendar-schedule";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyRoute, jsonContent } from "./contract";

// /api/catalog: the 服务目录 (000 5.5, 003 第二条(二), 004 第四条). Anyone signed in reads the version in force and
// its items with their day prices (the price table in force that day applied to each item's figures); the
// system administrator and the party the profile names (the manager, or 高创中心's 监管部门) publish versions.

const itemSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    kind: z.string().openapi({ description: "资源类型，同单价表：vm、paas_database、backup、hosting、bandwidth、public_ip、security_*…" }),
    kindName: z.string(),
    figures: z.string().openapi({ description: "规格，如「4 核 / 8G 内存 / 100G 高性能云盘」" }),
    note: z.string().nullable(),
    dayPrice: z.number().nullable().openapi({ description: "日单价（元/天，每台、每个或每套），由当日执行的单价表按规格算出，与费用结算一致；无单价时为 null" }),
    item: z.record(z.string(), z.unknown()).openapi({ description: "目录项原文（申请表的 vms[].item、paas[].item 填其 code）" }),
  })
  .openapi("CatalogItem");

const viewSchema = z
  .object({
    day: z.iso.date(),
    catalog: z.object({ version: z.string(), effectiveFrom: z.iso.date(), source: z.string() }).nullable().openapi({ description: "当日执行的服务目录版本；尚未发布时为 null" }),
    priceTable: z.object({ version: z.string(), effectiveFrom: z.iso.date() }).nullable(),
    items: z.array(itemSchema),
    versions: z.array(z.object({ version: z.string(), effectiveFrom: z.iso.date(), source: z.string(), items: z.int() })).openapi({ description: "已发布的全部版本，按生效日期" }),
  })
  .openapi("ServiceCatalogView");

const show = createRoute({
  method: "get",
  path: "/",
  summary: "服务目录：某日（默认今天）执行的版本及其各项的规格和日单价",
  security: bearerSecurity,
  request: { query: z.object({ on: z.string().max(32).optional().openapi({ description: "日期 YYYY-MM-DD，默认今天" }) }) },
  responses: { 200: jsonContent(viewSchema, "服务目录"), ...errorResponses(400) },
});

const versions = createRoute({
  method: "get",
  path: "/versions",
  summary: "已发布的服务目录全部版本（含各项原文），按生效日期",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ items: z.array(checkedByTheVerb(serviceCatalogSchema)) }), "各版本"), ...errorResponses() },
});

const load = createRoute({
  method: "post",
  path: "/",
  summary: "发布服务目录的新版本（自生效日期起执行）；同一版本只发布一次，更正请用新的版本号",
  security: bearerSecurity,
  ...jsonBodyRoute(checkedByTheVerb(serviceCatalogSchema)),
  responses: { 201: jsonContent(z.object({ version: z.string(), effectiveFrom: z.iso.date(), items: z.int() }), "已发布"), ...errorResponses(403, 409) },
});

export function catalogRoutes() {
  return contractApp()
    .openapi(show, async (c) => {
      const ctx = c.get("ctx");
      const on = c.req.valid("query").on;
      if (on !== undefined && !isIsoDate(on)) throw invalid("日期应为 YYYY-MM-DD", { on: ["日期应为 YYYY-MM-DD"] });
      return c.json(await catalogView(ctx.db, on ?? shanghaiDate(ctx.clock.now())), 200);
    })
    .openapi(versions, async (c) => c.json({ items: await listServiceCatalogs(c.get("ctx").db) }, 200))
    .openapi(load, async (c) => c.json(await loadServiceCatalog({ ctx: c.get("ctx"), input: c.req.valid("json") }), 201));
}
