import { createRoute, z } from "@hono/zod-openapi";
import { getUnit, getUser, listUnits, listUsers, publicUser, unitChain } from "../directory/queries";
import { roleSchema } from "../core/roles";
import { notFound } from "../core/errors";
import { bearerSecurity, contractApp, errorResponses, jsonContent } from "./contract";

const usersQuery = z.object({ role: roleSchema.optional(), unit: z.string().max(64).optional() });
const idParams = (description: string) => z.object({ id: z.string().openapi({ description }) });
const date = z.iso.datetime();

const unitSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["city", "county", "unit"]),
    parentId: z.string().nullable(),
    supervisorId: z.string().nullable().openapi({ description: "主管单位（下属单位才有，002 第二十三条）" }),
    createdAt: date,
    updatedAt: date,
  })
  .openapi("Unit");
const userSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    unitId: z.string(),
    mobile: z.string().openapi({ description: "脱敏手机号" }),
    addresses: z.record(z.string(), z.string()).openapi({ description: "各消息通道上的账号，如 {\"wecom\":\"LiHua\"}" }),
    roles: z.array(roleSchema),
    active: z.boolean(),
  })
  .openapi("User");

const units = createRoute({
  method: "get",
  path: "/units",
  summary: "单位列表",
  security: bearerSecurity,
  responses: { 200: jsonContent(z.object({ items: z.array(unitSchema) }), "单位列表"), ...errorResponses() },
});
const unit = createRoute({
  method: "get",
  path: "/units/{id}",
  summary: "单位详情：上级单位与成员（手机号脱敏）",
  security: bearerSecurity,
  request: { params: idParams("单位 id") },
  responses: {
    200: jsonContent(unitSchema.extend({ ancestors: z.array(unitSchema), users: z.array(userSchema) }), "单位"),
    ...errorResponses(404),
  },
});
const users = createRoute({
  method: "get",
  path: "/users",
  summary: "用户列表（手机号脱敏）",
  security: bearerSecurity,
  request: { query: usersQuery },
  responses: { 200: jsonContent(z.object({ items: z.array(userSchema) }), "用户列表"), ...errorResponses() },
});
const user = createRoute({
  method: "get",
  path: "/users/{id}",
  summary: "用户详情（手机号脱敏）",
  security: bearerSecurity,
  request: { params: idParams("用户 id") },
  responses: { 200: jsonContent(userSchema, "用户"), ...errorResponses(404) },
});

export function directoryRoutes() {
  return contractApp()
    .openapi(units, async (c) => c.json({ items: await listUnits(c.get("ctx").db) }, 200))
    .openapi(unit, async (c) => {
      const db = c.get("ctx").db;
      const { id } = c.req.valid("param");
      const found = await getUnit(db, id);
      if (!found) throw notFound(`单位 ${id} 不存在`);
      const [, ...ancestors] = await unitChain(db, found.id);
      const members = await listUsers(db, { unitId: found.id });
      return c.json({ ...found, ancestors, users: members.map(publicUser) }, 200);
    })
    .openapi(users, async (c) => {
      const q = c.req.valid("query");
      const rows = await listUsers(c.get("ctx").db, { role: q.role, unitId: q.unit });
      return c.json({ items: rows.map(publicUser) }, 200);
    })
    .openapi(user, async (c) => {
      const { id } = c.req.valid("param");
      const found = await getUser(c.get("ctx").db, id);
      if (!found) throw notFound(`用户 ${id} 不存在`);
      return c.json(publicUser(found), 200);
    });
}
