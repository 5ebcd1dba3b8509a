import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
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
export function dataDirHolder(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(lockPath(dataDir), "utf8");
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (pid === process.pid) return pid;
  return isAlive(pid) ? pid : null;
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = lockPath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
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
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = dataDirHolder(dataDir);
      if (holder !== null) throw new DataDirLockedError(dataDir, holder);
      // Left behind by a process that died: remove and try once more.
      rmSync(path, { force: true });
    }
  }
  throw new DataDirLockedError(dataDir, dataDirHolder(dataDir) ?? -1);
}
