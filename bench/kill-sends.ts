// kill -9 during sends: the outbox sender runs in a child process against the fake WeCom server on loopback,
// and is killed mid-send again and again while messages keep arriving and tasks get decided; then it is left
// to finish. Counted as a person would see it in WeCom (after WeCom's own duplicate check): messages queued,
// delivered, duplicated and lost; cards of decided tasks whose buttons still work; which messages waited for
// the sending lease; and the longest wait after a restart.
//
//   npx tsx bench/kill-sends.ts              10 kills on PGlite (and on PostgreSQL when BENCH_DATABASE_URL is set)
//
// The child is `node --import tsx bench/kill-sends.ts child`: one process, so SIGKILL hits the sender itself.
// PGlite's data directory can be open in one process at a time: the parent opens it only while no child
// runs (to read, to decide tasks and to queue more messages), and each child reopens it after the last was killed.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { and, eq, inArray } from "drizzle-orm";
import { migrateDatabase, openDatabase, type Database } from "../db/client";
import { createScratchDatabase } from "../db/scratch";
import { outbox, tasks, userChannels, wecomCards } from "../db/schema";
import { noticeCard, type Card } from "../cards";
import type { WorkCalendar } from "../src/core/calendar";
import { createWecomClient } from "../src/channels/wecom/client";
import { renderMessage } from "../src/channels/wecom/render";
import { wecomSender } from "../src/channels/wecom/sender";
import type { Clock } from "../src/core/context";
import { systemClock } from "../src/core/context";
import { enqueueCards } from "../src/core/notify";
import { createApp } from "../src/http/app";
import { dispatchOutbox, SENDING_LEASE_MS } from "../src/jobs/outbox";
import { startFakeWecom } from "../test/fakes/wecom-server";
import { seedDemo } from "./drive";

export interface KillSendsOptions {
  kills: number;
  /** A PostgreSQL server to make a scratch database on; without it, PGlite in a temporary directory. */
  adminUrl?: string;
  /** How the fake WeCom answers a repeat its duplicate check dropped (test/fakes/wecom-server.ts). */
  duplicateAnswer?: "bare" | "original";
  /** Requests submitted at the start (each sends button cards to its first stage's assignees). */
  requests?: number;
  /** Text notices queued at the start, and more after each kill (a steady inflow). */
  notices?: number;
  noticesPerKill?: number;
  /** How long the fake WeCom holds each answer, so that a kill lands while a send is in flight. */
  holdMs?: number;
  /** A run that waits this long for a send (none comes: nothing is due) is killed anyway. */
  cycleTimeoutMs?: number;
  /** The whole run stops by itself after this long. */
  deadlineMs?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface KillSendsFigures {
  database: "pglite" | "postgres";
  kills: number;
  /** Kills that landed while WeCom held a send's answer (the send arrived, its answer had not). */
  midSend: number;
  /** Messages queued for people (cards and texts; not the updates of cards). */
  queued: number;
  /** Of those, delivered at least once (as WeCom shows them). */
  delivered: number;
  /** Cards never handed over because their task was decided first. */
  skipped: number;
  /** Extra copies people saw of a message they already had. */
  duplicates: number;
  /** Messages never delivered and not skipped. */
  lost: number;
  /** Outbox rows (card updates included) not finished at the end: pending, sending or failed. */
  unfinished: number;
  /** Most messages left "sending" by one kill (the claimed batch; 1 when only the one in flight is). */
  mostHeldByOneKill: number;
  /** Messages that were not delivered until their lease had lapsed (a second restart, clock moved past the lease). */
  waitedForLease: number;
  /** Of those, ones that were not the message in flight at a kill. */
  waitedForLeaseNotInFlight: number;
  /** Longest wait, after the last restart, for a message that was not held by a lease. */
  longestDelayAfterRestartMs: number;
  decidedTasks: number;
  /** Delivered cards of decided tasks whose buttons still work. */
  liveOnDecided: number;
  /** Of those, cards whose response code was lost in a crash (nothing can grey them out). */
  liveCodeLost: number;
  /** Live cards on decided tasks whose recipient was not told by text either. */
  liveUntold: number;
  /** Texts telling someone that a card they hold was decided (when it could not be greyed out). */
  decidedTexts: number;
  seconds: number;
}

const AGENT_ID = 1000002;
const CORP_ID = "wwkillsends0001";
const childFile = fileURLToPath(import.meta.url);

/** A small deterministic generator, so a run can be repeated. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a person sees of a message: a card by its task_id, a text by recipient and content. */
function identity(body: any): string {
  if (body.msgtype === "template_card") return `card:${body.template_card.task_id}`;
  return `text:${body.touser}:${body.text?.content ?? ""}`;
}

interface Child {
  proc: ChildProcess;
  ready: Promise<number>;
  exited: Promise<number | null>;
}

function startChild(env: Record<string, string>, log: (line: string) => void): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", childFile, "child"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const ready = new Promise<number>((resolve, reject) => {
    proc.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready\n")) resolve(Date.now());
    });
    proc.once("exit", (code) => reject(new Error(`child exited before it was ready (${code}): ${err.slice(-500)}`)));
  });
  ready.catch(() => {});
  let err = "";
  proc.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString();
    for (const l of chunk.toString().split("\n")) if (l.trim()) log(`  child: ${l}`);
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, ready, exited };
}

