// The reconciler's lock session: one dedicated connection holding the session advisory locks that
// make one pusher per agent across replicas, and the statements that run on it — claim (try the
// locks of every due agent that is behind), record (ACKs and failures, many agents per statement)
// and release (after the record committed, so a replica that takes a lock next always reads the
// recorded ACK). Every record is fenced by the agent's registration time: a push that started
// before the agent re-registered must not mark the new instance as having that generation.
//
// Any failure of a statement ends the session: the connection is destroyed (never reused), Postgres
// releases all its locks, and the epoch moves on so results of pushes made under the old locks are
// recognisably void. The hot statements are prepared (named) once per connection: planning them
// costs more than running them.

import pg from "pg";
import { agentIsLive } from "./fragments.js";
import { boundedPoolOptions, DEFAULT_DB_TIMEOUTS } from "./prisma.js";

/** `pg_advisory_unlock` key of an agent's push lock; the same on every replica and version. */
export const PUSH_LOCK_KEY = (idSql: string) => `hashtextextended('lbplane-push:' || ${idSql}, 0)`;

/**
 * The pool the control loops use: one connection is the lock session, the others carry NOTIFYs and
 * desired-state reads. An idle connection that fails is simply replaced (`onError` reports it).
 */
export function openPushPool(databaseUrl: string, onError: (err: Error) => void): pg.Pool {
  // Bounded like the request pools: a hung database fails the pass (retried), never stalls it for ever.
  const pool = new pg.Pool({ ...boundedPoolOptions(databaseUrl, 4, DEFAULT_DB_TIMEOUTS), application_name: "lbplane-push" });
  pool.on("error", onError);
  return pool;
}

/** An agent behind its location's generation, as the claim read it. */
export interface ClaimRow {
  id: string;
  name: string;
  url: string;
  push_token: string;
  location: string;
  acked: string;
  registered_at: string;
  failures: number;
  gen: string;
  due: boolean;
  wait_ms: number;
  /** Due, but left for lack of free slots. */
  deferred: boolean | null;
  /** This session now holds the agent's push lock. */
  locked: boolean;
}

// $1 ids already held here (never lock twice: session locks are re-entrant), $2 liveness window
// (ms), $3 how many locks to try. Agents not yet due only report when they will be. The rows of
// the agents locked come from the statement's snapshot, taken just before the locks: in a rare race
// it misses an ACK another replica committed a moment earlier, and the cost is one idempotent
// re-push, never a wrong state (pushes are fenced by registration time and carry the generation).
const CLAIM_SQL = `
  WITH cand AS MATERIALIZED (
    SELECT a.id::text AS id, a.name, a.url, a.push_token, a.location, a.acked_generation::text AS acked,
           a.registered_at::text AS registered_at, a.consecutive_failures AS failures,
           COALESCE(g.generation, 0)::text AS gen,
           (a.next_attempt_at IS NULL OR a.next_attempt_at <= now()) AS due,
           GREATEST(0, EXTRACT(EPOCH FROM (a.next_attempt_at - now())) * 1000)::float8 AS wait_ms
    FROM agents a LEFT JOIN location_generations g ON g.location = a.location
    WHERE ${agentIsLive("a", "$2")}
      AND a.acked_generation < COALESCE(g.generation, 0)
      AND NOT (a.id = ANY($1::uuid[]))
  ), ranked AS MATERIALIZED (
    SELECT cand.*, CASE WHEN due THEN row_number() OVER (PARTITION BY due ORDER BY acked::bigint, id) END AS rn FROM cand
  )
  SELECT *, rn > $3::int AS deferred,
         CASE WHEN rn <= $3::int THEN pg_try_advisory_lock(${PUSH_LOCK_KEY("id")}) ELSE false END AS locked
  FROM ranked`;

export interface AgentEpoch {
  id: string;
  /** registered_at exactly as Postgres printed it (timestamptz::text, full precision). */
  registeredAt: string;
  location: string;
}

/** A batch of ACKs as columns: one entry per agent, and one outcome per (agent, load balancer). */
export interface AckColumns {
  /** `full`: the push carried the whole state, so outcomes of load balancers it did not name go. */
  agents: Array<{ agent: AgentEpoch; generation: bigint; full: boolean; lastError: string | null }>;
  outcomes: Array<{ agentId: string; loadBalancerUid: string; state: "Applied" | "Refused"; detail: string | null }>;
}

export interface AckRecord {
  /** Agent ids whose row was written (not re-registered or deleted meanwhile). */
  updated: Set<string>;
  /** Lowest acknowledged generation among the live agents of each location, before these ACKs. */
  minBefore: Map<string, bigint>;
}

export interface FailureToRecord {
  agent: AgentEpoch;
  error: string;
  retryInMs: number;
}

