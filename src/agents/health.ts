// Probe health from agents: intake of their reports and the aggregate lbplane serves.
//
// Aggregation rule (also in the README): for one (load balancer, probe, DIP), only reports from
// LIVE agents of the load balancer's location count, one vote per agent. Up when a strict majority
// of those reporters say Up, Down when a strict majority say Down, otherwise Unknown — a tie, or no
// live reporter at all. A stale agent's last word never decides health: it may be the one that is
// partitioned from the backends.

import type { HealthReport } from "../domain/agent-protocol.js";
import { loadBalancerId } from "../domain/ids.js";
import type { Db } from "../store/prisma.js";

export type AggregateHealth = "Up" | "Down" | "Unknown";

export interface HealthVerdict {
  state: AggregateHealth;
  reason: string;
  up: number;
  down: number;
}

export function aggregate(votes: Array<{ state: string; reason: string | null }>): HealthVerdict {
  const up = votes.filter((v) => v.state === "Up");
  const down = votes.filter((v) => v.state === "Down");
  const total = votes.length;
  if (total > 0 && up.length * 2 > total) {
    return { state: "Up", reason: up.find((v) => v.reason)?.reason ?? "Probe succeeded", up: up.length, down: down.length };
  }
  if (total > 0 && down.length * 2 > total) {
    return { state: "Down", reason: down.find((v) => v.reason)?.reason ?? "Probe failed", up: up.length, down: down.length };
  }
  const reason = total === 0 ? "No live agent has reported this probe target" : `Agents disagree (${up.length} up, ${down.length} down)`;
  return { state: "Unknown", reason, up: up.length, down: down.length };
}

const key = (probe: string, backend: string) => `${probe.toLowerCase()}\u0000${backend}`;

/** Aggregated health of every reported (probe, DIP) of one load balancer. */
export async function healthVerdicts(
  db: Db,
  loadBalancerUid: string,
  location: string,
  livenessMs: number,
): Promise<(probe: string, backendAddress: string) => HealthVerdict> {
  const rows = await db.$queryRaw<Array<{ probe_name: string; backend_address: string; state: string; reason: string | null }>>`
    SELECT h.probe_name, h.backend_address, h.state, h.reason
    FROM probe_health h JOIN agents a ON a.id = h.agent_id
    WHERE h.load_balancer_id = ${loadBalancerUid}::uuid
      AND a.location = ${location.toLowerCase()}
      AND a.last_heartbeat_at > now() - (${livenessMs}::int * interval '1 millisecond')`;
  const votes = new Map<string, Array<{ state: string; reason: string | null }>>();
  for (const r of rows) {
    const k = key(r.probe_name, r.backend_address);
    const list = votes.get(k) ?? [];
    list.push({ state: r.state, reason: r.reason });
    votes.set(k, list);
  }
  return (probe, backend) => aggregate(votes.get(key(probe, backend)) ?? []);
}

/** The contract the effective-mappings route uses: Up / Down / Unknown per (probe, DIP). */
export async function healthLookup(
  db: Db,
  loadBalancerUid: string,
  location: string,
  livenessMs: number,
): Promise<(probe: string, backendAddress: string) => AggregateHealth> {
  const verdict = await healthVerdicts(db, loadBalancerUid, location, livenessMs);
  return (probe, backend) => verdict(probe, backend).state;
}

export interface IntakeResult {
  accepted: number;
  ignored: number;
}

/**
 * Stores an agent's report. Items naming a load balancer outside the agent's location, an unknown
 * load balancer or an unknown probe are ignored one by one (an agent only ever writes its own
 * health rows; nothing here touches a load balancer). A full report also forgets targets the agent
 * no longer probes.
 */
export async function storeHealthReport(db: Db, agent: { id: string; location: string }, report: HealthReport): Promise<IntakeResult> {
  const lbs = await db.loadBalancer.findMany({
    where: { location: agent.location },
    select: { id: true, name: true, subscriptionId: true, resourceGroup: { select: { name: true } }, probes: { select: { nameKey: true } } },
  });
  const known = new Map<string, { uid: string; probes: Set<string> }>();
  for (const lb of lbs) {
    const armId = loadBalancerId({ subscriptionId: lb.subscriptionId, resourceGroup: lb.resourceGroup.name, name: lb.name });
    known.set(armId.toLowerCase(), { uid: lb.id, probes: new Set(lb.probes.map((p) => p.nameKey)) });
  }
  const now = Date.now();
  const latest = new Map<string, { lb: string; probe: string; backend: string; state: string; reason: string | null; since: Date }>();
  let ignored = 0;
  for (const r of report.reports) {
    const lb = known.get(r.loadBalancerId.toLowerCase());
    if (!lb || !lb.probes.has(r.probe.toLowerCase())) {
      ignored++;
      continue;
    }
    const parsed = Date.parse(r.since);
    // A transition time from the future (clock skew) is clamped to now.
    const since = new Date(Number.isFinite(parsed) ? Math.min(parsed, now) : now);
    // Duplicates in one report: the last one wins, as if sent in order.
    latest.set(`${lb.uid}\u0000${key(r.probe, r.backendAddress)}`, {
      lb: lb.uid,
      probe: r.probe.toLowerCase(),
      backend: r.backendAddress,
      state: r.state,
      reason: r.reason?.replace(/[\u0000-\u001f]/g, " ") ?? null,
      since,
    });
  }
  const items = [...latest.values()];
  await db.$transaction(async (tx) => {
    if (report.full) {
      await tx.$executeRaw`
        DELETE FROM probe_health h WHERE h.agent_id = ${agent.id}::uuid
          AND NOT EXISTS (
            SELECT 1 FROM unnest(${items.map((i) => i.lb)}::uuid[], ${items.map((i) => i.probe)}::text[], ${items.map((i) => i.backend)}::text[])
              AS k(lb, probe, backend)
            WHERE k.lb = h.load_balancer_id AND k.probe = h.probe_name AND k.backend = h.backend_address)`;
    }
    if (items.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO probe_health (agent_id, load_balancer_id, probe_name, backend_address, state, reason, changed_at, reported_at)
      SELECT ${agent.id}::uuid, u.lb, u.probe, u.backend, u.state, u.reason, u.since, now()
      FROM unnest(${items.map((i) => i.lb)}::uuid[], ${items.map((i) => i.probe)}::text[], ${items.map((i) => i.backend)}::text[],
                  ${items.map((i) => i.state)}::text[], ${items.map((i) => i.reason)}::text[], ${items.map((i) => i.since)}::timestamptz[])
        AS u(lb, probe, backend, state, reason, since)
      ON CONFLICT (agent_id, load_balancer_id, probe_name, backend_address) DO UPDATE SET
        state = EXCLUDED.state, reason = EXCLUDED.reason, reported_at = now(),
        -- a periodic summary repeats the state; only a real transition moves changed_at
        changed_at = CASE WHEN probe_health.state = EXCLUDED.state THEN probe_health.changed_at ELSE EXCLUDED.changed_at END`;
  });
  return { accepted: items.length, ignored };
}
