import { and, eq, isNotNull } from "drizzle-orm";
import { resources } from "../../db/schema";
import type { Card } from "../../cards";
import { addCalendarDays, shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { usersWithRole } from "../directory/queries";
import { mutate } from "../core/mutate";
import { doneAmong, onceFor, wasDone } from "../core/once";
import { enqueueCards } from "../core/notify";
import { capacityAlertDue, expansionNoticeDue, utilisationPercent } from "../metrics/rules";
import { withDailyFigures } from "../metrics/views";
import { describeResource, ownerOf } from "./revocation";

const NOTICES = "capacity-notice";

const notice = (title: string, summary: string, fields: Card["fields"]): Card => ({ title, tone: "warning", summary, fields, actions: [], link: "" });

/**
 * 巴中 003 第二十四条(一): once a VM's utilisation passes 70% (`above`), the provider reports it at once to the
 * bureau and the using unit, which then applies to expand. Once a day yunshen reads each VM's figures of the day
 * before (a complete day) and, for each of vCPU peak, memory peak and disk used / allocated above it, tells the
 * managers, the providers and the unit's applicant, with the figure; at most once per VM, figure and month.
 * Audited as `capacity.vm_notice`: under a profile deciding scale-ups on this report (ProfileModule.scaleUpBasis
 * `providerReport`), the entry is what the unit's scale-up rests on (src/resources/adjustment.ts).
 */
export async function expansionNotices(ctx: ServiceContext, above: number): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const day = addCalendarDays(today, -1);
  const timer = { ...ctx, actor: null, channel: "timer" as const };
  // Once a day: a round that finishes the scan records it; one that fails midway is redone by the next round.
  const scanned = { scope: NOTICES, key: `vm-scan:${day}` };
  if (await wasDone(ctx.db, scanned)) return 0;
  const vms = await ctx.db
    .select()
    .from(resources)
    .where(and(eq(resources.status, "delivered"), eq(resources.kind, "vm"), isNotNull(resources.instanceId)));
  let told = 0;
  // Who hears of every VM: the same for the whole scan, looked up when the first notice is due.
  let staff: string[] | undefined;
  for await (const [vm, [figures]] of withDailyFigures(ctx.db, vms, (v) => v.instanceId!, day, day)) {
    if (!figures || figures.samples === 0) continue;
    const readings = [
      { metric: "vcpu", name: "vCPU 峰值使用率", value: figures.cpuPeak },
      { metric: "memory", name: "内存峰值使用率", value: figures.memPeak },
      {
        metric: "disk",
        name: "磁盘使用率",
        value: figures.diskUsedGb !== null && figures.diskAllocGb !== null && figures.diskAllocGb > 0 ? utilisationPercent(figures.diskUsedGb, figures.diskAllocGb) : null,
      },
    ].filter((r): r is { metric: string; name: string; value: number } => r.value !== null && expansionNoticeDue(r.value, above));
    if (readings.length === 0) continue;
    staff ??= [...(await usersWithRole(ctx.db, "manager")), ...(await usersWithRole(ctx.db, "provider"))].map((u) => u.id);
    const managersAndProviders = staff;
    const sent = await mutate(timer, { action: "capacity.vm_notice" }, async (tx, j) => {
      const fresh = [];
      for (const r of readings) if (await onceFor(ctx, tx, { scope: NOTICES, key: `vm:${vm.id}:${r.metric}:${day.slice(0, 7)}` })) fresh.push(r);
      if (fresh.length === 0) return false;
      const owner = await ownerOf(tx, [vm]);
      const text = fresh.map((r) => `${r.name} ${Math.round(r.value * 100) / 100}%`).join("、");
      const card = notice(
        `资源使用率超过 ${above}%`,
        `${describeResource(vm)}（${vm.system}）${day} ${text}，超过 ${above}%。请${owner.unitName}提出扩容申请（003 第二十四条）`,
        [
          { label: "单位", value: owner.unitName },
          { label: "资源", value: vm.name },
        ],
      );
      await enqueueCards(tx, ctx.clock.now(), [...managersAndProviders, owner.applicantId], "capacity", card, `capacity:vm:${vm.id}:${day}`);
      j.add({ action: "capacity.vm_notice", requestId: vm.requestId, details: { resourceId: vm.id, date: day, readings: fresh } });
      return true;
    });
    if (sent) told++;
  }
  await onceFor(ctx, ctx.db, scanned);
  return told;
}

