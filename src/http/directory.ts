import { Hono } from "hono";
import { z } from "zod";
import { getUnit, getUser, listUnits, listUsers, publicUser, unitChain } from "../directory/queries";
import { roleSchema } from "../core/roles";
import { notFound } from "../core/errors";
import { parseInput } from "../core/validation";
import type { ApiEnv } from "./auth";

const usersQuery = z.object({ role: roleSchema.optional(), unit: z.string().max(64).optional() });

export function directoryRoutes() {
  return new Hono<ApiEnv>()
    .get("/units", async (c) => c.json({ items: await listUnits(c.get("ctx").db) }))
    .get("/units/:id", async (c) => {
      const db = c.get("ctx").db;
      const unit = await getUnit(db, c.req.param("id"));
      if (!unit) throw notFound(`单位 ${c.req.param("id")} 不存在`);
      const [, ...ancestors] = await unitChain(db, unit.id);
      const members = await listUsers(db, { unitId: unit.id });
      return c.json({ ...unit, ancestors, users: members.map(publicUser) });
    })
    .get("/users", async (c) => {
      const q = parseInput(usersQuery, c.req.query(), "查询参数有误");
      const rows = await listUsers(c.get("ctx").db, { role: q.role, unitId: q.unit });
      return c.json({ items: rows.map(publicUser) });
    })
    .get("/users/:id", async (c) => {
      const user = await getUser(c.get("ctx").db, c.req.param("id"));
      if (!user) throw notFound(`用户 ${c.req.param("id")} 不存在`);
      return c.json(publicUser(user));
    });
}
