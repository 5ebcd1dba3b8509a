import { createRoute, z } from "@hono/zod-openapi";
import { getSystem, listSystems, registerInput, registerSystem, updateBody, updateSystem } from "../systems/register";
import { bearerSecurity, checkedByTheVerb, contractApp, errorResponses, jsonBodyGate, jsonContent, refuseInvalid } from "./contract";

const system = z
  .object({
    id: z.int(),
    unitId: z.string(),
    unitName: z.string().nullable(),
    name: z.string(),
    kind: z.enum(["migration", "new"]),
    kindText: z.string(),
    approvalRef: z.string(),
    approvalFileId: z.string().nullable(),
    nonClassified: z.object({ by: z.string(), at: z.string() }),
    mlps: z
      .object({ level: z.int(), levelText: z.string(), filedOn: z.string(), recordNo: z.string(), testedOn: z.string().nullable(), fileId: z.string().nullable() })
      .nullable(),
    crypto: z.object({ assessedOn: z.string(), result: z.string(), resultText: z.string(), fileId: z.string().nullable() }).nullable(),
    registeredBy: z.string(),
    registeredAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("RegisteredSystem");

const idParams = z.object({ id: z.coerce.number().int().positive().openapi({ type: "integer", description: "系统编号", example: 1 }) });

const list = createRoute({
  method: "get",
  path: "/",
  summary: "政务信息系统登记（004 第二条）：使用单位看本单位的，县级数据局看本县的，统筹管理、评估实施、复核单位看全部",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ systems: z.array(system) }), "登记的系统"), ...errorResponses(403) },
});

const one = createRoute({
  method: "get",
  path: "/{id}",
  summary: "一个登记的系统，含等保与密评记录",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: jsonContent(system, "系统"), ...errorResponses(403, 404) },
});

const register = createRoute({
  method: "post",
  path: "/",
  summary: "登记政务信息系统（名称须与立项方案、实施方案完全一致；须声明非涉密；004 第二条、第十二条(二)1）",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { body: { required: true, content: { "application/json": { schema: checkedByTheVerb(registerInput) } } } },
  responses: { 201: jsonContent(system, "已登记"), ...errorResponses(403, 409, 422) },
});

const update = createRoute({
  method: "patch",
  path: "/{id}",
  summary: "记录系统的等级保护（004 第三十八条）与商用密码应用安全性评估（第四十条），或更正立项依据",
  security: bearerSecurity,
  middleware: [jsonBodyGate()] as const,
  request: { params: idParams, body: { required: true, content: { "application/json": { schema: checkedByTheVerb(updateBody) } } } },
  responses: { 200: jsonContent(system, "已更新"), ...errorResponses(403, 404, 409, 422) },
});

const badId = { param: "系统编号无效" };

/** /api/systems: the register of 政务信息系统 (004 第二条) with their 等保 and 密评 records. */
export function systemRoutes() {
  return contractApp()
    .openapi(list, async (c) => c.json({ systems: await listSystems({ ctx: c.get("ctx") }) }, 200))
    .openapi(one, async (c) => c.json(await getSystem({ ctx: c.get("ctx"), input: c.req.valid("param") }), 200), refuseInvalid(badId))
    .openapi(register, async (c) => c.json(await registerSystem({ ctx: c.get("ctx"), input: c.req.valid("json") }), 201))
    .openapi(update, async (c) => c.json(await updateSystem({ ctx: c.get("ctx"), input: { ...(c.req.valid("json") as object), id: c.req.valid("param").id } }), 200), refuseInvalid(badId));
}
