// Translation between the domain's load balancer (Azure wire shape) and lbplane's normalized
// tables. Columns hold what lbplane queries and references; each row's `properties` keeps the full
// child properties as sent (defaults applied), so fields lbplane does not act on still round-trip.
// Rows use the tables' own column names: the same objects are read back with to_jsonb, compared
// for the child diff, and written with json_populate_recordset (one parameter, no per-row SQL).

import { randomUUID } from "node:crypto";
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
const READ_ONLY = new Set([
  "provisioningState",
  "loadBalancingRules",
  "inboundNatRules",
  "inboundNatPools",
  "outboundRules",
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

export interface ChildRows {
  frontends: FrontendRow[];
  pools: PoolRow[];
  addresses: AddressRow[];
  rules: RuleRow[];
  probes: ProbeRow[];
  natRules: NatRuleRow[];
  outboundRules: OutboundRuleRow[];
}

/** The table behind each kind of child row. */
export const CHILD_TABLES: Record<keyof ChildRows, string> = {
  frontends: "frontend_ip_configurations",
  pools: "backend_address_pools",
  addresses: "backend_addresses",
  rules: "load_balancing_rules",
  probes: "probes",
  natRules: "inbound_nat_rules",
  outboundRules: "outbound_rules",
};

/**
 * Rows for every child of `spec`, each with a fresh id. `publicIpUid` maps a frontend name
 * (lower-cased) to its public IP row.
 */
export function specToRows(spec: LoadBalancerSpec, loadBalancerId: string, publicIpUid: Map<string, string>): ChildRows {
  const p = spec.properties;
  const rows: ChildRows = { frontends: [], pools: [], addresses: [], rules: [], probes: [], natRules: [], outboundRules: [] };
  const named = (name: string, ordinal: number, properties: object | undefined): NamedRow => ({
    id: randomUUID(), load_balancer_id: loadBalancerId, name, name_key: key(name), ordinal, properties: writable(properties),
  });
  (p.frontendIPConfigurations ?? []).forEach((fe, ordinal) => {
    rows.frontends.push({
      ...named(fe.name, ordinal, fe.properties),
      private_ip_address: fe.properties.privateIPAddress ?? null,
      public_ip_address_id: publicIpUid.get(key(fe.name)) ?? null,
      zones: fe.zones ?? null,
    });
  });
  (p.backendAddressPools ?? []).forEach((pool, ordinal) => {
    const { loadBalancerBackendAddresses, ...rest } = pool.properties;
    const row = named(pool.name, ordinal, rest);
    rows.pools.push(row);
    (loadBalancerBackendAddresses ?? []).forEach((addr, i) => {
      rows.addresses.push({
        id: randomUUID(),
        pool_id: row.id,
        name: addr.name,
        ordinal: i,
        ip_address: addr.properties?.ipAddress ?? null,
        virtual_network_id: addr.properties?.virtualNetwork?.id ?? null,
        properties: writable(addr.properties),
      });
    });
  });
  (p.loadBalancingRules ?? []).forEach((r, ordinal) => {
    rows.rules.push({
      ...named(r.name, ordinal, r.properties),
      protocol: r.properties.protocol,
      frontend_port: r.properties.frontendPort,
      backend_port: r.properties.backendPort ?? r.properties.frontendPort,
      enable_floating_ip: r.properties.enableFloatingIP ?? false,
    });
  });
  (p.probes ?? []).forEach((pr, ordinal) => {
    rows.probes.push({ ...named(pr.name, ordinal, pr.properties), protocol: pr.properties.protocol, port: pr.properties.port });
  });
  (p.inboundNatRules ?? []).forEach((n, ordinal) => {
    rows.natRules.push({
      ...named(n.name, ordinal, n.properties),
      protocol: n.properties.protocol,
      frontend_port: n.properties.frontendPort ?? null,
      backend_port: n.properties.backendPort,
      enable_floating_ip: n.properties.enableFloatingIP ?? false,
    });
  });
  (p.outboundRules ?? []).forEach((o, ordinal) => rows.outboundRules.push(named(o.name, ordinal, o.properties)));
  return rows;
}

/** What readers load for one load balancer: its own columns and its children's rows, in order. */
export interface LoadBalancerRow {
  location: string;
  tags: unknown;
  sku_name: string;
  sku_tier: string;
  frontends: FrontendRow[];
  pools: Array<PoolRow & { addresses: AddressRow[] }>;
  rules: RuleRow[];
  probes: ProbeRow[];
  nat_rules: NatRuleRow[];
  outbound_rules: OutboundRuleRow[];
}

/**
 * One JSON document per load balancer (`lb` is the alias of load_balancers in the enclosing query):
 * a single round trip and one JSON.parse instead of an ORM materializing thousands of rows.
 */
export const CHILDREN_JSON_SQL = `
  'frontends', (SELECT coalesce(json_agg(to_jsonb(f) || jsonb_build_object('public_ip', (
                  SELECT json_build_object('name', p.name, 'subscription_id', p.subscription_id, 'ip_address', p.ip_address,
                                           'sku_name', p.sku_name, 'rg_name', prg.name)
                  FROM public_ip_addresses p JOIN resource_groups prg ON prg.id = p.resource_group_id
                  WHERE p.id = f.public_ip_address_id)) ORDER BY f.ordinal), '[]')
                FROM frontend_ip_configurations f WHERE f.load_balancer_id = lb.id),
  'pools', (SELECT coalesce(json_agg(to_jsonb(bp) || jsonb_build_object('addresses', (
              SELECT coalesce(json_agg(a ORDER BY a.ordinal), '[]') FROM backend_addresses a WHERE a.pool_id = bp.id
            )) ORDER BY bp.ordinal), '[]')
            FROM backend_address_pools bp WHERE bp.load_balancer_id = lb.id),
  'rules', (SELECT coalesce(json_agg(r ORDER BY r.ordinal), '[]') FROM load_balancing_rules r WHERE r.load_balancer_id = lb.id),
  'probes', (SELECT coalesce(json_agg(r ORDER BY r.ordinal), '[]') FROM probes r WHERE r.load_balancer_id = lb.id),
  'nat_rules', (SELECT coalesce(json_agg(r ORDER BY r.ordinal), '[]') FROM inbound_nat_rules r WHERE r.load_balancer_id = lb.id),
  'outbound_rules', (SELECT coalesce(json_agg(r ORDER BY r.ordinal), '[]') FROM outbound_rules r WHERE r.load_balancer_id = lb.id)`;

/** The children's rows of a stored load balancer, for diffing against the rows of a new spec. */
export function storedChildRows(row: LoadBalancerRow): ChildRows {
  return {
    frontends: row.frontends,
    pools: row.pools,
    addresses: row.pools.flatMap((p) => p.addresses),
    rules: row.rules,
    probes: row.probes,
    natRules: row.nat_rules,
    outboundRules: row.outbound_rules,
  };
}

export function rowsToSpec(row: LoadBalancerRow): LoadBalancerSpec {
  const props = <T>(r: { properties: unknown }) => (r.properties ?? {}) as T;
  return {
    location: row.location,
    tags: (row.tags ?? {}) as Record<string, string>,
    sku: { name: row.sku_name as SkuName, tier: row.sku_tier as "Regional" | "Global" },
    properties: {
      frontendIPConfigurations: row.frontends.map(
        (f): FrontendIPConfiguration => ({
          name: f.name,
          properties: props(f),
          ...(f.zones ? { zones: f.zones as string[] } : {}),
        }),
      ),
      backendAddressPools: row.pools.map(
        (pool): BackendAddressPool => ({
          name: pool.name,
          properties: {
            ...props<BackendAddressPool["properties"]>(pool),
            loadBalancerBackendAddresses: pool.addresses.map((a) => ({ name: a.name, properties: props(a) })),
          },
        }),
      ),
      loadBalancingRules: row.rules.map((r): LoadBalancingRule => ({ name: r.name, properties: props(r) })),
      probes: row.probes.map((r): Probe => ({ name: r.name, properties: props(r) })),
      inboundNatRules: row.nat_rules.map((r): InboundNatRule => ({ name: r.name, properties: props(r) })),
      outboundRules: row.outbound_rules.map((r): OutboundRule => ({ name: r.name, properties: props(r) })),
    },
  };
}
