import { and, eq, isNotNull } from "drizzle-orm";
import { inboundEvents, resources } from "../../db/schema";
import type { AdjustmentFacts } from "../../flows/adjustment";
import { addCalendarDays, shanghaiDate } from "../calendar";
import type { ServiceContext } from "../context";
import { mutate } from "../engine/mutate";
import { openRequest } from "../engine/requests";
import { vmUtilisation } from "../metrics/views";
import { busyResources, lockResources } from "./claims";
import { describeResource, ownerOf } from "./revocation";

/**
 * 半年评估 (004 第十九条(三)): in January and July, every VM with a low-load month (more than 15 low-load days)
 * in the previous six gets a scale-down proposal, once per half-year. It proposes half the vCPU and memory as
 * a starting point; the provider's plan and the unit's confirmation (or disagreement, with reasons) follow.
 */
export async function halfYearlyReview(ctx: ServiceContext): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const month = Number(today.slice(5, 7));
  if (month !== 1 && month !== 7) return 0;
  const half = `${today.slice(0, 4)}-${month === 1 ? "H1" : "H2"}`;
  const from = `${month === 1 ? Number(today.slice(0, 4)) - 1 : today.slice(0, 4)}-${month === 1 ? "07" : "01"}-01`;
  const to = addCalendarDays(`${today.slice(0, 7)}-01`, -1);
  const vms = await ctx.db
    .select()
    .from(resources)
    .where(and(eq(resources.status, "delivered"), eq(resources.kind, "vm"), isNotNull(resources.instanceId)));
  // Reviewed already this half-year (the job runs every round): skip before reading any figures.
  const reviewed = new Set(
    (await ctx.db.select({ key: inboundEvents.key }).from(inboundEvents).where(and(eq(inboundEvents.scope, "scale-down-proposal"), eq(inboundEvents.fingerprint, half)))).map((r) => r.key),
  );
  let opened = 0;
  for (const vm of vms.filter((v) => !reviewed.has(`${v.id}:${half}`))) {
    const usage = await vmUtilisation({ ctx: { ...ctx, actor: null }, input: { vm: vm.instanceId!, from, to } });
    const low = usage.months.filter((m) => m.lowLoad);
    const spec = vm.spec as { vcpu: number; memoryGb: number; diskGb?: number };
    const target = { vcpu: Math.max(1, Math.floor(spec.vcpu / 2)), memoryGb: Math.max(1, Math.floor(spec.memoryGb / 2)) };
    if (low.length === 0 || (target.vcpu === spec.vcpu && target.memoryGb === spec.memoryGb)) {
      // Nothing to propose: remembered as reviewed, so the rest of the half-year does not read its figures again.
      await ctx.db
        .insert(inboundEvents)
        .values({ scope: "scale-down-proposal", key: `${vm.id}:${half}`, fingerprint: half, createdAt: ctx.clock.now() })
        .onConflictDoNothing();
      continue;
    }
    const done = await mutate({ ...ctx, actor: null, channel: "timer" }, { action: "adjustment.propose" }, async (tx, j) => {
      // A VM another change is under way for is looked at again in a later round.
      const [locked] = await lockResources(tx, [vm.id]);
      if (!locked || locked.status !== "delivered" || (await busyResources(tx, [vm.id])).size > 0) return false;
      const [fresh] = await tx
        .insert(inboundEvents)
        .values({ scope: "scale-down-proposal", key: `${vm.id}:${half}`, fingerprint: half, createdAt: ctx.clock.now() })
        .onConflictDoNothing()
        .returning({ key: inboundEvents.key });
      if (!fresh) return false;
      const lowMonths = low.map((m) => `${m.month}（${m.lowLoadDays} 天）`).join("、");
      const facts: AdjustmentFacts = {
        direction: "down",
        resourceId: vm.id,
        resourceName: describeResource(vm),
        from: { vcpu: spec.vcpu, memoryGb: spec.memoryGb, diskGb: spec.diskGb },
        to: target,
        evidence: [{ kind: "low_load", ok: true, reason: `低负载月份：${lowMonths}` }],
        origin: "review",
      };
      const form = { direction: "down", resource: vm.id, to: target, reason: `半年评估：${lowMonths}为低负载（004 第十九条）` };
      await openRequest({ ctx, tx, j }, { flow: "adjustment", title: `缩容 ${vm.name}（${vm.system}）`, form, facts, ...(await ownerOf(tx, [vm])) }, { origin: "review", lowMonths: low });
      return true;
    });
    if (done) opened++;
  }
  return opened;
}
