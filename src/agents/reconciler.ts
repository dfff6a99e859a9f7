// Brings every live agent to its location's newest generation. All state is in Postgres (acked
// generation, failures, next attempt), so a restarted or second replica picks up exactly where the
// work stands.
//
// One pusher per agent across replicas: a push runs under a session advisory lock keyed by the
// agent id. This replica holds all of its push locks on ONE dedicated connection (the "lock
// session"), claimed many agents per statement and released many per statement, so the database
// cost of a change is a handful of round trips whatever the number of agents:
//
//   claim   one statement tries the locks of every due agent that is behind (up to `maxLocks`
//           held at once), reading their rows in the same statement
//   push    HTTP, at most `concurrency` at a time (claimed agents wait their turn holding their
//           lock), the body serialised once per generation
//   record  ACKs and failures as they arrive, batched: what arrives during a write waits for the
//           next one (group commit), then one statement releases the batch's locks after commit
//
// If the process dies, Postgres ends the session and with it every lock. If the lock session
// breaks while the process lives, the results of its pushes are discarded (their locks are gone,
// another replica may have pushed since); each of those agents is claimed again once its push has
// ended, never while it is still under way, so this replica never overlaps two pushes to one agent.

import { setMaxListeners } from "node:events";
import { DELTA_BASE_MISMATCH, type ConfigAck } from "../domain/agent-protocol.js";
import { normalizeLocation } from "../domain/ids.js";
import type { AckRecord, AgentEpoch, ClaimRow, FailureToRecord, PushLockSession, Released } from "../store/push-locks.store.js";
import { AgentPushError, type AgentClient } from "./agent-client.js";
import type { DesiredState, DesiredStateCache } from "./desired-state.js";
import { nacks, pushedBytes, pushFailures, pushLatency } from "./metrics.js";
import { foldAcks, type AckToRecord } from "./push-results.js";

export interface ReconcilerLog {
  info: (msg: string) => void;
  /** `cause` is given for failures of the database (so an outage can be told once), never for an agent's. */
  warn: (msg: string, cause?: unknown) => void;
}

export interface ReconcilerOptions {
  /** The lock session (src/store/push-locks.store.ts); its losses must be reported to `sessionLost`. */
  locks: PushLockSession;
  client: AgentClient;
  desired: DesiredStateCache;
  livenessMs: number;
  /** Pushes (HTTP requests to agents) in flight at once by this replica; default 128. */
  concurrency?: number;
  /**
   * Push locks held at once by this replica: the agents being pushed and those claimed, waiting for
   * a push slot; default 1,024 (never fewer than `concurrency`). Claiming many more agents than
   * push at once keeps claims out of a change's fan-out: with locks = pushes, every batch of ACKs
   * was followed by a claim before the freed slots could push again (22 claims per change to 1,000
   * agents, each on the lock session between the ACK records). Each lock takes a slot of
   * PostgreSQL's shared lock table (max_locks_per_transaction × max_connections; 6,400 by default).
   */
  maxLocks?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Operations of this location may be done (every live agent caught up, or one refused). */
  onAcked?: (location: string) => void;
  log: ReconcilerLog;
}

/** A claimed agent: its lock is held by the lock session of `epoch`. */
interface Claimed {
  row: ClaimRow;
  epoch: number;
}

type Outcome =
  | { kind: "ack"; c: Claimed; state: DesiredState; ack: ConfigAck }
  | { kind: "fail"; c: Claimed; error: string; waitMs: number; generation: bigint }
  | { kind: "skip"; c: Claimed };

export class Reconciler {
  /** Agents whose push lock this replica holds (or is about to release). */
  private readonly inFlight = new Set<string>();
  private passing = false;
  private passAgain = false;
  private retryTimer?: NodeJS.Timeout;
  private retryAt = Infinity;
  private stopped = false;
  private readonly concurrency: number;
  private readonly maxLocks: number;
  /** Claimed agents waiting for a push slot, oldest first, and the pushes under way. */
  private readonly waiting: Claimed[] = [];
  private running = 0;

  private readonly abort = new AbortController();

  private readonly outcomes: Outcome[] = [];
  private flushing?: Promise<void>;
  private readonly pushes = new Set<Promise<void>>();
  /** The last claim left due agents for lack of free slots. */
  private deferred = false;
  /** Locations this replica has pushed to: only their changes are worth compiling ahead. */
  private readonly pushedTo = new Set<string>();

  constructor(private readonly o: ReconcilerOptions) {
    this.concurrency = o.concurrency ?? 128;
    this.maxLocks = Math.max(this.concurrency, o.maxLocks ?? 1024);
    setMaxListeners(0, this.abort.signal); // one listener per in-flight push
  }

  /**
   * Look for agents that are behind, soon. Calls coalesce: many wake-ups, one database pass. A
   * location names what changed, so its new desired state is compiled meanwhile.
   */
  wake(location?: string): void {
    if (this.stopped) return;
    if (location) this.prefetch(location);
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = true;
    setImmediate(() => void this.pass());
  }

