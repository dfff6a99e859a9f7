// What lbplane knows about its database's availability, so an outage is told once and its end once:
// the first request (or readiness check) that meets an unavailable database logs "database
// unavailable" with the reason, every further failure stays quiet (each request still answers 503),
// and a probe on the raw pool notices the database is back and logs that once, with the downtime.
// Without it an outage is an error line with a stack trace per request, several a second.

import type pg from "pg";
import { isDatabaseUnavailable } from "./db-errors.js";
import { pendingMigrations } from "./migrator.js";
import { poolOf, type Db } from "./prisma.js";

export interface DbHealthLog {
  warn: (msg: string) => void;
  info: (msg: string) => void;
}

/** How often the probe asks a database that was found unavailable whether it is back. */
const PROBE_EVERY_MS = 500;

export class DatabaseHealth {
  private downSince?: number;
  private probe?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: DbHealthLog,
  ) {}

  get available(): boolean {
    return this.downSince === undefined;
  }

  /** A query failed because the database is unavailable: log it the first time, then probe until it is back. */
  reportUnavailable(err: unknown): void {
    if (this.downSince !== undefined || this.stopped) return;
    this.downSince = Date.now();
    this.log.warn(`database unavailable: ${describe(err)}; answering 503 until it is back`);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.probe = setTimeout(() => void this.runProbe(), PROBE_EVERY_MS);
    this.probe.unref();
  }

  private async runProbe(): Promise<void> {
    this.probe = undefined;
    if (this.stopped || this.downSince === undefined) return;
    try {
      await this.pool.query("SELECT 1");
      const downMs = Date.now() - this.downSince;
      this.downSince = undefined;
      this.log.info(`database available again after ${(downMs / 1000).toFixed(1)} s`);
    } catch {
      if (!this.stopped) this.scheduleProbe();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.probe) clearTimeout(this.probe);
  }
}

/** One line, no stack: the driver's message and code (never the connection string). */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string };
  const message = (e?.message ?? String(err)).split("\n").find((l) => l.trim()) ?? "unknown error";
  return e?.code ? `${message.trim()} (${e.code})` : message.trim();
}

/**
 * A log for background loops (sweeps, pushes, settling) that fail every few hundred milliseconds
 * while the database is away: a warning whose `cause` says the database is unavailable becomes the
 * tracker's one line; every other warning passes through unchanged. The cause, not the text, decides:
 * an agent's own "connect ECONNREFUSED" reads like a database's and must not be told as an outage.
 */
export function quietWhileDatabaseDown<L extends { warn: (msg: string) => void }>(log: L, health: DatabaseHealth): L & { warn: (msg: string, cause?: unknown) => void } {
  return {
    ...log,
    warn: (msg: string, cause?: unknown) => {
      if (cause !== undefined && isDatabaseUnavailable(cause)) health.reportUnavailable(cause);
      else log.warn(msg);
    },
  };
}

/**
 * /readyz's question (reachable, every migration applied) on the raw pool, bounded like Prisma's:
 * a fresh process's first Prisma query loads its query compiler, which must not make the first
 * probe after a start answer "not ready".
 */
export function pendingMigrationsForReadiness(db: Db): Promise<string[]> {
  return pendingMigrations(poolOf(db));
}

const healthByDb = new WeakMap<Db, DatabaseHealth>();

/** Starts tracking `db`'s availability (composeLbplane does, once per client). */
export function trackDatabaseHealth(db: Db, log: DbHealthLog): DatabaseHealth {
  const health = new DatabaseHealth(poolOf(db), log);
  healthByDb.set(db, health);
  return health;
}

/** The tracker of `db`, when composeLbplane made one (apps built directly in tests have none). */
export function databaseHealthOf(db: Db): DatabaseHealth | undefined {
  return healthByDb.get(db);
}
