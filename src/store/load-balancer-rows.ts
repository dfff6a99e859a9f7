// Translation between the domain's load balancer (Azure wire shape) and lbplane's normalized
// tables. Columns hold what lbplane queries and references; each row's `properties` keeps the full
// child properties as sent (defaults applied), so fields lbplane does not act on still round-trip.
// Rows use the tables' own column names: the same objects are read back with to_jsonb, compared
// for the child diff, and written with json_populate_recordset (one parameter, no per-row SQL).
// Per-collection data (row type, table, columns, read SQL, spec shape) sits in Records keyed by the
// collection table's names (src/domain/collections.ts), so a new collection is a compile error here
// until it has all of them.

import { randomUUID } from "node:crypto";
import { BACK_REFERENCES } from "../domain/backrefs.js";
import { CHILD_COLLECTION_NAMES, type ChildCollection } from "../domain/collections.js";
import type {
  BackendAddressPool,
  FrontendIPConfiguration,
  InboundNatRule,
  LoadBalancerSpec,
  LoadBalancingRule,
  OutboundRule,
  Probe,
  SkuName,
} from "../domain/model.js";

const key = (name: string) => name.toLowerCase();

/** Properties without the read-only members a client may have echoed back. */
function writable<T extends object>(props: T | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || READ_ONLY.has(k)) continue;
    out[k] = v;
  }
  return out;
}
const READ_ONLY = new Set<string>([
  "provisioningState",
  ...Object.values(BACK_REFERENCES).flat(),
  "inboundNatPools",
  "backendIPConfigurations",
  "backendIPConfiguration",
  "loadBalancerFrontendIPConfigurations",
  "outboundRule",
  "resourceGuid",
]);

interface NamedRow {
  id: string;
  load_balancer_id: string;
  name: string;
  name_key: string;
  ordinal: number;
  properties: unknown;
}
export interface FrontendRow extends NamedRow {
  private_ip_address: string | null;
  public_ip_address_id: string | null;
  zones: unknown;
}
export type PoolRow = NamedRow;
export interface AddressRow {
  id: string;
  pool_id: string;
  name: string;
  ordinal: number;
  ip_address: string | null;
  virtual_network_id: string | null;
  properties: unknown;
}
export interface RuleRow extends NamedRow {
  protocol: string;
  frontend_port: number;
  backend_port: number;
  enable_floating_ip: boolean;
}
export interface ProbeRow extends NamedRow {
  protocol: string;
  port: number;
}
export interface NatRuleRow extends NamedRow {
  protocol: string;
  frontend_port: number | null;
  backend_port: number;
  enable_floating_ip: boolean;
}
export type OutboundRuleRow = NamedRow;

/** The row type of each collection's table; keyed by the collection table, so a new collection must add its row here. */
export interface ChildRowOf {
  frontendIPConfigurations: FrontendRow;
  backendAddressPools: PoolRow;
  loadBalancingRules: RuleRow;
  probes: ProbeRow;
  inboundNatRules: NatRuleRow;
  outboundRules: OutboundRuleRow;
}

/** Every child row of one load balancer, by collection; a pool's addresses are rows of their own. */
export type ChildRows = { [K in ChildCollection]: Array<ChildRowOf[K]> } & { backendAddresses: AddressRow[] };
export type ChildRowKind = keyof ChildRows;

/** The table behind each collection (and behind the pools' addresses). */
export const CHILD_TABLES: Record<ChildRowKind, string> = {
  frontendIPConfigurations: "frontend_ip_configurations",
  backendAddressPools: "backend_address_pools",
  backendAddresses: "backend_addresses",
  loadBalancingRules: "load_balancing_rules",
  probes: "probes",
  inboundNatRules: "inbound_nat_rules",
  outboundRules: "outbound_rules",
};

/** Row kinds in write order: a pool before its addresses (foreign key), otherwise the table's order. */
export const CHILD_ROW_KINDS: readonly ChildRowKind[] = CHILD_COLLECTION_NAMES.flatMap((c): ChildRowKind[] =>
  c === "backendAddressPools" ? [c, "backendAddresses"] : [c],
);

export function emptyChildRows(): ChildRows {
  return Object.fromEntries(CHILD_ROW_KINDS.map((k) => [k, []])) as unknown as ChildRows;
}

