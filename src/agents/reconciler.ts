// Brings every live agent to its location's newest generation. All state is in Postgres (acked
// generation, failures, next attempt), so a restarted or second replica picks up exactly where the
// work stands. Each push runs under a session advisory lock keyed by the agent id, held on a
// dedicated connection for the whole push: one pusher per agent across replicas, released by
// Postgres itself if the process dies mid-push. Work is bounded: at most `concurrency` pushes at a
// time and no queue beyond the set of agents that are behind.

import { setMaxListeners } from "node:events";
import type pg from "pg";
import { AgentPushError, type AgentClient } from "./agent-client.js";
import type { DesiredStateCache } from "./desired-state.js";
import { recordAck, recordFailure } from "./push-results.js";
import { nacks, pushedBytes, pushFailures, pushLatency } from "./metrics.js";

export interface ReconcilerLog {
  info: (msg: string) => void;
  warn: (msg: string) => void;
}

export interface ReconcilerOptions {
  /** Connections that hold push locks; size it at concurrency + 1. */
  lockPool: pg.Pool;
  client: AgentClient;
  desired: DesiredStateCache;
  livenessMs: number;
  concurrency?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Operations of this location may be done (every live agent caught up, or one refused). */
  onAcked?: (location: string) => void;
  log: ReconcilerLog;
}

interface AgentRow {
  name: string;
  url: string;
  push_token: string;
  acked: string;
  registered_at: Date;
  failures: number;
  gen: string;
  due: boolean;
  live: boolean;
}

// $1 agent id, $2 liveness window (ms).
const AGENT_ROW_SQL = `
  SELECT a.name, a.url, a.push_token, a.acked_generation::text AS acked, a.registered_at,
         a.consecutive_failures AS failures, COALESCE(g.generation, 0)::text AS gen,
         (a.next_attempt_at IS NULL OR a.next_attempt_at <= now()) AS due,
         a.last_heartbeat_at > now() - ($2::int * interval '1 millisecond') AS live
  FROM agents a LEFT JOIN location_generations g ON g.location = a.location
  WHERE a.id = $1::uuid`;
const UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended('lbplane-push:' || $1, 0))";

interface Candidate {
  id: string;
  location: string;
}

export class Reconciler {
  private readonly inFlight = new Set<string>();
  private readonly queue: Candidate[] = [];
  private running = 0;
  private passing = false;
  private passAgain = false;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly pushes = new Set<Promise<void>>();
  private readonly concurrency: number;

  constructor(private readonly o: ReconcilerOptions) {
    this.concurrency = o.concurrency ?? 16;
    setMaxListeners(0, this.abort.signal); // one listener per in-flight push
  }

  /** Look for agents that are behind, soon. Calls coalesce: many wake-ups, one database pass. */
  wake(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = true;
    setImmediate(() => void this.pass());
  }

  private async pass(): Promise<void> {
    try {
      do {
        this.passAgain = false;
        await this.findWork();
      } while (this.passAgain && !this.stopped);
    } catch (err) {
      if (!this.stopped) this.o.log.warn(`reconciler pass failed: ${(err as Error).message}`);
    } finally {
      this.passing = false;
    }
  }

  private async findWork(): Promise<void> {
    const { rows } = await this.o.lockPool.query<{ id: string; location: string; due: boolean; wait_ms: number }>(
      `SELECT a.id::text AS id, a.location,
              (a.next_attempt_at IS NULL OR a.next_attempt_at <= now()) AS due,
              GREATEST(0, EXTRACT(EPOCH FROM (a.next_attempt_at - now())) * 1000)::float8 AS wait_ms
       FROM agents a LEFT JOIN location_generations g ON g.location = a.location
       WHERE a.last_heartbeat_at > now() - ($1::int * interval '1 millisecond')
         AND a.acked_generation < COALESCE(g.generation, 0)`,
      [this.o.livenessMs],
    );
    let soonest = Infinity;
    for (const r of rows) {
      if (!r.due) {
        soonest = Math.min(soonest, r.wait_ms);
        continue;
      }
      if (this.inFlight.has(r.id)) continue;
      this.inFlight.add(r.id);
      this.queue.push({ id: r.id, location: r.location });
    }
    if (soonest < Infinity) this.wakeIn(soonest);
    this.drain();
  }