  /** Compile a changed location's new desired state now, if this replica pushes there. */
  prefetch(location: string): void {
    if (!this.stopped && this.pushedTo.has(normalizeLocation(location))) this.o.desired.prefetch(location);
  }

  private async pass(): Promise<void> {
    try {
      do {
        this.passAgain = false;
        await this.claim();
      } while (this.passAgain && !this.stopped);
    } catch (err) {
      if (!this.stopped) {
        this.o.log.warn(`reconciler pass failed: ${(err as Error).message}`, err);
        this.wakeIn(250);
      }
    } finally {
      this.passing = false;
    }
  }

  // ---- the lock session ------------------------------------------------------------------------

  /** The lock session of this epoch. */
  private get epoch(): number {
    return this.o.locks.epoch;
  }

  /** The lock session ended by failure: Postgres released its locks; the pushes under them are void. */
  sessionLost(err: Error): void {
    if (!this.stopped) {
      this.o.log.warn(`push-lock session lost (${err.message}); its pushes' results are void and will be retried`, err);
      this.wakeIn(100);
    }
  }

  // ---- claim, read, push -----------------------------------------------------------------------

  private async claim(): Promise<void> {
    const free = this.maxLocks - this.inFlight.size;
    const epoch = this.epoch;
    const held = [...this.inFlight];
    const rows = await this.o.locks.claim(epoch, held, this.o.livenessMs, free);
    let soonest = Infinity;
    let deferred = false;
    for (const row of rows) {
      if (!row.due) soonest = Math.min(soonest, row.wait_ms);
      // Deferred for lack of slots: the release of a finished batch wakes us again.
      if (row.deferred) deferred = true;
      if (!row.locked) continue;
      this.inFlight.add(row.id);
      this.pushedTo.add(row.location);
      this.waiting.push({ row, epoch });
    }
    this.deferred = deferred;
    this.startPushes();
    if (soonest < Infinity) this.wakeIn(soonest);
  }

  /** Starts waiting pushes while push slots are free. */
  private startPushes(): void {
    while (this.running < this.concurrency && this.waiting.length > 0 && !this.stopped) {
      const c = this.waiting.shift()!;
      this.running++;
      const p = this.push(c).then(
        (outcome) => this.settle(outcome),
        (err) => {
          this.o.log.warn(`push to agent ${c.row.id} failed: ${(err as Error).message}`, err);
          this.settle({ kind: "skip", c });
        },
      );
      this.pushes.add(p);
      void p.finally(() => {
        this.pushes.delete(p);
        this.running--;
        this.startPushes();
      });
    }
  }

  /**
   * One push of the newest generation, under the claimed lock: what changed since the generation the
   * agent acknowledged, or the full state when it has none (or its base turns out not to match).
   * Never throws for agent trouble.
   */
  private async push(c: Claimed): Promise<Outcome> {
    const a = c.row;
    const signal = this.abort.signal;
    let state: DesiredState | undefined;
    const started = performance.now();
    const acked = BigInt(a.acked);
    // Claimed under a lock session that has ended while it waited for a slot: void, claimed again.
    if (c.epoch !== this.epoch || this.stopped) return { kind: "skip", c };
    try {
      state = await this.o.desired.get(a.location, acked < 0n ? "full" : acked, BigInt(a.gen));
      if (c.epoch !== this.epoch || this.stopped) return { kind: "skip", c };
      let ack: ConfigAck;
      try {
        ack = await this.send(a, state, signal);
      } catch (err) {
        if (!(err instanceof AgentPushError && err.code === DELTA_BASE_MISMATCH) || state.from === "full") throw err;
        // The agent has not what lbplane recorded (it restarted, or a database was restored): full state.
        this.o.log.info(`agent '${a.name}' does not have generation ${state.from}; pushing the full state`);
        state = await this.o.desired.get(a.location, "full", BigInt(a.gen));
        if (c.epoch !== this.epoch || this.stopped) return { kind: "skip", c };
        ack = await this.send(a, state, signal);
      }
      pushLatency.observe({ outcome: "ack" }, (performance.now() - started) / 1000);
      return { kind: "ack", c, state, ack };
    } catch (err) {
      if (this.stopped || c.epoch !== this.epoch) return { kind: "skip", c };
      if (!state) throw err; // the desired state could not be read: nothing was pushed
      pushLatency.observe({ outcome: "error" }, (performance.now() - started) / 1000);
      pushFailures.inc({ agent: a.name });
      const message = (err as Error).message;
      if (a.failures === 0) this.o.log.warn(`push of generation ${state.generation} to agent '${a.name}' failed: ${message}`);
      return { kind: "fail", c, error: message, waitMs: this.backoffMs(a.failures + 1), generation: state.generation };
    }
  }

