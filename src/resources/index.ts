import { and, asc, eq, inArray, isNull, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { requests, resourceSizes, resources, units } from "../../db/schema";
import {
  BACKUP_COPIES,
  BACKUP_TYPES,
  BANDWIDTH_ZONES,
  hostingRows,
  PAAS_KINDS,
  SECURITY_SERVICES,
  type AdjustmentFacts,
  type BackupFacts,
  type BackupPolicy,
  type RequestedResources,
  type ResourceMilestone,
  type RevocationFacts,
} from "./catalog";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import type { Journal } from "../core/mutate";
import type { LockedRequest } from "../core/request";
import { conflict, forbidden, isUniqueViolation, notFound, unprocessable } from "../core/errors";
import { mutate } from "../core/mutate";
import { VM_ID } from "../metrics/rules";
import { parseInput } from "../core/validation";
import { seesEveryUnit } from "../core/roles";
import { PROFILES } from "../../profiles";

type ResourceRow = typeof resources.$inferInsert;

/** A backup policy as the ledger holds it, linked to the VM it backs up (revoked with it). */
function backupSpec(p: BackupPolicy, of: string, resourceId: number) {
  return { type: BACKUP_TYPES[p.type], strategy: p.strategy, copies: BACKUP_COPIES[p.copies], retentionMonths: p.retentionMonths, of, resourceId };
}

/**
 * The resources a request delivers: a 云资源申请's, one row per unit of quantity, then a backup policy for each
 * VM whose row asks for one; a 备份申请's policy. A policy names its VM's id, so the VMs are written first.
 */
async function deliverResources(tx: Db, req: LockedRequest, at: Date) {
  const base = { requestId: req.id, unitId: req.unitId, status: "delivered" as const, deliveredAt: at, billedFrom: billedFromDelivery(req) ? at : null };
  const insert = (rows: ResourceRow[]) =>
    rows.length === 0
      ? Promise.resolve([])
      : // A re-delivery after a return keeps the resources delivered the first time.
        tx.insert(resources).values(rows).onConflictDoNothing({ target: resources.name }).returning({ id: resources.id, spec: resources.spec });
  if (req.flow === "backup") {
    const f = req.facts as BackupFacts;
    return insert([{ ...base, system: f.system, kind: "backup", spec: backupSpec(f, f.resourceName, f.resource), name: `${req.code}-01` }]);
  }
  const form = req.form as RequestedResources;
  const rows: ResourceRow[] = [];
  const policies: { vm: string; policy: BackupPolicy }[] = [];
  // YS-2026-00012-01, -02, …: the VMs, the PaaS services, the hosted devices, bandwidth, public IPs and security
  // services, then the backup policies.
  const nameAt = (n: number) => `${req.code}-${String(n).padStart(2, "0")}`;
  const name = () => nameAt(rows.length + 1);
  for (const vm of form.vms)
    for (let i = 0; i < vm.quantity; i++) {
      const row = { ...base, system: req.title, kind: "vm", name: name(), spec: { purpose: vm.purpose, vcpu: vm.vcpu, memoryGb: vm.memoryGb, diskGb: vm.diskGb, storageType: vm.storageType, os: vm.os } };
      rows.push(row);
      if (vm.backup) policies.push({ vm: row.name, policy: vm.backup });
    }
  for (const p of form.paas)
    for (let i = 0; i < p.quantity; i++)
      rows.push({ ...base, system: req.title, kind: `paas_${p.kind}`, name: name(), spec: { kindName: PAAS_KINDS[p.kind], product: p.product, vcpu: p.vcpu, memoryGb: p.memoryGb, storageGb: p.storageGb } });
  for (const row of networkAndSecurityRows(form, () => ({ ...base, system: req.title, name: name() }))) rows.push(row);
  const created = await insert(rows);
  if (policies.length === 0) return created;
  const vms = await tx.select({ id: resources.id, name: resources.name, spec: resources.spec }).from(resources).where(eq(resources.requestId, req.id));
  const backups = policies.map(({ vm, policy }, i) => {
    const row = vms.find((v) => v.name === vm)!;
    const of = `${vm} ${(row.spec as { purpose: string }).purpose}`;
    return { ...base, system: req.title, kind: "backup", name: nameAt(rows.length + i + 1), spec: backupSpec(policy, of, row.id) };
  });
  return [...created, ...(await insert(backups))];
}

/**
 * 004 第十二条(三)2, 第四十八条: the hosted devices (one row each, by its rack units), the bandwidth of each zone,
 * the public IPs (one row for all) and each security service (one row, by its quantity), priced per day as
 * prices.ts names them. Rows are pushed one at a time so each takes the next name.
 */
function* networkAndSecurityRows(form: RequestedResources, next: () => Omit<ResourceRow, "kind" | "spec">): Generator<ResourceRow> {
  for (const h of hostingRows(form))
    for (let i = 0; i < h.quantity; i++)
      yield { ...next(), kind: "hosting", spec: { kindName: "硬件托管", device: h.device, rackUnits: h.rackUnits, ...(h.powerW ? { powerW: h.powerW } : {}) } };
  for (const b of form.bandwidth ?? []) yield { ...next(), kind: "bandwidth", spec: { kindName: "带宽", zone: b.zone, zoneName: BANDWIDTH_ZONES[b.zone], mbps: b.mbps } };
  if (form.publicIps) yield { ...next(), kind: "public_ip", spec: { kindName: "公网 IP", ips: form.publicIps } };
  for (const s of form.security ?? []) yield { ...next(), kind: `security_${s.service}`, spec: { kindName: SECURITY_SERVICES[s.service], service: s.service, units: s.quantity } };
}

/**
 * Whether a request's resources are billed from their delivery: everywhere but a 云资源申请 in a profile that bills
 * from the deployment (巴中, 003 第四十三条), whose resources wait, unbilled, for the 系统部署 stage.
 */
function billedFromDelivery(req: LockedRequest) {
  return req.flow !== "application" || PROFILES[req.profile].billingStartsAt === "delivered";
}

const MILESTONE_COLUMN = {
  deployed: "deployedAt",
  security_tested: "securityTestedAt",
  live: "liveAt",
} as const satisfies Record<Exclude<ResourceMilestone, "delivered" | "revoked" | "changed">, keyof ResourceRow>;

/**
 * A stage that marks a moment in the resources' life has completed: delivery creates them from the form;
 * later moments are dated on the request's resources (the first time only: a retest does not move 安全检测).
 */
export async function recordMilestone(step: { tx: Db; j: Journal; req: LockedRequest; at: Date }, milestone: ResourceMilestone) {
  const { tx, j, req, at } = step;
  if (milestone === "revoked") {
    // A revocation's resources are the ones it names, not its own.
    const ids = (req.facts as RevocationFacts).resourceIds;
    const revoked = await tx
      .update(resources)
      .set({ status: "revoked", revokedAt: at })
      .where(and(inArray(resources.id, ids), eq(resources.status, "delivered")))
      .returning({ id: resources.id });
    // A VM's backup policies go with it: nothing is left to back up, or to bill.
    const gone = revoked.map((r) => r.id);
    const backups = gone.length
      ? await tx
          .update(resources)
          .set({ status: "revoked", revokedAt: at })
          .where(and(eq(resources.kind, "backup"), eq(resources.status, "delivered"), inArray(sql`(${resources.spec}->>'resourceId')::bigint`, gone)))
          .returning({ id: resources.id })
      : [];
    if (revoked.length > 0)
      j.add({ action: "resource.revoked", requestId: req.id, details: { resourceIds: gone, backupIds: backups.map((b) => b.id) } });
    return;
  }
  if (milestone === "changed") {
    // An adjustment's new sizes become the resource's, on the day the provider made the change.
    const f = req.facts as AdjustmentFacts;
    const [row] = await tx.select().from(resources).where(eq(resources.id, f.resourceId)).for("update");
    if (!row || row.status !== "delivered") throw unprocessable("resource_gone", "该资源已撤销，不能再调整");
    // A PaaS service's storage is "storageGb" in the ledger; the adjustment form calls every disk "diskGb".
    const { diskGb, ...sizes } = f.to;
    const storage = diskGb === undefined ? {} : row.kind.startsWith("paas_") ? { storageGb: diskGb } : { diskGb };
    const spec = { ...row.spec, ...sizes, ...storage };
    await tx.update(resources).set({ spec, changedAt: at }).where(eq(resources.id, f.resourceId));
    // From the day of the change on; a second change the same day replaces the first.
    await tx
      .insert(resourceSizes)
      .values({ resourceId: f.resourceId, fromDate: shanghaiDate(at), spec, requestId: req.id })
      .onConflictDoUpdate({ target: [resourceSizes.resourceId, resourceSizes.fromDate], set: { spec, requestId: req.id } });
    j.add({ action: "resource.changed", requestId: req.id, details: { resourceId: f.resourceId, from: f.from, to: f.to } });
    return;
  }
  if (milestone === "delivered") {
    const created = await deliverResources(tx, req, at);
    if (created.length === 0) return;
    await tx.insert(resourceSizes).values(created.map((r) => ({ resourceId: r.id, fromDate: shanghaiDate(at), spec: r.spec, requestId: req.id })));
    j.add({ action: "resource.deliver", requestId: req.id, details: { resourceIds: created.map((r) => r.id) } });
    return;
  }
  if (req.flow !== "application") return;
  const column = MILESTONE_COLUMN[milestone];
  const dated = await tx
    .update(resources)
    .set({ [column]: at })
    .where(and(eq(resources.requestId, req.id), isNull(resources[column])))
    .returning({ id: resources.id });
  if (dated.length > 0) j.add({ action: `resource.${milestone}`, requestId: req.id, details: { resourceIds: dated.map((r) => r.id) } });
  // 003 第四十三条: "完成信息系统部署之日起，开始计算政务云资源服务费": the deployment starts the bill (once; a
  // resource already revoked is not billed again).
  if (milestone === "deployed" && !billedFromDelivery(req)) {
    const billed = await tx
      .update(resources)
      .set({ billedFrom: at })
      .where(and(eq(resources.requestId, req.id), isNull(resources.billedFrom), eq(resources.status, "delivered")))
      .returning({ id: resources.id });
    if (billed.length > 0) j.add({ action: "resource.billing_started", requestId: req.id, details: { resourceIds: billed.map((r) => r.id), basis: "003 第四十三条" } });
  }
}

export const listResourcesQuery = z.object({
  status: z.enum(["delivered", "revoked"]).optional(),
  unit: z.string().max(64).optional(),
  request: z.coerce.number().int().positive().optional(),
});

/** 资源台账: the city's manager, provider and reviewer see all; a county bureau its county; a unit its own. */
export async function listResources({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof listResourcesQuery> }) {
  const actor = ctx.actor!;
  let visible: SQL | undefined;
  if (!seesEveryUnit(actor)) {
    const mine: SQL[] = [eq(resources.unitId, actor.unitId)];
    if (actor.roles.includes("county_bureau"))
      mine.push(inArray(resources.unitId, ctx.db.select({ id: units.id }).from(units).where(eq(units.parentId, actor.unitId))));
    visible = or(...mine);
  }
  const rows = await ctx.db
    .select({ resource: resources, code: requests.code, unitName: units.name })
    .from(resources)
    .innerJoin(requests, eq(requests.id, resources.requestId))
    .innerJoin(units, eq(units.id, resources.unitId))
    .where(
      and(
        visible,
        input.status ? eq(resources.status, input.status) : undefined,
        input.unit ? eq(resources.unitId, input.unit) : undefined,
        input.request ? eq(resources.requestId, input.request) : undefined,
      ),
    )
    .orderBy(asc(resources.id));
  const sizes = new Map<number, { fromDate: string; spec: unknown }[]>();
  for (const { resourceId, fromDate, spec } of await resourceSizeHistory(ctx.db, rows.map((r) => r.resource.id))) {
    const list = sizes.get(resourceId);
    if (list) list.push({ fromDate, spec });
    else sizes.set(resourceId, [{ fromDate, spec }]);
  }
  return {
    items: rows.map(({ resource, code, unitName }) => ({
      ...resource,
      request: { id: resource.requestId, code },
      unitName,
      sizes: sizes.get(resource.id) ?? [],
    })),
  };
}

/** The provider records the cloud's id of a delivered resource, which the monitoring reports utilisation under. */
export async function setInstanceId({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  if (ctx.actor && !ctx.actor.roles.includes("provider")) throw forbidden("云主机标识由评估实施单位（云服务商）登记");
  const { id, instanceId } = parseInput(
    z.strictObject({ id: z.coerce.number().int().positive(), instanceId: z.string().regex(VM_ID, "云主机标识无效") }),
    input,
    "参数有误",
  );
  return mutate(ctx, { action: "resource.instance" }, async (tx, j) => {
    const [row] = await tx.select().from(resources).where(eq(resources.id, id)).for("update");
    if (!row) throw notFound(`资源 ${id} 不存在`);
    try {
      await tx.update(resources).set({ instanceId }).where(eq(resources.id, id));
    } catch (err) {
      if (isUniqueViolation(err, "resources_instance_id_unique")) throw conflict("instance_taken", `云主机标识 ${instanceId} 已登记在其他资源上`);
      throw err;
    }
    j.add({ action: "resource.instance", requestId: row.requestId, details: { resourceId: id, from: row.instanceId, to: instanceId } });
    return { id, instanceId };
  });
}

/** Each resource's sizes over time (from which Shanghai day each held), oldest first: what a bill counts by. */
export async function resourceSizeHistory(db: Db, resourceIds: number[]) {
  if (resourceIds.length === 0) return [];
  return db
    .select()
    .from(resourceSizes)
    .where(inArray(resourceSizes.resourceId, resourceIds))
    .orderBy(asc(resourceSizes.resourceId), asc(resourceSizes.fromDate));
}
