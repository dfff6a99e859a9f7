// Applies prisma/migrations/*/migration.sql the way `prisma migrate deploy` does, because the Prisma
// schema engine cannot be downloaded on our machines: same advisory lock key, same
// `_prisma_migrations` bookkeeping (sha256 checksum of the file), so a connected machine's
// `prisma migrate status` agrees with what lbplane applied.

import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Db } from "./prisma.js";

/** Prisma Migrate's own advisory lock key; sharing it serialises us with `prisma migrate`. */
const PRISMA_MIGRATE_LOCK = 72707369;

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../prisma/migrations");

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Applies pending migrations; returns the names applied by this call. Safe to run from many processes at once. */
export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const done = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const applied = new Map(done.rows.map((r) => [r.migration_name, r]));
    const ran: string[] = [];
    for (const m of readMigrations(dir)) {
      const prior = applied.get(m.name);
      if (prior?.finished_at) {
        if (prior.checksum !== m.checksum) {
          throw new MigrationError(`migration ${m.name} was modified after it was applied (checksum mismatch)`);
        }
        continue;
      }
      if (prior) throw new MigrationError(`migration ${m.name} failed earlier and needs manual repair`);
      const id = randomUUID();
      // DDL is transactional in PostgreSQL: a failing migration leaves no partial schema behind.
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [id, m.checksum, m.name],
        );
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      ran.push(m.name);
    }
    return ran;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK]).catch(() => {});
    await client.end();
  }
}

/** The migrations on disk not recorded as applied; none = ready. */
export async function pendingMigrations(client: Pick<pg.Client, "query">, dir = MIGRATIONS_DIR): Promise<string[]> {
  const res = await client.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const applied = new Set(res.rows.map((r) => r.migration_name));
  return readMigrations(dir).map((m) => m.name).filter((n) => !applied.has(n));
}

/** The same readiness question asked through the application's Prisma client (throws when the database is unreachable). */
export function pendingMigrationsOf(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const viaPrisma = { query: (sql: string) => db.$queryRawUnsafe(sql).then((rows) => ({ rows })) };
  return pendingMigrations(viaPrisma as unknown as Pick<pg.Client, "query">, dir);
}
