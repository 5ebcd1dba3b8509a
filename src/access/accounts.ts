import { and, asc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { accessCodes, hosts, users, vmAccounts } from "../../db/schema";
import type { Card } from "../../cards";
import type { ServiceContext } from "../core/context";
import { maskMobile, usersWithRole } from "../directory/queries";
import { enqueueCards } from "../core/notify";
import { mutate, type Journal } from "../core/mutate";
import { conflict, forbidden, isUniqueViolation, notFound, unprocessable } from "../core/errors";
import { parseInput } from "../core/validation";
import { authenticatorStates } from "./totp";

export type VmAccountRow = typeof vmAccounts.$inferSelect;

/** Linux login names: what useradd accepts by default. */
export const accountNameSchema = z
  .string()
  .trim()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "账号名应为小写字母或下划线开头、最多 32 位的小写字母、数字、下划线或连字符" });

/**
 * Binds an account on a host to one person and their current phone (004 第三十七条: 一人一账号, 与手机绑定).
 * Runs inside the caller's transaction (the approval that grants it). The same name on the same host for
 * someone else, while theirs is in use, is refused: accounts are never shared.
 */
export async function bindVmAccount(
  tx: Db,
  j: Journal,
  input: { hostId: string; account: string; userId: string; validUntil: Date; requestId: number | null; at: Date },
): Promise<VmAccountRow> {
  const [host] = await tx.select().from(hosts).where(eq(hosts.id, input.hostId));
  if (!host || host.revokedAt) throw unprocessable("unknown_host", `主机 ${input.hostId} 未登记或凭据已吊销`);
  const [person] = await tx.select().from(users).where(eq(users.id, input.userId));
  if (!person || !person.active) throw unprocessable("unknown_user", `用户 ${input.userId} 不存在或已停用`);
  if (!/^1[3-9]\d{9}$/.test(person.mobile)) throw unprocessable("no_mobile", `${person.name} 没有可接收短信的手机号`);
  const [taken] = await tx
    .select()
    .from(vmAccounts)
    .where(and(eq(vmAccounts.hostId, input.hostId), eq(vmAccounts.account, input.account), eq(vmAccounts.status, "active")))
    .for("update");
  if (taken && taken.userId !== input.userId)
    throw conflict("account_taken", `主机 ${input.hostId} 上的账号 ${input.account} 已绑定给其他人，账号不得共用`);
  if (taken) throw conflict("account_exists", `${person.name} 在主机 ${input.hostId} 上已有账号 ${input.account}，请走续期`);
  // Nothing to lock when the name is free: two bindings at once both get here, and the unique index decides.
  const [row] = await insertAccount(tx, {
    hostId: input.hostId,
    account: input.account,
    userId: input.userId,
    mobile: person.mobile,
    requestId: input.requestId,
    status: "active",
    validUntil: input.validUntil,
    createdAt: input.at,
  });
  j.add({
    action: "vm_account.bind",
    requestId: input.requestId,
    details: { accountId: row!.id, host: input.hostId, account: input.account, userId: input.userId, validUntil: input.validUntil.toISOString() },
  });
  return row!;
}

async function insertAccount(tx: Db, values: typeof vmAccounts.$inferInsert) {
  try {
    return await tx.insert(vmAccounts).values(values).returning();
  } catch (err) {
    if (isUniqueViolation(err, "vm_accounts_host_account_active_idx"))
      throw conflict("account_taken", `主机 ${values.hostId} 上的账号 ${values.account} 刚刚已绑定，账号不得共用`);
    throw err;
  }
}

const accountRef = z.strictObject({ id: z.coerce.number().int().positive(), reason: z.string().trim().min(1).max(500).optional() });

async function lockedRow(tx: Db, id: number) {
  const [row] = await tx.select().from(vmAccounts).where(eq(vmAccounts.id, id)).for("update");
  if (!row) throw notFound(`虚拟机账号 ${id} 不存在`);
  return row;
}

/** Who may unlock an account: security staff only (the manager may revoke one, not vouch for its holder). */
export const mayUnlockVmAccounts = (actor: { roles: readonly string[] }) => actor.roles.includes("security_officer");

/**
 * 解锁: security staff let a locked account ask for codes again, but never their own. A lock follows repeated
 * wrong codes, the only sign that someone other than the holder may be at the login (004 第三十七条: every login
 * checked by the holder's own phone); the holder lifting it themselves would make that check theirs alone, so
 * another security officer looks first. Both refusals are audited.
 */
