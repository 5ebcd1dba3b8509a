import { Hono } from "hono";
import { z } from "zod";
import { listResources, listResourcesQuery, setInstanceId } from "../resources";
import { parseInput } from "../core/validation";
import { jsonBody, type ApiEnv } from "./auth";

/** /api/resources: 资源台账, with the dates the flows set; the provider records each resource's cloud id. */
export function resourceRoutes() {
  return new Hono<ApiEnv>()
    .get("/", async (c) => {
      const input = parseInput(listResourcesQuery, c.req.query(), "查询参数有误");
      return c.json(await listResources({ ctx: c.get("ctx"), input }));
    })
    .put("/:id/instance", async (c) => {
      const body = await jsonBody(c, z.object({ instanceId: z.string() }));
      return c.json(await setInstanceId({ ctx: c.get("ctx"), input: { id: c.req.param("id"), instanceId: body.instanceId } }));
    });
}
