// lbplane's migrator does what `prisma migrate deploy` does: applies each migration once, records it
// in _prisma_migrations with the sha256 of its file, and serialises concurrent starts.

import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { MIGRATIONS_DIR, MigrationError, migrate, pendingMigrations, readMigrations } from "../../src/store/migrator.js";
import { adminQuery, databaseUrl } from "../helpers/database.js";

const created: string[] = [];
async function emptyDatabase(): Promise<string> {
  const name = `lbplane_mig_${Math.random().toString(16).slice(2, 10)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  created.push(name);
  return databaseUrl(name);
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const names = readMigrations().map((m) => m.name);

describe("migrator", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const name of created) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function copyOfMigrations(): string {
    const dir = mkdtempSync(join(tmpdir(), "lbplane-migrations-"));
    dirs.push(dir);
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    return dir;
  }

  it("applies every migration once; a second run applies nothing", async () => {
    const url = await emptyDatabase();
    expect(await migrate(url)).toEqual(names);
    expect(await migrate(url)).toEqual([]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect(await pendingMigrations(client)).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it("records each migration as Prisma Migrate does: name, sha256 of the file, finished, one step", async () => {
    const url = await emptyDatabase();
    await migrate(url);
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number; id: string }>(
      url,
      `SELECT id, migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const [i, m] of readMigrations().entries()) {
      const file = readFileSync(join(MIGRATIONS_DIR, m.name, "migration.sql"));
      expect(rows[i].checksum).toBe(createHash("sha256").update(file).digest("hex"));
      expect(rows[i].finished_at).toBeInstanceOf(Date);
      expect(rows[i].rolled_back_at).toBeNull();
      expect(rows[i].applied_steps_count).toBe(1);
      expect(rows[i].id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("two concurrent migrate() calls on a fresh database both succeed and apply each migration once", async () => {
    const url = await emptyDatabase();
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    expect([...a, ...b].sort()).toEqual(names);
    const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM "_prisma_migrations"`);
    expect(Number(rows[0].n)).toBe(names.length);
  });

  it("refuses a migration edited after it was applied", async () => {
    const url = await emptyDatabase();
    const dir = copyOfMigrations();
    await migrate(url, dir);
    appendFileSync(join(dir, names[0], "migration.sql"), "\n-- edited\n");
    await expect(migrate(url, dir)).rejects.toThrow(MigrationError);
    await expect(migrate(url, dir)).rejects.toThrow(/checksum mismatch/);
  });

  it("a failing migration leaves neither partial schema nor a record behind", async () => {
    const url = await emptyDatabase();
    const dir = copyOfMigrations();
    mkdirSync(join(dir, "29991231000000_broken"));
    writeFileSync(join(dir, "29991231000000_broken", "migration.sql"), `CREATE TABLE half_done (id int);\nSELECT no_such_function();\n`);
    await expect(migrate(url, dir)).rejects.toThrow(/29991231000000_broken failed/);
    const tables = await query<{ table_name: string }>(url, `SELECT table_name FROM information_schema.tables WHERE table_name = 'half_done'`);
    expect(tables).toEqual([]);
    const recorded = await query<{ migration_name: string }>(url, `SELECT migration_name FROM "_prisma_migrations"`);
    expect(recorded.map((r) => r.migration_name)).toEqual(names);
  });
});
