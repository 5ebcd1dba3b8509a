import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { lockPath } from "../db/lock";
import { freePort, onPostgres } from "./harness";

// The README, followed in order by a newcomer: every ```sh block runs, one after the other, in one bash process,
// on a fresh data directory, from the repository's root (so `npx yunshen` is this checkout's). A block preceded by
// `<!-- not run: REASON -->` is skipped (installing, the test suite itself, files shown for reference).

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const readmePath = join(repoRoot, "README.md");

/** The quick start's helper, exactly as the README defines it: the test swaps in a checking one. */
export const README_API = `api() { curl -s -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "\${@:2}"; echo; }`;

// The same call, but any HTTP status of 400 or more (or no answer) fails the command, after printing the body.
const CHECKING_API = [
  "api() {",
  "  local response status",
  `  response=$(curl -sS -w '\\n%{http_code}' -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "\${@:2}") || return`,
  "  status=${response##*$'\\n'}",
  "  printf '%s\\n' \"${response%$'\\n'*}\"",
  '  if [ "$status" -ge 400 ]; then echo "README api: HTTP $status for: ${*:2}" >&2; return 1; fi',
  "}",
].join("\n");

// Stopping a whole run must not take longer than this; the README's own steps take a minute or two.
const RUN_LIMIT_MS = 5 * 60_000;

export interface ShBlock {
  /** 1-based line of the opening fence in README.md. */
  fence: number;
  /** The heading the block sits under. */
  section: string;
  lines: string[];
  /** Why it is not run, from `<!-- not run: REASON -->`; undefined when it runs. */
  notRun?: string;
}

/** The ```sh blocks of a Markdown text, in order (indented fences too, their indentation removed). */
export function shBlocks(markdown: string): ShBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShBlock[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6} (.*)$/.exec(lines[i]!);
    if (heading) section = heading[1]!;
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (end >= lines.length) throw new Error(`README.md:${i + 1}: the code block is never closed`);
    if (open[2] === "sh") {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === "") before--;
      const comment = before >= 0 ? /^\s*<!--\s*not run:\s*(.*?)\s*-->\s*$/.exec(lines[before]!) : null;
      if (comment && !comment[1]) throw new Error(`README.md:${before + 1}: <!-- not run: … --> needs a reason`);
      blocks.push({
        fence: i + 1,
        section,
        lines: lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))),
        notRun: comment?.[1],
      });
    }
    i = end;
  }
  return blocks;
}

