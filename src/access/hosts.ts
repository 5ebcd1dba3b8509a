import { createHash, randomBytes } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { hosts } from "../../db/schema";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { conflict, notFound } from "../core/errors";
import { requireOperator } from "../core/roles";
import { parseInput } from "../core/validation";

// "ysh_" + 32 random bytes: a host's credential, shown once; only its SHA-256 is stored.
const CREDENTIAL_PATTERN = /^ysh_[A-Za-z0-9_-]{43}$/;
const hashCredential = (credential: string) => createHash("sha256").update(credential, "utf8").digest("hex");

export const hostNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: "主机名应为 1–63 位字母、数字、点、下划线或连字符" });

/** `yunshen host add NAME`: registers a bastion or VM and issues the credential it calls /access with. */
export async function addHost({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<{ name: string; credential: string }> {
  // Inside mutate, so a refusal is audited like any other (a malformed name, a 400, writes nothing).
  return mutate(ctx, { action: "host.add" }, async (tx, j) => {
    requireOperator(ctx.actor, "hosts");
    const { name } = parseInput(z.strictObject({ name: hostNameSchema }), input, "主机参数有误");
    const credential = `ysh_${randomBytes(32).toString("base64url")}`;
    const inserted = await tx
      .insert(hosts)
      .values({ id: name, credentialHash: hashCredential(credential), createdAt: ctx.clock.now() })
      .onConflictDoNothing({ target: hosts.id })
      .returning({ id: hosts.id });
    if (inserted.length === 0) throw conflict("host_exists", `主机 ${name} 已登记；如需新的凭据，请用 host rotate ${name}`);
    j.add({ action: "host.add", details: { host: name } });
    return { name, credential };
  });
}

/** Withdraws a host's credential: its calls are refused from now on. */
export async function revokeHost({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<{ name: string }> {
  // Inside mutate, so a refusal is audited like any other (a malformed name, a 400, writes nothing).
  return mutate(ctx, { action: "host.revoke" }, async (tx, j) => {
    requireOperator(ctx.actor, "hosts");
    const { name } = parseInput(z.strictObject({ name: hostNameSchema }), input, "主机参数有误");
    const [row] = await tx.select().from(hosts).where(eq(hosts.id, name)).for("update");
    if (!row) throw notFound(`主机 ${name} 未登记`);
    if (row.revokedAt) throw conflict("host_revoked", `主机 ${name} 的凭据已吊销`);
    // The row stays: accounts and audit entries refer to the host by name.
    await tx.update(hosts).set({ revokedAt: ctx.clock.now() }).where(eq(hosts.id, name));
    j.add({ action: "host.revoke", details: { host: name } });
    return { name };
  });
}

/** A new credential for a host (rotation, or a host brought back after revocation); the old one stops working at once. */
export async function rotateHost({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<{ name: string; credential: string }> {
  // Inside mutate, so a refusal is audited like any other (a malformed name, a 400, writes nothing).
  return mutate(ctx, { action: "host.rotate" }, async (tx, j) => {
    requireOperator(ctx.actor, "hosts");
    const { name } = parseInput(z.strictObject({ name: hostNameSchema }), input, "主机参数有误");
    const [row] = await tx.select().from(hosts).where(eq(hosts.id, name)).for("update");
    if (!row) throw notFound(`主机 ${name} 未登记`);
    const credential = `ysh_${randomBytes(32).toString("base64url")}`;
    await tx.update(hosts).set({ credentialHash: hashCredential(credential), revokedAt: null }).where(eq(hosts.id, name));
    j.add({ action: "host.rotate", details: { host: name, wasRevoked: row.revokedAt !== null } });
    return { name, credential };
  });
}

export async function listHosts(db: Db) {
  return db.select({ name: hosts.id, createdAt: hosts.createdAt, revokedAt: hosts.revokedAt }).from(hosts).orderBy(asc(hosts.id));
}

/** The host a credential belongs to, or null for an unknown or revoked one. Looked up by hash. */
export async function authenticateHost(db: Db, credential: string): Promise<string | null> {
  if (!CREDENTIAL_PATTERN.test(credential)) return null;
  const [row] = await db.select().from(hosts).where(eq(hosts.credentialHash, hashCredential(credential)));
  return row && !row.revokedAt ? row.id : null;
}
