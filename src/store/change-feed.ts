// Cross-replica wake-ups: a write on any replica runs NOTIFY lbplane_changes '<location>', and every
// replica LISTENs, so a change reaches the replica that holds an agent's push lock within
// milliseconds instead of at the next sweep. The sweep stays as the safety net for a lost
// notification (LISTEN connection dropped), so a dropped connection only delays, never loses, work.
//
// The LISTEN connection is re-established after any loss (a restarted or failed-over PostgreSQL, a
// cut network), with backoff; a heartbeat query notices a connection that went silent without an
// error. Every (re)connection announces "" (everything changed): notifications sent while we were
// away are gone, so the reconciler re-reads every location's generation from the database (a full
// resync) instead of trusting what it was last told. The loss and the recovery are logged once each.

import pg from "pg";

export const CHANNEL = "lbplane_changes";

export interface ChangeFeedLog {
  warn: (msg: string) => void;
  info?: (msg: string) => void;
}

/** The LISTEN connection proves it is alive this often; a failed or unanswered heartbeat reconnects. */
const HEARTBEAT_MS = 5_000;
/** Connect and heartbeat answers are bounded like every other database call. */
const ANSWER_WITHIN_MS = 3_000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

export class ChangeFeed {
  private client?: pg.Client;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private retryMs = RETRY_FIRST_MS;
  /** When the connection was lost (undefined while connected): the loss is told once, the recovery once. */
  private lostAt?: number;

  constructor(
    private readonly databaseUrl: string,
    /** A location that changed; "" = anything may have changed (after a reconnect): resync everything. */
    private readonly onChange: (location: string) => void,
    private readonly log: ChangeFeedLog,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: "lbplane-listen",
      connectionTimeoutMillis: ANSWER_WITHIN_MS,
      query_timeout: ANSWER_WITHIN_MS,
      keepAlive: true,
    });
    client.on("notification", (n) => {
      if (n.channel === CHANNEL) this.onChange(n.payload ?? "");
    });
    client.on("error", (err) => this.lost(client, err.message));
    client.on("end", () => this.lost(client, "connection ended"));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.lost(client, (err as Error).message);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = RETRY_FIRST_MS;
    if (this.lostAt !== undefined) {
      const awayMs = Date.now() - this.lostAt;
      this.lostAt = undefined;
      (this.log.info ?? this.log.warn)(`change feed listening again after ${(awayMs / 1000).toFixed(1)} s; resyncing every location`);
    }
    this.beat(client);
    // Anything announced while we were disconnected is lost: treat it as a change everywhere.
    this.onChange("");
  }

  private beat(client: pg.Client): void {
    this.heartbeat = setTimeout(() => {
      client.query("SELECT 1").then(
        () => this.client === client && this.beat(client),
        (err: Error) => this.lost(client, `heartbeat failed: ${err.message}`),
      );
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private lost(client: pg.Client, reason: string): void {
    if (this.stopped || (this.client && this.client !== client) || this.retryTimer) return;
    if (this.lostAt === undefined) {
      this.lostAt = Date.now();
      this.log.warn(`change feed connection lost (${reason}); reconnecting with backoff (the sweep covers meanwhile)`);
    }
    this.client = undefined;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    client.end().catch(() => {});
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeat) clearTimeout(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

/** Announces a change to every replica (including this one, which also wakes locally). */
export async function announceChange(pool: pg.Pool, location: string): Promise<void> {
  await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, location]);
}
