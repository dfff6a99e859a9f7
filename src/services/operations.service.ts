// When a load balancer write is done (design.md §4.3): its operation succeeds once every LIVE agent
// of its location acknowledged a generation containing the write, fails with an agent's detail when
// a live agent refused that load balancer at or after the write, and can never stay in progress
// longer than the liveness window — stale agents stop holding it, and a live agent that has not
// acknowledged by then fails it with a timeout naming the agent (Octavia's stuck PENDING_UPDATE is
// what this rules out). Settled when polled, and by the control loops for operations nobody polls.

import { normalizeLocation } from "../domain/ids.js";
import { Errors, OperationErrors, type ArmErrorDetail } from "../errors.js";
import {
  findRefusals,
  listInProgressOperations,
  persistVerdict,
  snapshotLocation,
  type LocationSnapshot,
} from "../store/operation-settlement.store.js";
import { findOperation, type Operation } from "../store/operations.store.js";
import type { ServiceDeps } from "./deps.js";

export interface SettleOptions {
  livenessMs: number;
}

interface Verdict {
  status: "Succeeded" | "Failed";
  error?: ArmErrorDetail & { details: ArmErrorDetail[] };
}

const failedWith = (details: ArmErrorDetail[]): Verdict => ({ status: "Failed", error: { ...details[0], details } });

async function judge(db: ServiceDeps["db"], op: Operation, snap: LocationSnapshot, opts: SettleOptions): Promise<Verdict | undefined> {
  // A write that bumped no generation has nothing for agents to acknowledge.
  if (op.generation <= 0n || snap.live.length === 0) return { status: "Succeeded" };
  if (op.loadBalancerId) {
    const refusals = await findRefusals(db, op.loadBalancerId, op.generation, snap.live.map((a) => a.id));
    if (refusals.length > 0) {
      return failedWith(refusals.map((r) => OperationErrors.agentRefusedConfiguration(r.agentName, op.resourceId, r.detail)));
    }
  }
  const behind = snap.live.filter((a) => a.acked < op.generation);
  if (behind.length === 0) return { status: "Succeeded" };
  if (snap.now - op.startTime.getTime() >= opts.livenessMs) {
    return failedWith(behind.map((a) => OperationErrors.agentConfigurationTimeout(a.name, op.resourceId, op.generation, opts.livenessMs, a.acked)));
  }
  return undefined;
}

export async function settleOperation(db: ServiceDeps["db"], op: Operation, opts: SettleOptions): Promise<Operation> {
  if (op.status !== "InProgress") return op;
  const snap = await snapshotLocation(db, normalizeLocation(op.location), opts.livenessMs);
  const verdict = await judge(db, op, snap, opts);
  return verdict ? persistVerdict(db, op, verdict) : op;
}

/** Settles every in-progress operation (of one location, or all); returns how many finished. */
export async function settleAll(db: ServiceDeps["db"], opts: SettleOptions & { location?: string }): Promise<number> {
  const ops = await listInProgressOperations(db, opts.location ? normalizeLocation(opts.location) : undefined);
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
      await persistVerdict(db, op, verdict);
      finished++;
    }
  }
  return finished;
}

/** An operation of the subscription, settled if it can be (404 NotFound when there is none). */
export async function getOperation(deps: Pick<ServiceDeps, "db" | "config">, subscriptionId: string, operationId: string): Promise<Operation> {
  const op = await findOperation(deps.db, subscriptionId, operationId);
  if (!op) throw Errors.operationNotFound(operationId);
  return settleOperation(deps.db, op, { livenessMs: deps.config.agentLivenessMs });
}
