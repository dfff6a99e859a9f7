// Brings every live agent to its location's newest generation. All state is in Postgres (acked
// generation, failures, next attempt), so a restarted or second replica picks up exactly where the
// work stands. Each push runs under a session advisory lock keyed by the agent id, held on a
// dedicated connection for the whole push: one pusher per agent across replicas, released by
// Postgres itself if the process dies mid-push. Work is bounded: at most `concurrency` pushes at a
// time and no queue beyond the set of agents that are behind.

import type pg from "pg";
import type { Db } from "../store/prisma.js";
import { AgentPushError, type AgentClient } from "./agent-client.js";
import type { DesiredStateCache } from "./desired-state.js";
import { recordAck, recordFailure } from "./push-results.js";
import { nacks, pushedBytes, pushFailures, pushLatency } from "./metrics.js";

export interface ReconcilerLog {
  info: (msg: string) => void;
  warn: (msg: string) => void;
}

export interface ReconcilerOptions {
  db: Db;
  /** Connections that hold push locks; size it at concurrency + 1. */
  lockPool: pg.Pool;
  client: AgentClient;
  desired: DesiredStateCache;
  livenessMs: number;
  concurrency?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** An agent acknowledged a push: operations of its location may be done. */
  onAcked?: (location: string) => void;
  log: ReconcilerLog;
}

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
    const rows = await this.o.db.$queryRaw<Array<{ id: string; location: string; due: boolean; wait_ms: number }>>`
      SELECT a.id::text AS id, a.location,
             (a.next_attempt_at IS NULL OR a.next_attempt_at <= now()) AS due,
             GREATEST(0, EXTRACT(EPOCH FROM (a.next_attempt_at - now())) * 1000)::float8 AS wait_ms
      FROM agents a LEFT JOIN location_generations g ON g.location = a.location
      WHERE a.last_heartbeat_at > now() - (${this.o.livenessMs}::int * interval '1 millisecond')
        AND a.acked_generation < COALESCE(g.generation, 0)`;
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

  private async pushUnderLock(c: Candidate): Promise<void> {
    const conn = await this.o.lockPool.connect();
    let broken = false;
    try {
      const lock = await conn.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtextextended('lbplane-push:' || $1, 0)) AS locked",
        [c.id],
      );
      if (!lock.rows[0].locked) return; // another replica is pushing this agent right now
      try {
        // While we hold the lock, keep going until the agent has the newest generation: a write that
        // lands during a push is pushed right after it, without waiting for another wake-up.
        for (let round = 0; round < 100 && !this.stopped; round++) {
          if (!(await this.pushOnce(c))) break;
        }
      } finally {
        await conn.query("SELECT pg_advisory_unlock(hashtextextended('lbplane-push:' || $1, 0))", [c.id]).catch(() => {
          broken = true;
        });
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      // A connection whose unlock failed is destroyed, which releases any lock it still holds.
      conn.release(broken);
    }
  }

  /** One push of the newest generation; true if it succeeded and the agent may be behind again. */
  private async pushOnce(c: Candidate): Promise<boolean> {
    const { db, livenessMs } = this.o;
    // Re-read under the lock: another replica may have pushed, or the agent re-registered.
    const rows = await db.$queryRaw<
      Array<{ name: string; url: string; push_token: string; acked: bigint; registered_at: Date; failures: number; gen: bigint; due: boolean; live: boolean }>
    >`
      SELECT a.name, a.url, a.push_token, a.acked_generation AS acked, a.registered_at, a.consecutive_failures AS failures,
             COALESCE(g.generation, 0) AS gen,
             (a.next_attempt_at IS NULL OR a.next_attempt_at <= now()) AS due,
             a.last_heartbeat_at > now() - (${livenessMs}::int * interval '1 millisecond') AS live
      FROM agents a LEFT JOIN location_generations g ON g.location = a.location
      WHERE a.id = ${c.id}::uuid`;
    const a = rows[0];
    if (!a || !a.live || !a.due || a.acked >= a.gen) return false;
    const state = await this.o.desired.get(c.location, a.gen);
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
      const refused = await recordAck(db, { id: c.id, registeredAt: a.registered_at }, state, ack);
      if (refused > 0) nacks.inc({ agent: a.name }, refused);
      this.o.onAcked?.(c.location);
      return true;
    } catch (err) {
      if (this.stopped) return false;
      pushLatency.observe({ outcome: "error" }, (performance.now() - started) / 1000);
      pushFailures.inc({ agent: a.name });
      const waitMs = this.backoffMs(a.failures + 1);
      await recordFailure(db, { id: c.id, registeredAt: a.registered_at }, (err as Error).message, waitMs);
      if (a.failures === 0) this.o.log.warn(`push of generation ${state.generation} to agent '${a.name}' failed: ${(err as Error).message}`);
      this.wakeIn(waitMs);
      return false;
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
