// What settling operations reads and writes: the live agents of a location with the database clock
// (one snapshot per settle pass), the refusals of the operations' load balancers by those agents,
// and the verdicts — written with the load balancers' provisioningState. A pass costs the same few
// statements however many operations it settles: per operation, four round trips in a row made the
// settling of a location being filled fall behind its writes (a backlog of hundreds of operations,
// still being settled while the next changes were pushed — bench/location-size.ts). The verdicts
// themselves are decided by src/services/operations.service.ts.

import { agentIsLive } from "./fragments.js";
import type { Operation } from "./generated/client.js";
import { poolOf, type Db } from "./prisma.js";

export interface LiveAgentSnapshot {
  id: string;
  name: string;
  acked: bigint;
}

/** The live agents of a location and the database clock, read once per settle pass. */
export interface LocationSnapshot {
  now: number;
  live: LiveAgentSnapshot[];
}

const SNAPSHOT_SQL = `
  SELECT now() AS now, a.id::text AS id, a.name, a.acked_generation AS acked
  FROM (SELECT 1) one
  LEFT JOIN agents a ON a.location = $1 AND ${agentIsLive("a", "$2")}`;

export async function snapshotLocation(db: Db, location: string, livenessMs: number): Promise<LocationSnapshot> {
  const rows = await db.$queryRawUnsafe<
    Array<{ now: Date; id: string | null; name: string | null; acked: bigint | null }>
  >(SNAPSHOT_SQL, location, livenessMs);
  return {
    now: rows[0].now.getTime(),
    live: rows
      .filter((r) => r.id !== null)
      .map((r) => ({ id: r.id!, name: r.name!, acked: r.acked! })),
  };
}

export interface Refusal {
  agentName: string;
  detail: string | null;
  /** The generation the agent refused the load balancer at. */
  generation: bigint;
}

// One probe of the (load_balancer_id, state) index per load balancer: refusals are rare.
const REFUSALS_SQL = `
  SELECT s.load_balancer_id::text AS lb, a.name AS agent_name, s.detail, s.generation::text AS generation
  FROM agent_load_balancer_statuses s JOIN agents a ON a.id = s.agent_id
  WHERE s.load_balancer_id = ANY($1::uuid[]) AND s.state = 'Refused' AND s.generation >= $2::bigint
    AND s.agent_id = ANY($3::uuid[])
  ORDER BY s.updated_at`;

/**
 * Refusals of these load balancers at or after `since` by these agents, oldest first, per load
 * balancer id (one statement for every operation of a pass).
 */
export async function findRefusals(db: Db, loadBalancerIds: string[], since: bigint, agentIds: string[]): Promise<Map<string, Refusal[]>> {
  const byLb = new Map<string, Refusal[]>();
  if (loadBalancerIds.length === 0 || agentIds.length === 0) return byLb;
  const { rows } = await poolOf(db).query<{ lb: string; agent_name: string; detail: string | null; generation: string }>({
    name: "lbplane-settle-refusals",
    text: REFUSALS_SQL,
    values: [loadBalancerIds, since.toString(), agentIds],
  });
  for (const r of rows) {
    const list = byLb.get(r.lb) ?? [];
    list.push({ agentName: r.agent_name, detail: r.detail, generation: BigInt(r.generation) });
    byLb.set(r.lb, list);
  }
  return byLb;
}

/** In-progress operations (of one location, or all), oldest first, at most 1000. */
export function listInProgressOperations(db: Db, location?: string): Promise<Operation[]> {
  return db.operation.findMany({
    where: { status: "InProgress", ...(location ? { location } : {}) },
    orderBy: { startTime: "asc" },
    take: 1000,
  });
}

export interface OperationVerdict {
  operationId: string;
  status: "Succeeded" | "Failed";
  error?: object;
}

// Terminal statuses and the load balancers' provisioningState in one statement, so nobody reads a
// finished operation next to a load balancer still "Updating". Only the newest write owns
// provisioningState: an older operation finishing late must not overwrite a newer write's state.
const PERSIST_VERDICTS_SQL = `
  WITH v AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, status, error)),
  done AS (
    UPDATE operations o SET status = v.status, end_time = now(), error = v.error::jsonb
    FROM v WHERE o.id = v.id AND o.status = 'InProgress'
    RETURNING o.load_balancer_id, o.generation, v.status
  )
  UPDATE load_balancers l SET provisioning_state = done.status
  FROM done WHERE l.id = done.load_balancer_id AND l.generation = done.generation`;

/** Writes these verdicts (operations already finished are left as they are). */
export async function persistVerdicts(db: Db, verdicts: OperationVerdict[]): Promise<void> {
  if (verdicts.length === 0) return;
  await poolOf(db).query({
    name: "lbplane-settle-verdicts",
    text: PERSIST_VERDICTS_SQL,
    values: [verdicts.map((v) => v.operationId), verdicts.map((v) => v.status), verdicts.map((v) => (v.error ? JSON.stringify(v.error) : null))],
  });
}

/** Writes one verdict and returns the operation as it now stands. */
export async function persistVerdict(db: Db, op: Operation, verdict: { status: "Succeeded" | "Failed"; error?: object }): Promise<Operation> {
  await persistVerdicts(db, [{ operationId: op.id, ...verdict }]);
  return (await db.operation.findUnique({ where: { id: op.id } })) ?? op;
}
