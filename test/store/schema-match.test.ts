// The hand-written SQL migrations must build exactly the database prisma/schema.prisma describes
// (what `prisma migrate diff` would check on a machine with the schema engine): same tables, columns,
// types, nullability, defaults, primary keys, unique constraints, indexes and foreign keys, with
// Prisma's own constraint names.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../src/store/generated/client.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { columnsOf, parsePrismaSchema, postgresType, type ModelSpec } from "./prisma-schema.js";

const models = parsePrismaSchema(readFileSync(new URL("../../prisma/schema.prisma", import.meta.url), "utf8"));

interface Column { table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null; datetime_precision: number | null }
interface Index { table: string; name: string; unique: boolean; primary: boolean; columns: string[] }
interface ForeignKey { table: string; name: string; target: string; columns: string[]; ref_columns: string[]; on_delete: string }

/** Prisma's constraint names: "{table}_{columns}_{suffix}", the base cut so the whole fits PostgreSQL's 63 bytes. */
const prismaName = (base: string, suffix: string) => `${base.slice(0, 63 - suffix.length - 1)}_${suffix}`;

const ON_DELETE: Record<string, string> = { Cascade: "c", Restrict: "r", SetNull: "n", NoAction: "a", SetDefault: "d" };

describe("migrated database matches prisma/schema.prisma", () => {
  let database: TestDatabase;
  let client: pg.Client;
  let columns: Column[];
  let indexes: Index[];
  let foreignKeys: ForeignKey[];
  let tables: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    tables = (
      await client.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      )
    ).rows.map((r) => r.table_name);
    columns = (
      await client.query<Column>(
        `SELECT table_name, column_name, data_type, is_nullable, column_default, datetime_precision
         FROM information_schema.columns WHERE table_schema = 'public'`,
      )
    ).rows;
    // Indexes over plain columns; the GiST exclusion constraints (expressions, not in schema.prisma) are left out.
    indexes = (
      await client.query<Index>(
        `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
                array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index ix
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
         WHERE n.nspname = 'public'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype = 'x')
         GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary`,
      )
    ).rows;
    foreignKeys = (
      await client.query<ForeignKey>(
        `SELECT src.relname AS table, con.conname AS name, dst.relname AS target, con.confdeltype AS on_delete,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns
         FROM pg_constraint con
         JOIN pg_class src ON src.oid = con.conrelid
         JOIN pg_class dst ON dst.oid = con.confrelid
         JOIN pg_namespace n ON n.oid = src.relnamespace
         WHERE con.contype = 'f' AND n.nspname = 'public'`,
      )
    ).rows;
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it("the schema reader agrees with the generated Prisma client (the client is current)", () => {
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: "postgresql://unused@127.0.0.1:1/unused" }) });
    const runtime = (prisma as unknown as {
      _runtimeDataModel: { models: Record<string, { dbName: string | null; fields: Array<{ name: string; kind: string; dbName?: string }> }> };
    })._runtimeDataModel.models;
    expect(Object.keys(runtime).sort()).toEqual(models.map((m) => m.name).sort());
    for (const m of models) {
      const rm = runtime[m.name];
      expect(rm.dbName ?? m.name, m.name).toBe(m.table);
      const scalars = rm.fields.filter((f) => f.kind === "scalar").map((f) => [f.name, f.dbName ?? f.name]);
      expect(scalars, m.name).toEqual(m.scalars.map((s) => [s.name, s.column]));
    }
  });

  it("has exactly the schema's tables (plus _prisma_migrations)", () => {
    expect(tables.sort()).toEqual([...models.map((m) => m.table), "_prisma_migrations"].sort());
  });

  describe.each(models.map((m) => [m.name, m] as [string, ModelSpec]))("%s", (_name, model) => {
    it("columns: names, types, nullability and defaults", () => {
      const actual = columns
        .filter((c) => c.table_name === model.table)
        .map((c) => ({
          column: c.column_name,
          type: c.data_type,
          nullable: c.is_nullable === "YES",
          hasDefault: c.column_default !== null,
          ...(c.data_type.startsWith("timestamp") ? { precision: c.datetime_precision } : {}),
        }))
        .sort((a, b) => a.column.localeCompare(b.column));
      const expected = model.scalars
        .map((s) => ({
          column: s.column,
          type: s.list ? "ARRAY" : postgresType(s),
          nullable: s.optional,
          hasDefault: s.hasDefault,
          ...(s.type === "DateTime" ? { precision: Number(/\((\d+)\)/.exec(s.nativeType ?? "")?.[1] ?? 3) } : {}),
        }))
        .sort((a, b) => a.column.localeCompare(b.column));
      expect(actual).toEqual(expected);
    });

    it("primary key, unique constraints and indexes, with Prisma's names", () => {
      const actual = indexes
        .filter((i) => i.table === model.table)
        .map((i) => ({ name: i.name, unique: i.unique, primary: i.primary, columns: i.columns }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const t = model.table;
      const expected = [
        { name: prismaName(t, "pkey"), unique: true, primary: true, columns: columnsOf(model, model.primaryKey) },
        ...model.uniques.map((u) => {
          const cols = columnsOf(model, u);
          return { name: prismaName(`${t}_${cols.join("_")}`, "key"), unique: true, primary: false, columns: cols };
        }),
        ...model.indexes.map((u) => {
          const cols = columnsOf(model, u);
          return { name: prismaName(`${t}_${cols.join("_")}`, "idx"), unique: false, primary: false, columns: cols };
        }),
      ].sort((a, b) => a.name.localeCompare(b.name));
      expect(actual).toEqual(expected);
    });

    it("foreign keys: columns, target and ON DELETE", () => {
      const actual = foreignKeys
        .filter((f) => f.table === model.table)
        .map(({ name, target, columns: cols, ref_columns, on_delete }) => ({ name, target, columns: cols, ref_columns, on_delete }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const expected = model.relations
        .map((r) => {
          const target = models.find((m) => m.name === r.target)!;
          const cols = columnsOf(model, r.fields);
          return {
            name: prismaName(`${model.table}_${cols.join("_")}`, "fkey"),
            target: target.table,
            columns: cols,
            ref_columns: columnsOf(target, r.references),
            on_delete: ON_DELETE[r.onDelete],
          };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
      expect(actual).toEqual(expected);
    });
  });
});