  private async send(a: ClaimRow, state: DesiredState, signal: AbortSignal): Promise<ConfigAck> {
    const ack = await this.o.client.pushConfig(a.url, a.push_token, state.body, signal);
    pushedBytes.inc(state.body.length);
    if (ack.generation !== Number(state.generation)) {
      // An agent claiming another generation than the one it was sent is not believed; the retry
      // pushes the same generation again until it acknowledges exactly that.
      throw new AgentPushError(`agent acknowledged generation ${ack.generation} for a push of generation ${state.generation}`, 200);
    }
    return ack;
  }

  // ---- record and release (group commit on the lock session) -----------------------------------

  private settle(outcome: Outcome): void {
    this.outcomes.push(outcome);
    if (!this.flushing) this.flushing = this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      // Let the ACKs that arrive in the same turn of the event loop join the first batch.
      await new Promise((r) => setImmediate(r));
      while (this.outcomes.length > 0) {
        const batch = this.outcomes.splice(0);
        await this.flush(batch).catch((err) => {
          if (!this.stopped) this.o.log.warn(`recording push results failed: ${(err as Error).message}`, err);
        });
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async flush(batch: Outcome[]): Promise<void> {
    const epoch = this.epoch;
    // Results of an ended lock session are void: their locks are gone and someone may have pushed since.
    const current = batch.filter((o) => o.c.epoch === epoch && !this.stopped);
    const stale = batch.filter((o) => !current.includes(o));
    for (const o of stale) this.inFlight.delete(o.c.row.id);
    if (current.length === 0) {
      if (stale.length > 0) this.wake();
      return;
    }
    const epochOf = (c: Claimed): AgentEpoch => ({ id: c.row.id, registeredAt: c.row.registered_at, location: c.row.location });
    const acks: AckToRecord[] = [];
    const failures: FailureToRecord[] = [];
    for (const o of current) {
      if (o.kind === "ack") acks.push({ agent: epochOf(o.c), state: o.state, ack: o.ack });
      else if (o.kind === "fail") failures.push({ agent: epochOf(o.c), error: o.error, retryInMs: o.waitMs });
    }
    const ids = current.map((o) => o.c.row.id);
    const folded = acks.length > 0 ? foldAcks(acks) : undefined;
    let released: Released[];
    let recorded: (AckRecord & { refused: Map<string, number> }) | undefined;
    try {
      const record = await this.o.locks.record(epoch, folded?.columns, failures, this.o.livenessMs);
      recorded = record && {
        ...record,
        refused: new Map([...folded!.refusedBy].filter(([id]) => record.updated.has(id))),
      };
      released = await this.o.locks.release(epoch, ids, this.o.livenessMs);
    } finally {
      for (const id of ids) this.inFlight.delete(id);
    }

    const names = new Map(current.map((o) => [o.c.row.id, o.c.row.name]));
    for (const [id, refused] of recorded?.refused ?? []) if (refused > 0) nacks.inc({ agent: names.get(id)! }, refused);
    for (const f of failures) this.wakeIn(f.retryInMs);

    // Operations can only have finished where the slowest live agent moved up, or an agent refused
    // something; otherwise settling now would be wasted work (the sweep covers timeouts).
    const settle = new Set<string>();
    for (const [id, refused] of recorded?.refused ?? []) {
      const loc = current.find((o) => o.c.row.id === id)!.c.row.location;
      if (refused > 0) settle.add(loc);
    }
    const lowestAfter = new Map<string, bigint | null>();
    for (const r of released) if (r.location) lowestAfter.set(r.location, r.locationMin);
    for (const [loc, after] of lowestAfter) {
      const before = recorded?.minBefore.get(loc);
      if (recorded && (after === null || before === undefined || after > before)) settle.add(loc);
    }
    for (const loc of settle) this.o.onAcked?.(loc);

    // A desired state that could not be read: try again shortly, not in a tight loop.
    if (current.some((o) => o.kind === "skip")) this.wakeIn(500);
    // A write that landed during a push, or agents that waited for a free slot: claim again now.
    if (this.deferred || released.some((r) => r.behind)) this.wake();
  }

  // ---- retries and shutdown -------------------------------------------------------------------

  /** Retries are due at their backoff time, not at the next sweep. */
  private wakeIn(ms: number): void {
    const at = Date.now() + Math.ceil(ms) + 5;
    if (this.retryTimer && this.retryAt <= at) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = Infinity;
      this.wake();
    }, at - Date.now());
    this.retryTimer.unref();
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so retries never synchronise. */
  backoffMs(failures: number): number {
    const { baseMs, maxMs } = this.o.backoff ?? { baseMs: 100, maxMs: 10_000 };
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 20));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0; // their locks end with the lock session below
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort.abort();
    await Promise.allSettled([...this.pushes]);
    await this.flushing;
    await this.o.locks.close();
  }
}
