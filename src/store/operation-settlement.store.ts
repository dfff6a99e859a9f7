// What settling an operation reads and writes: the live agents of a location with the database
// clock (one snapshot per settle pass), the refusals of a load balancer by those agents, and the
// verdict — written with the load balancer's provisioningState in one statement. The verdict itself
// is decided by src/services/operations.service.ts.

import { agentIsLive } from "./fragments.js";
import type { Operation } from "./generated/client.js";
import type { Db } from "./prisma.js";

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

/** Refusals of the load balancer at or after `generation` by these agents, oldest first. */
export async function findRefusals(
  db: Db,
  loadBalancerId: string,
  generation: bigint,
  agentIds: string[],
): Promise<Array<{ agentName: string; detail: string | null }>> {
  const rows = await db.agentLoadBalancerStatus.findMany({
    where: { loadBalancerId, state: "Refused", generation: { gte: generation }, agentId: { in: agentIds } },
    include: { agent: { select: { name: true } } },
    orderBy: { updatedAt: "asc" },
  });
  return rows.map((r) => ({ agentName: r.agent.name, detail: r.detail }));
}

/** In-progress operations (of one location, or all), oldest first, at most 1000. */
export function listInProgressOperations(db: Db, location?: string): Promise<Operation[]> {
  return db.operation.findMany({
    where: { status: "InProgress", ...(location ? { location } : {}) },
    orderBy: { startTime: "asc" },
    take: 1000,
  });
}

/**
 * The terminal status and the load balancer's provisioningState in one statement, so nobody reads a
 * finished operation next to a load balancer still "Updating". Only the newest write owns
 * provisioningState: an older operation finishing late must not overwrite a newer write's state.
 * Returns the operation as it now stands.
 */
export async function persistVerdict(
  db: Db,
  op: Operation,
  verdict: { status: "Succeeded" | "Failed"; error?: object },
): Promise<Operation> {
  const error = verdict.error ? JSON.stringify(verdict.error) : null;
  await db.$executeRaw`
    WITH done AS (
      UPDATE operations SET status = ${verdict.status}, end_time = now(), error = ${error}::jsonb
      WHERE id = ${op.id}::uuid AND status = 'InProgress'
      RETURNING load_balancer_id, generation
    )
    UPDATE load_balancers l SET provisioning_state = ${verdict.status}
    FROM done WHERE l.id = done.load_balancer_id AND l.generation = done.generation`;
  return (await db.operation.findUnique({ where: { id: op.id } })) ?? op;
}
