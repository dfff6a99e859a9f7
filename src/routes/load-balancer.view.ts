// Renders a stored load balancer (and its children) in Azure's wire shape: id, name, type, etag,
// everything else under properties, read-only back-references and provisioningState filled; and
// keeps GET answers already serialised, for as long as the database says they are current.

import { withBackReferences } from "../domain/backrefs.js";
import { CHILD_COLLECTION_NAMES, childResourceType, type ChildCollection } from "../domain/collections.js";
import { childId } from "../domain/ids.js";
import type { LoadBalancerVersion, StoredLoadBalancer } from "../store/load-balancers.store.js";
import { TextLru } from "../store/text-lru.js";

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

export interface Rendered {
  version: LoadBalancerVersion;
  /** The GET answer as serialised by the route's response schema (the newest api-version's shape). */
  body: string;
}

/**
 * Serialised GET answers of load balancers, each with the version it renders, least recently read
 * first. A read sends the version it holds and the database builds the load balancer's document
 * only when the stored one differs, so a hit skips the document, the parse, the projection and the
 * serialiser, yet is never stale: every answer is checked against the database, whichever replica
 * wrote. Bounded by characters (≈ bytes for JSON), not entries.
 */
export class RenderedLoadBalancers {
  // One answer may take a quarter of the room: a few Standard-limits load balancers (megabytes
  // each) must not push out thousands of small ones.
  private readonly entries: TextLru<Rendered>;

  /** `maxBytes`: LBPLANE_READ_CACHE_MB; a small load balancer's answer is ~5 KB. 0 keeps nothing. */
  constructor(maxBytes: number) {
    this.entries = new TextLru<Rendered>(maxBytes, (r) => r.body.length, 1 / 4);
  }

  /** What is held for `key`, now the most recently read. */
  get(key: string): Rendered | undefined {
    return this.entries.get(key);
  }

  put(key: string, version: LoadBalancerVersion, body: string): Rendered {
    const entry = { version, body };
    this.entries.set(key, entry);
    return entry;
  }

  drop(key: string): void {
    this.entries.delete(key);
  }

  /** Characters held (for tests and gauges). */
  get bytes(): number {
    return this.entries.size;
  }
}
