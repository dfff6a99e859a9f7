// The document of a large load balancer as its last write committed it, kept per database pool so
// the next write of it need not have PostgreSQL build and send the document again: at Azure's
// Standard limits that is 2.8 MB and 0.3–0.4 s of the database on a 2-core host, a third of a
// one-rule change. The database decides whether the copy is current: the write's read returns the
// document only when the stored (id, etag) differs from the copy's — every write draws a new etag,
// whichever replica makes it; operation settlement changes only the provisioning state and the
// generation, which the read returns beside the document. Kept as JSON text: each write parses its
// own copy (the write path may change the objects it gets), and the text's length is its cost.
// Small load balancers are not kept: building their document costs the database about a millisecond.

import type pg from "pg";
import type { PublicIpView } from "../domain/model.js";
import type { AddressRow, ChildRows } from "./load-balancer-rows.js";
import type { Row } from "./load-balancers.store.js";
import { TextLru } from "./text-lru.js";

/** Child rows from which a load balancer's document is worth keeping. */
export const KEEP_FROM_CHILD_ROWS = 1_000;
/** Text kept per pool at most (a Standard-limits load balancer is ~2.5 MB); least recently used goes first. */
const MAX_CHARS = 32 * 2 ** 20;

export interface KeptDocument {
  uid: string;
  etag: string;
  text: string;
}

/** Kept documents by documentKey. */
export type WrittenDocuments = TextLru<KeptDocument>;

const perPool = new WeakMap<pg.Pool, WrittenDocuments>();

export function writtenDocumentsOf(pool: pg.Pool): WrittenDocuments {
  let docs = perPool.get(pool);
  if (!docs) perPool.set(pool, (docs = new TextLru<KeptDocument>(MAX_CHARS, (d) => d.text.length)));
  return docs;
}

/** The key of a load balancer by name, as a write addresses it. */
export const documentKey = (subscriptionId: string, resourceGroup: string, name: string) =>
  `${subscriptionId.toLowerCase()}|${resourceGroup.toLowerCase()}|${name.toLowerCase()}`;

/** The load balancer's own columns as a write sets them. */
export interface LoadBalancerHead {
  uid: string;
  resourceGroupId: string;
  subscriptionId: string;
  name: string;
  location: string;
  tags: unknown;
  etag: string;
  skuName: string;
  skuTier: string;
}

/** What a write committed, for the document it leaves. */
export interface CommittedWrite extends LoadBalancerHead {
  resourceGroupName: string;
  provisioningState: string;
  generation: bigint;
  /** Every child row as written (kept rows carry their stored ids). */
  children: ChildRows;
  /** The public IPs the frontends reference, keyed by the lower-cased reference id. */
  publicIps: Map<string, PublicIpView>;
}

export function childRowCount(children: ChildRows): number {
  return Object.values(children).reduce((n, rows: unknown[]) => n + rows.length, 0);
}

/** The document the database would build for the write (LOAD_BALANCER_DOC_SQL), as JSON text. */
export function documentOfWrite(w: CommittedWrite): string {
  const addresses = new Map<string, AddressRow[]>();
  for (const a of w.children.backendAddresses) {
    const list = addresses.get(a.pool_id);
    if (list) list.push(a);
    else addresses.set(a.pool_id, [a]);
  }
  const row: Omit<Row, "frontendIPConfigurations" | "backendAddressPools"> & Pick<Row, "frontendIPConfigurations" | "backendAddressPools"> = {
    id: w.uid, resource_group_id: w.resourceGroupId, rg_name: w.resourceGroupName, subscription_id: w.subscriptionId,
    name: w.name, location: w.location.toLowerCase(), tags: w.tags, etag: w.etag, sku_name: w.skuName, sku_tier: w.skuTier,
    provisioning_state: w.provisioningState, generation: String(w.generation),
    frontendIPConfigurations: w.children.frontendIPConfigurations.map((f) => ({ ...f, public_ip: publicIpOf(f.properties, w.publicIps) })),
    backendAddressPools: w.children.backendAddressPools.map((p) => ({ ...p, addresses: addresses.get(p.id) ?? [] })),
    loadBalancingRules: w.children.loadBalancingRules,
    probes: w.children.probes,
    inboundNatRules: w.children.inboundNatRules,
    outboundRules: w.children.outboundRules,
  };
  return JSON.stringify(row);
}

const PUBLIC_IP_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/publicIPAddresses\/([^/]+)$/i;

function publicIpOf(properties: unknown, publicIps: Map<string, PublicIpView>): Row["frontendIPConfigurations"][number]["public_ip"] {
  const ref = (properties as { publicIPAddress?: { id?: string } } | undefined)?.publicIPAddress?.id;
  const view = ref ? publicIps.get(ref.toLowerCase()) : undefined;
  const parts = view && PUBLIC_IP_ID.exec(view.id);
  if (!view || !parts) return null;
  return { subscription_id: parts[1], rg_name: parts[2], name: parts[3], ip_address: view.ipAddress ?? null, sku_name: view.skuName };
}
