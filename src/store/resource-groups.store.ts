// Resource groups: the container every other resource lives in. Deleting one deletes what it
// contains, as ARM does, in one transaction.

import type { Db } from "./prisma.js";
import type { ResourceGroup } from "./generated/client.js";
import { Errors, type ArmErrorDetail } from "../errors.js";
import { bumpGeneration } from "./generations.store.js";
import { requireResourceGroup } from "../services/resource-groups.service.js";
import { createOperation } from "./operations.store.js";
import { isUuid, normalizeLocation } from "../domain/ids.js";
import { isUniqueViolation, pgErrorCode } from "./pg-errors.js";

const FOREIGN_KEY_VIOLATION = "23503";

export type { ResourceGroup };
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0] | Db;

export function findResourceGroup(db: Tx, subscriptionId: string, name: string): Promise<ResourceGroup | null> {
  return db.resourceGroup.findUnique({
    where: { subscriptionId_nameKey: { subscriptionId: subscriptionId.toLowerCase(), nameKey: name.toLowerCase() } },
  });
}


export const RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups";

export function resourceGroupId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
}

export interface ResourceGroupWrite {
  /** Normalised location ("East US" → "eastus"). */
  location: string;
  tags: Record<string, string>;
  managedBy?: string;
}

/** Creates or updates a resource group; a group cannot move to another location (as in ARM). */
export async function putResourceGroup(
  db: Db,
  subscriptionId: string,
  name: string,
  write: ResourceGroupWrite,
): Promise<{ row: ResourceGroup; created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const existing = await findResourceGroup(tx, subscriptionId, name);
        const data = { location: write.location, tags: write.tags, managedBy: write.managedBy ?? null };
        if (!existing) {
          const row = await tx.resourceGroup.create({
            data: { ...data, subscriptionId: subscriptionId.toLowerCase(), name, nameKey: name.toLowerCase() },
          });
          return { row, created: true };
        }
        if (existing.location !== write.location) {
          throw Errors.invalidResourceGroupLocation(write.location, existing.location);
        }
        return { row: await tx.resourceGroup.update({ where: { id: existing.id }, data }), created: false };
      });
    } catch (err) {
      // Two concurrent creators: the loser retries and becomes an update.
      if (!isUniqueViolation(err) || attempt >= 1) throw err;
    }
  }
}

/** PATCH: only tags and managedBy change; tags replace the whole set. */
export async function patchResourceGroup(
  db: Db,
  subscriptionId: string,
  name: string,
  patch: { tags?: Record<string, string>; managedBy?: string },
): Promise<ResourceGroup> {
  return db.$transaction(async (tx) => {
    const rg = await requireResourceGroup(tx, subscriptionId, name);
    return tx.resourceGroup.update({
      where: { id: rg.id },
      data: {
        ...(patch.tags !== undefined ? { tags: patch.tags } : {}),
        ...(patch.managedBy !== undefined ? { managedBy: patch.managedBy } : {}),
      },
    });
  });
}

export function listResourceGroups(db: Tx, subscriptionId: string): Promise<ResourceGroup[]> {
  return db.resourceGroup.findMany({ where: { subscriptionId: subscriptionId.toLowerCase() }, orderBy: { nameKey: "asc" } });
}

const deletionBlocked = (rg: string, details: ArmErrorDetail[]) => Errors.resourceGroupDeletionBlocked(rg, details);

/**
 * Deletes a resource group and everything in it (load balancers, then public IPs) in one
 * transaction, recording a completed operation for the Location header. Returns the operation id
 * and the locations whose agents must drop the deleted load balancers (notify after commit).
 */
export async function deleteResourceGroup(
  db: Db,
  subscriptionId: string,
  name: string,
): Promise<{ operationId: string; changedLocations: string[] }> {
  try {
    return await db.$transaction(async (tx) => {
      const rg = await requireResourceGroup(tx, subscriptionId, name);
      // Before reading its load balancers: a load balancer write in the group (it holds the row FOR
      // KEY SHARE) commits first and is then seen, deleted and its location bumped; writes that
      // come later find no group. Taken later, the two deadlock or lose the new load balancer's bump.
      await tx.$queryRaw`SELECT 1 FROM resource_groups WHERE id = ${rg.id}::uuid FOR UPDATE`;
      const foreignUsers = await tx.frontendIpConfiguration.findMany({
        where: { publicIpAddress: { resourceGroupId: rg.id }, loadBalancer: { resourceGroupId: { not: rg.id } } },
        include: { publicIpAddress: true, loadBalancer: { include: { resourceGroup: true } } },
      });
      if (foreignUsers.length) {
        throw deletionBlocked(
          rg.name,
          foreignUsers.map((fe) => ({
            code: "PublicIPAddressCannotBeDeleted",
            message:
              `Public IP address ${fe.publicIpAddress?.name} is still allocated to frontend ${fe.name} of load balancer ` +
              `${fe.loadBalancer.name} in resource group ${fe.loadBalancer.resourceGroup.name}.`,
          })),
        );
      }
      const lbs = await tx.loadBalancer.findMany({ where: { resourceGroupId: rg.id }, select: { location: true } });
      await tx.loadBalancer.deleteMany({ where: { resourceGroupId: rg.id } });
      // Public IPs go with the group (FK cascade) now that no frontend of this group references them.
      await tx.resourceGroup.delete({ where: { id: rg.id } });
      const changedLocations = [...new Set(lbs.map((lb) => normalizeLocation(lb.location)))];
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
    if (pgErrorCode(err) === FOREIGN_KEY_VIOLATION) throw deletionBlocked(name, []);
    throw err;
  }
}

/** A resource-group operation of this subscription (for operationresults polling), or null. */
export function findResourceGroupOperation(db: Tx, subscriptionId: string, id: string) {
  if (!isUuid(id)) return Promise.resolve(null);
  return db.operation.findFirst({
    where: { id, subscriptionId: subscriptionId.toLowerCase(), kind: { startsWith: "Microsoft.Resources/" } },
  });
}
