// Renders a stored load balancer (and its children) in Azure's wire shape: id, name, type, etag,
// everything else under properties, read-only back-references and provisioningState filled.

import { withBackReferences } from "../domain/backrefs.js";
import { CHILD_COLLECTION_NAMES, childResourceType, type ChildCollection } from "../domain/collections.js";
import { childId } from "../domain/ids.js";
import type { StoredLoadBalancer } from "../store/load-balancers.store.js";

type Child = { name: string; id?: string; zones?: string[]; properties: Record<string, unknown> };

export function renderChild(lb: StoredLoadBalancer, collection: ChildCollection, child: Child) {
  return {
    name: child.name,
    id: childId(lb.id, collection, child.name),
    etag: lb.etag,
    type: childResourceType(collection),
    properties: { ...child.properties, provisioningState: lb.provisioningState },
    ...(child.zones ? { zones: child.zones } : {}),
  };
}

/** The children of one collection, with back-references filled. */
export function renderChildren(lb: StoredLoadBalancer, collection: ChildCollection, spec = withBackReferences(lb.spec)) {
  const items = (spec.properties[collection] ?? []) as Child[];
  return items.map((c) => renderChild(lb, collection, c));
}

export function renderLoadBalancer(lb: StoredLoadBalancer) {
  const properties: Record<string, unknown> = { provisioningState: lb.provisioningState, resourceGuid: lb.uid };
  // Back-references are derived once for every collection (the spec is cloned to hold them).
  const spec = withBackReferences(lb.spec);
  for (const collection of CHILD_COLLECTION_NAMES) properties[collection] = renderChildren(lb, collection, spec);
  properties.inboundNatPools = [];
  return {
    id: lb.id,
    name: lb.address.name,
    type: "Microsoft.Network/loadBalancers",
    location: lb.location,
    tags: lb.spec.tags ?? {},
    etag: lb.etag,
    sku: { name: lb.spec.sku?.name ?? "Standard", tier: lb.spec.sku?.tier ?? "Regional" },
    properties,
  };
}
