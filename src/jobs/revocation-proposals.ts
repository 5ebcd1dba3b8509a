import { and, eq, inArray, ne } from "drizzle-orm";
import { auditLog, requests, resources, users } from "../../db/schema";
import { REVOCATION_TRIGGERS, revocationTitle, type RevocationFacts, type RevocationTrigger } from "../resources/catalog";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { doneAmong, onceFor } from "../core/once";
import { openRequest } from "../engine";
import { busyResources, lockResources } from "../resources/claims";
import { describeResource, ownerOf, revocationDue, type ResourceRow } from "../resources/revocation";
import { POLICY_PROFILES, PROFILES } from "../../profiles";

const dateOf = (d: Date | null) => (d ? shanghaiDate(d) : null);

// The profiles whose documents set the time rules (梅州's 004 第二十四条): a request keeps the profile it was
// submitted under, so its resources follow that profile's rules whatever the service runs today.
const PROPOSING_PROFILES = POLICY_PROFILES.filter((key) => PROFILES[key].revocationProposals);

// A resource's rule, once it has proposed the resource, is spent: the key is `resourceId:trigger`.
const PROPOSAL_SCOPE = "revocation-proposal";

/**
 * Daily: opens a revocation proposal for resources a time rule now covers (梅州's rules, for requests under a
 * profile whose module sets revocationProposals), one per request and rule, with the dates as evidence. Each
 * rule proposes a resource once; the manager may reject it, and the next rule may propose again later.
 */
export async function proposeRevocations(ctx: ServiceContext): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const candidates = await ctx.db
    .select({ resource: resources })
    .from(resources)
    .innerJoin(requests, eq(requests.id, resources.requestId))
    // The rules are about applications' resources: a backup policy is never "deployed".
    .where(and(eq(resources.status, "delivered"), inArray(requests.profile, PROPOSING_PROFILES), eq(requests.flow, "application")));
  const requestIds = [...new Set(candidates.map((c) => c.resource.requestId))];
  // Deployment has started once the unit itself acted at the 应用部署 stage (a comment such as 开始部署, or
  // its confirmation). The stage opens on its own when delivery is verified, and its reminders, warnings and
  // other people's nudges say nothing about the unit's work.
  const started = requestIds.length
    ? new Set(
        (
          await ctx.db
            .select({ requestId: auditLog.requestId })
            .from(auditLog)
            .innerJoin(requests, eq(requests.id, auditLog.requestId))
            .innerJoin(users, eq(users.id, auditLog.actorId))
            .where(
              and(
                inArray(auditLog.requestId, requestIds),
                eq(auditLog.stage, "deploy"),
                eq(auditLog.outcome, "ok"),
                eq(users.unitId, requests.unitId),
                ne(auditLog.action, "request.nudge"),
              ),
            )
        ).map((r) => r.requestId!),
      )
    : new Set<number>();
  const dueNow = candidates.flatMap(({ resource }) => {
    const trigger = revocationDue(resource, started.has(resource.requestId), today);
    return trigger ? [{ resource, trigger, spentKey: `${resource.id}:${trigger}` }] : [];
  });
  // Rules already spent are skipped before any transaction, so a round that has nothing new opens none; the
  // claim inside the transaction stays the guard against two rounds at once.
  const spent = await doneAmong(ctx.db, PROPOSAL_SCOPE, dueNow.map((d) => d.spentKey));
  const due = new Map<string, { trigger: RevocationTrigger; rows: ResourceRow[] }>();
  for (const { resource, trigger, spentKey } of dueNow) {
    if (spent.has(spentKey)) continue;
    const key = `${resource.requestId}:${trigger}`;
    due.set(key, { trigger, rows: [...(due.get(key)?.rows ?? []), resource] });
  }
  let opened = 0;
  for (const { trigger, rows } of due.values()) {
    const done = await mutate({ ...ctx, actor: null, channel: "timer" }, { action: "revocation.propose" }, async (tx, j) => {
      const locked = await lockResources(tx, rows.map((r) => r.id));
      const busy = await busyResources(tx, locked.map((r) => r.id));
      // A resource another change is under way for is left for a later round, its rule not spent.
      const propose: ResourceRow[] = [];
      for (const r of locked.filter((l) => l.status === "delivered" && !busy.has(l.id)))
        if (await onceFor(ctx, tx, { scope: PROPOSAL_SCOPE, key: `${r.id}:${trigger}`, fingerprint: trigger })) propose.push(r);
      if (propose.length === 0) return false;
      const evidence = {
        deliveredAt: dateOf(propose[0]!.deliveredAt),
        deployedAt: dateOf(propose[0]!.deployedAt),
        securityTestedAt: dateOf(propose[0]!.securityTestedAt),
        liveAt: dateOf(propose[0]!.liveAt),
        today,
      };
      const facts: RevocationFacts = {
        resourceIds: propose.map((r) => r.id),
        resourceNames: propose.map(describeResource),
        trigger,
        evidence,
        reason: `${REVOCATION_TRIGGERS[trigger]}（004 第二十四条）`,
      };
      const form = { resources: facts.resourceIds, reason: facts.reason };
      await openRequest({ ctx, tx, j }, { flow: "revocation", title: revocationTitle(propose), form, facts, ...(await ownerOf(tx, propose)) }, { trigger, evidence });
      return true;
    });
    if (done) opened++;
  }
  return opened;
}
