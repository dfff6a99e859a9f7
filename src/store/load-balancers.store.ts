// Reading load balancers back into the domain's shape, for the API and for agent compilation.

import { applyDefaults } from "../domain/defaults.js";
import { loadBalancerId, childId } from "../domain/ids.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { LOAD_BALANCER_INCLUDE, rowsToSpec, type LoadBalancerRow } from "./load-balancer-rows.js";
import type { Tx } from "./resource-groups.store.js";

export interface StoredLoadBalancer {
  /** Database id (uuid). */
  uid: string;
  /** ARM id. */
  id: string;
  address: LoadBalancerAddress;
  /** Defaults applied, child ids filled. */
  spec: LoadBalancerSpec;
  /** Public IPs its frontends reference, keyed by the lower-cased reference id. */
  publicIps: Map<string, PublicIpView>;
  location: string;
  etag: string;
  provisioningState: string;
  generation: bigint;
  resourceGroupId: string;
}

const INCLUDE = {
  ...LOAD_BALANCER_INCLUDE,
  frontendIpConfigurations: {
    orderBy: { ordinal: "asc" },
    include: { publicIpAddress: { include: { resourceGroup: true } } },
  },
} as const;

type Row = LoadBalancerRow & {
  id: string;
  name: string;
  subscriptionId: string;
  etag: string;
  provisioningState: string;
  generation: bigint;
  resourceGroupId: string;
  resourceGroup: { name: string };
  frontendIpConfigurations: Array<
    LoadBalancerRow["frontendIpConfigurations"][number] & {
      publicIpAddress: null | {
        name: string;
        subscriptionId: string;
        ipAddress: string | null;
        skuName: string;
        resourceGroup: { name: string };
      };
    }
  >;
};

export function publicIpArmId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/publicIPAddresses/${name}`;
}

function toStored(row: Row): StoredLoadBalancer {
  const address = { subscriptionId: row.subscriptionId, resourceGroup: row.resourceGroup.name, name: row.name };
  const id = loadBalancerId(address);
  const spec = applyDefaults(rowsToSpec(row), address);
  const publicIps = new Map<string, PublicIpView>();
  for (const fe of row.frontendIpConfigurations) {
    const pip = fe.publicIpAddress;
    const ref = (fe.properties as { publicIPAddress?: { id?: string } }).publicIPAddress?.id;
    if (!pip || !ref) continue;
    publicIps.set(ref.toLowerCase(), {
      id: publicIpArmId(pip.subscriptionId, pip.resourceGroup.name, pip.name),
      ipAddress: pip.ipAddress ?? undefined,
      skuName: pip.skuName,
      usedBy: childId(id, "frontendIPConfigurations", fe.name),
    });
  }
  return {
    uid: row.id,
    id,
    address,
    spec,
    publicIps,
    location: row.location,
    etag: row.etag,
    provisioningState: row.provisioningState,
    generation: row.generation,
    resourceGroupId: row.resourceGroupId,
  };
}

export async function findLoadBalancer(db: Tx, resourceGroupId: string, name: string): Promise<StoredLoadBalancer | undefined> {
  const row = await db.loadBalancer.findUnique({
    where: { resourceGroupId_nameKey: { resourceGroupId, nameKey: name.toLowerCase() } },
    include: INCLUDE,
  });
  return row ? toStored(row as unknown as Row) : undefined;
}

export async function listLoadBalancers(
  db: Tx,
  where: { subscriptionId: string; resourceGroupId?: string },
): Promise<StoredLoadBalancer[]> {
  const rows = await db.loadBalancer.findMany({
    where: { subscriptionId: where.subscriptionId.toLowerCase(), ...(where.resourceGroupId ? { resourceGroupId: where.resourceGroupId } : {}) },
    include: INCLUDE,
    orderBy: [{ nameKey: "asc" }],
  });
  return rows.map((r) => toStored(r as unknown as Row));
}

/** Every load balancer an agent of `location` must serve. */
export async function readLoadBalancersInLocation(db: Tx, location: string): Promise<StoredLoadBalancer[]> {
  const rows = await db.loadBalancer.findMany({
    where: { location: location.toLowerCase() },
    include: INCLUDE,
    orderBy: [{ id: "asc" }],
  });
  return rows.map((r) => toStored(r as unknown as Row));
}

export async function findLoadBalancerByUid(db: Tx, uid: string): Promise<StoredLoadBalancer | undefined> {
  const row = await db.loadBalancer.findUnique({ where: { id: uid }, include: INCLUDE });
  return row ? toStored(row as unknown as Row) : undefined;
}
