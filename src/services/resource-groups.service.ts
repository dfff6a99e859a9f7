// Resource group use cases. Every other resource lives in a group, so "the group must exist" is
// decided here once, for every use case that needs it. The rules, as in ARM: a group never moves
// to another location; deleting one deletes what it contains (load balancers, public IPs) in one
// transaction, unless a load balancer of another group still uses one of its public IPs.

import { Errors, type ArmErrorDetail } from "../errors.js";
import { normalizeLocation, resourceGroupId } from "../domain/ids.js";
import { bumpGeneration } from "../store/generations.store.js";
import { createOperation, type Operation } from "../store/operations.store.js";
import { isUniqueViolation } from "../store/pg-errors.js";
import { inTransaction } from "../store/prisma.js";
import { isPublicIpInUseViolation } from "../store/public-ips.store.js";
import {
  createResourceGroupRow, deleteResourceGroupWithContents, findForeignPublicIpUsers, findResourceGroup,
  findResourceGroupOperation, lockResourceGroup, updateResourceGroupRow, type ForeignPublicIpUser, type ResourceGroup,
  type Tx,
} from "../store/resource-groups.store.js";
import { canReach, HIDDEN_LOAD_BALANCER, type CallerScope } from "./caller-scope.js";
import type { ServiceDeps } from "./deps.js";

export interface ResourceGroupKey {
  subscriptionId: string;
  name: string;
}

export interface ResourceGroupPut {
  /** As sent: "East US" is stored as "eastus". */
  location: string;
  tags: Record<string, string>;
  managedBy?: string;
}

/** The resource group, or 404 ResourceGroupNotFound. */
export async function requireResourceGroup(db: Tx, subscriptionId: string, name: string): Promise<ResourceGroup> {
  const rg = await findResourceGroup(db, subscriptionId, name);
  if (!rg) throw Errors.resourceGroupNotFound(name);
  return rg;
}

/** Creates or updates a resource group; a group cannot move to another location. */
export async function putResourceGroup(
  deps: Pick<ServiceDeps, "db">,
  key: ResourceGroupKey,
  put: ResourceGroupPut,
): Promise<{ row: ResourceGroup; created: boolean }> {
  const data = { location: normalizeLocation(put.location), tags: put.tags, managedBy: put.managedBy ?? null };
  for (let attempt = 0; ; attempt++) {
    try {
      return await inTransaction(deps.db, async (tx) => {
        const existing = await findResourceGroup(tx, key.subscriptionId, key.name);
        if (!existing) return { row: await createResourceGroupRow(tx, key.subscriptionId, key.name, data), created: true };
        if (existing.location !== data.location) throw Errors.invalidResourceGroupLocation(data.location, existing.location);
        return { row: await updateResourceGroupRow(tx, existing.id, data), created: false };
      });
    } catch (err) {
      // Two concurrent creators: the loser retries and becomes an update.
      if (!isUniqueViolation(err) || attempt >= 1) throw err;
    }
  }
}

/** PATCH: only tags and managedBy change; tags replace the whole set. */
export async function patchResourceGroup(
  deps: Pick<ServiceDeps, "db">,
  key: ResourceGroupKey,
  patch: { tags?: Record<string, string>; managedBy?: string },
): Promise<ResourceGroup> {
  return inTransaction(deps.db, async (tx) => {
    const rg = await requireResourceGroup(tx, key.subscriptionId, key.name);
    return updateResourceGroupRow(tx, rg.id, { tags: patch.tags, managedBy: patch.managedBy });
  });
}

/**
 * Deletes a resource group and everything in it in one transaction, recording a completed
 * operation for the Location header, then tells the agents of every location that lost a load
 * balancer. Returns the operation id.
 */
export async function deleteResourceGroup(
  deps: Pick<ServiceDeps, "db" | "notifyChange">,
  key: ResourceGroupKey,
  caller: CallerScope,
): Promise<{ operationId: string }> {
  let deleted: { operationId: string; changedLocations: string[] };
  try {
    deleted = await inTransaction(deps.db, async (tx) => {
      const rg = await requireResourceGroup(tx, key.subscriptionId, key.name);
      await lockResourceGroup(tx, rg.id);
      const foreignUsers = await findForeignPublicIpUsers(tx, rg.id);
      if (foreignUsers.length) throw Errors.resourceGroupDeletionBlocked(rg.name, foreignUsers.map((u) => blockingDetail(u, caller)));
      const lbLocations = await deleteResourceGroupWithContents(tx, rg.id);
      const changedLocations = [...new Set(lbLocations.map(normalizeLocation))];
      for (const location of changedLocations) await bumpGeneration(tx, location);
      const op = await createOperation(tx, {
        subscriptionId: rg.subscriptionId,
        location: rg.location,
        resourceId: resourceGroupId(rg.subscriptionId, rg.name),
        kind: "Microsoft.Resources/resourceGroups/delete",
        done: true,
      });
      return { operationId: op.id, changedLocations };
    });
  } catch (err) {
    // A load balancer elsewhere attached one of the group's public IPs after our check.
    if (isPublicIpInUseViolation(err)) throw Errors.resourceGroupDeletionBlocked(key.name, []);
    throw err;
  }
  for (const location of deleted.changedLocations) deps.notifyChange?.(location);
  return { operationId: deleted.operationId };
}

/** One blocking user, named only when the caller may read its subscription. */
function blockingDetail(user: ForeignPublicIpUser, caller: CallerScope): ArmErrorDetail {
  const holder = canReach(caller, user.loadBalancerSubscriptionId)
    ? `frontend ${user.frontendName} of load balancer ${user.loadBalancerName} in resource group ${user.loadBalancerResourceGroup}`
    : HIDDEN_LOAD_BALANCER;
  return {
    code: Errors.publicIpCannotBeDeleted.code,
    message: `Public IP address ${user.publicIpName} is still allocated to ${holder}.`,
  };
}

/** A resource-group operation of the subscription, or 404 OperationNotFound. */
export async function requireResourceGroupOperation(
  deps: Pick<ServiceDeps, "db">,
  subscriptionId: string,
  operationId: string,
): Promise<Operation> {
  const op = await findResourceGroupOperation(deps.db, subscriptionId, operationId);
  if (!op) throw Errors.resourceGroupOperationNotFound(operationId);
  return op;
}
