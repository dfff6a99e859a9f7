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
  persistVerdicts,
  snapshotLocation,
  type LocationSnapshot,
  type OperationVerdict,
  type Refusal,
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

/** `refusals`: those of the operation's load balancer by the snapshot's live agents (any generation). */
function judge(op: Operation, snap: LocationSnapshot, refusals: Refusal[], opts: SettleOptions): Verdict | undefined {
  // A write that bumped no generation has nothing for agents to acknowledge.
  if (op.generation <= 0n || snap.live.length === 0) return { status: "Succeeded" };
  const refused = refusals.filter((r) => r.generation >= op.generation);
  if (refused.length > 0) {
    return failedWith(refused.map((r) => OperationErrors.agentRefusedConfiguration(r.agentName, op.resourceId, r.detail)));
  }
  const behind = snap.live.filter((a) => a.acked < op.generation);
  if (behind.length === 0) return { status: "Succeeded" };
  if (snap.now - op.startTime.getTime() >= opts.livenessMs) {
    return failedWith(behind.map((a) => OperationErrors.agentConfigurationTimeout(a.name, op.resourceId, op.generation, opts.livenessMs, a.acked)));
  }
  return undefined;
}

/** The refusals each operation's load balancer met, by the snapshot's live agents: one read for them all. */
async function refusalsOf(db: ServiceDeps["db"], ops: Operation[], snap: LocationSnapshot): Promise<Map<string, Refusal[]>> {
  const judged = ops.filter((op) => op.loadBalancerId && op.generation > 0n);
  if (judged.length === 0 || snap.live.length === 0) return new Map();
  const since = judged.reduce((min, op) => (op.generation < min ? op.generation : min), judged[0].generation);
  return findRefusals(db, [...new Set(judged.map((op) => op.loadBalancerId!))], since, snap.live.map((a) => a.id));
}

export async function settleOperation(db: ServiceDeps["db"], op: Operation, opts: SettleOptions): Promise<Operation> {
  if (op.status !== "InProgress") return op;
  const snap = await snapshotLocation(db, normalizeLocation(op.location), opts.livenessMs);
  const refusals = await refusalsOf(db, [op], snap);
  const verdict = judge(op, snap, (op.loadBalancerId && refusals.get(op.loadBalancerId)) || [], opts);
  return verdict ? persistVerdict(db, op, verdict) : op;
}

/** Settles every in-progress operation (of one location, or all); returns how many finished. */
export async function settleAll(db: ServiceDeps["db"], opts: SettleOptions & { location?: string }): Promise<number> {
  const ops = await listInProgressOperations(db, opts.location ? normalizeLocation(opts.location) : undefined);
  const byLocation = new Map<string, Operation[]>();
  for (const op of ops) {
    const location = normalizeLocation(op.location);
    const list = byLocation.get(location);
    if (list) list.push(op);
    else byLocation.set(location, [op]);
  }
  // Per location: a snapshot, the refusals of all its operations, the verdicts: three statements.
  let finished = 0;
  for (const [location, inLocation] of byLocation) {
    const snap = await snapshotLocation(db, location, opts.livenessMs);
    const refusals = await refusalsOf(db, inLocation, snap);
    const verdicts: OperationVerdict[] = [];
    for (const op of inLocation) {
      const verdict = judge(op, snap, (op.loadBalancerId && refusals.get(op.loadBalancerId)) || [], opts);
      if (verdict) verdicts.push({ operationId: op.id, ...verdict });
    }
    await persistVerdicts(db, verdicts);
    finished += verdicts.length;
  }
  return finished;
}

/** An operation of the subscription, settled if it can be (404 NotFound when there is none). */
export async function getOperation(deps: Pick<ServiceDeps, "db" | "config">, subscriptionId: string, operationId: string): Promise<Operation> {
  const op = await findOperation(deps.db, subscriptionId, operationId);
  if (!op) throw Errors.operationNotFound(operationId);
  return settleOperation(deps.db, op, { livenessMs: deps.config.agentLivenessMs });
}
