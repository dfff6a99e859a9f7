// Resource group rows: the container every other resource lives in. Each function is one step of a
// use case (src/services/resource-groups.service.ts) and takes the use case's transaction handle;
// none decides anything: a missing row is null, and what is refused is the service's call.

import { afterKey, KEYSET_ORDER, type Page, type PageRequest, pageOfRows, take } from "./paging.js";
import type { ResourceGroup } from "./generated/client.js";
import type { Tx } from "./prisma.js";
import { isUuid } from "../domain/ids.js";

export type { ResourceGroup };
/** Kept here too: most store modules import the transaction handle from this file. */
export type { Tx };

/** What a PUT or PATCH writes; undefined members are left as they are. */
export interface ResourceGroupData {
  location?: string;
  tags?: Record<string, string>;
  managedBy?: string | null;
}

/** A load balancer elsewhere using one of a group's public IPs (it blocks the group's deletion). */
export interface ForeignPublicIpUser {
  publicIpName: string | undefined;
  frontendName: string;
  loadBalancerName: string;
  loadBalancerResourceGroup: string;
  /** Lower-cased: who may read the user's name (another tenant's must not be shown). */
  loadBalancerSubscriptionId: string;
}

export function findResourceGroup(db: Tx, subscriptionId: string, name: string): Promise<ResourceGroup | null> {
  return db.resourceGroup.findUnique({
    where: { subscriptionId_nameKey: { subscriptionId: subscriptionId.toLowerCase(), nameKey: name.toLowerCase() } },
  });
}

export async function listResourceGroups(db: Tx, subscriptionId: string, page: PageRequest): Promise<Page<ResourceGroup>> {
  const rows = await db.resourceGroup.findMany({
    where: { subscriptionId: subscriptionId.toLowerCase(), ...afterKey(page.after) },
    orderBy: KEYSET_ORDER,
    take: take(page),
  });
  return pageOfRows(rows, page.limit);
}

/** Inserts the row; a concurrent creator of the same name makes this throw a unique violation. */
export function createResourceGroupRow(
  tx: Tx,
  subscriptionId: string,
  name: string,
  data: Required<ResourceGroupData>,
): Promise<ResourceGroup> {
  return tx.resourceGroup.create({
    data: { ...data, subscriptionId: subscriptionId.toLowerCase(), name, nameKey: name.toLowerCase() },
  });
}

export function updateResourceGroupRow(tx: Tx, id: string, data: ResourceGroupData): Promise<ResourceGroup> {
  const defined = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
  return tx.resourceGroup.update({ where: { id }, data: defined });
}

/**
 * Locks the group row for its deletion. Take it before reading the group's load balancers: a load
 * balancer write in the group (it holds the row FOR KEY SHARE) commits first and is then seen,
 * deleted and its location bumped; writes that come later find no group. Taken later, the two
 * deadlock or lose the new load balancer's bump.
 */
export async function lockResourceGroup(tx: Tx, id: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM resource_groups WHERE id = ${id}::uuid FOR UPDATE`;
}

/** Frontends of load balancers in other groups that use a public IP of this group. */
export async function findForeignPublicIpUsers(tx: Tx, resourceGroupId: string): Promise<ForeignPublicIpUser[]> {
  const rows = await tx.frontendIpConfiguration.findMany({
    where: { publicIpAddress: { resourceGroupId }, loadBalancer: { resourceGroupId: { not: resourceGroupId } } },
    include: { publicIpAddress: true, loadBalancer: { include: { resourceGroup: true } } },
  });
  return rows.map((fe) => ({
    publicIpName: fe.publicIpAddress?.name,
    frontendName: fe.name,
    loadBalancerName: fe.loadBalancer.name,
    loadBalancerResourceGroup: fe.loadBalancer.resourceGroup.name,
    loadBalancerSubscriptionId: fe.loadBalancer.subscriptionId.toLowerCase(),
  }));
}

/**
 * Deletes the group with its load balancers and (by FK cascade) its public IPs; returns the
 * locations of the deleted load balancers, as stored. A public IP still used by a frontend of
 * another group makes this throw a foreign-key violation (see isPublicIpInUseViolation).
 */
export async function deleteResourceGroupWithContents(tx: Tx, id: string): Promise<string[]> {
  const lbs = await tx.loadBalancer.findMany({ where: { resourceGroupId: id }, select: { location: true } });
  await tx.loadBalancer.deleteMany({ where: { resourceGroupId: id } });
  await tx.resourceGroup.delete({ where: { id } });
  return lbs.map((lb) => lb.location);
}

/** A resource-group operation of this subscription (for operationresults polling), or null. */
export function findResourceGroupOperation(db: Tx, subscriptionId: string, id: string) {
  if (!isUuid(id)) return Promise.resolve(null);
  return db.operation.findFirst({
    where: { id, subscriptionId: subscriptionId.toLowerCase(), kind: { startsWith: "Microsoft.Resources/" } },
  });
}
