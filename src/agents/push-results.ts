// Recording what a push achieved. Both writes are fenced by the agent's registration time: a push
// that started before the agent re-registered (new instance, maybe empty) must not mark the new
// instance as having that generation.

import type { ConfigAck } from "../domain/agent-protocol.js";
import type pg from "pg";
import type { DesiredState } from "./desired-state.js";

export interface AgentEpoch {
  id: string;
  registeredAt: Date;
}

/**
 * The acknowledged generation and the per-load-balancer outcomes, in one transaction, so settling an
 * operation never sees the generation acknowledged without the refusals that came with it.
 * Returns the number of refused load balancers. Outcomes naming a load balancer that was not in
 * the push are ignored: nothing an agent sends can create or change a load balancer.
 */
export async function recordAck(
  conn: pg.PoolClient,
  agent: AgentEpoch,
  state: DesiredState,
  ack: ConfigAck,
  livenessMs: number,
): Promise<{ refused: number; othersBehind: number; unlocked: boolean }> {
  const outcomes = ack.loadBalancers.flatMap((o) => {
    const uid = state.uidByArmId.get(o.id.toLowerCase());
    return uid ? [{ uid, state: o.state, detail: o.state === "Refused" ? o.detail : null }] : [];
  });
  const refused = outcomes.filter((o) => o.state === "Refused");
  const lastError = refused.length
    ? `refused ${refused.length} load balancer(s) at generation ${state.generation}: ${refused[0].detail}`.slice(0, 1000)
    : null;
  // One statement (data-modifying CTEs are atomic together): a single round trip per ACK, which is
  // what keeps 100 agents converging within tens of milliseconds.
  const { rows } = await conn.query<{ updated: number; others_behind: number; unlocked: boolean }>(
    `WITH upd AS (
       UPDATE agents SET acked_generation = $3::bigint, desired_generation = $3::bigint, last_push_at = now(),
         consecutive_failures = 0, next_attempt_at = NULL, last_error = $4
       WHERE id = $1::uuid AND registered_at = $2
       RETURNING id, location
     ), gone AS (
       DELETE FROM agent_load_balancer_statuses s USING upd
       WHERE s.agent_id = upd.id AND NOT (s.load_balancer_id = ANY($5::uuid[]))
     ), outcomes AS (
       INSERT INTO agent_load_balancer_statuses (agent_id, load_balancer_id, generation, state, detail, updated_at)
       SELECT upd.id, u.lb, $3::bigint, u.state, u.detail, now()
       FROM upd, unnest($5::uuid[], $6::text[], $7::text[]) AS u(lb, state, detail)
       -- the load balancer may have been deleted since the snapshot; its row is simply skipped
       WHERE EXISTS (SELECT 1 FROM load_balancers l WHERE l.id = u.lb)
       ON CONFLICT (agent_id, load_balancer_id) DO UPDATE SET
         generation = EXCLUDED.generation, state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now()
     )
     SELECT (SELECT count(*) FROM upd)::int AS updated,
            -- the push lock is released here unless a newer generation is already waiting for this agent
            CASE WHEN COALESCE((SELECT g.generation FROM location_generations g JOIN upd ON g.location = upd.location), 0) > $3::bigint
                 THEN false
                 ELSE pg_advisory_unlock(hashtextextended('lbplane-push:' || $1, 0)) END AS unlocked,
            (SELECT count(*) FROM agents o JOIN upd ON o.location = upd.location
              WHERE o.id <> upd.id AND o.acked_generation < $3::bigint
                AND o.last_heartbeat_at > now() - ($8::int * interval '1 millisecond'))::int AS others_behind`,
    [
      agent.id,
      agent.registeredAt,
      state.generation.toString(),
      lastError,
      outcomes.map((o) => o.uid),
      outcomes.map((o) => o.state),
      outcomes.map((o) => o.detail),
      livenessMs,
    ],
  );
  const row = rows[0];
  if (!row) return { refused: 0, othersBehind: 0, unlocked: false };
  return { refused: row.updated === 0 ? 0 : refused.length, othersBehind: row.others_behind, unlocked: row.unlocked };
}

/** Records a failed push and releases the push lock, in one statement. */
export async function recordFailure(conn: pg.PoolClient, agent: AgentEpoch, error: string, retryInMs: number): Promise<void> {
  await conn.query(
    `WITH upd AS (
       UPDATE agents SET consecutive_failures = consecutive_failures + 1, last_error = $3,
         next_attempt_at = now() + ($4::int * interval '1 millisecond'), last_push_at = now()
       WHERE id = $1::uuid AND registered_at = $2
       RETURNING id
     )
     SELECT pg_advisory_unlock(hashtextextended('lbplane-push:' || $1, 0)) AS unlocked`,
    [agent.id, agent.registeredAt, error.replace(/\u0000/g, " ").slice(0, 1000), retryInMs],
  );
}
