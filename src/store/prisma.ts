// The one place a Prisma client is built. lbplane uses the driver-adapter runtime (no engine binary),
// plus a plain pg pool for the load balancer write path (see sql-transaction.ts).

import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/client.js";

export type Db = InstanceType<typeof PrismaClient>;
export type { Prisma } from "./generated/client.js";
/** A Prisma transaction handle, or the client itself: store functions that need no transaction of their own take either. */
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0] | Db;

/**
 * Runs `fn` in one Prisma interactive transaction: the use cases compose store functions inside it,
 * so a write's steps commit or roll back together while its decisions stay out of the store.
 */
export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction((tx) => fn(tx));
}

const pools = new WeakMap<Db, pg.Pool>();

/**
 * How long lbplane waits on its database (milliseconds). A database that is gone or hung must turn
 * into a bounded 503, never a request that hangs until the client gives up.
 */
export interface DbTimeouts {
  /** Waiting for a free pool connection, and opening a new one (pg's connectionTimeoutMillis). */
  acquireMs: number;
  /** Server-side statement_timeout, and (plus a margin) the client-side query_timeout for a server that does not answer at all. */
  statementMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DbTimeouts = { acquireMs: 3_000, statementMs: 5_000 };

/** The client gives the server this much beyond statement_timeout to report the cancel itself. */
const QUERY_TIMEOUT_MARGIN_MS = 500;

/** Pool options shared by Prisma's adapter pool and the raw pool: both paths get the same bounds. */
export function boundedPoolOptions(databaseUrl: string, poolSize: number, timeouts: DbTimeouts): pg.PoolConfig {
  return {
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: timeouts.acquireMs,
    statement_timeout: timeouts.statementMs,
    query_timeout: timeouts.statementMs + QUERY_TIMEOUT_MARGIN_MS,
    // A transaction left open by a stalled client must not hold row locks for ever.
    idle_in_transaction_session_timeout: Math.max(timeouts.statementMs * 2, 10_000),
    // A peer that vanished without a FIN (failover, a paused VM) is noticed by TCP keepalive.
    keepAlive: true,
    idleTimeoutMillis: 5_000,
  };
}

export function createPrisma(databaseUrl: string, poolSize = 10, timeouts: DbTimeouts = DEFAULT_DB_TIMEOUTS): Db {
  const options = boundedPoolOptions(databaseUrl, poolSize, timeouts);
  const db = new PrismaClient({ adapter: new PrismaPg(options) });
  // The raw write path gets its own pool: a connection it leaves in a bad state can never stall
  // Prisma's queries (we saw a heartbeat wait forever on a shared connection). Idle connections
  // close themselves, so nothing keeps the process alive after Prisma disconnects.
  const pool = new pg.Pool({ ...options, allowExitOnIdle: true });
  // A connection that dies while idle (server restart, a dropped test database) leaves the pool;
  // without a listener its error would crash the process.
  pool.on("error", () => {});
  pools.set(db, pool);
  return db;
}

/** The pg pool the raw write path uses, made with the client by createPrisma. */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error("This Prisma client was not made by createPrisma: no pg pool to write through.");
  return pool;
}
