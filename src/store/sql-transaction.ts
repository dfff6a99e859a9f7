// Write transactions on the pg driver itself, for the load balancer write path: a handful of
// statements per step, no query-builder work, and statements prepared once per connection (no
// re-planning). Steps keep the write's structure readable: read and lock, check claims, write.

import type pg from "pg";
import { isDatabaseUnavailable } from "./db-errors.js";

export interface Statement {
  text: string;
  values?: unknown[];
}

// Prepared-statement names, one per distinct text (the texts are a fixed set built from constants).
const names = new Map<string, string>();
function prepared(s: Statement): pg.QueryConfig {
  let name = names.get(s.text);
  if (!name) names.set(s.text, (name = `lbplane-w${names.size}`));
  return { name, text: s.text, values: s.values };
}

export class SqlTransaction {
  private begun = false;

  /** `pool` is the client's pool: per-database state (written-documents.ts) is keyed by it. */
  constructor(
    private readonly client: pg.PoolClient,
    readonly pool: pg.Pool,
  ) {}

  /**
   * Runs `statements` (BEGIN ahead of the first step) and returns their results in order; an
   * undefined statement (nothing to do) is skipped and answered with undefined.
   */
  async step<const S extends ReadonlyArray<Statement | undefined>>(statements: S): Promise<{ [K in keyof S]: S[K] extends Statement ? pg.QueryResult : pg.QueryResult | undefined }> {
    if (!this.begun) {
      await this.client.query("BEGIN");
      this.begun = true;
    }
    // One statement at a time: pg's pipeline mode (several in flight) lost answers under concurrent
    // load in our tests (a query finished on the server but its promise never settled), so the
    // saving of round trips is not worth the risk. Prepared statements still skip re-planning.
    const results: Array<pg.QueryResult | undefined> = [];
    for (const s of statements) results.push(s ? await this.client.query(prepared(s)) : undefined);
    return results as never;
  }

  /** The last step: `statements`, then COMMIT. */
  async commit(statements: Statement[]): Promise<pg.QueryResult[]> {
    const results = await this.step([...statements, { text: "COMMIT" }]);
    // COMMIT of a transaction that failed answers ROLLBACK rather than an error.
    if (results[results.length - 1].command !== "COMMIT") throw new Error("The transaction was rolled back.");
    return results.slice(0, -1);
  }
}

export interface TransactionOptions {
  /** Longest wait for a pooled connection. */
  maxWaitMs: number;
  /** Longest the transaction may stay open; past it the connection is closed and the server rolls back. */
  timeoutMs: number;
}

function connect(pool: pg.Pool, maxWaitMs: number): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error(`No database connection became free within ${maxWaitMs} ms.`));
    }, maxWaitMs);
    pool.connect().then(
      (client) => {
        clearTimeout(timer);
        if (late) client.release();
        else resolve(client);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Runs `work` in one transaction on one pooled connection; rolls back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, options: TransactionOptions, work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  const client = await connect(pool, options.maxWaitMs);
  let broken: Error | undefined;
  // A checked-out client has no pool listener: without ours, a connection lost mid-transaction
  // (server restart, terminated backend, the timeout below) emits an unhandled 'error' and ends the process.
  const onError = (err: Error) => (broken ??= err);
  client.on("error", onError);
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    // end() would wait for the query on the wire, i.e. for whatever lock it is blocked on; only
    // closing the socket cuts it (the server then rolls back).
    const socket = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
    if (socket?.destroy) socket.destroy();
    else void client.end().catch(() => {});
  }, options.timeoutMs);
  try {
    return await work(new SqlTransaction(client, pool));
  } catch (err) {
    if (expired) throw new Error(`The transaction did not finish within ${options.timeoutMs} ms.`, { cause: err });
    // A connection whose query went unanswered (hung or gone database) would queue the ROLLBACK
    // behind that query: drop the connection instead, the server rolls back when it sees it closed.
    if (isDatabaseUnavailable(err)) broken ??= err as Error;
    // Harmless when the transaction already ended (a failed COMMIT rolls back by itself).
    else await client.query("ROLLBACK").catch((e: Error) => (broken ??= e));
    throw err;
  } finally {
    clearTimeout(timer);
    client.release(expired ? new Error("transaction timed out") : broken);
    client.removeListener("error", onError);
  }
}
