import { and, eq, inArray, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, resources, units } from "../../db/schema";
import { revocationFormSchema, type RevocationFacts, type RevocationTrigger } from "../../flows/revocation";
import { shanghaiDate } from "../calendar";
import { toEpochDay } from "../calendar/schedule";
import type { Actor } from "../context";
import { conflict, unprocessable } from "../errors";
import { parseInput } from "../validation";

export type ResourceRow = typeof resources.$inferSelect;

export function revocationRefusal(actor: Actor): string | null {
  return actor.roles.includes("applicant") || actor.roles.includes("provider") ? null : "撤销由使用单位或评估实施单位（云服务商）发起";
}

export function describeResource(r: ResourceRow): string {
  const spec = r.spec as { purpose?: string; product?: string; vcpu?: number; memoryGb?: number };
  const size = spec.vcpu ? ` ${spec.vcpu} 核 ${spec.memoryGb ?? 0}G` : "";
  return `${r.name} ${spec.purpose ?? spec.product ?? r.kind}${size}`;
}

/** Resources already named by a revocation still in progress. */
export async function underRevocation(tx: Db, ids: number[]): Promise<Set<number>> {
  const open = await tx
    .select({ facts: requests.facts })
    .from(requests)
    .where(and(eq(requests.flow, "revocation"), or(eq(requests.status, "in_progress"), eq(requests.status, "returned"))));
  const taken = new Set(open.flatMap((r) => (r.facts as RevocationFacts).resourceIds));
  return new Set(ids.filter((id) => taken.has(id)));
}

/** The unit a set of resources belongs to, and the applicant who asked for them: whose revocation it is. */
export async function ownerOf(tx: Db, rows: ResourceRow[]) {
  const [first] = rows;
  const [origin] = await tx
    .select({ applicantId: requests.applicantId, unitName: units.name })
    .from(requests)
    .innerJoin(units, eq(units.id, requests.unitId))
    .where(eq(requests.id, first!.requestId));
  return { unitId: first!.unitId, unitName: origin!.unitName, applicantId: origin!.applicantId };
}

/**
 * Checks a revocation: the resources exist, are in use, belong to one unit (the applicant's own, when an
 * applicant asks), and are not already being revoked.
 */
export async function prepareRevocation(tx: Db, actor: Actor, rawForm: unknown) {
  const form = parseInput(revocationFormSchema, rawForm, "撤销申请有误");
  const rows = await tx.select().from(resources).where(inArray(resources.id, form.resources));
  const missing = form.resources.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered"));
  if (missing.length > 0) throw unprocessable("unknown_resource", `资源不存在或已撤销：${missing.join("、")}`, { "form.resources": missing.map(String) });
  if (new Set(rows.map((r) => r.unitId)).size > 1) throw unprocessable("mixed_units", "一次只能撤销同一单位的资源");
  if (!actor.roles.includes("provider") && rows[0]!.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请撤销本单位的资源");
  const busy = await underRevocation(tx, form.resources);
  if (busy.size > 0) throw conflict("already_revoking", `资源已在撤销流程中：${[...busy].join("、")}`);
  const facts: RevocationFacts = { resourceIds: form.resources, resourceNames: rows.map(describeResource), trigger: "unit_request", evidence: null, reason: form.reason };
  return { form, facts, title: `撤销 ${rows[0]!.system} 的 ${rows.length} 项资源`, owner: await ownerOf(tx, rows) };
}

/**
 * 004 第二十四条(二): the time rules, strongest first, counted in calendar days from the day of delivery.
 * "More than 30 days" is read as from the 31st day after delivery. `deployStarted`: the deployment stage has
 * been reached (deploying is under way), which only the 30-day rule asks about.
 */
export function revocationDue(r: Pick<ResourceRow, "deliveredAt" | "deployedAt" | "securityTestedAt" | "liveAt">, deployStarted: boolean, today: string): RevocationTrigger | null {
  const days = toEpochDay(today) - toEpochDay(shanghaiDate(r.deliveredAt));
  if (days > 90 && !(r.securityTestedAt && r.liveAt)) return "not_live_90";
  if (days > 60 && !r.deployedAt) return "not_deployed_60";
  if (days > 30 && !r.deployedAt && !deployStarted) return "not_deployed_30";
  return null;
}