  /** Retries are due at their backoff time, not at the next sweep. */
  private wakeIn(ms: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake();
    }, Math.ceil(ms) + 5);
    this.retryTimer.unref();
  }

  private drain(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.running++;
      const p = this.pushUnderLock(next)
        .catch((err) => this.o.log.warn(`push to agent ${next.id} failed: ${(err as Error).message}`))
        .finally(() => {
          this.running--;
          this.inFlight.delete(next.id);
          this.pushes.delete(p);
          this.drain();
        });
      this.pushes.add(p);
    }
  }

  /**
   * Two round trips per push on the lock's own connection: lock + read, then record + unlock. The
   * read shares the lock statement's snapshot, so in a rare race it can see an ACK another replica
   * committed a moment earlier as missing; the cost is one idempotent re-push, never a wrong state.
   */
  private async pushUnderLock(c: Candidate): Promise<void> {
    const conn = await this.o.lockPool.connect();
    let held = false;
    let broken = false;
    try {
      const { rows } = await conn.query<AgentRow & { locked: boolean }>(
        `SELECT l.locked, a.* FROM (SELECT pg_try_advisory_lock(hashtextextended('lbplane-push:' || $1, 0)) AS locked) l
         LEFT JOIN LATERAL (${AGENT_ROW_SQL}) a ON l.locked`,
        [c.id, this.o.livenessMs],
      );
      if (!rows[0]?.locked) return; // another replica is pushing this agent right now
      held = true;
      let row: AgentRow | undefined = rows[0].name === null ? undefined : rows[0];
      // While we hold the lock, keep going until the agent has the newest generation: a write that
      // lands during a push is pushed right after it, without waiting for another wake-up.
      for (let round = 0; row && round < 100 && !this.stopped; round++) {
        const result = await this.pushOnce(c, row, conn);
        if (result.unlocked) held = false;
        if (!result.again) break;
        row = (await conn.query<AgentRow>(AGENT_ROW_SQL, [c.id, this.o.livenessMs])).rows[0];
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      if (held && !broken) {
        await conn.query(UNLOCK_SQL, [c.id]).catch(() => {
          broken = true;
        });
      }
      // A connection that failed mid-way is destroyed, which releases any lock it still holds.
      conn.release(broken);
    }
  }

  /** One push of the newest generation. `again`: it succeeded and a newer generation exists. */
  private async pushOnce(c: Candidate, a: AgentRow, conn: pg.PoolClient): Promise<{ again: boolean; unlocked: boolean }> {
    if (!a.live || !a.due || BigInt(a.acked) >= BigInt(a.gen)) return { again: false, unlocked: false };
    const state = await this.o.desired.get(c.location, BigInt(a.gen));
    const epoch = { id: c.id, registeredAt: a.registered_at };
    const started = performance.now();
    try {
      const ack = await this.o.client.pushConfig(a.url, a.push_token, state.body, this.abort.signal);
      pushedBytes.inc(Buffer.byteLength(state.body));
      if (ack.generation !== state.config.generation) {
        // An agent claiming another generation than the one it was sent is not believed; the retry
        // pushes the same generation again until it acknowledges exactly that.
        throw new AgentPushError(`agent acknowledged generation ${ack.generation} for a push of generation ${state.config.generation}`, 200);
      }
      pushLatency.observe({ outcome: "ack" }, (performance.now() - started) / 1000);
      const r = await recordAck(conn, epoch, state, ack, this.o.livenessMs);
      if (r.refused > 0) nacks.inc({ agent: a.name }, r.refused);
      // Operations can only have finished when this was the last live agent to catch up, or when it
      // refused something; otherwise settling now would be wasted work (the sweep covers timeouts).
      if (r.othersBehind === 0 || r.refused > 0) this.o.onAcked?.(c.location);
      return { again: !r.unlocked, unlocked: r.unlocked };
    } catch (err) {
      if (this.stopped) return { again: false, unlocked: false };
      pushLatency.observe({ outcome: "error" }, (performance.now() - started) / 1000);
      pushFailures.inc({ agent: a.name });
      const waitMs = this.backoffMs(a.failures + 1);
      await recordFailure(conn, epoch, (err as Error).message, waitMs);
      if (a.failures === 0) this.o.log.warn(`push of generation ${state.generation} to agent '${a.name}' failed: ${(err as Error).message}`);
      this.wakeIn(waitMs);
      return { again: false, unlocked: true };
    }
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so retries never synchronise. */
  backoffMs(failures: number): number {
    const { baseMs, maxMs } = this.o.backoff ?? { baseMs: 100, maxMs: 10_000 };
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 20));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.queue.length = 0;
    this.abort.abort();
    await Promise.allSettled([...this.pushes]);
  }
}
