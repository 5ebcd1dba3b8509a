import { createRoute, z } from "@hono/zod-openapi";
import { listResources, listResourcesQuery, setInstanceId } from "../resources";
import { VM_ID } from "../metrics/rules";
import { bearerSecurity, contractApp, errorResponses, jsonBodyGate, jsonContent } from "./contract";

const date = z.iso.datetime();

const resourceSchema = z
  .object({
    id: z.int(),
    requestId: z.int(),
    request: z.object({ id: z.int(), code: z.string() }),
    unitId: z.string(),
    unitName: z.string(),
    system: z.string(),
    kind: z.string(),
    name: z.string(),
    spec: z.record(z.string(), z.unknown()).openapi({ description: "规格（按资源类型）" }),
    sizes: z.array(z.object({ fromDate: z.iso.date(), spec: z.unknown() })).openapi({ description: "规格变更：自某日起的规格" }),
    instanceId: z.string().nullable(),
    status: z.enum(["delivered", "revoked"]),
    deliveredAt: date,
    billedFrom: date.nullable().openapi({ description: "计费起始：交付之日，巴中为系统部署完成之日（003 第四十三条）；未部署为 null" }),
    deployedAt: date.nullable(),
    securityTestedAt: date.nullable(),
    liveAt: date.nullable(),
    changedAt: date.nullable(),
    revokedAt: date.nullable(),
  })
  .openapi("Resource");

const list = createRoute({
  method: "get",
  path: "/",
  summary: "资源台账：交付、部署、安全检测、上线的日期（由流程环节记录）",
  security: bearerSecurity,
  request: { query: listResourcesQuery },
  responses: { 200: jsonContent(z.object({ items: z.array(resourceSchema) }), "资源台账"), ...errorResponses() },
});

const setInstance = createRoute({
  method: "put",
  path: "/{id}/instance",
  summary: "登记资源的云主机标识（评估实施单位），利用率按此标识归属",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    // The verb checks the id and the identifier's form after it has checked the caller is the provider.
    params: z.object({ id: z.string().openapi({ type: "integer", description: "资源 id" }) }),
    body: { required: true, content: { "application/json": { schema: z.object({ instanceId: z.string().openapi({ description: "云主机标识", pattern: VM_ID.source }) }) } } },
  },
  responses: { 200: jsonContent(z.object({ id: z.int(), instanceId: z.string() }), "已登记"), ...errorResponses(403, 404, 409) },
});

/** /api/resources: 资源台账, with the dates the flows set; the provider records each resource's cloud id. */
export function resourceRoutes() {
  return contractApp()
    .openapi(list, async (c) => c.json(await listResources({ ctx: c.get("ctx"), input: c.req.valid("query") }), 200))
    .openapi(setInstance, async (c) => {
      const { instanceId } = c.req.valid("json");
      return c.json(await setInstanceId({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id, instanceId } }), 200);
    });
}
