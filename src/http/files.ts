import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ATTACHMENT_PURPOSES } from "../../flows/application/form";
import { invalid } from "../core/errors";
import { ALLOWED_TYPES, downloadHeaders, FILE_ID_PATTERN, MB, PENDING_MAX_FILES, PENDING_MAX_SIZES, readFile, UNBOUND_FILE_HOURS, uploadFile } from "../files";
import { bearerSecurity, contractApp, errorResponses, jsonContent } from "./contract";

const storedFileSchema = z
  .object({
    id: z.string().openapi({ pattern: FILE_ID_PATTERN, description: "文件 id：提交申请时填入 form.attachments[].fileId" }),
    name: z.string().openapi({ description: "文件名（已去除路径与控制字符）" }),
    size: z.int().openapi({ description: "字节数" }),
    sha256: z.string().openapi({ description: "文件内容的 SHA-256（十六进制）" }),
    contentType: z.string(),
  })
  .openapi("StoredFile");

const purposes = Object.keys(ATTACHMENT_PURPOSES) as [keyof typeof ATTACHMENT_PURPOSES, ...(keyof typeof ATTACHMENT_PURPOSES)[]];

const uploadSchema = z.object({
  file: z
    .custom<File>((v) => v instanceof File, { error: "请选择一个要上传的文件（字段 file）" })
    .openapi({ type: "string", format: "binary", description: `文件，仅支持 ${ALLOWED_TYPES}` }),
  purpose: z.enum(purposes).openapi({ description: `用途：${Object.entries(ATTACHMENT_PURPOSES).map(([k, v]) => `${k} ${v}`).join("；")}` }),
});

// Hono's own answer to another media type is an English 415.
const multipartGate = createMiddleware(async (c, next) => {
  if (!/^\s*multipart\/form-data\s*;/i.test(c.req.header("content-type") ?? ""))
    throw invalid("请以 multipart/form-data 上传：文件放在字段 file，用途放在字段 purpose（如 curl -F file=@方案.pdf -F purpose=plan）");
  await next();
});

/** The body limit of an upload: the file's limit and room for the multipart envelope and the text fields. */
export const uploadBodyLimit = (maxMb: number) => maxMb * MB + 64 * 1024;

export function fileRoutes(opts: { maxMb: number }) {
  const upload = createRoute({
    method: "post",
    path: "/",
    summary: `上传附件：multipart/form-data，字段 file（≤ ${opts.maxMb} MB，${ALLOWED_TYPES}）与 purpose；返回的 id 填入申请的 form.attachments[].fileId，用途须与上传时一致；未提交的附件 ${UNBOUND_FILE_HOURS} 小时后删除，每人最多 ${PENDING_MAX_FILES} 个、${PENDING_MAX_SIZES * opts.maxMb} MB`,
    security: bearerSecurity,
    middleware: [multipartGate] as const,
    request: { body: { required: true, content: { "multipart/form-data": { schema: uploadSchema } } } },
    responses: { 201: jsonContent(storedFileSchema, "已上传"), ...errorResponses(403, 409) },
  });
  const download = createRoute({
    method: "get",
    path: "/{id}",
    summary: "下载附件：上传人（尚未提交时）或能查看其所属申请的人",
    security: bearerSecurity,
    request: { params: z.object({ id: z.string().openapi({ pattern: FILE_ID_PATTERN, example: "f_3q2-7wEjRkOZxIYc1pT0vA", description: "文件 id" }) }) },
    responses: {
      200: {
        description: "文件内容，Content-Disposition 带文件名（RFC 5987 filename*）",
        content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
      },
      ...errorResponses(404),
    },
  });
  return contractApp()
    .openapi(upload, async (c) => {
      const { file, purpose } = c.req.valid("form");
      const content = new Uint8Array(await file.arrayBuffer());
      const stored = await uploadFile({ ctx: c.get("ctx"), input: { name: file.name, content, purpose }, maxBytes: opts.maxMb * MB });
      return c.json(stored, 201);
    })
    .openapi(download, async (c) => {
      const file = await readFile({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } });
      return c.body(new Uint8Array(file.content), 200, downloadHeaders(file));
    });
}
