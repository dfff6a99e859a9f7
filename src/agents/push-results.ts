// Recording what a push achieved. Both writes are fenced by the agent's registration time: a push
// that started before the agent re-registered (new instance, maybe empty) must not mark the new
// instance as having that generation.

import type { ConfigAck } from "../domain/agent-protocol.js";
import type { Db } from "../store/prisma.js";
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
export async function recordAck(db: Db, agent: AgentEpoch, state: DesiredState, ack: ConfigAck): Promise<number> {
  const outcomes = ack.loadBalancers.flatMap((o) => {
    const uid = state.uidByArmId.get(o.id.toLowerCase());
    return uid ? [{ uid, state: o.state, detail: o.state === "Refused" ? o.detail : null }] : [];
  });
  const refused = outcomes.filter((o) => o.state === "Refused");
  const lastError = refused.length
    ? `refused ${refused.length} load balancer(s) at generation ${state.generation}: ${refused[0].detail}`.slice(0, 1000)
    : null;
  return db.$transaction(async (tx) => {
    const updated = await tx.$executeRaw`
      UPDATE agents SET acked_generation = ${state.generation}, desired_generation = ${state.generation},
        last_push_at = now(), consecutive_failures = 0, next_attempt_at = NULL, last_error = ${lastError}
      WHERE id = ${agent.id}::uuid AND registered_at = ${agent.registeredAt}`;
    if (updated === 0) return 0;
    await tx.$executeRaw`
      DELETE FROM agent_load_balancer_statuses WHERE agent_id = ${agent.id}::uuid
        AND NOT (load_balancer_id = ANY(${outcomes.map((o) => o.uid)}::uuid[]))`;
    if (outcomes.length > 0) {
      await tx.$executeRaw`
        INSERT INTO agent_load_balancer_statuses (agent_id, load_balancer_id, generation, state, detail, updated_at)
        SELECT ${agent.id}::uuid, u.lb, ${state.generation}, u.state, u.detail, now()
        FROM unnest(${outcomes.map((o) => o.uid)}::uuid[], ${outcomes.map((o) => o.state)}::text[], ${outcomes.map((o) => o.detail)}::text[])
          AS u(lb, state, detail)
        -- the load balancer may have been deleted since the snapshot; its row is simply skipped
        WHERE EXISTS (SELECT 1 FROM load_balancers l WHERE l.id = u.lb)
        ON CONFLICT (agent_id, load_balancer_id) DO UPDATE SET
          generation = EXCLUDED.generation, state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now()`;
    }
    return refused.length;
  });
}

export async function recordFailure(db: Db, agent: AgentEpoch, error: string, retryInMs: number): Promise<void> {
  await db.$executeRaw`
    UPDATE agents SET consecutive_failures = consecutive_failures + 1, last_error = ${error.slice(0, 1000)},
      next_attempt_at = now() + (${retryInMs}::int * interval '1 millisecond'), last_push_at = now()
    WHERE id = ${agent.id}::uuid AND registered_at = ${agent.registeredAt}`;
}