type ChildOf<K extends ChildCollection> = NonNullable<LoadBalancerSpec["properties"][K]>[number];

/**
 * Each collection's own columns, from one child of the spec (`named` holds the shared columns).
 * A pool's addresses are rows of their own (specToRows).
 */
const ROW_COLUMNS: { [K in ChildCollection]: (child: ChildOf<K>, named: NamedRow, publicIpUid: Map<string, string>) => ChildRowOf[K] } = {
  frontendIPConfigurations: (fe, named, publicIpUid) => ({
    ...named,
    private_ip_address: fe.properties.privateIPAddress ?? null,
    public_ip_address_id: publicIpUid.get(key(fe.name)) ?? null,
    zones: fe.zones ?? null,
  }),
  backendAddressPools: (_pool, named) => named,
  loadBalancingRules: (r, named) => ({
    ...named,
    protocol: r.properties.protocol,
    frontend_port: r.properties.frontendPort,
    backend_port: r.properties.backendPort ?? r.properties.frontendPort,
    enable_floating_ip: r.properties.enableFloatingIP ?? false,
  }),
  probes: (pr, named) => ({ ...named, protocol: pr.properties.protocol, port: pr.properties.port }),
  inboundNatRules: (n, named) => ({
    ...named,
    protocol: n.properties.protocol,
    frontend_port: n.properties.frontendPort ?? null,
    backend_port: n.properties.backendPort,
    enable_floating_ip: n.properties.enableFloatingIP ?? false,
  }),
  outboundRules: (_o, named) => named,
};

/** The properties a row stores: a pool's addresses live in their own rows. */
function storedProperties(collection: ChildCollection, child: { properties?: object }): object | undefined {
  if (collection !== "backendAddressPools") return child.properties;
  const { loadBalancerBackendAddresses: _addresses, ...rest } = (child as BackendAddressPool).properties;
  return rest;
}

/**
 * Rows for every child of `spec`, each with a fresh id. `publicIpUid` maps a frontend name
 * (lower-cased) to its public IP row.
 */
export function specToRows(spec: LoadBalancerSpec, loadBalancerId: string, publicIpUid: Map<string, string>): ChildRows {
  const rows = emptyChildRows();
  for (const collection of CHILD_COLLECTION_NAMES) {
    const build = ROW_COLUMNS[collection] as (child: unknown, named: NamedRow, pips: Map<string, string>) => NamedRow;
    const list = rows[collection] as NamedRow[];
    ((spec.properties[collection] ?? []) as Array<{ name: string; properties?: object }>).forEach((child, ordinal) => {
      const named: NamedRow = {
        id: randomUUID(), load_balancer_id: loadBalancerId, name: child.name, name_key: key(child.name), ordinal,
        properties: writable(storedProperties(collection, child)),
      };
      list.push(build(child, named, publicIpUid));
    });
  }
  (spec.properties.backendAddressPools ?? []).forEach((pool, i) => {
    const poolId = rows.backendAddressPools[i].id;
    (pool.properties.loadBalancerBackendAddresses ?? []).forEach((addr, ordinal) => {
      rows.backendAddresses.push({
        id: randomUUID(),
        pool_id: poolId,
        name: addr.name,
        ordinal,
        ip_address: addr.properties?.ipAddress ?? null,
        virtual_network_id: addr.properties?.virtualNetwork?.id ?? null,
        properties: writable(addr.properties),
      });
    });
  });
  return rows;
}

/** What readers load for one load balancer: its own columns and its children's rows, in order. */
export type LoadBalancerRow = {
  location: string;
  tags: unknown;
  sku_name: string;
  sku_tier: string;
} & { [K in Exclude<ChildCollection, "backendAddressPools">]: Array<ChildRowOf[K]> } & {
  backendAddressPools: Array<PoolRow & { addresses: AddressRow[] }>;
};

/** A collection's rows as one JSON array, in order (`lb` is the load balancer's alias). */
const rowsJson = (table: string, row = "r") =>
  `(SELECT coalesce(json_agg(${row} ORDER BY ${row}.ordinal), '[]') FROM ${table} ${row} WHERE ${row}.load_balancer_id = lb.id)`;

