// Write transactions on the pg driver itself, for the load balancer write path. Each step sends its
// statements pipelined (all at once; the server still runs them one after another, each with its
// own snapshot) and waits for every answer, so a write costs one round trip per step instead of
// one per statement, and no query-builder work. Statements are prepared once per connection.

import type { Writable } from "node:stream";
import type pg from "pg";

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

  constructor(private readonly client: pg.PoolClient) {}

  /**
   * Runs `statements` (BEGIN ahead of the first step) and returns their results in order; an
   * undefined statement (nothing to do) is skipped and answered with undefined.
   */
  async step<const S extends ReadonlyArray<Statement | undefined>>(statements: S): Promise<{ [K in keyof S]: S[K] extends Statement ? pg.QueryResult : pg.QueryResult | undefined }> {
    const queries: Array<Promise<pg.QueryResult>> = [];
    // Corked, the step leaves in one write (one system call) rather than one per statement.
    const socket = (this.client as unknown as { connection?: { stream?: Partial<Writable> } }).connection?.stream;
    socket?.cork?.();
    let sent: number[];
    try {
      if (!this.begun) queries.push(this.client.query("BEGIN"));
      sent = statements.map((s) => (s ? queries.push(this.client.query(prepared(s))) - 1 : -1));
    } finally {
      socket?.uncork?.();
    }
    this.begun = true;
    const settled = await Promise.allSettled(queries);
    // After a failure the server refuses the rest ("transaction is aborted"): report the cause.
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<pg.QueryResult>).value);
    return sent.map((i) => (i < 0 ? undefined : results[i])) as never;
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
    // In pipeline mode end() waits for the queries on the wire, i.e. for whatever lock they are
    // blocked on; only closing the socket cuts them (the server then rolls back).
    const socket = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
    if (socket?.destroy) socket.destroy();
    else void client.end().catch(() => {});
  }, options.timeoutMs);
  try {
    return await work(new SqlTransaction(client));
  } catch (err) {
    if (expired) throw new Error(`The transaction did not finish within ${options.timeoutMs} ms.`, { cause: err });
    // Harmless when the transaction already ended (a failed COMMIT rolls back by itself).
    await client.query("ROLLBACK").catch((e: Error) => (broken ??= e));
    throw err;
  } finally {
    clearTimeout(timer);
    client.release(expired ? new Error("transaction timed out") : broken);
    client.removeListener("error", onError);
  }
}
