import { pathToFileURL } from "node:url";
import { runOutageScenario, type Answer } from "../test/outage-scenario";
import { canRunPostgresServer } from "../test/postgres-server";

// PostgreSQL stopped for 10 s under load (issue 10): a server of the bench's own (initdb, pg_ctl as the
// postgres user), the real service as a child process, and the load of test/outage.test.ts (submissions,
// decisions, reads, /healthz, WeCom callbacks, PAM calls). Prints what the callers got while the database was
// away, the longest answer, and how long after the database's return the service served again.
// Run alone: `npx tsx bench/outage.ts` (needs /usr/lib/postgresql/15/bin, or POSTGRES_BIN_DIR).

export async function benchOutage(opts: { downMs?: number; stopMode?: "fast" | "immediate" } = {}) {
  const downMs = opts.downMs ?? 10_000;
  const stopMode = opts.stopMode ?? "fast";
  const run = await runOutageScenario({ downMs, stopMode, warmMs: 3_000, afterMs: 5_000, decisions: 300 });
  try {
    const { marks } = run;
    const outage = run.answers.filter((a) => a.startedAt >= marks.stopAt && a.startedAt < marks.upAt);
    const tally = (answers: Answer[]) => {
      const by = new Map<string, number>();
      for (const a of answers) {
        const key = a.status === null ? `no answer (${a.failure})` : String(a.status);
        by.set(key, (by.get(key) ?? 0) + 1);
      }
      return [...by.entries()].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} × ${n} (${((100 * n) / answers.length).toFixed(1)}%)`).join(", ");
    };
    const longest = (answers: Answer[]) => answers.reduce((m, a) => Math.max(m, a.ms), 0);
    const p99 = (answers: Answer[]) => {
      const ms = answers.map((a) => a.ms).sort((x, y) => x - y);
      return ms[Math.min(ms.length - 1, Math.floor(0.99 * ms.length))] ?? 0;
    };
    const fiveHundreds = run.answers.filter((a) => a.status !== null && a.status >= 500 && a.status !== 503).length;
    const unanswered = run.answers.filter((a) => a.status === null).length;
    const problems = await run.inconsistencies();
    console.log(`PostgreSQL stopped ${downMs / 1000} s (pg_ctl stop -m ${stopMode}) under load — node ${process.version}`);
    console.log(`  process alive at the end       ${run.exited === null ? "yes" : `no (${JSON.stringify(run.exited)})`}`);
    console.log(`  calls made                     ${run.answers.length}, answered ${run.answers.length - unanswered}, 5xx other than 503: ${fiveHundreds}`);
    console.log(`  during the outage              ${outage.length} calls: ${tally(outage)}`);
    console.log(`  answer time during the outage  p99 ${p99(outage).toFixed(0)} ms, longest ${longest(outage).toFixed(0)} ms`);
    console.log(`  longest answer of the run      ${longest(run.answers).toFixed(0)} ms`);
    console.log(
      `  serving again                  ${run.recoverySeconds === null ? "never" : `${run.recoverySeconds.toFixed(2)} s after PostgreSQL accepted connections (${((marks.servingAt! - marks.startAt) / 1000).toFixed(2)} s after pg_ctl start)`}`,
    );
    console.log(`  rows half-written              ${problems.length}${problems.length ? `: ${problems.slice(0, 5).join("; ")}` : ""}`);
    return { outage: outage.length, longestMs: longest(run.answers), recoverySeconds: run.recoverySeconds, fiveHundreds, unanswered, problems: problems.length };
  } finally {
    await run.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!canRunPostgresServer()) {
    console.error("需要 PostgreSQL 15 的 initdb 与 pg_ctl（/usr/lib/postgresql/15/bin，或设置 POSTGRES_BIN_DIR）");
    process.exit(1);
  }
  await benchOutage({ stopMode: process.argv.includes("--immediate") ? "immediate" : "fast" });
}
