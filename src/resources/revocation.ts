import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { requests, resources, units } from "../../db/schema";
import { calendarDaysBetween, shanghaiDate } from "../core/calendar";
import type { RevocationTrigger } from "./catalog";

export type ResourceRow = typeof resources.$inferSelect;

export function describeResource(r: ResourceRow): string {
  const spec = r.spec as { purpose?: string; product?: string; vcpu?: number; memoryGb?: number; device?: string; kindName?: string };
  const size = spec.vcpu ? ` ${spec.vcpu} 核 ${spec.memoryGb ?? 0}G` : "";
  // A hosted device by its name; bandwidth, public IPs and security services by their kind (004 第四十八条).
  return `${r.name} ${spec.purpose ?? spec.product ?? spec.device ?? spec.kindName ?? r.kind}${size}`;
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

