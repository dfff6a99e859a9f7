// When a load balancer write is done (design.md §4.3): its operation succeeds once every LIVE agent
// of its location acknowledged a generation containing the write, fails with an agent's detail when
// a live agent refused that load balancer at or after the write, and can never stay in progress
// longer than the liveness window — stale agents stop holding it, and a live agent that has not
// acknowledged by then fails it with a timeout naming the agent (Octavia's stuck PENDING_UPDATE is
// what this rules out).

import { normalizeLocation } from "../domain/ids.js";
import type { Operation } from "../store/generated/client.js";
import type { Db } from "../store/prisma.js";

export interface SettleOptions {
  livenessMs: number;
}

interface AgentSnapshot {
  id: string;
  name: string;
  acked: bigint;
  lastError: string | null;
}

/** The live agents of a location and the database clock, read once per settle pass. */
interface LocationSnapshot {
  now: number;
  live: AgentSnapshot[];
}

async function snapshotLocation(db: Db, location: string, livenessMs: number): Promise<LocationSnapshot> {
  const rows = await db.$queryRaw<
    Array<{ now: Date; id: string | null; name: string | null; acked: bigint | null; last_error: string | null }>
  >`
    SELECT now() AS now, a.id::text AS id, a.name, a.acked_generation AS acked, a.last_error
    FROM (SELECT 1) one
    LEFT JOIN agents a ON a.location = ${location}
      AND a.last_heartbeat_at > now() - (${livenessMs}::int * interval '1 millisecond')`;
  return {
    now: rows[0].now.getTime(),
    live: rows
      .filter((r) => r.id !== null)
      .map((r) => ({ id: r.id!, name: r.name!, acked: r.acked!, lastError: r.last_error })),
  };
}

interface Verdict {
  status: "Succeeded" | "Failed";
  error?: { code: string; message: string; details: Array<{ code: string; message: string }> };
}

async function judge(db: Db, op: Operation, snap: LocationSnapshot, opts: SettleOptions): Promise<Verdict | undefined> {
  // A write that bumped no generation has nothing for agents to acknowledge.
  if (op.generation <= 0n || snap.live.length === 0) return { status: "Succeeded" };
  if (op.loadBalancerId) {
    const refusals = await db.agentLoadBalancerStatus.findMany({
      where: {
        loadBalancerId: op.loadBalancerId,
        state: "Refused",
        generation: { gte: op.generation },
        agentId: { in: snap.live.map((a) => a.id) },
      },
      include: { agent: { select: { name: true } } },
      orderBy: { updatedAt: "asc" },
    });
    if (refusals.length > 0) {
      const details = refusals.map((r) => ({
        code: "AgentRefusedConfiguration",
        message: `Agent '${r.agent.name}' refused load balancer ${op.resourceId}: ${r.detail ?? "no detail"}`,
      }));
      return { status: "Failed", error: { ...details[0], details } };
    }
  }
  const behind = snap.live.filter((a) => a.acked < op.generation);
  if (behind.length === 0) return { status: "Succeeded" };
  if (snap.now - op.startTime.getTime() >= opts.livenessMs) {
    const details = behind.map((a) => ({
      code: "AgentConfigurationTimeout",
      message:
        `Agent '${a.name}' did not acknowledge generation ${op.generation} within ${opts.livenessMs} ms` +
        ` (acknowledged ${a.acked}${a.lastError ? `; last error: ${a.lastError}` : ""}).`,
    }));
    return { status: "Failed", error: { ...details[0], details } };
  }
  return undefined;
}

/**
 * The terminal status and the load balancer's provisioningState in one statement, so nobody reads a
 * finished operation next to a load balancer still "Updating". Only the newest write owns
 * provisioningState: an older operation finishing late must not overwrite a newer write's state.
 */
async function persist(db: Db, op: Operation, verdict: Verdict): Promise<Operation> {
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

export async function settleOperation(db: Db, op: Operation, opts: SettleOptions): Promise<Operation> {
  if (op.status !== "InProgress") return op;
  const snap = await snapshotLocation(db, normalizeLocation(op.location), opts.livenessMs);
  const verdict = await judge(db, op, snap, opts);
  return verdict ? persist(db, op, verdict) : op;
}

/** Settles every in-progress operation (of one location, or all); returns how many finished. */
export async function settleAll(db: Db, opts: SettleOptions & { location?: string }): Promise<number> {
  const ops = await db.operation.findMany({
    where: { status: "InProgress", ...(opts.location ? { location: normalizeLocation(opts.location) } : {}) },
    orderBy: { startTime: "asc" },
    take: 1000,
  });
  const snapshots = new Map<string, LocationSnapshot>();
  let finished = 0;
  for (const op of ops) {
    const location = normalizeLocation(op.location);
    let snap = snapshots.get(location);
    if (!snap) {
      snap = await snapshotLocation(db, location, opts.livenessMs);
      snapshots.set(location, snap);
    }
    const verdict = await judge(db, op, snap, opts);
    if (verdict) {
      await persist(db, op, verdict);
      finished++;
    }
  }
  return finished;
}
