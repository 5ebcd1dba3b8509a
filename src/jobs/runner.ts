import type { Db } from "../../db/client";
import { loadCalendar } from "../calendar/store";
import { type WorkCalendar } from "../core/calendar";
import { remindMissingCalendar } from "../calendar/reminder";
import type { Clock, ServiceContext } from "../core/context";
import { recomputePendingDeadlines } from "../engine";
import { runAccessExpiry } from "../access/expiry";
import { proposeRevocations } from "./revocation-proposals";
import { cloudCapacityAlert, type CloudCapacity } from "../resources/capacity-notices";
import { remindYearlyDemand } from "../resources/demand";
import { draftMonthlyStatement } from "./monthly-draft";
import { sendMonthlyReport } from "../reports/monthly";
import { describeInternalError, isDatabaseUnavailable, ServiceError } from "../core/errors";
import type { ChannelKey, Sender } from "../channels/types";
import { dispatchOutbox } from "./outbox";
import { runDueTimers } from "./timers";
import { purgeUnboundFiles } from "../files";
import { PERIODIC_JOBS } from "./periodic";
import { PROFILES, type ProfileKey, type ProfileModule } from "../../profiles";

export interface CalendarStore {
  current(): WorkCalendar;
  /** Re-reads loaded years; true when the set of years changed. */
  refresh(): Promise<boolean>;
}

export async function calendarStore(db: Db): Promise<CalendarStore> {
  let calendar = await loadCalendar(db);
  return {
    current: () => calendar,
    async refresh() {
      const next = await loadCalendar(db);
      const changed = next.years().join() !== calendar.years().join();
      calendar = next;
      return changed;
    },
  };
}

export interface JobDeps {
  db: Db;
  clock: Clock;
  calendars: CalendarStore;
  profile: ProfileKey;
  /** Who delivers each channel's messages (src/channels channelSenders). */
  senders: Readonly<Record<ChannelKey, Sender>>;
  /** The cloud's total capacity, when configured: 001 第十九条's alert at the profile's share of it allocated. */
  capacity?: CloudCapacity | null;
  log?: (line: string) => void;
  /** Anchors the audit chain's head outside the database when due (src/audit/anchor.ts auditAnchorSchedule). */
  anchorAudit?: () => Promise<unknown>;
}

const consoleLog = (line: string) => console.error(line);

/** A job's failure as the log shows it: a refusal's own words; anything else without the statement's parameters (invariant 8). */
const jobFailure = (err: unknown) => (err instanceof ServiceError ? err.message : describeInternalError(err));

/** Sends whatever the outbox holds, round after round, until a round sends and fails nothing. */
async function drainOutbox(deps: JobDeps): Promise<number> {
  let sent = 0;
  for (;;) {
    const round = await dispatchOutbox({ db: deps.db, clock: deps.clock, senders: deps.senders });
    sent += round.sent;
    if (round.sent + round.failed === 0) return sent;
  }
}

/**
 * One round of background work: calendar refresh, due timers, the daily and monthly jobs, outbox.
 * Runtime-neutral (Node interval, cron). Each job runs on its own: one that fails (a proposal with nobody in
 * the directory to decide it) is logged and retried next round, and the others, the outbox above all, still run.
 */
export async function runJobsOnce(deps: JobDeps) {
  const log = deps.log ?? consoleLog;
  const profile: ProfileModule = PROFILES[deps.profile];
  const refreshed = await deps.calendars.refresh();
  // Every job of the round sees the calendar as just refreshed: a stage opened now gets its deadline now.
  const ctx: ServiceContext = {
    db: deps.db,
    clock: deps.clock,
    calendar: deps.calendars.current(),
    profile: deps.profile,
    actor: null,
    channel: "timer",
  };
  const run = async (name: string, job: () => Promise<unknown>) => {
    try {
      await job();
    } catch (err) {
      // The database gone: the other jobs would fail the same way. The round ends here; its caller says so once.
      if (isDatabaseUnavailable(err)) throw err;
      log(`后台任务「${name}」出错，下一轮重试：${jobFailure(err)}`);
    }
  };
  if (refreshed) await run("工作日历更新后的期限", () => recomputePendingDeadlines({ ctx }));
  let fired = 0;
  await run("定时器", async () => {
    fired = await runDueTimers(ctx);
  });
  await run("账号与端口到期", () => runAccessExpiry(ctx));
  await run("撤销提议", () => proposeRevocations(ctx));
  // The profile's own utilisation rules: 004 第十九条(三)'s half-yearly review, or 巴中's 003 第二十四条.
  for (const key of profile.periodicJobs) await run(PERIODIC_JOBS[key].name, () => PERIODIC_JOBS[key].run(ctx, profile));
  const capacity = deps.capacity;
  if (capacity) await run("云平台容量预警", () => cloudCapacityAlert(ctx, capacity, profile.thresholds.capacityAlertAt));
  await run("年度需求提醒", () => remindYearlyDemand(ctx));
  await run("工作日历缺年提醒", () => remindMissingCalendar(ctx));
  await run("月度结算单", () => draftMonthlyStatement(ctx));
  await run("月度报告", () => sendMonthlyReport(ctx));
  await run("未提交附件清理", () => purgeUnboundFiles(ctx));
  // A sender standing in for several channels (the console) is kept up once.
  for (const sender of new Set(Object.values(deps.senders))) await run("消息通道维护", async () => sender.upkeep?.());
  if (deps.anchorAudit) await run("审计日志锚点", deps.anchorAudit);
  return { fired, sent: await drainOutbox(deps) };
}

/**
 * Runs the jobs every intervalMs, never two rounds at once; stop() waits for a running round to end.
 * kick() asks for the outbox to be sent now (a card tap or chat message queued replies and card updates): only
 * the outbox, so a tap does not set every daily and monthly job going. During a round it asks for more after it.
 */
export function startJobs(deps: JobDeps, intervalMs: number) {
  const log = deps.log ?? consoleLog;
  let running: Promise<void> | null = null;
  let again: "round" | "outbox" | null = null;
  let stopped = false;
  // While the database is unavailable every round fails alike: one line when it goes, one when it is back.
  let outageSince: Date | null = null;
  const failed = (err: unknown) => {
    if (!isDatabaseUnavailable(err)) return log(`后台任务出错：${jobFailure(err)}`);
    if (outageSince) return;
    outageSince = deps.clock.now();
    log(`数据库暂时无法访问，后台任务暂停，每 ${intervalMs / 1000} 秒重试，恢复后自动继续：${jobFailure(err).split("\n")[0]}`);
  };
  const succeeded = () => {
    if (!outageSince) return;
    const seconds = Math.round((deps.clock.now().getTime() - outageSince.getTime()) / 1000);
    outageSince = null;
    log(`数据库已恢复，后台任务继续（中断约 ${seconds} 秒）`);
  };
  const start = (what: "round" | "outbox") => {
    if (stopped) return;
    if (running) {
      if (again !== "round") again = what;
      return;
    }
    running = (what === "round" ? runJobsOnce(deps) : drainOutbox(deps))
      .then(succeeded, failed)
      .finally(() => {
        running = null;
        const next = again;
        again = null;
        if (next) start(next);
      });
  };
  const handle = setInterval(() => start("round"), intervalMs);
  start("round");
  return {
    kick: () => start("outbox"),
    async stop() {
      stopped = true;
      clearInterval(handle);
      while (running) await running;
    },
  };
}
