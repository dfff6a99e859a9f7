// Probe health rows: what each agent last reported per (load balancer, probe, DIP), and the votes
// that count — those of the LIVE agents of the load balancer's location (a stale agent's last word
// never decides health; src/domain/rule-health.ts has the majority rule).

import { agentIsLive } from "./fragments.js";
import type { Db } from "./prisma.js";

export interface HealthVote {
  probe: string;
  backendAddress: string;
  state: string;
  reason: string | null;
}

const LIVE_VOTES_SQL = `
  SELECT h.probe_name, h.backend_address, h.state, h.reason
  FROM probe_health h JOIN agents a ON a.id = h.agent_id
  WHERE h.load_balancer_id = $1::uuid
    AND a.location = $2
    AND ${agentIsLive("a", "$3")}`;

/** One vote per live agent of `location` and reported (probe, DIP) of the load balancer. */
export async function readLiveVotes(db: Db, loadBalancerUid: string, location: string, livenessMs: number): Promise<HealthVote[]> {
  const rows = await db.$queryRawUnsafe<Array<{ probe_name: string; backend_address: string; state: string; reason: string | null }>>(
    LIVE_VOTES_SQL,
    loadBalancerUid,
    location.toLowerCase(),
    livenessMs,
  );
  return rows.map((r) => ({ probe: r.probe_name, backendAddress: r.backend_address, state: r.state, reason: r.reason }));
}

export interface HealthRow {
  /** Load balancer uid. */
  lb: string;
  /** Lower-cased probe name. */
  probe: string;
  backend: string;
  state: string;
  reason: string | null;
  since: Date;
}

/**
 * Upserts an agent's health rows in one transaction; `full` also forgets the targets the agent no
 * longer reports. Only a real transition moves changed_at (a periodic summary repeats the state).
 */
export async function saveHealthRows(db: Db, agentId: string, items: HealthRow[], full: boolean): Promise<void> {
  await db.$transaction(async (tx) => {
    if (full) {
      await tx.$executeRaw`
        DELETE FROM probe_health h WHERE h.agent_id = ${agentId}::uuid
          AND NOT EXISTS (
            SELECT 1 FROM unnest(${items.map((i) => i.lb)}::uuid[], ${items.map((i) => i.probe)}::text[], ${items.map((i) => i.backend)}::text[])
              AS k(lb, probe, backend)
            WHERE k.lb = h.load_balancer_id AND k.probe = h.probe_name AND k.backend = h.backend_address)`;
    }
    if (items.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO probe_health (agent_id, load_balancer_id, probe_name, backend_address, state, reason, changed_at, reported_at)
      SELECT ${agentId}::uuid, u.lb, u.probe, u.backend, u.state, u.reason, u.since, now()
      FROM unnest(${items.map((i) => i.lb)}::uuid[], ${items.map((i) => i.probe)}::text[], ${items.map((i) => i.backend)}::text[],
                  ${items.map((i) => i.state)}::text[], ${items.map((i) => i.reason)}::text[], ${items.map((i) => i.since)}::timestamptz[])
        AS u(lb, probe, backend, state, reason, since)
      ON CONFLICT (agent_id, load_balancer_id, probe_name, backend_address) DO UPDATE SET
        state = EXCLUDED.state, reason = EXCLUDED.reason, reported_at = now(),
        changed_at = CASE WHEN probe_health.state = EXCLUDED.state THEN probe_health.changed_at ELSE EXCLUDED.changed_at END`;
  });
}
