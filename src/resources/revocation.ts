import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, resources, units } from "../../db/schema";
import { revocationFormSchema, revocationTitle, type RevocationFacts, type RevocationTrigger } from "../../flows/revocation";
import { calendarDaysBetween, shanghaiDate } from "../core/calendar";
import type { Actor } from "../core/context";
import { conflict, unprocessable } from "../core/errors";
import { busyResources, lockResources } from "./claims";
import { parseInput } from "../core/validation";

export type ResourceRow = typeof resources.$inferSelect;

export function revocationRefusal(actor: Actor): string | null {
  return actor.roles.includes("applicant") || actor.roles.includes("provider") ? null : "撤销由使用单位或评估实施单位（云服务商）发起";
}

export function describeResource(r: ResourceRow): string {
  const spec = r.spec as { purpose?: string; product?: string; vcpu?: number; memoryGb?: number };
  const size = spec.vcpu ? ` ${spec.vcpu} 核 ${spec.memoryGb ?? 0}G` : "";
  return `${r.name} ${spec.purpose ?? spec.product ?? r.kind}${size}`;
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
export async function prepareRevocation(tx: Db, actor: Actor, rawForm: unknown, resubmitting?: { id: number; facts: unknown }) {
  const form = parseInput(revocationFormSchema, rawForm, "撤销申请有误");
  const rows = await lockResources(tx, form.resources);
  const missing = form.resources.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered"));
  if (missing.length > 0) throw unprocessable("unknown_resource", `资源不存在或已撤销：${missing.join("、")}`, { "form.resources": missing.map(String) });
  if (new Set(rows.map((r) => r.unitId)).size > 1) throw unprocessable("mixed_units", "一次只能撤销同一单位的资源");
  if (!actor.roles.includes("provider") && rows[0]!.unitId !== actor.unitId) throw unprocessable("not_yours", "只能申请撤销本单位的资源");
  const busy = await busyResources(tx, form.resources, resubmitting?.id);
  if (busy.size > 0) throw conflict("already_changing", `资源已在其他流程中：${[...busy].map(([id, by]) => `${id} ${by}`).join("、")}`);
  // A proposal keeps the rule and the evidence it was opened with when it is edited and resubmitted.
  const previous = resubmitting?.facts as RevocationFacts | undefined;
  const facts: RevocationFacts = {
    resourceIds: form.resources,
    resourceNames: rows.map(describeResource),
    trigger: previous?.trigger ?? "unit_request",
    evidence: previous?.evidence ?? null,
    reason: form.reason,
  };
  // Started by the provider, the request is the unit's; started by an applicant, it is theirs.
  const owner = actor.roles.includes("provider") ? await ownerOf(tx, rows) : undefined;
  return { form, facts, title: revocationTitle(rows), owner };
}

/**
 * 004 第二十四条(二): the time rules, strongest first, counted in calendar days from the day of delivery.
 * "More than 30 days" is read as from the 31st day after delivery. `deployStarted`: the deployment stage has
 * been reached (deploying is under way), which only the 30-day rule asks about.
 */
export function revocationDue(r: Pick<ResourceRow, "deliveredAt" | "deployedAt" | "securityTestedAt" | "liveAt">, deployStarted: boolean, today: string): RevocationTrigger | null {
  const days = calendarDaysBetween(shanghaiDate(r.deliveredAt), today);
  if (days > 90 && !(r.securityTestedAt && r.liveAt)) return "not_live_90";
  if (days > 60 && !r.deployedAt) return "not_deployed_60";
  if (days > 30 && !r.deployedAt && !deployStarted) return "not_deployed_30";
  return null;
}

