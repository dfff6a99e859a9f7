// The embedded PostgreSQL's process as the operating system sees it, through its data folder's
// postmaster.pid: who is running on our data (a postmaster left behind when lbplane was killed with
// SIGKILL keeps running, holds the folder and makes every next start fail), whether it is really a
// PostgreSQL (a pid in a stale file may belong to anything after a reboot), and stopping it the way
// PostgreSQL documents: SIGINT (fast shutdown: clients cut, checkpoint), then SIGQUIT (immediate
// shutdown: crash recovery on the next start, no data lost), then SIGKILL as the last resort.

import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface PostmasterLock {
  pid: number;
  dataDir: string;
  port: number;
}

/** postmaster.pid's first lines: pid, data directory, start time, port (PostgreSQL's documented layout). */
export function readPostmasterLock(dataDir: string): PostmasterLock | undefined {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, "utf8").split("\n");
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, dataDir: lines[1] ?? "", port: Number(lines[3]) };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but not ours to signal (another user's process).
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process is a PostgreSQL server started on `dataDir` (Linux /proc; elsewhere trust the lock file's data directory). */
function isPostgresOn(pid: number, dataDir: string, lockedDir: string): boolean {
  if (resolve(lockedDir) !== resolve(dataDir)) return false;
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return process.platform !== "linux";
  const argv = readFileSync(cmdline, "utf8").split("\0");
  return /(^|\/)postgres$/.test(argv[0] ?? "") || argv.some((a) => a.startsWith("postgres:"));
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if (!isAlive(pid)) return true;
  }
  return !isAlive(pid);
}

/** Stops a postmaster by its pid: fast shutdown, then immediate, then SIGKILL. Resolves once it is gone. */
export async function stopPostmaster(pid: number, graceMs = 10_000): Promise<void> {
  for (const [signal, ms] of [["SIGINT", graceMs], ["SIGQUIT", 3_000], ["SIGKILL", 3_000]] as const) {
    if (!isAlive(pid)) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExit(pid, ms)) return;
  }
  throw new Error(`PostgreSQL (pid ${pid}) did not stop after SIGINT, SIGQUIT and SIGKILL`);
}

/**
 * Before a start: a PostgreSQL still running on `dataDir` (lbplane was killed, its postmaster was
 * not) is stopped; a lock file whose pid is dead or not a PostgreSQL is removed. Returns what it did,
 * for the log; undefined when the folder was free.
 */
export async function clearLeftoverPostmaster(dataDir: string): Promise<string | undefined> {
  const lock = readPostmasterLock(dataDir);
  if (!lock) return undefined;
  const file = join(dataDir, "postmaster.pid");
  if (!isAlive(lock.pid) || !isPostgresOn(lock.pid, dataDir, lock.dataDir)) {
    // A dead or reused pid: PostgreSQL would refuse to start over a live foreign one.
    if (existsSync(file)) unlinkSync(file);
    return `removed a stale postmaster.pid (pid ${lock.pid} is not a PostgreSQL on this folder)`;
  }
  await stopPostmaster(lock.pid);
  return `stopped a PostgreSQL left running on this folder (pid ${lock.pid}, port ${lock.port})`;
}

/**
 * One owner per data folder: the process that supervises its PostgreSQL writes its pid to
 * `<dir>/owner.pid`. A second lbplane started on the same folder would otherwise take the first
 * one's PostgreSQL for a leftover, stop it, and the two would stop each other's servers in turn.
 * Returns a release function (removes the file if it is still ours).
 */
export function claimDataFolder(dir: string): () => void {
  const file = join(dir, "owner.pid");
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) && isNode(pid)) {
      throw new Error(`another process (pid ${pid}) already runs the embedded PostgreSQL in ${dir}; stop it first`);
    }
  }
  writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(file, "utf8").trim()) === process.pid) unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

/** A pid from a file may have been reused after a reboot: only a Node.js process counts as an owner. */
function isNode(pid: number): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return process.platform !== "linux";
  return /(^|\/)node(js)?\0/.test(readFileSync(cmdline, "utf8"));
}
