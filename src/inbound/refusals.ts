import type { Db } from "../../db/client";
import { auditAppend } from "../core/audit-append";
import type { Clock } from "../core/context";
import { describeInternalError } from "../core/errors";

/**
 * A refusal of a request nobody could be identified for: a callback whose signature fails, a host credential
 * that matches no host. Each is evidence worth keeping, but a storm of them must not grow the audit log without
 * bound: per source and kind, the first few in a window are audited one by one and the rest are counted into
 * one summary entry when the window closes. Refusals of a known person stay audited one by one elsewhere
 * (design.md invariant 4).
 */
export interface AnonymousRefusal {
  action: string;
  channel: string;
  sourceIp: string | null;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface RefusalRecorder {
  /** Audits the refusal, or counts it when its source has had its share of entries this window. */
  refused(refusal: AnonymousRefusal): Promise<void>;
  /** Writes the summaries of windows that have closed (all of them with `everything`, at shutdown). */
  flush(everything?: boolean): Promise<void>;
}

interface Window {
  refusal: AnonymousRefusal;
  /** Counts every source beyond maxSources. */
  pooled: boolean;
  start: number;
  audited: number;
  counted: number;
}

interface Summary {
  refusal: AnonymousRefusal;
  pooled: boolean;
  start: number;
  end: number;
  counted: number;
}

// Distinct sources kept apart at once; beyond that, new sources share one window per kind, so memory and
// entries stay bounded even when the sources are many (a botnet, IPv6 addresses).
const OTHER_SOURCES = "\u0002other";
const RETRY_AFTER_MS = 10_000;

export function createRefusalRecorder(deps: {
  db: Db;
  clock: Clock;
  log: (line: string) => void;
  /** Entries audited one by one per source and kind in a window. */
  perWindow?: number;
  windowMs?: number;
  maxSources?: number;
}): RefusalRecorder {
  const perWindow = deps.perWindow ?? 3;
  const windowMs = deps.windowMs ?? 60_000;
  const maxSources = deps.maxSources ?? 1_000;
  const windows = new Map<string, Window>();
  // Summaries taken out of the windows but not yet written (or whose write failed and will be tried again).
  let pending: Summary[] = [];
  // The earliest end of a window with something counted: until then a flush has nothing to do.
  let nextDue = Infinity;
  // After a failed write (the database away), requests do not each wait on another try for a while.
  let retryAfter = 0;

  const keyOf = (r: AnonymousRefusal, source: string | null) => `${source ?? ""}\u0001${r.action}\u0001${r.code}`;

  /** Closes the windows that have ended (all of them with `everything`), keeping what they counted. */
  function closeWindows(now: number, everything: boolean) {
    nextDue = Infinity;
    for (const [key, w] of windows) {
      const end = w.start + windowMs;
      if (everything || now >= end) {
        windows.delete(key);
        if (w.counted > 0) pending.push({ refusal: w.refusal, pooled: w.pooled, start: w.start, end: Math.min(end, now), counted: w.counted });
      } else if (w.counted > 0) nextDue = Math.min(nextDue, end);
    }
  }

  function admit(refusal: AnonymousRefusal, now: number): boolean {
    let key = keyOf(refusal, refusal.sourceIp);
    let pooled = false;
    let w = windows.get(key);
    if (w && now >= w.start + windowMs) {
      closeWindows(now, false);
      w = undefined;
    }
    if (!w && windows.size >= maxSources) {
      closeWindows(now, false);
      if (windows.size >= maxSources) {
        pooled = true;
        key = keyOf(refusal, OTHER_SOURCES);
        w = windows.get(key);
      }
    }
    if (!w) {
      windows.set(key, { refusal, pooled, start: now, audited: 1, counted: 0 });
      return true;
    }
    if (w.audited < perWindow) {
      w.audited++;
      return true;
    }
    if (w.counted++ === 0) nextDue = Math.min(nextDue, w.start + windowMs);
    return false;
  }

  async function write(entries: Summary[]) {
    const minutes = Math.round(windowMs / 60_000);
    const span = minutes >= 1 ? `${minutes} 分钟` : `${Math.round(windowMs / 1000)} 秒`;
    await deps.db.transaction(async (tx) => {
      for (const s of entries)
        await auditAppend(tx, deps.clock.now(), {
          action: s.refusal.action,
          outcome: "refused",
          channel: s.refusal.channel,
          sourceIp: s.pooled ? null : s.refusal.sourceIp,
          details: {
            code: s.refusal.code,
            message: `${s.pooled ? "其他来源" : "该来源"} ${span}内另有 ${s.counted} 次同类请求被拒绝（${s.refusal.message}）`,
            count: s.counted,
            from: new Date(s.start).toISOString(),
            to: new Date(s.end).toISOString(),
          },
        });
    });
  }

  async function flush(everything = false) {
    const now = deps.clock.now().getTime();
    if (everything || now >= nextDue) closeWindows(now, everything);
    if (pending.length === 0 || (!everything && now < retryAfter)) return;
    const taken = pending;
    pending = [];
    try {
      await write(taken);
    } catch (err) {
      // Kept for the next flush: the counts are the evidence. Bounded, as the windows are.
      pending = [...taken, ...pending].slice(-maxSources);
      retryAfter = now + RETRY_AFTER_MS;
      deps.log(`拒绝记录汇总写入失败，稍后重试：${describeInternalError(err)}`);
    }
  }

  return {
    async refused(refusal) {
      const now = deps.clock.now().getTime();
      const audit = admit(refusal, now);
      await flush();
      if (!audit) return;
      await deps.db.transaction((tx) =>
        auditAppend(tx, deps.clock.now(), {
          action: refusal.action,
          outcome: "refused",
          channel: refusal.channel,
          sourceIp: refusal.sourceIp,
          details: { code: refusal.code, message: refusal.message, ...refusal.details },
        }),
      );
    },
    flush,
  };
}
