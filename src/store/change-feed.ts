// Cross-replica wake-ups: a write on any replica runs NOTIFY lbplane_changes '<location>', and every
// replica LISTENs, so a change reaches the replica that holds an agent's push lock within
// milliseconds instead of at the next sweep. The sweep stays as the safety net for a lost
// notification (LISTEN connection dropped), so a dropped connection only delays, never loses, work.

import pg from "pg";

export const CHANNEL = "lbplane_changes";

export interface ChangeFeedLog {
  warn: (msg: string) => void;
}

export class ChangeFeed {
  private client?: pg.Client;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = 250;

  constructor(
    private readonly databaseUrl: string,
    private readonly onChange: (location: string) => void,
    private readonly log: ChangeFeedLog,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "lbplane-listen" });
    client.on("notification", (n) => {
      if (n.channel === CHANNEL) this.onChange(n.payload ?? "");
    });
    client.on("error", (err) => {
      this.log.warn(`change feed connection failed: ${err.message}; reconnecting`);
      this.reconnect(client);
    });
    client.on("end", () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
      this.retryMs = 250;
      // Anything announced while we were disconnected: treat as a change everywhere.
      this.onChange("");
    } catch (err) {
      this.log.warn(`change feed cannot LISTEN: ${(err as Error).message}; retrying`);
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.stopped || (this.client && this.client !== client) || this.retryTimer) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

/** Announces a change to every replica (including this one, which also wakes locally). */
export async function announceChange(pool: pg.Pool, location: string): Promise<void> {
  await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, location]);
}