export async function killSends(opts: KillSendsOptions): Promise<KillSendsFigures> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const deadline = started + (opts.deadlineMs ?? 240_000);
  const random = rng(opts.seed ?? 20261204);
  const holdMs = opts.holdMs ?? 250;
  const cycleTimeoutMs = opts.cycleTimeoutMs ?? 4_000;
  const fake = await startFakeWecom({ corpId: CORP_ID, agentId: AGENT_ID, duplicateAnswer: opts.duplicateAnswer ?? "bare" });
  const scratch = opts.adminUrl ? await createScratchDatabase(opts.adminUrl, "yunshen_ks") : null;
  const dataDir = scratch ? null : mkdtempSync(join(tmpdir(), "yunshen-ks-"));
  const open = () => (scratch ? openDatabase({ url: scratch.url, max: 4 }) : openDatabase({ dataDir: dataDir! }));
  /** The database for a moment, between children (PGlite: one process at a time). */
  async function withDb<T>(fn: (database: Database) => Promise<T>): Promise<T> {
    const database = await open();
    try {
      return await fn(database);
    } finally {
      await database.close();
    }
  }
  const childEnv = (extra: Record<string, string>) => ({
    ...(scratch ? { KS_DATABASE_URL: scratch.url } : { KS_DATA_DIR: dataDir! }),
    KS_WECOM_URL: fake.url,
    KS_WECOM_SECRET: fake.secret,
    ...extra,
  });
  // Every call reaching the fake, with when it came (a send is "in flight" until its answer, holdMs later).
  const arrivals: { api: string; body: any; at: number }[] = [];
  fake.onCall = (call) => arrivals.push({ ...call, at: Date.now() });

  let children: Child[] = [];
  try {
    // Seed: the demo directory, requests whose first stage sends button cards, and text notices.
    const tokens = new Map<string, string>();
    let calendar: WorkCalendar | null = null;
    let noticeSerial = 0;
    const noticeUsers = ["zhangwei", "chenjing", "xufeng", "linna", "yangfan", "guojun"];
    const queueNotices = async (database: Database, n: number) => {
      const at = systemClock.now();
      for (let i = 0; i < n; i++) {
        const serial = ++noticeSerial;
        const card = noticeCard({ id: 1, code: `YS-KILL-${serial}`, title: "通知", unitName: "测试单位", summary: [] }, "系统通知", `第 ${serial} 条通知`);
        await enqueueCards(database.db, at, [noticeUsers[serial % noticeUsers.length]!], "notice", card, `kill-sends:${serial}`);
      }
    };
    await withDb(async (database) => {
      await migrateDatabase(database, { url: scratch?.url });
      const seeded = await seedDemo(database);
      calendar = seeded.calendar;
      for (const id of ["yangfan", "xufeng", "linna", "zhangwei", "chenjing", "guojun", "huangmin"]) tokens.set(id, await seeded.tokenFor(id));
      const app = createApp({ db: database.db, clock: systemClock, calendar: () => calendar!, profile: "meizhou", log: () => {} });
      for (let i = 0; i < (opts.requests ?? 6); i++) {
        const res = await app.request("/api/requests", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens.get("yangfan")}` },
          body: JSON.stringify({ form: seeded.form }),
        });
        if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
      }
      await queueNotices(database, opts.notices ?? 24);
    });

    /** Decides the task a card asks for: its holder approves; failing that, the applicant withdraws. */
    async function decide(database: Database, taskId: number): Promise<boolean> {
      const [task] = await database.db.select().from(tasks).where(eq(tasks.id, taskId));
      if (!task || task.status !== "pending") return false;
      const app = createApp({ db: database.db, clock: systemClock, calendar: () => calendar!, profile: "meizhou", log: () => {} });
      const act = (user: string, body: unknown) =>
        app.request(`/api/requests/${task.requestId}/actions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens.get(user) ?? ""}` },
          body: JSON.stringify(body),
        });
      if (tokens.has(task.userId) && (await act(task.userId, { action: "approve", note: "同意" })).status === 200) return true;
      return (await act("yangfan", { action: "withdraw", reason: "测试撤回" })).status === 200;
    }

    let kills = 0;
    let midSend = 0;
    let mostHeld = 0;
    const heldAtKills = new Set<number>();
    const inFlightAtKills = new Set<number>();
    const decidedByUs = new Set<number>();
    const lease = String(SENDING_LEASE_MS);

    for (let i = 0; i < opts.kills && Date.now() < deadline; i++) {
      fake.delay(holdMs);
      const child = startChild(childEnv({ KS_MODE: "run", KS_LEASE_MS: lease }), log);
      children.push(child);
      await child.ready;
      // Kill after the k-th call to send or update (or after a while, when nothing comes), while WeCom holds its answer.
      const from = arrivals.length;
      const k = 1 + random(3);
      const waitUntil = Date.now() + cycleTimeoutMs;
      const sends = () => arrivals.slice(from).filter((a) => a.api !== "gettoken");
      while (sends().length < k && Date.now() < waitUntil && Date.now() < deadline) await sleep(5);
      if (sends().length >= k) await sleep(random(Math.max(1, Math.floor(holdMs * 0.7))));
      const killedAt = Date.now();
      child.proc.kill("SIGKILL");
      await child.exited;
      children = children.filter((c) => c !== child);
      kills++;
      const last = sends().at(-1);
      const inFlight = last && killedAt < last.at + holdMs ? last : null;
      if (inFlight) midSend++;

      const leftSending = await withDb(async (database) => {
        // What the kill left "sending": with a claim per message, only the one handed to the channel.
        const held = await database.db
          .select({ row: outbox, wecomUserId: userChannels.address, cardToken: tasks.cardToken })
          .from(outbox)
          .innerJoin(userChannels, and(eq(userChannels.userId, outbox.userId), eq(userChannels.channel, outbox.channel)))
          .leftJoin(tasks, eq(tasks.id, outbox.taskId))
          .where(eq(outbox.status, "sending"));
        const fresh = held.filter((h) => !heldAtKills.has(h.row.id));
        for (const h of held) heldAtKills.add(h.row.id);
        mostHeld = Math.max(mostHeld, fresh.length);
        // Which of them was the one handed over: the one whose call WeCom was holding, else (the kill came
        // before its call arrived) the first in line.
        const handed =
          fresh.find(({ row, wecomUserId, cardToken }) =>
            inFlight?.api === "update_template_card"
              ? row.kind === "card_update" || row.taskId !== null
              : inFlight !== null && row.kind !== "card_update" && identity(renderMessage(row.payload as Card, { touser: wecomUserId, outboxId: row.id, token: cardToken, detailUrl: () => null })) === identity(inFlight.body),
          ) ?? fresh.sort((a, b) => a.row.id - b.row.id)[0];
        if (handed) inFlightAtKills.add(handed.row.id);
        // The card in flight is on the person's phone now, its answer lost: decide its task while the sender
        // is down (the path where a delivered card used to be recorded "skipped" and keep its buttons).
        const taskId = inFlight?.body?.template_card?.task_id as string | undefined;
        if (taskId) {
          const [row] = await database.db.select({ taskId: outbox.taskId }).from(outbox).where(eq(outbox.id, Number(taskId.slice(3))));
          if (row?.taskId && (await decide(database, row.taskId))) decidedByUs.add(row.taskId);
        } else if (i % 3 === 2) {
          // Now and then a decision on a card delivered earlier, as approvers do.
          const delivered = fake.sent.filter((b) => b.template_card?.card_type === "button_interaction").map((b) => Number(String(b.template_card.task_id).slice(3)));
          const rows = delivered.length ? await database.db.select({ taskId: outbox.taskId }).from(outbox).where(inArray(outbox.id, delivered)) : [];
          const open = rows.filter((r) => r.taskId && !decidedByUs.has(r.taskId));
          const pick = open[random(Math.max(1, open.length))];
          if (pick?.taskId && (await decide(database, pick.taskId))) decidedByUs.add(pick.taskId);
        }
        await queueNotices(database, opts.noticesPerKill ?? 3);
        return fresh.length;
      });
      log(`kill ${kills}: ${inFlight ? `mid-send (${inFlight.api})` : "between sends"}, ${leftSending} more left "sending"`);
    }

    // Restart and let it finish, WeCom answering at once: everything not held by a lease goes now.
    fake.delay(0);
    const drain = startChild(childEnv({ KS_MODE: "drain", KS_LEASE_MS: lease }), log);
    children.push(drain);
    const restartedAt = await drain.ready;
    const drainFrom = arrivals.length;
    const drainTimer = setTimeout(() => drain.proc.kill("SIGKILL"), Math.max(10_000, deadline - Date.now()));
    const drained = await drain.exited;
    clearTimeout(drainTimer);
    children = children.filter((c) => c !== drain);
    if (drained !== 0) throw new Error(`the final sender did not finish (exit ${drained})`);
    const afterRestart = arrivals.slice(drainFrom).filter((a) => a.api === "send");
    const heldByLease = await withDb(async (database) =>
      (await database.db.select({ id: outbox.id }).from(outbox).where(eq(outbox.status, "sending"))).map((r) => r.id),
    );
    // Then once more with the clock past the lease: the messages a crash left "sending" are taken again.
    const resume = startChild(childEnv({ KS_MODE: "drain", KS_LEASE_MS: lease, KS_CLOCK_OFFSET_MS: String(SENDING_LEASE_MS + 1_000) }), log);
    children.push(resume);
    const resumeTimer = setTimeout(() => resume.proc.kill("SIGKILL"), Math.max(10_000, deadline - Date.now()));
    const resumed = await resume.exited;
    clearTimeout(resumeTimer);
    children = children.filter((c) => c !== resume);
    if (resumed !== 0) throw new Error(`the sender after the lease did not finish (exit ${resumed})`);

    // Count as the people see it.
    return await withDb(async (database) => {
      const rows = await database.db
        .select({ row: outbox, wecomUserId: userChannels.address, cardToken: tasks.cardToken })
        .from(outbox)
        .innerJoin(userChannels, and(eq(userChannels.userId, outbox.userId), eq(userChannels.channel, outbox.channel)))
        .leftJoin(tasks, eq(tasks.id, outbox.taskId));
      const seen = new Map<string, number>();
      for (const body of fake.sent) seen.set(identity(body), (seen.get(identity(body)) ?? 0) + 1);
      let queued = 0;
      let delivered = 0;
      let skipped = 0;
      let duplicates = 0;
      let lost = 0;
      let unfinished = 0;
      const known = new Set<string>();
      for (const { row, wecomUserId, cardToken } of rows) {
        if (row.status !== "sent" && row.status !== "skipped") unfinished++;
        if (row.kind === "card_update") continue;
        queued++;
        const body = renderMessage(row.payload as Card, { touser: wecomUserId, outboxId: row.id, token: cardToken, detailUrl: () => null });
        const id = identity(body);
        known.add(id);
        const copies = seen.get(id) ?? 0;
        duplicates += Math.max(0, copies - 1);
        if (copies > 0) delivered++;
        else if (row.status === "skipped") skipped++;
        else lost++;
      }
      const decidedTexts = fake.sent.filter((b) => !known.has(identity(b)) && b.msgtype === "text" && String(b.text?.content).startsWith("您的待办")).length;
      // Live buttons on decided tasks.
      const taskRows = await database.db.select({ id: tasks.id, status: tasks.status }).from(tasks);
      const decided = new Set(taskRows.filter((t) => t.status !== "pending").map((t) => t.id));
      const cardTask = new Map(rows.map(({ row }) => [`ys-${row.id}`, row.taskId]));
      const cards = await database.db.select().from(wecomCards);
      let liveOnDecided = 0;
      let liveCodeLost = 0;
      let liveUntold = 0;
      for (const card of fake.liveCards()) {
        const taskId = cardTask.get(card.taskId);
        if (!taskId || !decided.has(taskId)) continue;
        liveOnDecided++;
        const record = cards.find((c) => c.wecomTaskId === card.taskId);
        if (record && record.codeIssuedAt === null) liveCodeLost++;
        const code = String(card.body.template_card?.main_title?.desc ?? "");
        const told = fake.sent.some((b) => b.touser === card.touser && b.msgtype === "text" && String(b.text?.content).startsWith("您的待办") && String(b.text.content).includes(code));
        if (!told) liveUntold++;
      }
      const waitedNotInFlight = heldByLease.filter((id) => !inFlightAtKills.has(id)).length;
      const longest = afterRestart.reduce((max, a) => Math.max(max, a.at - restartedAt), 0);
      return {
        database: scratch ? "postgres" : "pglite",
        kills,
        midSend,
        queued,
        delivered,
        skipped,
        duplicates,
        lost,
        unfinished,
        mostHeldByOneKill: mostHeld,
        waitedForLease: heldByLease.length,
        waitedForLeaseNotInFlight: waitedNotInFlight,
        longestDelayAfterRestartMs: longest,
        decidedTasks: decided.size,
        liveOnDecided,
        liveCodeLost,
        liveUntold,
        decidedTexts,
        seconds: (Date.now() - started) / 1000,
      } satisfies KillSendsFigures;
    });
  } finally {
    fake.onCall = null;
    for (const c of children) c.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    await fake.close();
    await scratch?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

export function killSendsLines(f: KillSendsFigures): string[] {
  return [
    `kill -9 during sends (${f.database}): ${f.kills} kills, ${f.midSend} mid-send, ${f.seconds.toFixed(0)} s`,
    `  messages queued ${f.queued}, delivered ${f.delivered}, skipped (decided before sent) ${f.skipped}, duplicates seen ${f.duplicates}, lost ${f.lost}, unfinished ${f.unfinished}`,
    `  left "sending" by one kill: at most ${f.mostHeldByOneKill}; waited for the ${SENDING_LEASE_MS / 60_000}-minute lease: ${f.waitedForLease} (not in flight: ${f.waitedForLeaseNotInFlight})`,
    `  longest wait after the last restart, of messages not in flight: ${
      f.waitedForLeaseNotInFlight > 0 ? `over ${SENDING_LEASE_MS / 1000} s (held by the lease)` : `${(f.longestDelayAfterRestartMs / 1000).toFixed(2)} s`
    }`,
    `  decided tasks ${f.decidedTasks}; live buttons on them ${f.liveOnDecided} (response code lost in a crash: ${f.liveCodeLost}; recipient not told: ${f.liveUntold}); "已处理" texts ${f.decidedTexts}`,
  ];
}

/** The sender in a child process: drains the outbox through the WeCom sender, round after round. */
async function child() {
  const env = process.env;
  const offset = Number(env.KS_CLOCK_OFFSET_MS ?? 0);
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  const database = await openDatabase(env.KS_DATABASE_URL ? { url: env.KS_DATABASE_URL, max: 2 } : { dataDir: env.KS_DATA_DIR! });
  const client = createWecomClient({ apiBase: env.KS_WECOM_URL!, corpId: CORP_ID, secret: env.KS_WECOM_SECRET!, agentId: AGENT_ID, clock });
  const sender = wecomSender({ db: database.db, client, clock });
  const leaseMs = Number(env.KS_LEASE_MS ?? SENDING_LEASE_MS);
  process.stdout.write("ready\n");
  for (;;) {
    const round = await dispatchOutbox({ db: database.db, clock, senders: { console: sender, wecom: sender, web: sender }, leaseMs });
    if (round.sent + round.failed > 0) continue;
    if (env.KS_MODE === "drain") break;
    await sleep(20);
  }
  await database.close();
  process.stdout.write("idle\n");
}

async function main() {
  const runs: { adminUrl?: string }[] = [{}];
  if (process.env.BENCH_DATABASE_URL) runs.push({ adminUrl: process.env.BENCH_DATABASE_URL });
  for (const run of runs) {
    const figures = await killSends({ kills: 10, ...run });
    for (const l of killSendsLines(figures)) console.log(l);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const run = process.argv[2] === "child" ? child() : main();
  run.catch((err) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
}