export async function unlockVmAccount({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const { id, reason } = parseInput(accountRef, input, "参数有误");
  return mutate(ctx, { action: "vm_account.unlock" }, async (tx, j) => {
    if (ctx.actor && !mayUnlockVmAccounts(ctx.actor)) throw forbidden("只有安全管理员可以解锁账号");
    const row = await lockedRow(tx, id);
    if (ctx.actor && row.userId === ctx.actor.userId)
      throw forbidden(`不能解锁自己的账号 ${row.account}@${row.hostId}，请由另一位安全管理员核实后解锁`);
    if (!row.lockedAt) throw conflict("not_locked", `账号 ${row.account}@${row.hostId} 未被锁定`);
    await tx.update(vmAccounts).set({ lockedAt: null, consecutiveFailures: 0 }).where(eq(vmAccounts.id, id));
    j.add({ action: "vm_account.unlock", requestId: row.requestId, details: { accountId: id, host: row.hostId, account: row.account, reason } });
    return { id, account: row.account, host: row.hostId };
  });
}

/** 撤销: the manager or security staff end an account at once; any code it holds dies with it. */
export async function revokeVmAccount({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  if (ctx.actor && !ctx.actor.roles.some((r) => r === "security_officer" || r === "manager"))
    throw forbidden("只有统筹管理单位或安全管理员可以撤销账号");
  const { id, reason } = parseInput(accountRef, input, "参数有误");
  return mutate(ctx, { action: "vm_account.revoke" }, async (tx, j) => {
    const row = await lockedRow(tx, id);
    if (row.status !== "active") throw conflict("account_ended", `账号 ${row.account}@${row.hostId} 已${row.status === "revoked" ? "撤销" : "过期"}`);
    const now = ctx.clock.now();
    await tx.update(vmAccounts).set({ status: "revoked", endedAt: now }).where(eq(vmAccounts.id, id));
    await tx
      .update(accessCodes)
      .set({ closedAt: now, closedReason: "revoked" })
      .where(and(eq(accessCodes.vmAccountId, id), isNull(accessCodes.closedAt)));
    j.add({ action: "vm_account.revoke", requestId: row.requestId, details: { accountId: id, host: row.hostId, account: row.account, reason } });
    return { id, account: row.account, host: row.hostId };
  });
}

/** Tells security staff about an account event that needs a person (a lock after repeated failures). */
export async function alertSecurityStaff(tx: Db, at: Date, key: string, title: string, summary: string, fields: Card["fields"]) {
  const staff = (await usersWithRole(tx, "security_officer")).map((u) => u.id);
  const card: Card = { title, tone: "danger", summary, fields, actions: [], link: "" };
  await enqueueCards(tx, at, staff, "security", card, key);
}

export const listAccountsQuery = z.object({
  status: z.enum(["active", "revoked", "expired"]).optional(),
  user: z.string().max(64).optional(),
  host: z.string().max(64).optional(),
});

/** VM accounts: security staff and the manager see all; anyone else sees the accounts they hold. */
export async function listVmAccounts({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof listAccountsQuery> }) {
  const actor = ctx.actor!;
  const seesAll = actor.roles.some((r) => r === "security_officer" || r === "manager");
  const where = [
    seesAll ? undefined : eq(vmAccounts.userId, actor.userId),
    input.status ? eq(vmAccounts.status, input.status) : undefined,
    input.user ? eq(vmAccounts.userId, input.user) : undefined,
    input.host ? eq(vmAccounts.hostId, input.host) : undefined,
  ];
  const rows = await ctx.db
    .select({ account: vmAccounts, userName: users.name })
    .from(vmAccounts)
    .innerJoin(users, eq(users.id, vmAccounts.userId))
    .where(and(...where))
    .orderBy(asc(vmAccounts.hostId), asc(vmAccounts.account), asc(vmAccounts.id));
  const authenticators = await authenticatorStates(ctx.db, [...new Set(rows.map((r) => r.account.userId))]);
  return {
    items: rows.map(({ account: a, userName }) => ({
      id: a.id,
      host: a.hostId,
      account: a.account,
      user: { id: a.userId, name: userName },
      // Masked: the number is the person's, and only the SMS gateway needs it whole (invariant 8).
      mobile: maskMobile(a.mobile),
      status: a.status,
      validUntil: a.validUntil,
      locked: a.lockedAt !== null,
      // 001 附件1 注2: null until the account's first login, when its initial password is to be changed.
      firstLoginAt: a.firstLoginAt,
      requestId: a.requestId,
      // 004 第三十七条: whether the holder's logins take an app's code after the SMS code (开启 by security staff).
      authenticator: authenticators.get(a.userId) ?? ("off" as const),
    })),
  };
}