export interface Released {
  id: string;
  /** The agent is live and behind its location's newest generation (more work for a pusher). */
  behind: boolean;
  location: string | null;
  /** Lowest acknowledged generation among the location's live agents, now. */
  locationMin: bigint | null;
}

// Data-modifying CTEs are atomic together, and every read in the statement sees the rows as they
// were before it: `before` is the location's state without these ACKs. Outcomes naming a load
// balancer deleted since the snapshot are skipped. A delta's ACK touches only the rows of the load
// balancers it carried: a refusal stays recorded (with its generation) until that load balancer
// changes again or a full push says otherwise.
const RECORD_ACKS_SQL = `WITH input AS (
   SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::text[], $10::boolean[]) AS i(id, registered_at, gen, last_error, full_state)
 ), locked AS MATERIALIZED (
   -- Row locks in id order, as the batched heartbeat takes them: two statements updating many agents
   -- in different orders deadlock (seen with 1,000 agents), and the loser's connection drops.
   SELECT a.id FROM agents a JOIN input i ON i.id = a.id ORDER BY a.id FOR UPDATE OF a
 ), outs AS (
   SELECT * FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[]) AS o(agent_id, lb, state, detail)
 ), before AS (
   SELECT a.location, min(a.acked_generation)::text AS min_acked FROM agents a
   WHERE a.location IN (SELECT b.location FROM agents b JOIN input i ON i.id = b.id)
     AND ${agentIsLive("a", "$9")}
   GROUP BY a.location
 ), upd AS (
   UPDATE agents a SET acked_generation = i.gen, desired_generation = i.gen, last_push_at = now(),
     consecutive_failures = 0, next_attempt_at = NULL, last_error = i.last_error
   FROM input i JOIN locked l ON l.id = i.id
   WHERE a.id = i.id AND a.registered_at = i.registered_at
   RETURNING a.id, i.gen, i.full_state
 ), gone AS (
   DELETE FROM agent_load_balancer_statuses s USING upd
   WHERE s.agent_id = upd.id AND upd.full_state
     AND NOT EXISTS (SELECT 1 FROM outs o WHERE o.agent_id = upd.id AND o.lb = s.load_balancer_id)
 ), written AS (
   INSERT INTO agent_load_balancer_statuses (agent_id, load_balancer_id, generation, state, detail, updated_at)
   SELECT upd.id, o.lb, upd.gen, o.state, o.detail, now()
   FROM upd JOIN outs o ON o.agent_id = upd.id
   WHERE EXISTS (SELECT 1 FROM load_balancers l WHERE l.id = o.lb)
   ON CONFLICT (agent_id, load_balancer_id) DO UPDATE SET
     generation = EXCLUDED.generation, state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now()
 )
 SELECT (SELECT array_agg(id::text) FROM upd) AS updated, (SELECT json_agg(before) FROM before) AS before`;

const RECORD_FAILURES_SQL = `WITH i AS (
   SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[]) AS i(id, registered_at, error, wait_ms)
 ), locked AS MATERIALIZED (
   SELECT a.id FROM agents a JOIN i ON i.id = a.id ORDER BY a.id FOR UPDATE OF a -- id order, as the heartbeat locks
 )
 UPDATE agents a SET consecutive_failures = a.consecutive_failures + 1, last_error = i.error,
   next_attempt_at = now() + (i.wait_ms * interval '1 millisecond'), last_push_at = now()
 FROM i JOIN locked l ON l.id = i.id
 WHERE a.id = i.id AND a.registered_at = i.registered_at`;

// The lowest acknowledged generation is computed once per location the batch touches: as a
// subquery per released agent it read every agent of the location for each one (at 1,000 agents, a
// batch of 60 read 60,000 rows and took 50–80 ms, the pace-setter of a change's fan-out). The
// unlocks run in a materialised CTE that the result reads in full, so each runs exactly once.
const RELEASE_SQL = `WITH released AS MATERIALIZED (
   SELECT u.id, pg_advisory_unlock(${PUSH_LOCK_KEY("u.id::text")}) AS unlocked FROM unnest($1::uuid[]) AS u(id)
 ), agent_rows AS MATERIALIZED (
   SELECT r.id, a.location,
          (${agentIsLive("a", "$2")} AND a.acked_generation < COALESCE(g.generation, 0)) AS behind
   FROM released r
   LEFT JOIN agents a ON a.id = r.id
   LEFT JOIN location_generations g ON g.location = a.location
 ), mins AS (
   SELECT o.location, min(o.acked_generation)::text AS loc_min FROM agents o
   WHERE o.location IN (SELECT location FROM agent_rows) AND ${agentIsLive("o", "$2")}
   GROUP BY o.location
 )
 SELECT r.id::text AS id, r.location, r.behind, m.loc_min FROM agent_rows r LEFT JOIN mins m ON m.location = r.location`;

