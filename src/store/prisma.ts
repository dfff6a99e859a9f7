// The one place a Prisma client is built. lbplane uses the driver-adapter runtime (no engine binary).

import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";

export type Db = InstanceType<typeof PrismaClient>;
export type { Prisma } from "./generated/client.js";

export function createPrisma(databaseUrl: string, poolSize = 10): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}