/** How each collection's rows are read into the document (a frontend brings its public IP, a pool its addresses). */
const CHILD_JSON: Record<ChildCollection, string> = {
  frontendIPConfigurations: `(SELECT coalesce(json_agg(to_jsonb(f) || jsonb_build_object('public_ip', (
                  SELECT json_build_object('name', p.name, 'subscription_id', p.subscription_id, 'ip_address', p.ip_address,
                                           'sku_name', p.sku_name, 'rg_name', prg.name)
                  FROM public_ip_addresses p JOIN resource_groups prg ON prg.id = p.resource_group_id
                  WHERE p.id = f.public_ip_address_id)) ORDER BY f.ordinal), '[]')
                FROM ${CHILD_TABLES.frontendIPConfigurations} f WHERE f.load_balancer_id = lb.id)`,
  backendAddressPools: `(SELECT coalesce(json_agg(to_jsonb(bp) || jsonb_build_object('addresses', (
              SELECT coalesce(json_agg(a ORDER BY a.ordinal), '[]') FROM ${CHILD_TABLES.backendAddresses} a WHERE a.pool_id = bp.id
            )) ORDER BY bp.ordinal), '[]')
            FROM ${CHILD_TABLES.backendAddressPools} bp WHERE bp.load_balancer_id = lb.id)`,
  loadBalancingRules: rowsJson(CHILD_TABLES.loadBalancingRules),
  probes: rowsJson(CHILD_TABLES.probes),
  inboundNatRules: rowsJson(CHILD_TABLES.inboundNatRules),
  outboundRules: rowsJson(CHILD_TABLES.outboundRules),
};

/**
 * One JSON document per load balancer (`lb` is the alias of load_balancers in the enclosing query),
 * keyed by collection name: a single round trip and one JSON.parse instead of an ORM materializing
 * thousands of rows.
 */
export const CHILDREN_JSON_SQL = CHILD_COLLECTION_NAMES.map((c) => `\n  '${c}', ${CHILD_JSON[c]}`).join(",");

/** The children's rows of a stored load balancer, for diffing against the rows of a new spec. */
export function storedChildRows(row: LoadBalancerRow): ChildRows {
  const rows = emptyChildRows();
  for (const c of CHILD_COLLECTION_NAMES) (rows[c] as unknown[]) = row[c];
  rows.backendAddresses = row.backendAddressPools.flatMap((p) => p.addresses);
  return rows;
}

const props = <T>(r: { properties: unknown }) => (r.properties ?? {}) as T;

/** Each collection's spec children from its rows (a frontend's zones, a pool's addresses). */
const SPEC_OF: { [K in ChildCollection]: (rows: LoadBalancerRow[K]) => Array<ChildOf<K>> } = {
  frontendIPConfigurations: (rows) => rows.map(
    (f): FrontendIPConfiguration => ({ name: f.name, properties: props(f), ...(f.zones ? { zones: f.zones as string[] } : {}) }),
  ),
  backendAddressPools: (rows) => rows.map(
    (pool): BackendAddressPool => ({
      name: pool.name,
      properties: {
        ...props<BackendAddressPool["properties"]>(pool),
        loadBalancerBackendAddresses: pool.addresses.map((a) => ({ name: a.name, properties: props(a) })),
      },
    }),
  ),
  loadBalancingRules: (rows) => rows.map((r): LoadBalancingRule => ({ name: r.name, properties: props(r) })),
  probes: (rows) => rows.map((r): Probe => ({ name: r.name, properties: props(r) })),
  inboundNatRules: (rows) => rows.map((r): InboundNatRule => ({ name: r.name, properties: props(r) })),
  outboundRules: (rows) => rows.map((r): OutboundRule => ({ name: r.name, properties: props(r) })),
};

export function rowsToSpec(row: LoadBalancerRow): LoadBalancerSpec {
  const properties: Record<string, unknown> = {};
  for (const c of CHILD_COLLECTION_NAMES) properties[c] = (SPEC_OF[c] as (rows: unknown) => unknown)(row[c]);
  return {
    location: row.location,
    tags: (row.tags ?? {}) as Record<string, string>,
    sku: { name: row.sku_name as SkuName, tier: row.sku_tier as "Regional" | "Global" },
    properties: properties as LoadBalancerSpec["properties"],
  };
}
