import { and, asc, eq, getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../../db/client";
import { units, userChannels, users } from "../../db/schema";
import type { Role } from "../core/roles";

export type UnitKind = "city" | "county" | "unit";

export type Unit = typeof units.$inferSelect;

/** A person with their address on each channel they have (user_channels), e.g. `{ wecom: "LiHua" }`. */
export type User = Omit<typeof users.$inferSelect, "roles"> & { roles: Role[]; addresses: Record<string, string> };

/** What the API may show of a user: the mobile is masked (design.md invariant 8). */
export type PublicUser = Omit<User, "createdAt" | "updatedAt">;

// The import validates roles, so the jsonb column only ever holds Role values.
const asUser = (row: typeof users.$inferSelect & { addresses: Record<string, string> }): User => ({ ...row, roles: row.roles as Role[] });

// A person's addresses ride along with their row: a few rows by primary key, no second round trip.
const withAddresses = {
  ...getTableColumns(users),
  addresses: sql<Record<string, string>>`coalesce((select jsonb_object_agg(c.channel, c.address) from ${userChannels} c where c.user_id = ${users.id}), '{}'::jsonb)`,
};

// No index on roles: a directory is a few hundred rows, so a scan with jsonb containment is cheap.
const hasRole = (role: Role): SQL => sql`${users.roles} @> ${JSON.stringify([role])}::jsonb`;

export async function getUser(db: Db, id: string): Promise<User | null> {
  const [row] = await db.select(withAddresses).from(users).where(eq(users.id, id));
  return row ? asUser(row) : null;
}

export async function getUsers(db: Db, ids: readonly string[]): Promise<User[]> {
  if (ids.length === 0) return [];
  const rows = await db.select(withAddresses).from(users).where(inArray(users.id, [...ids])).orderBy(asc(users.id));
  return rows.map(asUser);
}

export async function listUsers(
  db: Db,
  filter: { role?: Role; unitId?: string; active?: boolean } = {},
): Promise<User[]> {
  const conditions: SQL[] = [];
  if (filter.role !== undefined) conditions.push(hasRole(filter.role));
  if (filter.unitId !== undefined) conditions.push(eq(users.unitId, filter.unitId));
  if (filter.active !== undefined) conditions.push(eq(users.active, filter.active));
  const rows = await db
    .select(withAddresses)
    .from(users)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(asc(users.unitId), asc(users.id));
  return rows.map(asUser);
}

/** Active users holding `role`, optionally only those of one unit: who a stage is assigned to. */
export async function usersWithRole(db: Db, role: Role, opts: { unitId?: string } = {}): Promise<User[]> {
  return listUsers(db, { role, unitId: opts.unitId, active: true });
}

export async function getUnit(db: Db, id: string): Promise<Unit | null> {
  const [row] = await db.select().from(units).where(eq(units.id, id));
  return row ?? null;
}

export async function listUnits(db: Db): Promise<Unit[]> {
  return db.select().from(units).orderBy(asc(units.id));
}

const parentUnit = alias(units, "parent_unit");
const grandparentUnit = alias(units, "grandparent_unit");

/**
 * The unit and its ancestors, nearest first, ending at the city; [] for an unknown unit. One query: the
 * import keeps the hierarchy to city → county → unit, three levels.
 */
export async function unitChain(db: Db, unitId: string): Promise<Unit[]> {
  const [row] = await db
    .select({ unit: units, parent: parentUnit, grandparent: grandparentUnit })
    .from(units)
    .leftJoin(parentUnit, eq(parentUnit.id, units.parentId))
    .leftJoin(grandparentUnit, eq(grandparentUnit.id, parentUnit.parentId))
    .where(eq(units.id, unitId));
  if (!row) return [];
  return [row.unit, row.parent, row.grandparent].filter((u): u is Unit => u !== null);
}

/**
 * The county unit a unit belongs to (the unit itself when it is a county bureau), or null for a
 * city-level unit: whose county bureau pre-reviews a request (flows.md, Flow 1 stage "initiate").
 */
export async function countyOf(db: Db, unitId: string): Promise<Unit | null> {
  const chain = await unitChain(db, unitId);
  return chain.find((u) => u.kind === "county") ?? null;
}

/**
 * The 主管单位 of a 下属单位 (002 第十七条、第二十三条), or null for a unit that has none: whose unit_supervisor users
 * pre-review its requests and pass its yearly demand on.
 */
export async function supervisorOf(db: Db, unitId: string): Promise<Unit | null> {
  const supervisor = alias(units, "supervisor_unit");
  const [row] = await db.select({ supervisor }).from(units).innerJoin(supervisor, eq(supervisor.id, units.supervisorId)).where(eq(units.id, unitId));
  return row?.supervisor ?? null;
}

/** "13800138000" → "138****8000"; anything shorter than a mainland number keeps at most its last 2 digits. */
export function maskMobile(mobile: string): string {
  if (mobile.length >= 11) return `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;
  if (mobile.length > 4) return `${"*".repeat(mobile.length - 2)}${mobile.slice(-2)}`;
  return "*".repeat(mobile.length);
}

export function publicUser(user: User): PublicUser {
  return {
    id: user.id,
    name: user.name,
    unitId: user.unitId,
    mobile: maskMobile(user.mobile),
    addresses: user.addresses,
    roles: user.roles,
    active: user.active,
  };
}

/**
 * The active user a channel's address belongs to (the sender of a WeCom callback). Addresses compare
 * case-insensitively, as WeCom's userids do, and are unique that way per channel.
 */
export async function userByAddress(db: Db, channel: string, address: string): Promise<User | null> {
  if (address === "") return null;
  const [row] = await db
    .select(withAddresses)
    .from(users)
    .innerJoin(userChannels, eq(userChannels.userId, users.id))
    .where(and(eq(userChannels.channel, channel), sql`lower(${userChannels.address}) = lower(${address})`, eq(users.active, true)));
  return row ? asUser(row) : null;
}
