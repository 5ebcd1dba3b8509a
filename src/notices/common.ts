import { inArray } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { resources, units } from "../../db/schema";
import type { Actor } from "../core/context";
import { forbidden, unprocessable } from "../core/errors";
import { listUsers, usersWithRole } from "../directory/queries";

// What the two notices share: who is affected (units, and resources of the ledger), who is told, who may see.

export const text = (max: number, what: string) => z.string().trim().min(1, `请填写${what}`).max(max, `${what}不超过 ${max} 字`);

/** An instant with its offset ("2026-10-09T22:00:00+08:00"), as a person's clock reads it. */
export const instant = (what: string) =>
  z.iso.datetime({ offset: true, error: `${what}无效，应为带时区的 ISO 时间，如 2026-10-09T22:00:00+08:00` }).transform((s) => new Date(s));

export const affectedInput = {
  affectedUnits: z.array(z.string().trim().min(1, "单位编号不能为空").max(100, "单位编号过长")).max(200, "受影响单位不超过 200 个").default([]),
  affectedResources: z.array(z.int("资源编号应为整数").positive("资源编号应为正整数")).max(500, "受影响资源不超过 500 项").default([]),
};

export interface Affected {
  /** Every unit affected: those named, and the owners of the resources named, in order, without repeats. */
  unitIds: string[];
  unitNames: string[];
  resourceIds: number[];
  resourceNames: string[];
}

/** The city's roles see every notice; anyone else those affecting or reported by their unit. */
export function seesAll(actor: Actor): boolean {
  return actor.roles.some((r) => r === "manager" || r === "reviewer" || r === "provider");
}

/**
 * Checks the units and the ledger's resources named (422 naming the field when one is unknown or a resource is
 * revoked) and adds each resource's unit to the units affected. A unit reporting for itself may name only itself
 * and its own resources.
 */
export async function resolveAffected(tx: Db, actor: Actor, unitIds: string[], resourceIds: number[]): Promise<Affected> {
  const wantedUnits = [...new Set(unitIds)];
  const wantedResources = [...new Set(resourceIds)];
  const foundUnits = wantedUnits.length ? await tx.select({ id: units.id, name: units.name }).from(units).where(inArray(units.id, wantedUnits)) : [];
  const missingUnits = wantedUnits.filter((u) => !foundUnits.some((f) => f.id === u));
  if (missingUnits.length) throw unprocessable("invalid_target", `没有这些单位：${missingUnits.join("、")}`, { affectedUnits: missingUnits.map((u) => `单位 ${u} 不存在`) });
  const rows = wantedResources.length
    ? await tx
        .select({ id: resources.id, name: resources.name, unitId: resources.unitId, status: resources.status })
        .from(resources)
        .where(inArray(resources.id, wantedResources))
    : [];
  const missing = wantedResources.filter((r) => !rows.some((f) => f.id === r));
  if (missing.length) throw unprocessable("unknown_resource", `台账中没有这些资源：${missing.join("、")}`, { affectedResources: missing.map((r) => `资源 ${r} 不在台账中`) });
  const revoked = rows.filter((r) => r.status !== "delivered");
  if (revoked.length) throw unprocessable("resource_gone", `这些资源已回收：${revoked.map((r) => r.name).join("、")}`, { affectedResources: revoked.map((r) => `资源 ${r.name} 已回收`) });
  const ordered = wantedResources.map((id) => rows.find((r) => r.id === id)!);
  const all = [...new Set([...wantedUnits, ...ordered.map((r) => r.unitId)])];
  if (!seesAll(actor) && all.some((u) => u !== actor.unitId)) throw forbidden("使用单位只能报告本单位及本单位资源的情况");
  const names = all.length ? await tx.select({ id: units.id, name: units.name }).from(units).where(inArray(units.id, all)) : [];
  return {
    unitIds: all,
    unitNames: all.map((u) => names.find((n) => n.id === u)?.name ?? u),
    resourceIds: ordered.map((r) => r.id),
    resourceNames: ordered.map((r) => r.name),
  };
}

/** The names of units and resources stored on a notice, for views and cards. */
export async function namesOf(db: Db, unitIds: string[], resourceIds: number[]) {
  const u = unitIds.length ? await db.select({ id: units.id, name: units.name }).from(units).where(inArray(units.id, unitIds)) : [];
  const r = resourceIds.length ? await db.select({ id: resources.id, name: resources.name }).from(resources).where(inArray(resources.id, resourceIds)) : [];
  return {
    unitNames: unitIds.map((id) => u.find((x) => x.id === id)?.name ?? id),
    resourceNames: resourceIds.map((id) => r.find((x) => x.id === id)?.name ?? String(id)),
  };
}

/**
 * Who is told of a notice: the active people of every unit affected, the managers (统筹管理单位 / 云管理机构),
 * the reviewer (复核单位, the 监管 / supervisor) and the provider — all but the person reporting.
 */
export async function recipients(tx: Db, unitIds: string[], except: string): Promise<string[]> {
  const people = new Set<string>();
  for (const role of ["manager", "reviewer", "provider"] as const) for (const u of await usersWithRole(tx, role)) people.add(u.id);
  for (const unitId of unitIds) for (const u of await listUsers(tx, { unitId, active: true })) people.add(u.id);
  people.delete(except);
  return [...people].sort();
}
