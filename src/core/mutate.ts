import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { inboundEvents } from "../../db/schema";
import { auditAppend, auditAppendMany, type AuditInput } from "./audit-append";
import type { ServiceContext } from "./context";
import { conflict, forbidden, ServiceError } from "./errors";

/** Who an audit entry names: the person, or the host for calls made with a host credential. */
function actorOf(ctx: ServiceContext) {
  if (ctx.actor) return { actorId: ctx.actor.userId, actorRole: ctx.actor.roles.join(",") };
  if (ctx.host) return { actorId: `host:${ctx.host}`, actorRole: "host" };
  return { actorId: null, actorRole: null };
}

export interface MutationMeta {
  action: string;
  requestId?: number | null;
  stage?: string | null;
}

/**
 * The one way a service changes state: a single transaction for the change, its audit entry and its
 * outbox messages (invariant 1), de-duplicated on ctx.dedupe inside that same transaction (invariant 2),
 * and a refusal audited in a transaction of its own, because the refused change itself rolls back.
 *
 * The result is stored as JSON for replays, so callers get the JSON form on the first call too.
 */
/** The audit entries a mutation records as it goes; they are appended to the chain just before commit. */
export class Journal {
  readonly entries: { at: Date; input: AuditInput }[] = [];
  constructor(private readonly ctx: ServiceContext) {}
  add(input: Omit<AuditInput, "channel" | "actorId" | "actorRole" | "sourceIp">) {
    const { ctx } = this;
    this.entries.push({
      at: ctx.clock.now(),
      input: {
        channel: ctx.channel,
        ...actorOf(ctx),
        sourceIp: ctx.sourceIp ?? null,
        ...input,
      },
    });
  }
}

export async function mutate<T>(
  ctx: ServiceContext,
  meta: MutationMeta,
  change: (tx: Db, journal: Journal) => Promise<T>,
): Promise<T> {
  // The audit chain's lock is held from the append to commit, so the append comes after every other write.
  const run = async (tx: Db, remember?: (result: T) => Promise<void>) => {
    const journal = new Journal(ctx);
    const result = asJson(await change(tx, journal));
    await remember?.(result);
    await auditAppendMany(tx, journal.entries);
    return result;
  };
  try {
    return await ctx.db.transaction(async (tx) => {
      const dedupe = ctx.dedupe;
      if (!dedupe) return run(tx);
      const inserted = await tx
        .insert(inboundEvents)
        .values({ scope: dedupe.scope, key: dedupe.key, fingerprint: dedupe.fingerprint, createdAt: ctx.clock.now() })
        .onConflictDoNothing()
        .returning({ key: inboundEvents.key });
      if (inserted.length === 0) {
        const [seen] = await tx
          .select()
          .from(inboundEvents)
          .where(and(eq(inboundEvents.scope, dedupe.scope), eq(inboundEvents.key, dedupe.key)));
        if (seen && seen.fingerprint !== dedupe.fingerprint)
          throw conflict("idempotency_key_reused", "该 Idempotency-Key 已用于另一个不同的请求");
        const refused = refusalOf(seen?.result);
        if (refused) throw new ServiceError(refused.code, refused.message, refused.status, undefined, true);
        return seen?.result as T;
      }
      return run(tx, async (result) => {
        await tx
          .update(inboundEvents)
          .set({ result: sql`${JSON.stringify(result ?? null)}::jsonb` })
          .where(and(eq(inboundEvents.scope, dedupe.scope), eq(inboundEvents.key, dedupe.key)));
      });
    });
  } catch (err) {
    // Malformed input (400) writes nothing (invariant 7); a refusal of a well-formed action is evidence.
    if (err instanceof ServiceError && err.status !== 400 && err.status !== 401 && !err.replayed) await auditRefusal(ctx, meta, err);
    throw err;
  }
}

/** A refusal stored as the result of a de-duplicated event, so that a retry is refused again without a second entry. */
interface StoredRefusal {
  refused: { code: ServiceError["code"]; message: string; status: ServiceError["status"] };
}

function refusalOf(result: unknown): StoredRefusal["refused"] | null {
  return result !== null && typeof result === "object" && "refused" in result ? (result as StoredRefusal).refused : null;
}

/**
 * Audits a refused action in a transaction of its own, because the refused change itself rolls back. With a
 * de-duplication key the refusal is also remembered, so WeCom's retries of a refused click add nothing.
 */
export async function auditRefusal(ctx: ServiceContext, meta: MutationMeta, err: ServiceError): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const dedupe = ctx.dedupe;
    if (dedupe) {
      const stored: StoredRefusal = { refused: { code: err.code, message: err.message, status: err.status } };
      const inserted = await tx
        .insert(inboundEvents)
        .values({ ...dedupe, result: stored, createdAt: ctx.clock.now() })
        .onConflictDoNothing()
        .returning({ key: inboundEvents.key });
      if (inserted.length === 0) return;
    }
    await auditAppend(tx, ctx.clock.now(), {
      action: meta.action,
      requestId: meta.requestId ?? null,
      stage: meta.stage ?? null,
      outcome: "refused",
      channel: ctx.channel,
      ...actorOf(ctx),
      sourceIp: ctx.sourceIp ?? null,
      details: { code: err.code, message: err.message },
    });
  });
}

function asJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * A caller without the role a verb needs, refused before its input is read and audited (invariant 4: refusals are
 * evidence), as mutate audits a refusal met inside the change. Throw what it returns.
 */
export async function refuse(ctx: ServiceContext, action: string, message: string): Promise<ServiceError> {
  const err = forbidden(message);
  if (ctx.actor) await auditRefusal(ctx, { action }, err);
  return err;
}
