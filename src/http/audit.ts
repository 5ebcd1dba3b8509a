import { createRoute, z } from "@hono/zod-openapi";
import { auditDownload, auditQuerySchema, listAuditEntries, verifyAuditLog, type AuditFiles } from "../audit/auditors";
import { bearerSecurity, contractApp, csvMedia, errorResponses, jsonContent } from "./contract";

const entry = z.object({
  seq: z.int(),
  at: z.iso.datetime(),
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  actorRole: z.string().nullable(),
  action: z.string(),
  requestId: z.int().nullable(),
  requestCode: z.string().nullable(),
  stage: z.string().nullable(),
  outcome: z.enum(["ok", "refused"]),
  channel: z.string(),
  sourceIp: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

const finding = z.object({ seq: z.int(), reason: z.string() });

const verifyResult = z
  .object({
    ok: z.boolean(),
    count: z.int().openapi({ description: "校验通过的记录数（失败时为出错之前的记录数）" }),
    firstBad: finding.nullable().openapi({ description: "第一条有问题的记录及原因" }),
    findings: z.array(finding),
    signaturesChecked: z.boolean().openapi({ description: "是否校验了签名（本机有签名密钥文件时校验）" }),
    anchors: z.int().openapi({ description: "核对过的锚点数" }),
  })
  .openapi("AuditVerifyResult");

const list = createRoute({
  method: "get",
  path: "/",
  summary: "审计日志（统筹管理单位、复核单位）：按申请、操作人、日期查询，新的在前，按 seq 分页",
  security: bearerSecurity,
  request: { query: auditQuerySchema },
  responses: {
    200: jsonContent(z.object({ items: z.array(entry), next: z.int().nullable().openapi({ description: "下一页的 before" }) }), "审计记录"),
    ...errorResponses(403),
  },
});

const verify = createRoute({
  method: "post",
  path: "/verify",
  summary: "校验审计日志：哈希链、签名与锚点，与 yunshen audit verify 相同；答复记录数或第一条有问题的记录",
  security: bearerSecurity,
  responses: { 200: jsonContent(verifyResult, "校验结果"), ...errorResponses(403) },
});

const exportLog = createRoute({
  method: "get",
  path: "/export",
  summary: "导出整个审计日志（含哈希与签名，可离线校验）：jsonl 或 csv",
  security: bearerSecurity,
  request: { query: z.object({ format: z.enum(["jsonl", "csv"]).default("jsonl") }) },
  responses: {
    200: { description: "审计日志", content: { "application/jsonl": { schema: z.string().openapi({ description: "每行一条记录" }) }, ...csvMedia } },
    ...errorResponses(403),
  },
});

/** /api/audit: the log for auditors; `files` are the signing key and anchors verification uses (none in some tests). */
export function auditRoutes(files: AuditFiles | null) {
  return contractApp()
    .openapi(list, async (c) => c.json(await listAuditEntries({ ctx: c.get("ctx"), input: c.req.valid("query") }), 200))
    .openapi(verify, async (c) => {
      const result = await verifyAuditLog({ ctx: c.get("ctx"), input: { files } });
      return c.json(
        result.ok
          ? { ok: true, count: result.count, firstBad: null, findings: [], signaturesChecked: result.signaturesChecked, anchors: result.anchors }
          : { ok: false, count: result.count, firstBad: result.firstBad, findings: result.findings, signaturesChecked: false, anchors: 0 },
        200,
      );
    })
    .openapi(exportLog, (c) => {
      const { body, headers } = auditDownload({ ctx: c.get("ctx"), input: c.req.valid("query") });
      return c.body(body, 200, headers);
    });
}
