import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    if (end >= lines.length) throw new Error(`README.md 第 ${i + 1} 行的代码块没有结束`);
    if (open[2] === "sh") {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === "") before--;
      const comment = before >= 0 ? /^\s*<!--\s*not run:\s*(.*?)\s*-->\s*$/.exec(lines[before]!) : null;
      if (comment && !comment[1]) throw new Error(`README.md 第 ${before + 1} 行：<!-- not run: … --> 须写明原因`);
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

// The walk-through is the embedded database (./data); on PostgreSQL there is nothing of it to run.
describe.skipIf(onPostgres)("README.md, followed in order on a fresh data directory", () => {
  test(
    "every sh block runs as written, every command exits 0 and every API call answers below 400",
    async () => {
      const readme = readFileSync(readmePath, "utf8");
      const blocks = shBlocks(readme);
      // The quick start's api() is swapped for a checking one: an edit to it must be noticed, not run unchecked.
      const definitions = readme.split("\n").filter((l) => /^\s*api\(\)/.test(l));
      expect(definitions, "README.md defines api() once, as the test expects").toEqual([README_API]);
      expect(blocks.some((b) => b.notRun === undefined && b.lines.includes(README_API)), "the api() definition is in a block that runs").toBe(true);

      const work = mkdtempSync(join(tmpdir(), "yunshen-readme-"));
      const dataDir = join(work, "data");
      const failedAt = join(work, "failed-at");
      const port = await freePort();
      const { script, origin } = readmeScript(blocks, failedAt, port);
      const scriptPath = join(work, "readme.sh");
      writeFileSync(scriptPath, script);

      // Files the README writes in the repository's root (2027.json, …) are removed afterwards.
      const before = new Set(readdirSync(repoRoot));
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env))
        if (!/^(DATABASE_URL|DATA_DIR|PORT|POLICY_PROFILE|JOB_INTERVAL_MS|WECOM_|PUBLIC_URL|SMS_GATEWAY|TENCENT_SMS_|ALIYUN_SMS_|CLOUD_CAPACITY_|ACCESS_CODE_KEY|AUDIT_|YUNSHEN_|YS_|HOST_CREDENTIAL)/.test(k)) env[k] = v;
      env.DATA_DIR = dataDir;
      env.PORT = String(port);

      const started = Date.now();
      // Its own process group, so that a run over the limit is stopped with everything it started.
      const bash = spawn("bash", [scriptPath], { cwd: repoRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      bash.stdout.on("data", (chunk: Buffer) => void (output += chunk.toString()));
      bash.stderr.on("data", (chunk: Buffer) => void (output += chunk.toString()));
      let timedOut = false;
      const limit = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-bash.pid!, "SIGTERM");
          setTimeout(() => {
            try {
              process.kill(-bash.pid!, "SIGKILL");
            } catch {}
          }, 10_000).unref();
        } catch {}
      }, RUN_LIMIT_MS);
      const status = await new Promise<number | null>((resolve) => bash.once("exit", (code) => resolve(code)));
      clearTimeout(limit);
      const seconds = Math.round((Date.now() - started) / 1000);

      // The service must be gone once the run has stopped it: a survivor would hold the data directory.
      const pidFile = lockPath(dataDir);
      const holder = existsSync(pidFile) ? Number.parseInt(readFileSync(pidFile, "utf8"), 10) : null;
      const survived = holder !== null && isAlive(holder);
      if (survived) {
        process.kill(holder!, "SIGTERM");
        for (let i = 0; i < 100 && isAlive(holder!); i++) await new Promise((r) => setTimeout(r, 100));
        if (isAlive(holder!)) process.kill(holder!, "SIGKILL");
      }
      const mentioned = blocks.filter((b) => b.notRun === undefined).map((b) => b.lines.join("\n")).join("\n");
      for (const name of readdirSync(repoRoot))
        if (!before.has(name) && mentioned.includes(name)) rmSync(join(repoRoot, name), { recursive: true, force: true });

      let where = "";
      if (existsSync(failedAt)) {
        const [line, code] = readFileSync(failedAt, "utf8").trim().split(" ").map(Number);
        const from = origin[line! - 1] ?? null;
        const block = from === null ? undefined : [...blocks].reverse().find((b) => b.fence < from);
        const text = from === null ? "" : readme.split("\n")[from - 1];
        where = block
          ? `失败的命令：README.md 第 ${from} 行（「${block.section}」中第 ${block.fence} 行开始的代码块），退出码 ${code}：\n  ${text}\n`
          : `失败在脚本第 ${line} 行，退出码 ${code}\n`;
      }
      rmSync(work, { recursive: true, force: true });
      // README_TEST_LOG=FILE keeps the whole output, to read what each example printed.
      if (process.env.README_TEST_LOG) writeFileSync(process.env.README_TEST_LOG, output);
      const tail = output.length > 12_000 ? `…\n${output.slice(-12_000)}` : output;
      const report = `${timedOut ? `超过 ${RUN_LIMIT_MS / 60_000} 分钟未跑完，已停止。\n` : ""}${where}输出：\n${tail}`;
      expect(status, report).toBe(0);
      expect(survived, `npm start 启动的服务在结束时未停止（进程 ${holder}）\n${report}`).toBe(false);
      console.log(`README.md: ${blocks.filter((b) => b.notRun === undefined).length} blocks ran in ${seconds} s`);
    },
    RUN_LIMIT_MS + 60_000,
  );
});
