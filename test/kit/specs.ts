// Terse builders of domain LoadBalancerSpecs (no HTTP) for the pure domain tests, so each test reads like
// the seed's tables. Tests that speak the API build ARM bodies with kit/bodies.ts.

import {
  applyDefaults, childId, loadBalancerId, validateLoadBalancer,
  type ChildCollection, type LoadBalancerAddress, type LoadBalancerSpec, type OwnedClaims, type Protocol,
  type PublicIpView,
} from "../../src/domain/index.js";

import { SUB } from "./bodies.js";

export { SUB };
export const addr = (name = "lb1", subscriptionId = SUB, resourceGroup = "rg1"): LoadBalancerAddress =>
  ({ subscriptionId, resourceGroup, name });

export const pipId = (name: string, sub = SUB) =>
  `/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/${name}`;

export interface RuleInput {
  name: string;
  fe: string;
  pool?: string;
  pools?: string[];
  protocol?: Protocol;
  fp: number;
  bp?: number;
  floating?: boolean;
  probe?: string;
  disableOutboundSnat?: boolean;
}

export interface NatInput {
  name: string;
  fe: string;
  protocol?: Protocol;
  fp?: number;
  bp: number;
  ip?: string;
  pool?: string;
  range?: [number, number];
  floating?: boolean;
}

export interface LbInput {
  location?: string;
  sku?: "Standard" | "Basic";
  /** frontend name → private IP, or { pip: name } for a public frontend */
  frontends?: Record<string, string | { pip: string }>;
  /** pool name → DIPs */
  pools?: Record<string, string[]>;
  rules?: RuleInput[];
  nat?: NatInput[];
  probes?: Array<{ name: string; port: number; protocol?: "Tcp" | "Http"; path?: string }>;
  outbound?: Array<{ name: string; fes: string[]; pool: string; protocol?: Protocol; ports?: number }>;
}

export function buildLb(input: LbInput, at: LoadBalancerAddress = addr()): LoadBalancerSpec {
  const lbId = loadBalancerId(at);
  const ref = (c: ChildCollection, n: string) => ({ id: childId(lbId, c, n) });
  return {
    location: input.location ?? "eastus",
    ...(input.sku ? { sku: { name: input.sku } } : {}),
    properties: {
      frontendIPConfigurations: Object.entries(input.frontends ?? {}).map(([name, v]) => ({
        name,
        properties: typeof v === "string" ? { privateIPAddress: v } : { publicIPAddress: { id: pipId(v.pip, at.subscriptionId) } },
      })),
      backendAddressPools: Object.entries(input.pools ?? {}).map(([name, ips]) => ({
        name,
        properties: { loadBalancerBackendAddresses: ips.map((ip, i) => ({ name: `a${i}`, properties: { ipAddress: ip } })) },
      })),
      loadBalancingRules: (input.rules ?? []).map((r) => ({
        name: r.name,
        properties: {
          frontendIPConfiguration: ref("frontendIPConfigurations", r.fe),
          ...(r.pool ? { backendAddressPool: ref("backendAddressPools", r.pool) } : {}),
          ...(r.pools ? { backendAddressPools: r.pools.map((p) => ref("backendAddressPools", p)) } : {}),
          ...(r.probe ? { probe: ref("probes", r.probe) } : {}),
          protocol: r.protocol ?? "Tcp",
          frontendPort: r.fp,
          ...(r.bp !== undefined ? { backendPort: r.bp } : {}),
          ...(r.floating !== undefined ? { enableFloatingIP: r.floating } : {}),
          ...(r.disableOutboundSnat !== undefined ? { disableOutboundSnat: r.disableOutboundSnat } : {}),
        },
      })),
      inboundNatRules: (input.nat ?? []).map((n) => ({
        name: n.name,
        properties: {
          frontendIPConfiguration: ref("frontendIPConfigurations", n.fe),
          protocol: n.protocol ?? "Tcp",
          backendPort: n.bp,
          ...(n.fp !== undefined ? { frontendPort: n.fp } : {}),
          ...(n.ip ? { backendIPAddress: n.ip } : {}),
          ...(n.pool ? { backendAddressPool: ref("backendAddressPools", n.pool) } : {}),
          ...(n.range ? { frontendPortRangeStart: n.range[0], frontendPortRangeEnd: n.range[1] } : {}),
          ...(n.floating !== undefined ? { enableFloatingIP: n.floating } : {}),
        },
      })),
      probes: (input.probes ?? []).map((p) => ({
        name: p.name,
        properties: { protocol: p.protocol ?? "Tcp", port: p.port, ...(p.path ? { requestPath: p.path } : {}) },
      })),
      outboundRules: (input.outbound ?? []).map((o) => ({
        name: o.name,
        properties: {
          frontendIPConfigurations: o.fes.map((f) => ref("frontendIPConfigurations", f)),
          backendAddressPool: ref("backendAddressPools", o.pool),
          protocol: o.protocol ?? "All",
          ...(o.ports !== undefined ? { allocatedOutboundPorts: o.ports } : {}),
        },
      })),
    },
  };
}

/** Public IPs by name → address; keyed as the store keys them (lower-cased id). */
export function publicIps(
  ips: Record<string, string>, opts: { sku?: string; usedBy?: Record<string, string>; sub?: string } = {},
): Map<string, PublicIpView> {
  const m = new Map<string, PublicIpView>();
  for (const [name, ip] of Object.entries(ips)) {
    const id = pipId(name, opts.sub);
    m.set(id.toLowerCase(), { id, ipAddress: ip, skuName: opts.sku ?? "Standard", ...(opts.usedBy?.[name] ? { usedBy: opts.usedBy[name] } : {}) });
  }
  return m;
}

export const noClaims = (): OwnedClaims => ({ frontend: [], destination: [] });

export function check(
  input: LbInput,
  ctx: { at?: LoadBalancerAddress; publicIps?: Map<string, PublicIpView>; existing?: OwnedClaims } = {},
) {
  const at = ctx.at ?? addr();
  const spec = applyDefaults(buildLb(input, at), at);
  return validateLoadBalancer(spec, { address: at, publicIps: ctx.publicIps ?? new Map(), existingClaims: ctx.existing ?? noClaims() });
}

export const codes = (issues: Array<{ code: string }>) => issues.map((i) => i.code).sort();
