// What a running lbplane is, composed in one place: the logger (pino, through fastify), the
// database client and its pool, the API, the agent control loops wired to the API's change
// notifications, the HTTP server limits, and the order they stop in. The server, the tests and the
// benchmarks all start lbplane through composeLbplane, so they run the same wiring; only what
// surrounds it differs (the server adds configuration loading, TLS files, the embedded database,
// migrations and signal handling; tests bring a template database and a known token).

import type { FastifyServerOptions } from "fastify";
import { buildApp, type App, type AppDeps } from "./app.js";
import { startControlLoops, type ControlLoops } from "./agents/control-loops.js";
import type { Config } from "./config.js";
import { quietWhileDatabaseDown, trackDatabaseHealth, type DatabaseHealth } from "./store/db-health.js";
import { createPrisma, type Db } from "./store/prisma.js";
import type { TokenStore } from "./store/tokens.js";

export interface LbplaneOptions {
  config: Config;
  /** A migrated database. */
  databaseUrl: string;
  tokens: TokenStore;
  https?: AppDeps["https"];
  /** fastify's logger option (pino); default: pino at config.logLevel. false = silent. */
  logger?: FastifyServerOptions["logger"];
  /** Connections in each database pool (Prisma's and the raw write path's); default createPrisma's. */
  poolSize?: number;
  /** The agent control loops; false = an API alone (a test that only speaks ARM). */
  controlLoops?: false | { sweepMs?: number; concurrency?: number; maxLocks?: number };
  /** Tests only: replaces app dependencies (e.g. a notifyChange that records locations). */
  appOverrides?: Partial<AppDeps>;
}

export interface Lbplane {
  app: App;
  db: Db;
  /** Undefined when started with controlLoops: false. */
  loops?: ControlLoops;
  /** Stops taking requests, then the control loops, then the database client (each waits for the one before). */
  close: (options?: CloseOptions) => Promise<void>;
}

export interface CloseOptions {
  /** Runs between the loops and the database client (tests drop their database here, ending its sessions). */
  beforeDisconnect?: () => Promise<unknown>;
  /** Upper bound for the server's and the database client's close each (teardown must not hang). */
  graceMs?: number;
}

/** Waits for `work`, but at most `ms` when given. */
function withDeadline(work: Promise<unknown>, ms: number | undefined): Promise<void> {
  if (ms === undefined) return work.then(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}

export async function composeLbplane(opts: LbplaneOptions): Promise<Lbplane> {
  const { config } = opts;
  const db = createPrisma(opts.databaseUrl, opts.poolSize, config.db);
  let loops: ControlLoops | undefined;
  let app: App | undefined;
  let health: DatabaseHealth | undefined;
  try {
    app = await buildApp({
      config,
      db,
      tokens: opts.tokens,
      https: opts.https,
      logger: opts.logger ?? { level: config.logLevel },
      timeouts: config.timeouts,
      // The loops start after the app (they log through it); a write before then has no one to wake.
      notifyChange: opts.controlLoops === false ? undefined : (location) => loops?.notifyChange(location),
      ...opts.appOverrides,
    });
    // One tracker per client: an outage is logged once (down) and once (back), by requests and loops alike.
    const dbHealth = trackDatabaseHealth(db, app.log.child({ component: "database" }));
    health = dbHealth;
    if (opts.controlLoops !== false) {
      const agentsLog = app.log.child({ component: "agents" });
      loops = await startControlLoops({
        config,
        db,
        databaseUrl: opts.databaseUrl,
        log: quietWhileDatabaseDown({ info: (msg: string) => agentsLog.info(msg), warn: (msg: string) => agentsLog.warn(msg) }, dbHealth),
        sweepMs: opts.controlLoops?.sweepMs,
        concurrency: opts.controlLoops?.concurrency,
        maxLocks: opts.controlLoops?.maxLocks,
      });
    }
  } catch (err) {
    health?.stop();
    await app?.close();
    await db.$disconnect();
    throw err;
  }
  const started = app;
  const dbHealth = health as DatabaseHealth;
  return {
    app: started,
    db,
    loops,
    async close({ beforeDisconnect, graceMs } = {}) {
      // Requests first (they may still wake the loops), then the loops (they use the database).
      await withDeadline(started.close(), graceMs);
      await loops?.stop();
      dbHealth.stop();
      await beforeDisconnect?.();
      await withDeadline(db.$disconnect(), graceMs);
    },
  };
}
