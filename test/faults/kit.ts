// Real processes for the fault tests: lbplane (`tsx src/server.ts`) on its own data folder with the
// embedded PostgreSQL, the postmaster and its backends as the operating system sees them (pids to
// SIGKILL, SIGSTOP, SIGCONT), and a direct SQL connection to check what survived. Every data folder
// starts as a copy of one template (initdb and migrations done once per machine and migration set),
// so a test pays a PostgreSQL start, not an initdb.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";
import { MIGRATIONS_DIR, migrate } from "../../src/store/migrator.js";
import { readPostmasterLock } from "../../src/store/postmaster.js";
import { JOIN_TOKEN } from "../agents/harness.js";
import { api, startServer, type ServerProcess } from "../agents/processes.js";

export { api, JOIN_TOKEN };

/** Starting lbplane includes PostgreSQL's start (and crash recovery): generous on a loaded CI box. */
const START_TIMEOUT_MS = 90_000;

/** A data folder with an initialised, migrated embedded cluster, copied from the machine's template. */
export async function freshDataDir(): Promise<string> {
  const template = await templateDir();
  const dir = mkdtempSync(join(tmpdir(), "lbplane-faults-"));
  rmSync(dir, { recursive: true });
  execFileSync("cp", ["-a", template, dir]);
  return dir;
}

async function templateDir(): Promise<string> {
  const key = createHash("sha256").update(readdirSync(MIGRATIONS_DIR).sort().join("\n")).digest("hex").slice(0, 12);
  const template = join(tmpdir(), `lbplane-faults-template-${key}`);
  if (existsSync(join(template, "postgres", "cluster.json"))) return template;
  // Built aside, then renamed into place: two test files building at once never see half a template.
  const building = mkdtempSync(join(tmpdir(), "lbplane-faults-building-"));
  const embedded = await startEmbeddedPostgres(join(building, "postgres"), { supervise: false });
  try {
    await embedded.createDatabase("lbplane");
    await migrate(embedded.url("lbplane"));
  } finally {
    await embedded.stop();
  }
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another file won the race
  }
  return template;
}

/** lbplane on `dataDir` with the embedded PostgreSQL (no DATABASE_URL). */
export function startEmbeddedLbplane(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  return startServer("", { LBPLANE_DATA_DIR: dataDir, LBPLANE_AGENT_LIVENESS_MS: "3000", ...env }, START_TIMEOUT_MS);
}

/** The embedded cluster's data directory and the postmaster running on it (if any). */
export const clusterDir = (dataDir: string) => join(dataDir, "postgres", "data");
export const postmasterPid = (dataDir: string) => readPostmasterLock(clusterDir(dataDir))?.pid;

/** Every process of the cluster: the postmaster and its children (backends, checkpointer, ...). */
export function clusterPids(dataDir: string): number[] {
  const master = postmasterPid(dataDir);
  if (!master) return [];
  const children = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1]) === master;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [master, ...children];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A SQL connection to the embedded cluster's lbplane database (while a postmaster runs on it). */
export async function sql(dataDir: string): Promise<pg.Client> {
  const { password } = JSON.parse(readFileSync(join(dataDir, "postgres", "cluster.json"), "utf8")) as { password: string };
  const lock = readPostmasterLock(clusterDir(dataDir));
  if (!lock) throw new Error(`no PostgreSQL runs on ${dataDir}`);
  const client = new pg.Client({ host: "127.0.0.1", port: lock.port, user: "lbplane", password, database: "lbplane" });
  await client.connect();
  return client;
}

/** How long `work` takes, with what it answered. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { ms: performance.now() - t0, value };
}

/**
 * The control plane's host dies: lbplane and every process of its embedded PostgreSQL SIGKILLed,
 * nothing shut down cleanly (the next start does PostgreSQL's crash recovery).
 */
export async function killControlPlaneHost(server: ServerProcess, dataDir: string): Promise<void> {
  const cluster = clusterPids(dataDir);
  await server.kill("SIGKILL");
  for (const pid of cluster) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (cluster.some(running)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${cluster.filter(running).join(", ")} outlived SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Alive and not a zombie: a killed postmaster is reparented to a PID 1 that may never reap it. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0] !== "Z";
  } catch {
    return false;
  }
}
