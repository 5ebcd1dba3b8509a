import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, contractApp, errorResponses, jsonContent } from "./contract";

// /api/calendar: working days as the service counts them, for anyone signed in (`yunshen calendar is-workday`
// and `add-workdays` ask here while the service holds the embedded database). The dates are checked by the
// calendar itself, so a bad date or a year not loaded is refused in the words the CLI uses on the database.

const dateQuery = z.string().max(32).openapi({ description: "日期 YYYY-MM-DD", example: "2026-02-14" });

const isWorkday = createRoute({
  method: "get",
  path: "/is-workday",
  summary: "某日是否工作日（含调休上班日，按已加载的放假安排）",
  security: bearerSecurity,
  request: { query: z.object({ date: dateQuery }) },
  responses: { 200: jsonContent(z.object({ date: z.iso.date(), workday: z.boolean() }), "是否工作日"), ...errorResponses(422) },
});

const addWorkdays = createRoute({
  method: "get",
  path: "/add-workdays",
  summary: "某日之后第 n 个工作日（不含当天）",
  security: bearerSecurity,
  request: { query: z.object({ date: dateQuery, n: z.string().max(16).openapi({ description: "工作日数，不小于 1 的整数", example: "2" }) }) },
  responses: { 200: jsonContent(z.object({ date: z.iso.date(), n: z.int(), result: z.iso.date() }), "第 n 个工作日"), ...errorResponses(422) },
});

export function calendarRoutes() {
  return contractApp()
    .openapi(isWorkday, (c) => {
      const { date } = c.req.valid("query");
      return c.json({ date, workday: c.get("ctx").calendar.isWorkday(date) }, 200);
    })
    .openapi(addWorkdays, (c) => {
      const { date, n } = c.req.valid("query");
      return c.json({ date, n: Number(n), result: c.get("ctx").calendar.addWorkdays(date, Number(n)) }, 200);
    });
}
