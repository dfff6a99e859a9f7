// Recording what pushes achieved, many agents per statement. Every write is fenced by the agent's
// registration time: a push that started before the agent re-registered (new instance, maybe
// empty) must not mark the new instance as having that generation. The push locks are released by
// a separate statement AFTER the record committed, so a replica that takes a lock next always reads
// the recorded ACK (no redundant push of a generation already acknowledged). The hot statements are
// prepared (named) once per connection: planning them costs more than running them.

import type pg from "pg";
import type { ConfigAck } from "../domain/agent-protocol.js";
import type { DesiredState } from "./desired-state.js";

export interface AgentEpoch {
  id: string;
  /** registered_at exactly as Postgres printed it (timestamptz::text, full precision). */
  registeredAt: string;
  location: string;
}

export interface AckToRecord {
  agent: AgentEpoch;
  state: DesiredState;
  ack: ConfigAck;
}

export interface FailureToRecord {
  agent: AgentEpoch;
  error: string;
  retryInMs: number;
}

export interface AckRecord {
  /** Agent ids whose row was written (not re-registered or deleted meanwhile). */
  updated: Set<string>;
  /** Refused load balancers per agent id (only for updated agents). */
  refused: Map<string, number>;
  /** Lowest acknowledged generation among the live agents of each location, before these ACKs. */
  minBefore: Map<string, bigint>;
}

/** `pg_advisory_unlock` key of an agent's push lock; the same on every replica and version. */
export const PUSH_LOCK_KEY = (idSql: string) => `hashtextextended('lbplane-push:' || ${idSql}, 0)`;

/**
 * The acknowledged generations and per-load-balancer outcomes of a batch of ACKs, in one statement
 * (one transaction), so settling an operation never sees a generation acknowledged without the
 * refusals that came with it. Outcomes naming a load balancer that was not in the push are ignored:
 * nothing an agent sends can create or change a load balancer.
 */
export async function recordAcks(conn: pg.ClientBase, acks: AckToRecord[], livenessMs: number): Promise<AckRecord> {
  const ids: string[] = [];
  const registeredAt: string[] = [];
  const generations: string[] = [];
  const lastErrors: Array<string | null> = [];
  const outAgent: string[] = [];
  const outLb: string[] = [];
  const outState: string[] = [];
  const outDetail: Array<string | null> = [];
  const refusedBy = new Map<string, number>();
  for (const { agent, state, ack } of acks) {
    // One outcome per load balancer: an ACK naming one twice (untrusted input) must not make the
    // batch's upsert touch a row twice; a refusal wins over an "Applied" for the same id.
    const byUid = new Map<string, { state: "Applied" | "Refused"; detail: string | null }>();
    for (const o of ack.loadBalancers) {
      const uid = state.uidByArmId.get(o.id.toLowerCase());
      if (!uid) continue;
      const prev = byUid.get(uid);
      if (prev?.state === "Refused") continue;
      byUid.set(uid, { state: o.state, detail: o.state === "Refused" ? o.detail : null });
    }
    let refused = 0;
    let firstDetail: string | null = null;
    for (const [uid, o] of byUid) {
      outAgent.push(agent.id);
      outLb.push(uid);
      outState.push(o.state);
      outDetail.push(o.detail);
      if (o.state === "Refused") {
        refused++;
        firstDetail ??= o.detail;
      }
    }
    refusedBy.set(agent.id, refused);
    ids.push(agent.id);
    registeredAt.push(agent.registeredAt);
    generations.push(state.generation.toString());
    lastErrors.push(refused ? `refused ${refused} load balancer(s) at generation ${state.generation}: ${firstDetail}`.slice(0, 1000) : null);
  }
  // Data-modifying CTEs are atomic together, and every read in the statement sees the rows as they
  // were before it: `before` is the location's state without these ACKs.
  const { rows } = await conn.query<{ updated: string[] | null; before: Array<{ location: string; min_acked: string }> | null }>({
    name: "lbplane-record-acks",
    text: `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::text[]) AS i(id, registered_at, gen, last_error)
     ), outs AS (
       SELECT * FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[]) AS o(agent_id, lb, state, detail)
     ), before AS (
       SELECT a.location, min(a.acked_generation)::text AS min_acked FROM agents a
       WHERE a.location IN (SELECT b.location FROM agents b JOIN input i ON i.id = b.id)
         AND a.last_heartbeat_at > now() - ($9::int * interval '1 millisecond')
       GROUP BY a.location
     ), upd AS (
       UPDATE agents a SET acked_generation = i.gen, desired_generation = i.gen, last_push_at = now(),
         consecutive_failures = 0, next_attempt_at = NULL, last_error = i.last_error
       FROM input i
       WHERE a.id = i.id AND a.registered_at = i.registered_at
       RETURNING a.id, i.gen
     ), gone AS (
       DELETE FROM agent_load_balancer_statuses s USING upd
       WHERE s.agent_id = upd.id
         AND NOT EXISTS (SELECT 1 FROM outs o WHERE o.agent_id = upd.id AND o.lb = s.load_balancer_id)
     ), written AS (
       INSERT INTO agent_load_balancer_statuses (agent_id, load_balancer_id, generation, state, detail, updated_at)
       SELECT upd.id, o.lb, upd.gen, o.state, o.detail, now()
       FROM upd JOIN outs o ON o.agent_id = upd.id
       -- the load balancer may have been deleted since the snapshot; its row is simply skipped
       WHERE EXISTS (SELECT 1 FROM load_balancers l WHERE l.id = o.lb)
       ON CONFLICT (agent_id, load_balancer_id) DO UPDATE SET
         generation = EXCLUDED.generation, state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now()
     )
     SELECT (SELECT array_agg(id::text) FROM upd) AS updated, (SELECT json_agg(before) FROM before) AS before`,
    values: [ids, registeredAt, generations, lastErrors, outAgent, outLb, outState, outDetail, livenessMs],
  });
  const updated = new Set(rows[0]?.updated ?? []);
  const refused = new Map([...refusedBy].filter(([id]) => updated.has(id)));
  const minBefore = new Map((rows[0]?.before ?? []).map((b) => [b.location, BigInt(b.min_acked)]));
  return { updated, refused, minBefore };
}

