// The one place a Prisma client is built. lbplane uses the driver-adapter runtime (no engine binary).
// The adapter runs on a pg pool lbplane owns, so the load balancer write path can use the same
// connections directly (see sql-transaction.ts) and the pool ends with the client's $disconnect.

import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/client.js";

export type Db = InstanceType<typeof PrismaClient>;
export type { Prisma } from "./generated/client.js";

const pools = new WeakMap<Db, pg.Pool>();

export function createPrisma(databaseUrl: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // A connection that dies while idle leaves the pool; without a listener its error would crash
  // the process before Prisma's first query attaches the adapter's own.
  pool.on("error", () => {});
  const db = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(db, pool);
  return db;
}

/** The pg pool under a client made by createPrisma. */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error("This Prisma client was not made by createPrisma: no pg pool to write through.");
  return pool;
}
