import { Readable } from "node:stream";
import { createInterface } from "node:readline";
import { createRoute, z } from "@hono/zod-openapi";
import { importMetricsLines, pushMetrics, pushMetricsSchema } from "../metrics/import";
import { VM_ID } from "../metrics/rules";
import { scaleUpCheck, scaleUpQuery, utilisationQuery, vmUtilisation } from "../metrics/views";
import { IDEMPOTENCY_KEY } from "../inbound/source";
import { bearerSecurity, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const vmParams = z.object({ vm: z.string().regex(VM_ID, "虚拟机标识无效").openapi({ description: "虚拟机标识（云主机 id）" }) });
const scaleKind = z.enum(["vm_vcpu", "vm_memory", "vm_storage", "paas_compute", "paas_storage", "container_vcpu"]);

const importedSchema = z.object({ samples: z.int(), vms: z.int(), days: z.int() });

const push = createRoute({
  method: "post",
  path: "/",
  summary: "推送每分钟利用率采样（云监控，评估实施单位令牌）；按日汇总保存；需 Idempotency-Key",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: {
    // Samples add up: without a key a retried push would count twice.
    headers: z.object({ "idempotency-key": z.string().regex(IDEMPOTENCY_KEY).openapi({ description: "每批一个，重试时不变" }) }),
    body: { required: true, content: { "application/json": { schema: pushMetricsSchema } } },
  },
  responses: {
    201: jsonContent(importedSchema, "已保存：采样数、虚拟机数、天数"),
    ...errorResponses(403, 409),
  },
});

const importFile = createRoute({
  method: "post",
  path: "/file",
  summary:
    "导入利用率文件（与 yunshen metrics import 相同，服务运行时 CLI 经此导入）：请求体即文件本身，边读边按日汇总，不限大小；全部导入或全部不导入；同一文件（按 SHA-256）只导入一次",
  security: bearerSecurity,
  request: {
    query: z.object({ format: z.enum(["csv", "jsonl"]).openapi({ description: "csv（带表头）或 jsonl（每行一条 JSON）" }) }),
    body: {
      required: true,
      // Plain schemas, not zod: the body is read as a stream by the route, never parsed whole by a validator
      // (which would take application/jsonl for JSON).
      content: {
        "text/csv": { schema: { type: "string", description: "vm,time,cpu,mem[,disk_used_gb,disk_alloc_gb]，每分钟一行" } },
        "application/jsonl": { schema: { type: "string", description: "每行一条采样" } },
      },
    },
  },
  responses: { 201: jsonContent(importedSchema, "已保存：采样数、虚拟机数、天数"), ...errorResponses(403, 409) },
});

const utilisation = createRoute({
  method: "get",
  path: "/vms/{vm}",
  summary: "某虚拟机的每日利用率（08:00–20:00 平均、全天峰值、存储），低负载判定与每月低负载天数",
  security: bearerSecurity,
  request: { params: vmParams, query: utilisationQuery },
  responses: {
    200: jsonContent(
      z.object({
        vm: z.string(),
        resource: z.object({ id: z.int(), name: z.string(), system: z.string(), unitId: z.string() }).nullable(),
        days: z.array(
          z.object({
            vm: z.string(),
            date: z.iso.date(),
            cpuAvg: z.number().nullable(),
            cpuPeak: z.number(),
            memAvg: z.number().nullable(),
            memPeak: z.number(),
            diskUsedGb: z.number().nullable(),
            diskAllocGb: z.number().nullable(),
            samples: z.int(),
            storageHeadroomMonths: z.number().nullable(),
            lowLoad: z.object({ low: z.boolean(), vcpu: z.boolean(), memory: z.boolean(), storage: z.boolean() }),
          }),
        ),
        months: z.array(z.object({ month: z.string(), lowLoadDays: z.int(), lowLoad: z.boolean() })),
      }),
      "每日利用率与每月低负载天数",
    ),
    ...errorResponses(403),
  },
});

const scaleUp = createRoute({
  method: "get",
  path: "/vms/{vm}/scale-up",
  summary: "扩容条件：前若干个工作日的利用率证据与结论，及本地扩容的判定依据（basis）",
  security: bearerSecurity,
  request: { params: vmParams, query: scaleUpQuery },
  responses: {
    200: jsonContent(
      z.object({
        vm: z.string(),
        kind: scaleKind,
        asOf: z.iso.date(),
        basis: z.object({ key: z.enum(["utilisation", "providerReport", "usageReport"]), text: z.string() }),
        workdays: z.array(z.iso.date()),
        ok: z.boolean(),
        threshold: z.string(),
        figures: z.array(
          z.object({
            date: z.iso.date().nullable(),
            value: z.number().nullable(),
            metric: z.enum(["cpuPeak", "memPeak", "storage", "cpuAvg"]),
            ok: z.boolean(),
          }),
        ),
        reason: z.string(),
      }),
      "扩容条件的证据与结论",
    ),
    ...errorResponses(403, 422),
  },
});

/**
 * /api/metrics: utilisation pushed by the cloud's monitoring or imported as a file, and read back per VM. The
 * file's body is exempt from the API's JSON limit and guard (http/app.ts METRICS_FILE_PATH): it is read here
 * as it arrives, each line checked field by field by the reducer, which stores nothing of a line but numbers
 * and a VM id of a fixed shape.
 */
export function metricsRoutes() {
  return contractApp()
    .openapi(
      importFile,
      async (c) => {
        // No body reads as an empty file: 文件中没有数据.
        const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
        const lines = createInterface({ input: Readable.fromWeb(body as never, { encoding: "utf8" }), crlfDelay: Infinity });
        return c.json(await importMetricsLines({ ctx: c.get("ctx"), input: { lines, format: c.req.valid("query").format } }), 201);
      },
      refuseInvalid({ query: "format 应为 csv 或 jsonl" }),
    )
    .openapi(
      push,
      async (c) => {
        const input = c.req.valid("json");
        return c.json(await pushMetrics({ ctx: c.get("ctx"), input, key: c.req.valid("header")["idempotency-key"] }), 201);
      },
      refuseInvalid({ header: "推送利用率需要 Idempotency-Key（每批一个，重试时不变）" }),
    )
    .openapi(
      utilisation,
      async (c) => c.json(await vmUtilisation({ ctx: c.get("ctx"), input: { vm: c.req.valid("param").vm, ...c.req.valid("query") } }), 200),
      refuseInvalid({ param: "虚拟机标识无效" }),
    )
    .openapi(
      scaleUp,
      async (c) => c.json(await scaleUpCheck({ ctx: c.get("ctx"), input: { vm: c.req.valid("param").vm, ...c.req.valid("query") } }), 200),
      refuseInvalid({ param: "虚拟机标识无效" }),
    );
}
