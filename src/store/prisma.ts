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

export function createPrisma(databaseUrl: string, poolSize = 10): Db {
  const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
  // The raw write path gets its own pool: a connection it leaves in a bad state can never stall
  // Prisma's queries (we saw a heartbeat wait forever on a shared connection). Idle connections
  // close themselves, so nothing keeps the process alive after Prisma disconnects.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, idleTimeoutMillis: 5_000, allowExitOnIdle: true });
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
