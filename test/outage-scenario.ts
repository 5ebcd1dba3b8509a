import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { migrateDatabase, openDatabase, rowsOf } from "../db/client";
import { builtinSchedules, WorkCalendar } from "../src/core/calendar";
import { systemClock, type ServiceContext } from "../src/core/context";
import { demoDirectory } from "../src/directory/demo";
import { registerDemoSystems } from "../src/systems/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import { wecomSignature } from "../src/channels/wecom/crypto";
import { buildWecomXml } from "../src/channels/wecom/xml";
import { wecomCallbacks } from "./fakes/wecom-callbacks";
import { startFakeWecom, type FakeWecom } from "./fakes/wecom-server";
import { freePort } from "./harness";
import { startPostgresServer, type PostgresServer } from "./postgres-server";

// PostgreSQL stopped under load, for real (issue 10): a server of our own, the real service as a child process
// (`node --import tsx src/server.ts`, as `npm start` runs it), authenticated reads and writes, WeCom callbacks
// and PAM calls in flight, the server stopped and started again. Shared by test/outage.test.ts, which asserts
// on what it records, and bench/outage.ts, which prints the figures.

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const WECOM = { corpId: "wx5823bf96d3bd56c7", agentId: 1000002, token: "QDG6eK", encodingAesKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C" };
// A key for login codes: a secret of the kind the log must never show.
const ACCESS_CODE_KEY = createHash("sha256").update("yunshen outage test key").digest("hex");

export type Phase = "up" | "stopping" | "down" | "starting" | "back";

/** One call the load made and what came of it. */
export interface Answer {
  kind: "submit" | "decide" | "list" | "show" | "healthz" | "wecom" | "access";
  /** The phase of the database when the call left. */
  phase: Phase;
  startedAt: number;
  ms: number;
  /** null: no HTTP answer at all (the process gone, the connection refused or cut). */
  status: number | null;
  failure?: string;
  retryAfter: string | null;
  /** error.code of a JSON error body */
  code?: string;
  /** submit: the maintainer's company it gave, unique to the attempt, and its Idempotency-Key; decide: the request. */
  marker?: string;
  key?: string;
  requestId?: number;
}

export interface OutageRun {
  answers: Answer[];
  marks: { stopAt: number; downAt: number; startAt: number; upAt: number; servingAt: number | null; endAt: number };
  /** Seconds from the server accepting connections again to the service answering an authenticated read 200. */
  recoverySeconds: number | null;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Everything the service wrote, stdout and stderr. */
  log(): string;
  /** What must never appear in the log: mobiles, API tokens, their hashes, the WeCom secret and access tokens, the code key. */
  secrets(): string[];
  /** Problems found in the rows written: each request complete or absent, decisions atomic, the audit chain whole. */
  inconsistencies(): Promise<string[]>;
  close(): Promise<void>;
}

export interface OutageOptions {
  /** How long the database stays stopped. */
  downMs: number;
  warmMs?: number;
  /** How long the load goes on once the service serves again. */
  afterMs?: number;
  stopMode?: "fast" | "immediate";
  /** Pause of each load worker between calls. */
  paceMs?: number;
  /** Requests submitted before the load, for the county bureau to decide during it. */
  decisions?: number;
}

export interface Service {
  child: ChildProcess;
  port: number;
  log: () => string;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
}

/** The service as `npm start` runs it, on a free port, with `env` (and `preload`, modules for --import). */
export function startService(env: Record<string, string>, preload: string[] = []): Promise<Service> {
  return freePort().then((port) => {
    const base = { ...process.env };
    for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "DATA_DIR", "PORT", "POLICY_PROFILE", "JOB_INTERVAL_MS"]) delete base[name];
    for (const name of Object.keys(base)) if (name.startsWith("WECOM_")) delete base[name];
    const child = spawn(process.execPath, ["--import", "tsx", ...preload.flatMap((p) => ["--import", p]), "src/server.ts"], {
      cwd: repoRoot,
      env: { ...base, PORT: String(port), JOB_INTERVAL_MS: "300", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    const service: Service = { child, port, log: () => log, exited: null };
    child.once("exit", (code, signal) => (service.exited = { code, signal }));
    return service;
  });
}

export async function waitFor(what: string, ok: () => Promise<boolean>, ms: number, service?: Service): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (service?.exited) throw new Error(`service exited while waiting for ${what}:\n${service.log()}`);
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${service ? `\n${service.log()}` : ""}`);
    await sleep(100);
  }
}

export async function runOutageScenario(opts: OutageOptions): Promise<OutageRun> {
  const warmMs = opts.warmMs ?? 2_000;
  const afterMs = opts.afterMs ?? 3_000;
  const paceMs = opts.paceMs ?? 20;
  const cleanup: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    const pg: PostgresServer = await startPostgresServer(await freePort());
    cleanup.push(() => pg.destroy());
    const fake: FakeWecom = await startFakeWecom({ corpId: WECOM.corpId, agentId: WECOM.agentId });
    cleanup.push(() => fake.close());

    // The database, its directory and tokens, made before the service starts.
    const admin = await openDatabase({ url: pg.url(), max: 1 });
    await admin.db.execute(sql.raw(`create database yunshen`));
    await admin.close();
    const url = pg.url("yunshen");
    const seeded = await openDatabase({ url, max: 2 });
    const tokens: Record<string, string> = {};
    try {
      await migrateDatabase(seeded, { url });
      const ctx: ServiceContext = { db: seeded.db, clock: systemClock, calendar: new WorkCalendar(builtinSchedules()), profile: "meizhou", actor: null, channel: "cli" };
      await importDirectory({ ctx, input: demoDirectory });
      await registerDemoSystems(ctx);
      for (const user of ["lihua", "huangmin", "yangfan"]) tokens[user] = (await createToken({ ctx, input: { userId: user } })).token;
    } finally {
      await seeded.close();
    }

    const service = await startService({
      DATABASE_URL: url,
      ACCESS_CODE_KEY,
      WECOM_CORP_ID: WECOM.corpId,
      WECOM_AGENT_ID: String(WECOM.agentId),
      WECOM_SECRET: fake.secret,
      WECOM_TOKEN: WECOM.token,
      WECOM_ENCODING_AES_KEY: WECOM.encodingAesKey,
      WECOM_API_BASE: fake.url,
    });
    cleanup.push(async () => {
      if (service.exited) return;
      service.child.kill("SIGKILL");
      await new Promise((resolve) => service.child.once("exit", resolve));
    });
    const base = `http://127.0.0.1:${service.port}`;
    await waitFor("the service to start", async () => (await fetch(`${base}/healthz`)).status === 200, 60_000, service);

    const form = JSON.parse(readFileSync(new URL("../examples/application.json", import.meta.url), "utf8"));
    const api = (user: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens[user]}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        // Only so that a hung call cannot hold the run for ever; the test judges the time taken itself.
        signal: AbortSignal.timeout(60_000),
      });

    // Requests waiting at the county bureau (梅县区), for the decisions during the load.
    const pending: number[] = [];
    const toDecide = opts.decisions ?? 150;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (pending.length < toDecide) {
          const res = await api("lihua", "POST", "/api/requests", { form });
          if (res.status !== 201) throw new Error(`seeding a request answered ${res.status}: ${await res.text()}`);
          pending.push(((await res.json()) as { id: number }).id);
        }
      }),
    );

    // A chat message as WeCom posts it (test/fakes/wecom-callbacks.ts does the same, but keeps only status and body).
    const wecomCrypto = wecomCallbacks({ endpoint: "", token: WECOM.token, encodingAesKey: WECOM.encodingAesKey, corpId: WECOM.corpId, agentId: WECOM.agentId }).crypto;
    let msgId = 1_000_000;
    const wecomText = (from: string, content: string) => {
      const plain = buildWecomXml({ ToUserName: WECOM.corpId, FromUserName: from, CreateTime: Math.floor(Date.now() / 1000), MsgType: "text", Content: content, MsgId: String(msgId++), AgentID: WECOM.agentId });
      const encrypt = wecomCrypto.encrypt(plain);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = String(msgId);
      const query = `msg_signature=${wecomSignature(WECOM.token, timestamp, nonce, encrypt)}&timestamp=${timestamp}&nonce=${nonce}`;
      const body = buildWecomXml({ ToUserName: WECOM.corpId, Encrypt: encrypt, AgentID: String(WECOM.agentId) });
      return fetch(`${base}/wecom/callback?${query}`, { method: "POST", headers: { "content-type": "text/xml" }, body, signal: AbortSignal.timeout(60_000) });
    };
    // WeCom refusing some sends: its failures are logged too, and must not carry the secret or a token.
    fake.inject("send", 45009, -1, 40014, 0, -1);

    let phase: Phase = "up";
    const answers: Answer[] = [];
    let stopping = false;
    let submitted = 0;

    async function call(kind: Answer["kind"], send: () => Promise<Response>, extra: Partial<Answer> = {}): Promise<Answer> {
      const startedAt = performance.now();
      const answer: Answer = { kind, phase, startedAt, ms: 0, status: null, retryAfter: null, ...extra };
      try {
        const res = await send();
        answer.status = res.status;
        answer.retryAfter = res.headers.get("retry-after");
        const text = await res.text();
        try {
          const body = JSON.parse(text) as { error?: { code?: string } };
          answer.code = body?.error?.code;
        } catch {
          // XML (a WeCom reply) or empty
        }
      } catch (err) {
        answer.failure = String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name ?? err);
      }
      answer.ms = performance.now() - startedAt;
      answers.push(answer);
      return answer;
    }

    const workers: Promise<void>[] = [];
    const loop = (one: () => Promise<unknown>) =>
      workers.push(
        (async () => {
          while (!stopping) {
            await one();
            await sleep(paceMs);
          }
        })(),
      );
    for (let i = 0; i < 3; i++)
      loop(() => {
        const n = submitted++;
        // Every submission is for the registered example system (004 第二条); the company marks which attempt it was.
        const marker = `压测-${n}`;
        const key = `outage-submit-${n}`;
        return call("submit", () => api("lihua", "POST", "/api/requests", { form: { ...form, maintainer: { ...form.maintainer, company: marker } } }, { "idempotency-key": key }), { marker, key });
      });
    for (let i = 0; i < 2; i++)
      loop(async () => {
        const requestId = pending.shift();
        if (requestId === undefined) return sleep(200);
        return call("decide", () => api("huangmin", "POST", `/api/requests/${requestId}/actions`, { action: "approve" }), { requestId });
      });
    loop(() => call("list", () => api("lihua", "GET", "/api/requests?view=mine")));
    loop(() => call("show", () => api("huangmin", "GET", `/api/requests/${1 + Math.floor(Math.random() * toDecide)}`)));
    loop(() => call("healthz", () => fetch(`${base}/healthz`, { signal: AbortSignal.timeout(60_000) })));
    loop(async () => {
      await call("wecom", () => wecomText("LiHua", "查询"));
      await sleep(100);
    });
    loop(async () => {
      // A VM's PAM call with a well-formed credential nobody issued: looked up, so it needs the database, and
      // refused while the database is up (a malformed one is refused without asking the database at all).
      await call("access", () =>
        fetch(`${base}/access/challenge`, {
          method: "POST",
          headers: { authorization: `Bearer ysh_${"f".repeat(43)}`, "content-type": "application/json" },
          body: JSON.stringify({ account: "root" }),
          signal: AbortSignal.timeout(60_000),
        }),
      );
      await sleep(100);
    });
    // A bearer token that does not exist, now and then.
    loop(async () => {
      await call("list", () => fetch(`${base}/api/requests`, { headers: { authorization: `Bearer ys_${"A".repeat(43)}` }, signal: AbortSignal.timeout(60_000) }));
      await sleep(200);
    });

    const t0 = performance.now();
    await sleep(warmMs);
    const stopAt = performance.now();
    phase = "stopping";
    await pg.stop(opts.stopMode ?? "fast");
    const downAt = performance.now();
    phase = "down";
    await sleep(opts.downMs);
    const startAt = performance.now();
    phase = "starting";
    await pg.start();
    const upAt = performance.now();
    phase = "back";
    let servingAt: number | null = null;
    try {
      await waitFor(
        "an authenticated read after the database's return",
        async () => (await api("lihua", "GET", "/api/requests?view=mine")).status === 200,
        30_000,
        service,
      );
      servingAt = performance.now();
    } catch {
      // recorded as never
    }
    await sleep(afterMs);
    stopping = true;
    await Promise.all(workers);
    const endAt = performance.now();
    void t0;

    return {
      answers,
      marks: { stopAt, downAt, startAt, upAt, servingAt, endAt },
      recoverySeconds: servingAt === null ? null : (servingAt - upAt) / 1000,
      get exited() {
        return service.exited;
      },
      log: () => service.log(),
      secrets() {
        const mobiles = [...demoDirectory.users.map((u) => u.mobile), form.contact.mobile, form.maintainer.mobile];
        const apiTokens = Object.values(tokens);
        const hashes = apiTokens.map((t) => createHash("sha256").update(t, "utf8").digest("hex"));
        const wecomTokens = fake.calls.map((c) => c.query.access_token).filter((t): t is string => Boolean(t));
        return [...new Set([...mobiles, ...apiTokens, ...hashes, fake.secret, ...wecomTokens, ACCESS_CODE_KEY, WECOM.encodingAesKey])];
      },
      async inconsistencies() {
        return checkRows(url, answers);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Every request is whole or absent: a submission answered 503 either committed with its stage, task and audit
 * entry and its Idempotency-Key, or left nothing; a decision answered 503 either moved the request on and
 * audited it, or changed nothing. And the audit chain verifies.
 */
async function checkRows(url: string, answers: Answer[]): Promise<string[]> {
  const problems: string[] = [];
  const database = await openDatabase({ url, max: 2 });
  try {
    const q = async <T>(text: string) => rowsOf<T>(await database.db.execute(sql.raw(text)));
    const requests = await q<{ id: number; marker: string; current_stage: string | null; status: string; open_runs: number; open_stage: string | null; submits: number; approves: number; county_runs: number }>(`
      select r.id, r.form->'maintainer'->>'company' as marker, r.current_stage, r.status,
        (select count(*)::int from stage_runs s where s.request_id = r.id and s.status = 'open') as open_runs,
        (select min(s.stage) from stage_runs s where s.request_id = r.id and s.status = 'open') as open_stage,
        (select count(*)::int from audit_log a where a.request_id = r.id and a.action = 'request.submit' and a.outcome = 'ok') as submits,
        (select count(*)::int from audit_log a where a.request_id = r.id and a.action = 'request.approve' and a.outcome = 'ok') as approves,
        (select count(*)::int from stage_runs s where s.request_id = r.id and s.stage = 'county_review') as county_runs
      from requests r`);
    const byMarker = new Map(requests.map((r) => [r.marker, r]));
    const byId = new Map(requests.map((r) => [Number(r.id), r]));
    for (const r of requests) {
      if (r.submits !== 1) problems.push(`request ${r.id}: ${r.submits} submit entries in the audit log`);
      if (r.open_runs !== 1 || r.open_stage !== r.current_stage) problems.push(`request ${r.id}: current stage ${r.current_stage}, open runs ${r.open_runs} (${r.open_stage})`);
      const advanced = r.current_stage !== "county_review";
      if (advanced !== r.approves > 0) problems.push(`request ${r.id}: at ${r.current_stage} with ${r.approves} approvals audited`);
      if (r.approves > 1 || r.county_runs !== 1) problems.push(`request ${r.id}: ${r.approves} approvals, ${r.county_runs} county runs`);
    }
    const keys = new Set(
      (await q<{ key: string }>(`select key from inbound_events where key like 'outage-submit-%'`)).map((row) => row.key),
    );
    for (const a of answers) {
      if (a.kind === "submit" && a.marker) {
        const row = byMarker.get(a.marker);
        if (a.status === 201 && !row) problems.push(`${a.marker} answered 201 but is not stored`);
        if (a.status !== 201 && a.status !== 503) continue;
        if (Boolean(row) !== keys.has(a.key!)) problems.push(`${a.marker}: request ${row ? "stored" : "absent"} but its Idempotency-Key ${keys.has(a.key!) ? "kept" : "not kept"}`);
      }
      if (a.kind === "decide" && a.requestId !== undefined) {
        const row = byId.get(a.requestId);
        if (!row) problems.push(`decided request ${a.requestId} is missing`);
        else if (a.status === 200 && row.approves !== 1) problems.push(`request ${a.requestId}: approval answered 200 but not audited`);
      }
    }
    const chain = await q<{ broken: number }>(`
      select count(*)::int as broken from (
        select seq, prev_hash, lag(hash) over (order by seq) as before, lag(seq) over (order by seq) as seq_before from audit_log
      ) t where seq_before is not null and (prev_hash <> before or seq <> seq_before + 1)`);
    if (chain[0]!.broken > 0) problems.push(`audit chain: ${chain[0]!.broken} broken links`);
  } finally {
    await database.close();
  }
  return problems;
}