/** One bash script running the blocks in order, and, for each of its lines, the README line it came from. */
export function readmeScript(blocks: ShBlock[], failedAtFile: string, port: number): { script: string; origin: (number | null)[] } {
  const out: string[] = [];
  const origin: (number | null)[] = [];
  const emit = (line: string, from: number | null = null) => {
    out.push(line);
    origin.push(from);
  };
  emit("set -euo pipefail");
  // Where a command failed (bash's own line number; the test maps it back to README.md).
  emit(`trap 'echo "$LINENO $?" > ${JSON.stringify(failedAtFile)}' ERR`);
  // Whatever `npm start &` started is stopped at the end, as a user would: SIGTERM, then wait.
  emit(`trap 'status=$?; pids=$(jobs -p); if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; wait || true; fi; exit $status' EXIT`);
  for (const block of blocks) {
    if (block.notRun !== undefined) continue;
    emit(`echo ${JSON.stringify(`──── README.md:${block.fence} (${block.section}) ────`)}`);
    block.lines.forEach((line, j) => {
      const from = block.fence + 1 + j;
      if (line === README_API) {
        CHECKING_API.split("\n").forEach((l) => emit(l, from));
        return;
      }
      // The README's service listens on 8787 and keeps ./data; this run has its own port and data directory. The
      // port goes in as a number, since the README quotes some URLs in single quotes.
      const local = line.replaceAll("localhost:8787", `localhost:${port}`).replace(/(^|[\s'"=(])(?:\.\/)?data\//g, (_, b: string) => `${b}$DATA_DIR/`);
      emit(local, from);
    });
  }
  emit("echo '──── README.md: every block ran ────'");
  return { script: `${out.join("\n")}\n`, origin };
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("shBlocks", () => {
  test("finds sh blocks, their sections and the ones marked not run", () => {
    const md = [
      "## One",
      "<!-- not run: installs things -->",
      "```sh",
      "npm install",
      "```",
      "```json",
      '{"a":1}',
      "```",
      "## Two",
      "1. step:",
      "",
      "   ```sh",
      "   echo hi",
      "   ```",
    ].join("\n");
    expect(shBlocks(md)).toEqual([
      { fence: 3, section: "One", lines: ["npm install"], notRun: "installs things" },
      { fence: 12, section: "Two", lines: ["echo hi"], notRun: undefined },
    ]);
  });
});

describe("the run's own checks", () => {
  const bash = (script: string, cwd: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn("bash", ["-c", script], { cwd, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => void (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => void (out += c.toString()));
      child.once("exit", (code) => resolve({ code, out }));
    });

  test("the checking api() fails on a status of 400 or more, and passes answers below it through", async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/refused" ? 403 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ url: req.url, auth: req.headers.authorization }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const ok = await bash(`set -euo pipefail\n${CHECKING_API}\napi tok 127.0.0.1:${port}/fine | cat\necho after`, tmpdir());
      expect(ok).toEqual({ code: 0, out: `{"url":"/fine","auth":"Bearer tok"}\nafter\n` });
      const refused = await bash(`set -euo pipefail\n${CHECKING_API}\napi tok 127.0.0.1:${port}/refused | cat\necho after`, tmpdir());
      expect(refused.code).not.toBe(0);
      expect(refused.out).toContain("HTTP 403");
      expect(refused.out).not.toContain("after");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test("a failed command is traced back to its README line, and later blocks do not run", async () => {
    const md = ["## A", "```sh", "echo one", "```", "## B", "```sh", "echo two", "false", "echo three", "```", "```sh", "echo four", "```"].join("\n");
    const work = mkdtempSync(join(tmpdir(), "yunshen-readme-unit-"));
    try {
      const blocks = shBlocks(md);
      const { script, origin } = readmeScript(blocks, join(work, "failed-at"), 1);
      const run = await bash(script, work);
      expect(run.code).not.toBe(0);
      expect(run.out).toContain("two");
      expect(run.out).not.toContain("three");
      expect(run.out).not.toContain("four");
      const failedAt = readFileSync(join(work, "failed-at"), "utf8");
      expect(failureReport(md, blocks, origin, failedAt, false, run.out)).toContain('README.md:8 failed (exit 1), in the block at line 6 under "B":\n  false');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

/** What went wrong, for the failure message: the README line of the failed command, and the output's end. */
function failureReport(readme: string, blocks: ShBlock[], origin: (number | null)[], failedAt: string | null, timedOut: boolean, output: string) {
  let where = "";
  if (failedAt) {
    const [line, code] = failedAt.trim().split(" ").map(Number);
    const from = origin[line! - 1] ?? null;
    const block = from === null ? undefined : [...blocks].reverse().find((b) => b.fence < from);
    where = block
      ? `The command at README.md:${from} failed (exit ${code}), in the block at line ${block.fence} under "${block.section}":\n  ${readme.split("\n")[from! - 1]}\n`
      : `Line ${line} of the generated script failed (exit ${code}).\n`;
  }
  const tail = output.length > 12_000 ? `…\n${output.slice(-12_000)}` : output;
  return `${timedOut ? `Stopped after ${RUN_LIMIT_MS / 60_000} minutes without finishing.\n` : ""}${where}Output:\n${tail}`;
}

const ONPOSTGRES_REASON = "skipped: TEST_DATABASE_URL is set, and the README's walk-through is the embedded database (./data)";

describe("README.md, followed in order on a fresh data directory", () => {
  test.skipIf(onPostgres)(
    `every sh block runs as written, every command exits 0 and every API call answers below 400${onPostgres ? ` (${ONPOSTGRES_REASON})` : ""}`,
    async () => {
      const readme = readFileSync(readmePath, "utf8");
      const blocks = shBlocks(readme);
      // The quick start's api() is swapped for a checking one: an edit to it must be noticed, not run unchecked.
      const definitions = readme.split("\n").filter((l) => /^\s*api\(\)/.test(l));
      expect(definitions, "README.md defines api() once, exactly as the test expects").toEqual([README_API]);
      expect(blocks.some((b) => b.notRun === undefined && b.lines.includes(README_API)), "api() is defined in a block that runs").toBe(true);

      const work = mkdtempSync(join(tmpdir(), "yunshen-readme-"));
      const dataDir = join(work, "data");
      const failedAtFile = join(work, "failed-at");
      const port = await freePort();
      const { script, origin } = readmeScript(blocks, failedAtFile, port);
      const scriptPath = join(work, "readme.sh");
      writeFileSync(scriptPath, script);

      // The environment of a newcomer's shell: none of the service's settings, none of the README's variables.
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env))
        if (!/^(DATABASE_URL|DATA_DIR|PORT|POLICY_PROFILE|JOB_INTERVAL_MS|WECOM_|PUBLIC_URL|SMS_GATEWAY|TENCENT_SMS_|ALIYUN_SMS_|CLOUD_CAPACITY_|ACCESS_CODE_KEY|AUDIT_|YUNSHEN_|YS_|HOST_CREDENTIAL)/.test(k)) env[k] = v;
      env.DATA_DIR = dataDir;
      env.PORT = String(port);

      // Files the README writes in the repository's root (2027.json, audit.jsonl, …) are removed afterwards: the
      // new ones whose names the blocks spell out.
      const before = new Set(readdirSync(repoRoot));
      const ran = blocks.filter((b) => b.notRun === undefined);
      const written = new Set(ran.flatMap((b) => b.lines.join("\n").match(/[\w.-]+\.(?:json|jsonl|pem|csv|txt|bin)\b/g) ?? []));
      let output = "";
      let timedOut = false;
      let survivor: number | null = null;
      let status: number | null = null;
      let failedAt: string | null = null;
      const started = Date.now();
      try {
        // Its own process group, so that a run over the limit is stopped with everything it started.
        const bash = spawn("bash", [scriptPath], { cwd: repoRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        bash.stdout.on("data", (chunk: Buffer) => void (output += chunk.toString()));
        bash.stderr.on("data", (chunk: Buffer) => void (output += chunk.toString()));
        const stopGroup = (signal: NodeJS.Signals) => {
          try {
            process.kill(-bash.pid!, signal);
          } catch {}
        };
        const limit = setTimeout(() => {
          timedOut = true;
          stopGroup("SIGTERM");
          setTimeout(() => stopGroup("SIGKILL"), 10_000).unref();
        }, RUN_LIMIT_MS);
        status = await new Promise<number | null>((resolve) => {
          bash.once("exit", (code) => resolve(code));
          bash.once("error", (err) => {
            output += `bash could not be started: ${err.message}\n`;
            resolve(null);
          });
        });
        clearTimeout(limit);
        if (existsSync(failedAtFile)) failedAt = readFileSync(failedAtFile, "utf8");

        // The run stops the service as a user would (SIGTERM, then wait): nothing may still hold the data directory.
        const pidFile = lockPath(dataDir);
        const holder = existsSync(pidFile) ? Number.parseInt(readFileSync(pidFile, "utf8"), 10) : null;
        if (holder !== null && isAlive(holder)) {
          survivor = holder;
          process.kill(holder, "SIGTERM");
          for (let i = 0; i < 100 && isAlive(holder); i++) await new Promise((r) => setTimeout(r, 100));
          if (isAlive(holder)) process.kill(holder, "SIGKILL");
        }
      } finally {
        for (const name of readdirSync(repoRoot))
          if (!before.has(name) && written.has(name)) rmSync(join(repoRoot, name), { recursive: true, force: true });
        rmSync(work, { recursive: true, force: true });
        // README_TEST_LOG=FILE keeps the whole output, to read what each example printed.
        if (process.env.README_TEST_LOG) writeFileSync(process.env.README_TEST_LOG, output);
      }
      const report = failureReport(readme, blocks, origin, failedAt, timedOut, output);
      expect(status, report).toBe(0);
      expect(survivor, `the service started by npm start was still running at the end (pid ${survivor})\n${report}`).toBe(null);
      console.log(`README.md: ${ran.length} sh blocks ran in ${Math.round((Date.now() - started) / 1000)} s`);
    },
    RUN_LIMIT_MS + 60_000,
  );
});
