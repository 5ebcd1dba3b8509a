import { and, asc, eq, lte } from "drizzle-orm";
import { findings, requests, stageRuns, timers, units } from "../../db/schema";
import { noticeCard } from "../../cards";
import { auditAppend } from "../core/audit-append";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { ServiceError } from "../core/errors";
import { usersWithRole } from "../directory/queries";
import { stageDef, elapseStage, cardRequest, partiesUsers, pendingHolders } from "../engine";
import { enqueueCards } from "../core/notify";

const ELAPSE_RETRY_MS = 3_600_000;

/**
 * Fires every due timer, one per transaction, each claimed with FOR UPDATE SKIP LOCKED so several replicas
 * can run this at once without firing a timer twice (invariant 6). Returns how many fired.
 */
export async function runDueTimers(ctx: ServiceContext, limit = 500): Promise<number> {
  let fired = 0;
  while (fired < limit) {
    const done = await ctx.db.transaction(async (tx) => {
      const now = ctx.clock.now();
      const [timer] = await tx
        .select()
        .from(timers)
        .where(and(eq(timers.status, "pending"), lte(timers.runAt, now)))
        .orderBy(asc(timers.runAt))
        .limit(1)
        .for("update", { skipLocked: true });
      if (!timer) return false;
      await tx.update(timers).set({ status: "done", firedAt: now }).where(eq(timers.id, timer.id));
      const [run] = await tx.select().from(stageRuns).where(eq(stageRuns.id, timer.stageRunId));
      const [req] = await tx.select().from(requests).where(eq(requests.id, timer.requestId)).for("update");
      // A stage decided in the meantime normally cancels its timers; this covers a race with that decision.
      if (!run || !req || run.status !== "open") return true;
      const [unit] = await tx.select({ name: units.name }).from(units).where(eq(units.id, req.unitId));
      const stage = stageDef(req.flow, req.profile, run.stage);
      const locked = { ...req, unitName: unit?.name ?? req.unitId };
      const card = cardRequest(locked);
      const deadline = run.deadlineAt ? shanghaiDate(run.deadlineAt) : "";

      if (timer.kind === "elapse") {
        try {
          // A savepoint: a next stage that cannot open (nobody in the directory to hold it) undoes only this.
          await tx.transaction((sp) => elapseStage(ctx, sp, locked, run, timer.id));
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          // Tried again in an hour, so one stuck period never holds up the timers behind it; managers are told once.
          await tx.insert(timers).values({ kind: "elapse", requestId: req.id, stageRunId: run.id, runAt: new Date(now.getTime() + ELAPSE_RETRY_MS) });
          await auditAppend(tx, now, {
            action: "timer.elapse",
            requestId: req.id,
            stage: stage.key,
            channel: "timer",
            outcome: "refused",
            details: { timerId: timer.id, code: err.code, message: err.message },
          });
          const managers = (await usersWithRole(tx, "manager")).map((u) => u.id);
          await enqueueCards(tx, now, managers, "period_stuck", noticeCard(card, `「${stage.name}」届满后无法进入下一环节`, err.message, "danger"), `elapse-failed:${run.id}`);
        }
        return true;
      }

      if (timer.kind === "remind") {
        // A period has no holders: its parties are reminded that it is about to end.
        const to = stage.elapses ? await partiesUsers(tx, req, stage.parties) : await pendingHolders(tx, run.id);
        const text = stage.elapses
          ? `「${stage.name}」将于 ${deadline} 届满，届满后自动进入下一环节`
          : stage.revokeOnLapse
            ? `「${stage.name}」将于 ${deadline} 到期，逾期未完成将停止使用并回收所列资源`
            : `「${stage.name}」将于 ${deadline} 到期，请尽快处理`;
        const entry = await auditAppend(tx, now, {
          action: "timer.remind",
          requestId: req.id,
          stage: stage.key,
          channel: "timer",
          details: { timerId: timer.id, to },
        });
        await enqueueCards(tx, now, to, "remind", noticeCard(card, stage.elapses ? "提醒" : "催办", text, "warning"), `remind:${entry.seq}`);
        return true;
      }

      // 004 第十六条(三): 对于延期交付的申请工作，要发出工作警示，记录归档.
      const pending = await pendingHolders(tx, run.id);
      const text = `「${stage.name}」已超过期限（${deadline}）仍未完成`;
      await tx.update(stageRuns).set({ overdue: true }).where(eq(stageRuns.id, run.id));
      await tx.update(requests).set({ overdue: true }).where(eq(requests.id, req.id));
      await tx.insert(findings).values({ requestId: req.id, stage: stage.key, kind: "warning", text, createdAt: now });
      const entry = await auditAppend(tx, now, {
        action: "timer.overdue",
        requestId: req.id,
        stage: stage.key,
        channel: "timer",
        details: { timerId: timer.id, holders: pending, deadlineAt: run.deadlineAt?.toISOString() ?? null },
      });
      const managers = (await usersWithRole(tx, "manager")).map((u) => u.id);
      const reviewers = (await usersWithRole(tx, "reviewer")).map((u) => u.id);
      const named = stage.lateWarningTo?.length ? await partiesUsers(tx, req, stage.lateWarningTo) : [];
      await enqueueCards(tx, now, [...new Set([...pending, ...managers, ...reviewers, ...named])], "overdue", noticeCard(card, "工作警示：已逾期", text, "danger"), `overdue:${entry.seq}`);
      return true;
    });
    if (!done) break;
    fired++;
  }
  return fired;
}
