import { Hono } from "hono";
import { z } from "zod";
import { demandOverview, demandYear, passDemands, submitDemand } from "../resources/demand";
import { parseInput } from "../core/validation";
import { jsonBody, type ApiEnv } from "./auth";

/** /api/demands/:year: 年度资源需求 — units submit, county bureaus pass on, the city sees the totals. */
export function demandRoutes() {
  return new Hono<ApiEnv>()
    .get("/:year", async (c) => {
      const year = parseInput(demandYear, c.req.param("year"), "年度无效");
      return c.json(await demandOverview({ ctx: c.get("ctx"), input: { year } }));
    })
    .put("/:year", async (c) => {
      const body = await jsonBody(c, z.record(z.string(), z.unknown()));
      return c.json(await submitDemand({ ctx: c.get("ctx"), input: { ...body, year: c.req.param("year") } }));
    })
    .post("/:year/pass", async (c) => c.json(await passDemands({ ctx: c.get("ctx"), input: { year: c.req.param("year") } })));
}
