// The driver-level write transaction on the pipelined pool: a transaction blocked on a lock is cut
// at its timeout (not when the lock holder lets go), and a connection killed mid-transaction fails
// the write instead of crashing the process; either way the pool keeps serving.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { inTransaction } from "../../src/store/sql-transaction.js";

describe("inTransaction on a pipelined pool", () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let holder: pg.Client;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    pool = new pg.Pool({ connectionString: tdb.url, max: 2, pipeline: true });
    pool.on("error", () => {});
    holder = new pg.Client({ connectionString: tdb.url });
    await holder.connect();
    await holder.query("CREATE TABLE t (id int PRIMARY KEY, v int)");
    await holder.query("INSERT INTO t VALUES (1, 0)");
  });
  afterAll(async () => {
    await holder.end();
    await pool.end();
    await tdb.drop();
  });

  it("a transaction waiting on a row lock is cut at its timeout, and nothing it wrote commits", async () => {
    await holder.query("BEGIN");
    await holder.query("SELECT * FROM t WHERE id = 1 FOR UPDATE");
    const started = Date.now();
    let outcome: unknown;
    try {
      outcome = await Promise.race([
        inTransaction(pool, { maxWaitMs: 1_000, timeoutMs: 300 }, async (tx) => {
          await tx.step([{ text: "UPDATE t SET v = 1 WHERE id = 1" }]);
          return tx.commit([]);
        }).then(() => "committed", (err: Error) => err.message),
        new Promise((r) => setTimeout(() => r("still waiting"), 3_000)),
      ]);
    } finally {
      await holder.query("ROLLBACK");
    }
    expect(outcome).toMatch(/did not finish within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2_500);
    await new Promise((r) => setTimeout(r, 200));
    expect((await holder.query("SELECT v FROM t WHERE id = 1")).rows[0].v).toBe(0);
    const r = await inTransaction(pool, { maxWaitMs: 1_000, timeoutMs: 5_000 }, (tx) => tx.commit([{ text: "SELECT 1 AS one" }]));
    expect(r[0].rows[0].one).toBe(1);
  });

  it("a connection terminated mid-transaction fails the write (no crash) and the pool serves the next one", async () => {
    const errors: unknown[] = [];
    const onUncaught = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onUncaught);
    try {
      const attempt = inTransaction(pool, { maxWaitMs: 1_000, timeoutMs: 5_000 }, async (tx) => {
        const [pid] = await tx.step([{ text: "SELECT pg_backend_pid() AS pid" }]);
        await holder.query("SELECT pg_terminate_backend($1)", [pid.rows[0].pid]);
        await tx.step([{ text: "SELECT pg_sleep(0.2)" }]);
        return tx.commit([{ text: "UPDATE t SET v = 2 WHERE id = 1" }]);
      });
      await expect(attempt).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(errors).toEqual([]);
    expect((await holder.query("SELECT v FROM t WHERE id = 1")).rows[0].v).toBe(0);
    const r = await inTransaction(pool, { maxWaitMs: 1_000, timeoutMs: 5_000 }, (tx) => tx.commit([{ text: "SELECT 2 AS two" }]));
    expect(r[0].rows[0].two).toBe(2);
  });
});
