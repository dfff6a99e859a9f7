// Translation between the domain's load balancer (Azure wire shape) and lbplane's normalized
// tables. Columns hold what lbplane queries and references; each row's `properties` keeps the full
// child properties as sent (defaults applied), so fields lbplane does not act on still round-trip.

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
import type { Prisma } from "./prisma.js";

type Json = Prisma.InputJsonValue;
const json = (v: unknown) => (v ?? {}) as Json;
const key = (name: string) => name.toLowerCase();

/** Properties without the read-only members a client may have echoed back. */
function writable<T extends Record<string, unknown>>(props: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || READ_ONLY.has(k)) continue;
    out[k] = v;
  }
  return out as T;
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

export interface ChildRows {
  frontends: Prisma.FrontendIpConfigurationCreateManyInput[];
  pools: Prisma.BackendAddressPoolCreateManyInput[];
  addresses: Prisma.BackendAddressCreateManyInput[];
  rules: Prisma.LoadBalancingRuleCreateManyInput[];
  probes: Prisma.ProbeCreateManyInput[];
  natRules: Prisma.InboundNatRuleCreateManyInput[];
  outboundRules: Prisma.OutboundRuleCreateManyInput[];
}

/** Rows for every child of `spec`. `publicIpUid` maps a frontend name (lower-cased) to its public IP row. */
export function specToRows(spec: LoadBalancerSpec, loadBalancerId: string, publicIpUid: Map<string, string>): ChildRows {
  const p = spec.properties;
  const rows: ChildRows = { frontends: [], pools: [], addresses: [], rules: [], probes: [], natRules: [], outboundRules: [] };
  (p.frontendIPConfigurations ?? []).forEach((fe, ordinal) => {
    rows.frontends.push({
      loadBalancerId,
      name: fe.name,
      nameKey: key(fe.name),
      ordinal,
      privateIpAddress: fe.properties.privateIPAddress ?? null,
      publicIpAddressId: publicIpUid.get(key(fe.name)) ?? null,
      properties: json(writable(fe.properties)),
      zones: fe.zones ? (fe.zones as Json) : undefined,
    });
  });
  (p.backendAddressPools ?? []).forEach((pool, ordinal) => {
    const poolId = randomUUID();
    const { loadBalancerBackendAddresses, ...rest } = pool.properties;
    rows.pools.push({ id: poolId, loadBalancerId, name: pool.name, nameKey: key(pool.name), ordinal, properties: json(writable(rest)) });
    (loadBalancerBackendAddresses ?? []).forEach((addr, i) => {
      rows.addresses.push({
        poolId,
        name: addr.name,
        ordinal: i,
        ipAddress: addr.properties?.ipAddress ?? null,
        virtualNetworkId: addr.properties?.virtualNetwork?.id ?? null,
        properties: json(writable(addr.properties ?? {})),
      });
    });
  });
  (p.loadBalancingRules ?? []).forEach((r, ordinal) => {
    rows.rules.push({
      loadBalancerId,
      name: r.name,
      nameKey: key(r.name),
      ordinal,
      protocol: r.properties.protocol,
      frontendPort: r.properties.frontendPort,
      backendPort: r.properties.backendPort ?? r.properties.frontendPort,
      enableFloatingIp: r.properties.enableFloatingIP ?? false,
      properties: json(writable(r.properties)),
    });
  });
  (p.probes ?? []).forEach((pr, ordinal) => {
    rows.probes.push({
      loadBalancerId,
      name: pr.name,
      nameKey: key(pr.name),
      ordinal,
      protocol: pr.properties.protocol,
      port: pr.properties.port,
      properties: json(writable(pr.properties)),
    });
  });
  (p.inboundNatRules ?? []).forEach((n, ordinal) => {
    rows.natRules.push({
      loadBalancerId,
      name: n.name,
      nameKey: key(n.name),
      ordinal,
      protocol: n.properties.protocol,
      frontendPort: n.properties.frontendPort ?? null,
      backendPort: n.properties.backendPort,
      enableFloatingIp: n.properties.enableFloatingIP ?? false,
      properties: json(writable(n.properties)),
    });
  });
  (p.outboundRules ?? []).forEach((o, ordinal) => {
    rows.outboundRules.push({ loadBalancerId, name: o.name, nameKey: key(o.name), ordinal, properties: json(writable(o.properties)) });
  });
  return rows;
}

/** What readers load for one load balancer (see LOAD_BALANCER_INCLUDE). */
export interface LoadBalancerRow {
  location: string;
  tags: unknown;
  skuName: string;
  skuTier: string;
  frontendIpConfigurations: Array<{ name: string; ordinal: number; properties: unknown; zones: unknown }>;
  backendAddressPools: Array<{
    name: string;
    ordinal: number;
    properties: unknown;
    addresses: Array<{ name: string; ordinal: number; properties: unknown }>;
  }>;
  loadBalancingRules: Array<{ name: string; ordinal: number; properties: unknown }>;
  probes: Array<{ name: string; ordinal: number; properties: unknown }>;
  inboundNatRules: Array<{ name: string; ordinal: number; properties: unknown }>;
  outboundRules: Array<{ name: string; ordinal: number; properties: unknown }>;
}

export const LOAD_BALANCER_INCLUDE = {
  resourceGroup: true,
  frontendIpConfigurations: { orderBy: { ordinal: "asc" } },
  backendAddressPools: { orderBy: { ordinal: "asc" }, include: { addresses: { orderBy: { ordinal: "asc" } } } },
  loadBalancingRules: { orderBy: { ordinal: "asc" } },
  probes: { orderBy: { ordinal: "asc" } },
  inboundNatRules: { orderBy: { ordinal: "asc" } },
  outboundRules: { orderBy: { ordinal: "asc" } },
} as const;

export function rowsToSpec(row: LoadBalancerRow): LoadBalancerSpec {
  const props = <T>(r: { properties: unknown }) => (r.properties ?? {}) as T;
  return {
    location: row.location,
    tags: (row.tags ?? {}) as Record<string, string>,
    sku: { name: row.skuName as SkuName, tier: row.skuTier as "Regional" | "Global" },
    properties: {
      frontendIPConfigurations: row.frontendIpConfigurations.map(
        (f): FrontendIPConfiguration => ({
          name: f.name,
          properties: props(f),
          ...(f.zones ? { zones: f.zones as string[] } : {}),
        }),
      ),
      backendAddressPools: row.backendAddressPools.map(
        (pool): BackendAddressPool => ({
          name: pool.name,
          properties: {
            ...props<BackendAddressPool["properties"]>(pool),
            loadBalancerBackendAddresses: pool.addresses.map((a) => ({ name: a.name, properties: props(a) })),
          },
        }),
      ),
      loadBalancingRules: row.loadBalancingRules.map((r): LoadBalancingRule => ({ name: r.name, properties: props(r) })),
      probes: row.probes.map((r): Probe => ({ name: r.name, properties: props(r) })),
      inboundNatRules: row.inboundNatRules.map((r): InboundNatRule => ({ name: r.name, properties: props(r) })),
      outboundRules: row.outboundRules.map((r): OutboundRule => ({ name: r.name, properties: props(r) })),
    },
  };
}
