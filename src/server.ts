import { serve } from "@hono/node-server";
import { keepStatisticsFresh, migrateDatabase, openDatabase } from "../db/client";
import { missingCalendarText, missingCalendarYear } from "./calendar";
import { DataDirLockedError } from "../db/lock";
import { createWecomChannel } from "./channels/wecom";
import { auditAnchorSchedule } from "./audit/anchor";
import { openAuditSigner, signingDb } from "./audit/signing";
import { accessKeys, auditFiles, cloudCapacity, readConfig, smsGateway, wecomConfig } from "./config";
import { systemClock } from "./context";
import { ServiceError } from "./errors";
import { createApp } from "./http/app";
import { createRefusalRecorder } from "./http/refusals";
import { consoleSender } from "./jobs/outbox";
import { calendarStore, startJobs } from "./jobs/runner";

async function main() {
  const config = readConfig();
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  let stopping = false;
  try {
    await migrateDatabase(database, { url: config.DATABASE_URL });
    const statistics = keepStatisticsFresh(database, 3_600_000, (line) => console.error(line));
    // Every audit entry the service appends is signed: everything below gets the signing Db.
    const auditKeys = auditFiles(config);
    const auditSigner = await openAuditSigner({ file: auditKeys.signingKey, db: database.db, log: (line) => console.log(line) });
    database.db = signingDb(database.db, auditSigner);
    const calendars = await calendarStore(database.db);
    const wecomSettings = wecomConfig(config);
    const log = (line: string) => console.error(line);
    const wecom = wecomSettings ? createWecomChannel(wecomSettings, { db: database.db, clock: systemClock, log }) : null;
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
      wecom: wecom ?? undefined,
      onQueued: () => jobs?.kick(),
      access: { sms: smsGateway(config, { clock: systemClock, log: (line) => console.log(line) }), ...accessKeys(config) },
      tokenLifetimeDays: config.TOKEN_LIFETIME_DAYS,
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
        sender: wecom?.sender ?? consoleSender(),
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
    const channel = wecomSettings ? `企业微信（${wecomSettings.apiBase}）` : "控制台（未配置企业微信）";
    console.log(`云审 yunshen 已启动：http://localhost:${config.PORT}  数据库：${store}  政策：${config.POLICY_PROFILE}  消息：${channel}`);
    const missingYear = missingCalendarYear(calendars.current(), systemClock.now());
    if (missingYear !== null) console.log(`提示：${missingCalendarText(missingYear)}`);
    if (config.POLICY_PROFILE === "huizhou" && !capacity)
      console.log("提示：徽州政策要求资源接近云平台容量 70% 时预警（001 第十九条），请设置 CLOUD_CAPACITY_VCPU、CLOUD_CAPACITY_MEMORY_GB、CLOUD_CAPACITY_STORAGE_GB");
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
  const message = err instanceof DataDirLockedError || err instanceof ServiceError ? err.message : `启动失败：${err instanceof Error ? err.message : String(err)}`;
  console.error(message);
  if (err instanceof ServiceError && err.fields) console.error(JSON.stringify(err.fields, null, 2));
  process.exit(1);
});
