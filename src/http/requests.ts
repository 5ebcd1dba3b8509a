import { Hono } from "hono";
import { z } from "zod";
import { actionInputSchema, actOnRequest, submitInputSchema, submitRequest, getRequest, listQuerySchema, listRequests, requestIdByCode } from "../engine";
import { notFound } from "../core/errors";
import { parseInput } from "../core/validation";
import { jsonBody, withIdempotency, type ApiEnv } from "./auth";
import type { ServiceContext } from "../core/context";

const requestRef = z.union([
  z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  z.string().regex(/^YS-\d{4}-\d{5,}$/, "应为申请编号（如 YS-2026-00001）或数字 id"),
]);

/** A request named by id or by its code (YS-2026-00001). */
async function resolveRequestId(ctx: ServiceContext, ref: string): Promise<number> {
  const parsed = parseInput(requestRef, /^\d+$/.test(ref) ? ref : ref.toUpperCase(), "申请编号无效");
  if (typeof parsed === "number") return parsed;
  const id = await requestIdByCode(ctx.db, parsed);
  if (id === null) throw notFound(`申请 ${parsed} 不存在或您无权查看`);
  return id;
}

export function requestRoutes() {
  return new Hono<ApiEnv>()
    .post("/", async (c) => {
      const input = await jsonBody(c, submitInputSchema);
      const result = await submitRequest({ ctx: withIdempotency(c, input), input });
      return c.json(result, 201);
    })
    .get("/", async (c) => {
      const input = parseInput(listQuerySchema, c.req.query(), "查询参数有误");
      return c.json(await listRequests({ ctx: c.get("ctx"), input }));
    })
    .get("/:id", async (c) => {
      const ctx = c.get("ctx");
      return c.json(await getRequest({ ctx, input: { id: await resolveRequestId(ctx, c.req.param("id")) } }));
    })
    .post("/:id/actions", async (c) => {
      const requestId = await resolveRequestId(c.get("ctx"), c.req.param("id"));
      const input = await jsonBody(c, actionInputSchema);
      // Keyed by the resolved id, so a retry naming the request by its code instead of its id is still a retry.
      const ctx = withIdempotency(c, input, `actions ${requestId}`);
      const result = await actOnRequest({ ctx, input: { ...input, requestId } });
      return c.json(result);
    });
}
