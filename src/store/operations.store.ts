// Asynchronous operations: every load balancer write records one, so ARM clients can poll its
// Azure-AsyncOperation / Location URL. With no live agent in the location there is nothing to wait
// for and the operation is born Succeeded; otherwise src/agents settles it from agent acknowledgements.
// How an operation row is born is written once (insertOperationSql): createOperation runs it alone,
// the load balancer PUT embeds it in its one head statement.

import { randomUUID } from "node:crypto";
import type { Operation } from "./generated/client.js";
import type { Tx } from "./resource-groups.store.js";
import { agentIsLive } from "./fragments.js";
import { isUuid } from "../domain/ids.js";

export type { Operation };

/** SQL expressions for the columns of a new operation row. */
export interface OperationValues {
  id: string;
  subscriptionId: string;
  location: string;
  resourceId: string;
  loadBalancerId: string;
  kind: string;
  generation: string;
  /** Boolean expression: true when no agent must confirm (the operation is born Succeeded). */
  done: string;
}

/** INSERT ... SELECT of one operation row from `v` (SQL expressions), optionally FROM `from`; no RETURNING. */
export function insertOperationSql(v: OperationValues, from?: string): string {
  return `INSERT INTO operations (id, subscription_id, location, resource_id, load_balancer_id, kind, status, generation, start_time, end_time)
        SELECT ${v.id}, ${v.subscriptionId}, ${v.location}, ${v.resourceId}, ${v.loadBalancerId}, ${v.kind},
               CASE WHEN ${v.done} THEN 'Succeeded' ELSE 'InProgress' END, ${v.generation},
               now(), CASE WHEN ${v.done} THEN now() ELSE NULL END${from ? `\n        FROM ${from}` : ""}`;
}

const CREATE_OPERATION = `${insertOperationSql({
  id: "$1::uuid", subscriptionId: "$2", location: "$3", resourceId: "$4", loadBalancerId: "$5::uuid", kind: "$6",
  generation: "$7::bigint", done: "$8::boolean",
})}
      RETURNING id::text, subscription_id AS "subscriptionId", location, resource_id AS "resourceId",
                load_balancer_id::text AS "loadBalancerId", kind, status, generation, error,
                start_time AS "startTime", end_time AS "endTime"`;

const LIVE_AGENTS = `SELECT count(*)::bigint AS n FROM agents a WHERE a.location = $1 AND ${agentIsLive("a", "$2")}`;

export async function countLiveAgents(tx: Tx, location: string, livenessMs: number): Promise<number> {
  const rows = await tx.$queryRawUnsafe<Array<{ n: bigint }>>(LIVE_AGENTS, location.toLowerCase(), livenessMs);
  return Number(rows[0]?.n ?? 0);
}

export async function createOperation(
  tx: Tx,
  op: {
    subscriptionId: string;
    location: string;
    resourceId: string;
    loadBalancerId?: string;
    /** "Put" / "Delete" for load balancers, ARM's operation name for other resources. */
    kind: "Put" | "Delete" | "Microsoft.Resources/resourceGroups/delete";
    /** The location generation the write was stamped with; 0 when it changed nothing agents serve. */
    generation?: bigint;
    done: boolean;
  },
): Promise<Operation> {
  const rows = await tx.$queryRawUnsafe<Operation[]>(
    CREATE_OPERATION,
    randomUUID(), op.subscriptionId.toLowerCase(), op.location.toLowerCase(), op.resourceId, op.loadBalancerId ?? null, op.kind,
    (op.generation ?? 0n).toString(), op.done,
  );
  return rows[0];
}

export function findOperation(tx: Tx, subscriptionId: string, id: string): Promise<Operation | null> {
  if (!isUuid(id)) return Promise.resolve(null);
  return tx.operation.findFirst({ where: { id, subscriptionId: subscriptionId.toLowerCase() } });
}

// Finished operations whose end is older than the retention, a bounded batch at a time so one pass
// never holds a long lock or a huge transaction; in-progress operations (no end yet) are never
// touched. The index on end_time keeps the search cheap however many recent rows there are.
const PRUNE_FINISHED = `
  DELETE FROM operations WHERE id IN (
    SELECT id FROM operations
    WHERE end_time < now() - make_interval(hours => $1::int) AND status IN ('Succeeded', 'Failed')
    ORDER BY end_time
    LIMIT $2::int)`;

/** Deletes up to `batch` operations that finished more than `retentionHours` ago; returns how many. */
export function pruneFinishedOperations(tx: Tx, retentionHours: number, batch = 1000): Promise<number> {
  return tx.$executeRawUnsafe(PRUNE_FINISHED, retentionHours, batch);
}
