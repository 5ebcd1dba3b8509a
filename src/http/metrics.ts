import { Hono } from "hono";
import { z } from "zod";
import { pushMetrics, pushMetricsSchema } from "../metrics/import";
import { VM_ID } from "../metrics/rules";
import { scaleUpCheck, scaleUpQuery, utilisationQuery, vmUtilisation } from "../metrics/views";
import { invalid } from "../core/errors";
import { parseInput } from "../core/validation";
import { jsonBody, type ApiEnv } from "./auth";
import { IDEMPOTENCY_KEY } from "../inbound/source";

const vmParam = z.string().regex(VM_ID, "虚拟机标识无效");

/** /api/metrics: utilisation pushed by the cloud's monitoring, and read back per VM. */
export function metricsRoutes() {
  return new Hono<ApiEnv>()
    .post("/", async (c) => {
      // Samples add up: without a key a retried push would count twice.
      const key = c.req.header("idempotency-key");
      if (!key || !IDEMPOTENCY_KEY.test(key)) throw invalid("推送利用率需要 Idempotency-Key（每批一个，重试时不变）");
      const input = await jsonBody(c, pushMetricsSchema);
      return c.json(await pushMetrics({ ctx: c.get("ctx"), input, key }), 201);
    })
    .get("/vms/:vm", async (c) => {
      const vm = parseInput(vmParam, c.req.param("vm"), "虚拟机标识无效");
      const q = parseInput(utilisationQuery, c.req.query(), "查询参数有误");
      return c.json(await vmUtilisation({ ctx: c.get("ctx"), input: { vm, ...q } }));
    })
    .get("/vms/:vm/scale-up", async (c) => {
      const vm = parseInput(vmParam, c.req.param("vm"), "虚拟机标识无效");
      const q = parseInput(scaleUpQuery, c.req.query(), "查询参数有误");
      return c.json(await scaleUpCheck({ ctx: c.get("ctx"), input: { vm, ...q } }));
    });
}
