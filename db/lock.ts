import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

// PGlite takes no lock of its own, and two processes on one data directory corrupt it
// (pglite issues #884, #327). This pid file is ours.

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `数据目录 ${dataDir} 正被进程 ${pid} 使用（通常是正在运行的 yunshen 服务）。` +
        `请先停止该服务再执行此命令，或设置 DATABASE_URL 改用 PostgreSQL。`,
    );
    this.name = "DataDirLockedError";
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

export function lockPath(dataDir: string) {
  return join(dataDir, "yunshen.pid");
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid holding the directory, or null when it is free (a stale file from a crash counts as free). */
function readPid(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function dataDirHolder(dataDir: string): number | null {
  const pid = readPid(lockPath(dataDir));
  if (pid === null) return null;
  if (pid === process.pid) return pid;
  return isAlive(pid) ? pid : null;
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = lockPath(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          // Only our own file: never remove a lock another process has since taken.
          if (readPid(path) === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = dataDirHolder(dataDir);
      if (holder !== null) throw new DataDirLockedError(dataDir, holder);
      // Left behind by a process that died. Rename, don't delete: of two processes that both saw it stale, only
      // one rename succeeds, so the other cannot remove a lock that was taken in between.
      const aside = `${path}.stale-${process.pid}-${attempt}`;
      try {
        renameSync(path, aside);
        rmSync(aside, { force: true });
      } catch (renameErr) {
        if ((renameErr as NodeJS.ErrnoException).code !== "ENOENT") throw renameErr;
      }
    }
  }
  throw new DataDirLockedError(dataDir, dataDirHolder(dataDir) ?? -1);
}
