import { randomBytes } from "node:crypto";
import type { Database } from "../db/client";
import { bindVmAccount } from "../src/access/accounts";
import { addHost } from "../src/access/hosts";
import { systemClock, type ServiceContext } from "../src/core/context";
import { demoDirectory } from "../src/directory/demo";
import { mutate } from "../src/core/mutate";
import { createApp, type AppDeps } from "../src/http/app";
import { consoleGateway, type SmsCode } from "../src/sms/gateways";
import { seedDemo, drive, expectSuccess, line, mountBaselines, runWhenMain } from "./drive";

// Login-code verifications per second through /access/verify (host credential, account row lock, keyed hash
// compared in constant time, code closed, audit entry), every one a real success, against the route that does
// one plain insert in one transaction, on the same database in the same run.

const HOST = "bastion-bench";
const WARM = 20;

export async function benchAccess(database: Database, opts: { count?: number; concurrency?: number } = {}) {
  const count = opts.count ?? 300;
  const concurrency = opts.concurrency ?? 8;
  const { calendar, tokenFor } = await seedDemo(database);
  const person = await tokenFor("liuyang");
  const inbox: SmsCode[] = [];
  const deps: AppDeps = {
    db: database.db,
    clock: systemClock,
    calendar: () => calendar,
    profile: "meizhou",
    log: () => {},
    access: { sms: consoleGateway({ log: () => {}, sink: (m) => inbox.push(m) }), codeKey: randomBytes(32), totpKey: null },
  };
  const app = createApp(deps);
  const { baseline, authenticated } = await mountBaselines(app, deps, database, {
    token: person,
    body: { account: "bench0", host: HOST, code: "000000" },
  });

  // One host; WARM + count accounts on it, spread over the demo people (several accounts per person, each
  // name once on the host).
  const ctx: ServiceContext = { db: database.db, clock: systemClock, calendar, profile: "meizhou", actor: null, channel: "cli" };
  const { credential } = await addHost({ ctx, input: { name: HOST } });
  const people = demoDirectory.users.map((u) => u.id);
  const accounts = [...Array.from({ length: WARM }, (_, i) => `warm${i}`), ...Array.from({ length: count }, (_, i) => `bench${i}`)];
  const validUntil = new Date(Date.now() + 365 * 86_400_000);
  for (const [i, account] of accounts.entries())
    await mutate(ctx, { action: "vm_account.bind" }, (tx, j) =>
      bindVmAccount(tx, j, { hostId: HOST, account, userId: people[i % people.length]!, validUntil, requestId: null, at: systemClock.now() }),
    );

  const post = (path: string, body: unknown) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${credential}` },
      body: JSON.stringify(body),
    });

  // One code per account, issued beforehand, one challenge at a time so each code is known to be its account's.
  const codes: string[] = [];
  for (const account of accounts) {
    const before = inbox.length;
    await expectSuccess(await post("/access/challenge", { account, host: HOST }), `challenge for ${account}`);
    if (inbox.length !== before + 1) throw new Error(`challenge for ${account} sent ${inbox.length - before} messages`);
    codes.push(inbox.at(-1)!.code);
  }

  const verifyOne = async (k: number) => {
    const res = await post("/access/verify", { account: accounts[k], host: HOST, code: codes[k] });
    const body = (await res.json().catch(() => null)) as { allow?: unknown } | null;
    if (res.status !== 200 || body?.allow !== true) throw new Error(`verify for ${accounts[k]} answered ${res.status}: ${JSON.stringify(body)}`);
  };

  // Warm all three paths before measuring; the verify path on accounts of its own.
  await drive(WARM, 1, baseline);
  await drive(WARM, 1, authenticated);
  await drive(WARM, 1, verifyOne);

  const base = await drive(count, concurrency, baseline);
  const auth = await drive(count, concurrency, authenticated);
  const verifies = await drive(count, concurrency, (i) => verifyOne(WARM + i));
  console.log(`access verifications (${database.kind}, ${count} verifies, ${concurrency} in flight):`);
  console.log(line("  baseline: one insert", base));
  console.log(line("  baseline + bearer token", auth));
  console.log(line("  verify (code, audit)", verifies));
  console.log(
    `  ratio verifies / baseline: ${(verifies.ops / base.ops).toFixed(2)}   / baseline + bearer token: ${(verifies.ops / auth.ops).toFixed(2)}`,
  );
}

await runWhenMain(import.meta.url, benchAccess);
