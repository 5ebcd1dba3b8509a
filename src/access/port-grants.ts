import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { portGrants, requests } from "../../db/schema";
import type { Card } from "../../cards";
import type { ServiceContext } from "../core/context";
import { usersWithRole } from "../directory/queries";
import { mutate, type Journal } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import type { LockedRequest } from "../core/request";
import { conflict, forbidden, notFound } from "../core/errors";
import { parseInput } from "../core/validation";
import { validUntilFrom, type Validity } from "./access-requests";
import { seesEveryUnit } from "../core/roles";

export interface PortSpec {
  port: number;
  protocol: "tcp" | "udp";
}

/** A 端口开放申请: these ports on these hosts, open to these sources, for a while. */
export interface PortGrantFacts {
  hosts: string[];
  ports: PortSpec[];
  sources: string[];
  validity: Validity;
  reason: string;
}

/** An approved, opened grant is recorded per host and port, with its end date. */
export async function completePortGrantRequest(step: { ctx: ServiceContext; tx: Db; j: Journal; req: LockedRequest }) {
  const { ctx, tx, j, req } = step;
  const f = req.facts as PortGrantFacts;
  const now = ctx.clock.now();
  await recordPortGrants(tx, j, { ...f, requestId: req.id, validUntil: validUntilFrom(ctx.calendar, now, f.validity), at: now });
}

/** One grant per host and port, from a 端口开放申请 or a 虚拟机账号申请 that asked for ports. */
export async function recordPortGrants(
  tx: Db,
  j: Journal,
  g: { hosts: string[]; ports: PortSpec[]; sources: string[]; reason: string; requestId: number; validUntil: Date; at: Date },
) {
  const rows = g.hosts.flatMap((hostId) =>
    g.ports.map((p) => ({
      hostId,
      port: p.port,
      protocol: p.protocol,
      sources: g.sources,
      reason: g.reason,
      requestId: g.requestId,
      status: "active" as const,
      validUntil: g.validUntil,
      createdAt: g.at,
    })),
  );
  if (rows.length === 0) return;
  const created = await tx.insert(portGrants).values(rows).returning({ id: portGrants.id });
  j.add({ action: "port_grant.open", requestId: g.requestId, details: { grantIds: created.map((c) => c.id), validUntil: g.validUntil.toISOString() } });
}

/** Tells the providers (and the requester) that a grant has ended and its port must be closed. */
export async function askToClose(tx: Db, at: Date, grant: typeof portGrants.$inferSelect, requesterId: string | null, why: string) {
  const providers = (await usersWithRole(tx, "provider")).map((u) => u.id);
  const card: Card = {
    title: "请关闭端口",
    tone: "warning",
    summary: `主机 ${grant.hostId} 的 ${grant.port}/${grant.protocol}（来源 ${grant.sources.join("、")}）${why}，请关闭`,
    fields: [
      { label: "主机", value: grant.hostId },
      { label: "端口", value: `${grant.port}/${grant.protocol}` },
    ],
    actions: [],
    link: "",
  };
  await enqueueCards(tx, at, [...providers, ...(requesterId ? [requesterId] : [])], "port_close", card, `close:${grant.id}`);
}

export const listGrantsQuery = z.object({ status: z.enum(["active", "revoked", "expired"]).optional(), host: z.string().max(64).optional() });

/** 报备: every opened port with its sources and end date. Managers, security staff and providers see all. */
export async function listPortGrants({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof listGrantsQuery> }) {
  const actor = ctx.actor!;
  const seesAll = seesEveryUnit(actor) || actor.roles.includes("security_officer");
  const rows = await ctx.db
    .select({ grant: portGrants, requesterId: requests.applicantId, code: requests.code })
    .from(portGrants)
    .innerJoin(requests, eq(requests.id, portGrants.requestId))
    .where(
      and(
        seesAll ? undefined : eq(requests.applicantId, actor.userId),
        input.status ? eq(portGrants.status, input.status) : undefined,
        input.host ? eq(portGrants.hostId, input.host) : undefined,
      ),
    )
    .orderBy(asc(portGrants.hostId), asc(portGrants.port), asc(portGrants.id));
  return {
    items: rows.map(({ grant: g, requesterId, code }) => ({
      id: g.id,
      host: g.hostId,
      port: g.port,
      protocol: g.protocol,
      sources: g.sources,
      reason: g.reason,
      status: g.status,
      validUntil: g.validUntil,
      request: { id: g.requestId, code, requesterId },
    })),
  };
}

/** Ends a grant at once (manager or security staff); the providers are asked to close the port. */
export async function revokePortGrant({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  if (ctx.actor && !ctx.actor.roles.some((r) => r === "security_officer" || r === "manager"))
    throw forbidden("只有统筹管理单位或安全管理员可以撤销端口开放");
  const { id, reason } = parseInput(
    z.strictObject({ id: z.coerce.number().int().positive(), reason: z.string().trim().min(1).max(500).optional() }),
    input,
    "参数有误",
  );
  return mutate(ctx, { action: "port_grant.revoke" }, async (tx, j) => {
    const [row] = await tx
      .select({ grant: portGrants, requesterId: requests.applicantId })
      .from(portGrants)
      .innerJoin(requests, eq(requests.id, portGrants.requestId))
      .where(eq(portGrants.id, id))
      .for("update", { of: portGrants });
    if (!row) throw notFound(`端口开放记录 ${id} 不存在`);
    if (row.grant.status !== "active") throw conflict("grant_ended", `该端口开放已${row.grant.status === "revoked" ? "撤销" : "到期"}`);
    const now = ctx.clock.now();
    await tx.update(portGrants).set({ status: "revoked", endedAt: now }).where(eq(portGrants.id, id));
    j.add({ action: "port_grant.revoke", requestId: row.grant.requestId, details: { grantId: id, host: row.grant.hostId, port: row.grant.port, reason } });
    await askToClose(tx, now, row.grant, row.requesterId, "已撤销");
    return { id, status: "revoked" };
  });
}