/** Records a batch of failed pushes (backoff until the next attempt), in one statement. */
export async function recordFailures(conn: pg.ClientBase, failures: FailureToRecord[]): Promise<void> {
  await conn.query(
    `UPDATE agents a SET consecutive_failures = a.consecutive_failures + 1, last_error = i.error,
       next_attempt_at = now() + (i.wait_ms * interval '1 millisecond'), last_push_at = now()
     FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[]) AS i(id, registered_at, error, wait_ms)
     WHERE a.id = i.id AND a.registered_at = i.registered_at`,
    [
      failures.map((f) => f.agent.id),
      failures.map((f) => f.agent.registeredAt),
      failures.map((f) => f.error.replace(/\u0000/g, " ").slice(0, 1000)),
      failures.map((f) => Math.round(f.retryInMs)),
    ],
  );
}

export interface Released {
  id: string;
  /** The agent is live and behind its location's newest generation (more work for a pusher). */
  behind: boolean;
  location: string | null;
  /** Lowest acknowledged generation among the location's live agents, now. */
  locationMin: bigint | null;
}

/**
 * Releases the push locks of these agents (held by this session) and reports, from a snapshot
 * taken after every record above committed, who still needs work and where each location stands.
 */
export async function releaseLocks(conn: pg.ClientBase, ids: string[], livenessMs: number): Promise<Released[]> {
  if (ids.length === 0) return [];
  const { rows } = await conn.query<{ id: string; unlocked: boolean; behind: boolean | null; location: string | null; loc_min: string | null }>({
    name: "lbplane-release-locks",
    text: `SELECT u.id::text AS id, pg_advisory_unlock(${PUSH_LOCK_KEY("u.id::text")}) AS unlocked,
            a.location,
            (a.last_heartbeat_at > now() - ($2::int * interval '1 millisecond')
              AND a.acked_generation < COALESCE(g.generation, 0)) AS behind,
            (SELECT min(o.acked_generation) FROM agents o
              WHERE o.location = a.location AND o.last_heartbeat_at > now() - ($2::int * interval '1 millisecond'))::text AS loc_min
     FROM unnest($1::uuid[]) AS u(id)
     LEFT JOIN agents a ON a.id = u.id
     LEFT JOIN location_generations g ON g.location = a.location`,
    values: [ids, livenessMs],
  });
  return rows.map((r) => ({ id: r.id, behind: r.behind === true, location: r.location, locationMin: r.loc_min === null ? null : BigInt(r.loc_min) }));
}