export class PushLockSession {
  private session?: pg.PoolClient;
  private connecting?: Promise<pg.PoolClient>;
  private current = 0;
  private closed = false;

  /** `onLost` hears of every session that ended by failure (not of close()). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly onLost: (err: Error) => void,
  ) {}

  /** Moves on each time a session ends: locks claimed in an older epoch are gone. */
  get epoch(): number {
    return this.current;
  }

  /** Tries the push locks of up to `limit` due agents that are behind (not those in `held`). */
  async claim(epoch: number, held: string[], livenessMs: number, limit: number): Promise<ClaimRow[]> {
    const { rows } = await this.onSession(epoch, (conn) =>
      conn.query<ClaimRow>({ name: "lbplane-claim", text: CLAIM_SQL, values: [held, livenessMs, Math.max(0, limit)] }),
    );
    return rows;
  }

  /**
   * Records ACKs (one statement, one transaction, so settling an operation never sees a generation
   * acknowledged without the refusals that came with it) and failures (backoff until the next
   * attempt, one statement). Undefined when there were no ACKs.
   */
  async record(epoch: number, acks: AckColumns | undefined, failures: FailureToRecord[], livenessMs: number): Promise<AckRecord | undefined> {
    return this.onSession(epoch, async (conn) => {
      const r = acks && acks.agents.length > 0 ? await recordAcks(conn, acks, livenessMs) : undefined;
      if (failures.length > 0) await recordFailures(conn, failures);
      return r;
    });
  }

  /**
   * Releases the push locks of these agents and reports, from a snapshot taken after every record
   * committed, who still needs work and where each location stands.
   */
  async release(epoch: number, ids: string[], livenessMs: number): Promise<Released[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.onSession(epoch, (conn) =>
      conn.query<{ id: string; behind: boolean | null; location: string | null; loc_min: string | null }>({
        name: "lbplane-release-locks",
        text: RELEASE_SQL,
        values: [ids, livenessMs],
      }),
    );
    return rows.map((r) => ({ id: r.id, behind: r.behind === true, location: r.location, locationMin: r.loc_min === null ? null : BigInt(r.loc_min) }));
  }

  /** Ends the session: destroying the connection releases every lock it still holds. */
  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    const conn = this.session;
    this.session = undefined;
    conn?.release(true);
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.session) return this.session;
    this.connecting ??= this.pool.connect().then(
      (conn) => {
        this.connecting = undefined;
        if (this.closed) {
          conn.release(true);
          throw new Error("stopped");
        }
        const epoch = this.current;
        conn.on("error", (err) => this.drop(epoch, err));
        this.session = conn;
        return conn;
      },
      (err) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  /** Runs a statement on the session of `epoch`; any failure ends that session. */
  private async onSession<T>(epoch: number, run: (conn: pg.PoolClient) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    if (epoch !== this.current) throw new Error("the lock session was reset");
    try {
      return await run(conn);
    } catch (err) {
      this.drop(epoch, err as Error);
      throw err;
    }
  }

  private drop(epoch: number, err: Error): void {
    if (epoch !== this.current) return;
    const conn = this.session;
    this.session = undefined;
    this.current++;
    conn?.release(true); // destroyed, never reused: that ends the session and its locks
    this.onLost(err);
  }
}

async function recordAcks(conn: pg.ClientBase, acks: AckColumns, livenessMs: number): Promise<AckRecord> {
  const { agents, outcomes } = acks;
  const { rows } = await conn.query<{ updated: string[] | null; before: Array<{ location: string; min_acked: string }> | null }>({
    name: "lbplane-record-acks",
    text: RECORD_ACKS_SQL,
    values: [
      agents.map((a) => a.agent.id),
      agents.map((a) => a.agent.registeredAt),
      agents.map((a) => a.generation.toString()),
      agents.map((a) => a.lastError),
      outcomes.map((o) => o.agentId),
      outcomes.map((o) => o.loadBalancerUid),
      outcomes.map((o) => o.state),
      outcomes.map((o) => o.detail),
      livenessMs,
      agents.map((a) => a.full),
    ],
  });
  return {
    updated: new Set(rows[0]?.updated ?? []),
    minBefore: new Map((rows[0]?.before ?? []).map((b) => [b.location, BigInt(b.min_acked)])),
  };
}

async function recordFailures(conn: pg.ClientBase, failures: FailureToRecord[]): Promise<void> {
  await conn.query(RECORD_FAILURES_SQL, [
    failures.map((f) => f.agent.id),
    failures.map((f) => f.agent.registeredAt),
    failures.map((f) => f.error.replace(/\u0000/g, " ").slice(0, 1000)),
    failures.map((f) => Math.round(f.retryInMs)),
  ]);
}