/** The cloud's total capacity (CLOUD_CAPACITY_*), against which 001 第十九条 measures what has been allocated. */
export interface CloudCapacity {
  vcpu: number;
  memoryGb: number;
  storageGb: number;
}

/**
 * 徽州 001 第十九条: when the cloud's resources come near 70% (`alertAt`) of its capacity, the operator warns and
 * asks the authority to expand. yunshen sums what the ledger has delivered and not revoked (vCPU, memory, disk
 * and storage) against the configured capacity and, for each at or above `alertAt`, tells the managers and the
 * providers, at most once per resource kind and month. Audited as `capacity.cloud_alert`. Returns the kinds alerted.
 */
export async function cloudCapacityAlert(ctx: ServiceContext, capacity: CloudCapacity, alertAt: number): Promise<string[]> {
  const month = shanghaiDate(ctx.clock.now()).slice(0, 7);
  const names = { vcpu: "vCPU", memoryGb: "内存", storageGb: "存储" } as const;
  const units = { vcpu: "核", memoryGb: "GB", storageGb: "GB" } as const;
  const kinds = Object.keys(names) as (keyof typeof names)[];
  const keyOf = (kind: keyof typeof names) => `cloud:${kind}:${month}`;
  // It runs every job round: once the month's alerts have all been given there is nothing left to tell, so the
  // ledger is not summed. The claim inside the transaction below stays what keeps an alert to once.
  const given = await doneAmong(ctx.db, NOTICES, kinds.map(keyOf));
  if (given.size === kinds.length) return [];
  const held = await ctx.db.select({ spec: resources.spec }).from(resources).where(eq(resources.status, "delivered"));
  const used = { vcpu: 0, memoryGb: 0, storageGb: 0 };
  for (const { spec } of held) {
    const s = spec as { vcpu?: number; memoryGb?: number; diskGb?: number; storageGb?: number };
    used.vcpu += s.vcpu ?? 0;
    used.memoryGb += s.memoryGb ?? 0;
    used.storageGb += (s.diskGb ?? 0) + (s.storageGb ?? 0);
  }
  const due = kinds
    .map((kind) => ({ kind, used: used[kind], capacity: capacity[kind], percent: utilisationPercent(used[kind], capacity[kind]) }))
    .filter((r) => capacityAlertDue(r.percent, alertAt) && !given.has(keyOf(r.kind)));
  if (due.length === 0) return [];
  return mutate({ ...ctx, actor: null, channel: "timer" }, { action: "capacity.cloud_alert" }, async (tx, j) => {
    const fresh = [];
    for (const r of due) if (await onceFor(ctx, tx, { scope: NOTICES, key: keyOf(r.kind) })) fresh.push(r);
    if (fresh.length === 0) return [];
    const text = fresh.map((r) => `${names[r.kind]}已分配 ${r.used} ${units[r.kind]}，占总容量 ${r.capacity} ${units[r.kind]} 的 ${Math.round(r.percent * 100) / 100}%`).join("；");
    const card = notice("政务云资源接近容量", `${text}，已达 ${alertAt}%，请报请云主管部门启动扩容（001 第十九条）`, []);
    const to = [...(await usersWithRole(tx, "manager")), ...(await usersWithRole(tx, "provider"))].map((u) => u.id);
    await enqueueCards(tx, ctx.clock.now(), to, "capacity", card, `capacity:cloud:${month}:${fresh.map((r) => r.kind).join(",")}`);
    j.add({ action: "capacity.cloud_alert", details: { month, readings: fresh } });
    return fresh.map((r) => r.kind);
  });
}
