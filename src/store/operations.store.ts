// Asynchronous operations: every load balancer write records one, so ARM clients can poll its
// Azure-AsyncOperation / Location URL. With no live agent in the location there is nothing to wait
// for and the operation is born Succeeded; otherwise src/agents settles it from agent acknowledgements.

import type { Operation } from "./generated/client.js";
import type { Tx } from "./resource-groups.store.js";
import { isUuid } from "../domain/ids.js";

export type { Operation };

export async function countLiveAgents(tx: Tx, location: string, livenessMs: number): Promise<number> {
  const rows = await tx.$queryRaw<Array<{ n: bigint }>>`
    SELECT count(*)::bigint AS n FROM agents
    WHERE location = ${location.toLowerCase()}
      AND last_heartbeat_at > now() - make_interval(secs => ${livenessMs / 1000}::double precision)`;
  return Number(rows[0]?.n ?? 0);
}

export function createOperation(
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
  return tx.operation.create({
    data: {
      subscriptionId: op.subscriptionId.toLowerCase(),
      location: op.location.toLowerCase(),
      resourceId: op.resourceId,
      loadBalancerId: op.loadBalancerId,
      kind: op.kind,
      generation: op.generation ?? 0n,
      status: op.done ? "Succeeded" : "InProgress",
      endTime: op.done ? new Date() : null,
    },
  });
}

export function findOperation(tx: Tx, subscriptionId: string, id: string): Promise<Operation | null> {
  if (!isUuid(id)) return Promise.resolve(null);
  return tx.operation.findFirst({ where: { id, subscriptionId: subscriptionId.toLowerCase() } });
}
