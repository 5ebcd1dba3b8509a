import { serve } from "@hono/node-server";
import { isPostgresDriverFault, keepStatisticsFresh, migrateDatabase, openDatabase, type Database } from "../db/client";
import { missingCalendarText, missingCalendarYear } from "./core/calendar";
import { DataDirLockedError } from "../db/lock";
import { channelMounts, channelSenders, configuredChannels } from "./channels";
import { auditAnchorSchedule } from "./audit/anchor";
import { openAuditSigner, signingDb } from "./core/audit-signing";
import { accessKeys, auditFiles, cloudCapacity, readConfig, smsGateway } from "./config";
import { systemClock } from "./core/context";
import { FALLBACK_CHANNEL } from "./core/notify";
import { describeInternalError, isDatabaseUnavailable, maskSecrets, safeErrorMessage, ServiceError } from "./core/errors";
import { createApp } from "./http/app";
import { createRefusalRecorder } from "./inbound/refusals";
import { calendarStore, startJobs } from "./jobs/runner";
import { PROFILES } from "../profiles";

// The process guard (issue 10). postgres.js 3.4.x can throw from a timer after a connection dies under load
// (porsager/postgres#1154), outside every query's promise, which would end the process; and it can leave a
// promise of its own (the type lookup of a new connection) rejected with nobody to hear it. Those two, and
// only those, are survived: a driver fault is logged and the pool replaced, so the queries in flight fail
// (answered 503) and the next ones connect afresh; a stray connection error needs nothing more than a line.
// Anything else uncaught still ends the process with status 1, logged without secrets.
let guarded: Database | null = null;
process.on("uncaughtException", (err, origin) => {
  if (guarded?.reset && isPostgresDriverFault(err)) {
    console.error(`数据库驱动故障（postgres.js 已知缺陷），已断开全部数据库连接并重新连接，进行中的请求按 503 失败：${describeInternalError(err)}`);
    guarded.reset();
    return;
  }
  if (guarded?.kind === "postgres" && origin === "unhandledRejection" && isDatabaseUnavailable(err)) {
    console.error(`数据库连接中断（未被等待的驱动内部查询），继续运行：${describeInternalError(err).split("\n")[0]}`);
    return;
  }
  console.error(`未预期的错误，进程退出：${describeInternalError(err)}`);
  process.exit(1);
});

async function main() {
  const config = readConfig();
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  guarded = database;
  let stopping = false;
  try {
    await migrateDatabase(database, { url: config.DATABASE_URL });
    const statistics = keepStatisticsFresh(database, 3_600_000, (line) => console.error(line));
    // Every audit entry the service appends is signed: everything below gets the signing Db.
    const auditKeys = auditFiles(config);
    const auditSigner = await openAuditSigner({ file: auditKeys.signingKey, db: database.db, log: (line) => console.log(line) });
    database.db = signingDb(database.db, auditSigner);
    const calendars = await calendarStore(database.db);
    // Every line the operator's log gets passes the last mask (invariant 8), whoever wrote it.
    const log = (line: string) => console.error(maskSecrets(line));
    const channels = configuredChannels(config, { db: database.db, clock: systemClock, log });
    let jobs: ReturnType<typeof startJobs> | null = null;
    // Held here so that the counts of refusals still in their window are written at shutdown, not lost.
    const refusals = createRefusalRecorder({ db: database.db, clock: systemClock, log });
    const app = createApp({
      refusals,
      db: database.db,
      clock: systemClock,
      calendar: calendars.current,
      profile: config.POLICY_PROFILE,
      log,
      channels: channelMounts(channels),
      onQueued: () => jobs?.kick(),
      access: { sms: smsGateway(config, { clock: systemClock, log: (line) => console.log(line) }), ...accessKeys(config) },
      tokenLifetimeDays: config.TOKEN_LIFETIME_DAYS,
      uploadMaxMb: config.UPLOAD_MAX_MB,
      refreshCalendar: calendars.refresh,
      auditFiles: auditKeys,
    });
    const server = serve({ fetch: app.fetch, port: config.PORT });
    // Listen first: a port already taken must fail before any background work starts, with the database closed.
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === "EADDRINUSE" ? `端口 ${config.PORT} 已被占用，请换一个 PORT` : err.message)),
      );
    });
    const capacity = cloudCapacity(config);
    jobs = startJobs(
      {
        db: database.db,
        clock: systemClock,
        calendars,
        profile: config.POLICY_PROFILE,
        senders: channelSenders(channels),
        capacity,
        log,
        anchorAudit: auditAnchorSchedule({
          db: database.db,
          signer: auditSigner,
          file: auditKeys.anchors,
          clock: systemClock,
          intervalMs: config.AUDIT_ANCHOR_INTERVAL_MS,
        }),
      },
      config.JOB_INTERVAL_MS,
    );
    const running = jobs;
    const store = database.kind === "pglite" ? `PGlite（${config.DATA_DIR}）` : "PostgreSQL";
    // The console is named only when it is the one channel: otherwise it just catches people without an address.
    // The portal pushes nothing, so it is no message channel either.
    const platforms = channels.filter((ch) => ch.key !== FALLBACK_CHANNEL && ch.key !== "web");
    const channel = platforms.length > 0 ? platforms.map((ch) => ch.description).join("、") : "控制台（未配置企业微信）";
    console.log(`云审 yunshen 已启动：http://localhost:${config.PORT}  数据库：${store}  政策：${config.POLICY_PROFILE}  消息：${channel}`);
    const missingYear = missingCalendarYear(calendars.current(), systemClock.now());
    if (missingYear !== null) console.log(`提示：${missingCalendarText(missingYear)}`);
    const profile = PROFILES[config.POLICY_PROFILE];
    if (profile.cloudCapacityRequiredBy && !capacity)
      console.log(
        `提示：${profile.name}政策要求资源接近云平台容量 ${profile.thresholds.capacityAlertAt}% 时预警（${profile.cloudCapacityRequiredBy}），请设置 CLOUD_CAPACITY_VCPU、CLOUD_CAPACITY_MEMORY_GB、CLOUD_CAPACITY_STORAGE_GB`,
      );
    // PGlite must be closed or its directory is left inconsistent: stop taking requests, finish jobs, close.
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`收到 ${signal}，正在关闭…`);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.stop();
      await refusals.flush(true);
      statistics.stop();
      await database.close();
      process.exit(0);
    };
    process.on("SIGINT", () => void shutdown("SIGINT"));
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
  } catch (err) {
    await database.close();
    throw err;
  }
}

main().catch((err) => {
  // A database error's message carries its statement's parameters: shown by its shape only (invariant 8).
  const message = err instanceof DataDirLockedError || err instanceof ServiceError ? err.message : `启动失败：${safeErrorMessage(err)}`;
  console.error(message);
  if (err instanceof ServiceError && err.fields) console.error(JSON.stringify(err.fields, null, 2));
  process.exit(1);
});
