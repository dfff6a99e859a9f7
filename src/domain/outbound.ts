// Outbound connectivity (SNAT) as Azure defines it, decided once here so validation and compilation
// cannot disagree about which backend leaves through which frontend address and source ports.
//
// The law:
//  - A backend reaches out through a load balancer only via an outbound rule, or — on a public load
//    balancer — via a load-balancing rule that does not set disableOutboundSnat (Azure's "default
//    SNAT", default port allocation). An internal load balancer gives no outbound connectivity. On a
//    Standard SKU load balancer everything else is refused (secure by default); lbplane has no NICs,
//    so "an explicit public IP on the VM" is outside what it forwards.
//  - Each frontend address offers 64,000 SNAT ports per transport (1024–65023). Every backend of a
//    rule gets `allocatedOutboundPorts` of them as one contiguous block on one frontend address,
//    blocks in address order, never overlapping. 0 means Azure's default table by pool size.
//  - The budget, as Azure computes it: frontends × 64,000 ≥ backends × allocatedOutboundPorts
//    (SpecifiedAllocatedOutboundPortsForOutboundRuleExceedsTotalNumberOfAvailablePorts), and the
//    allocation is a multiple of 8 (…IsNotAMultipleOfEight). Because a block never spans two
//    addresses, lbplane also needs floor(64,000 / ports) blocks per address to seat every backend;
//    when that (rarer) condition fails the same code is given, with the count that fits.
//  - IPv4 backends leave through IPv4 frontends and IPv6 backends through IPv6 ones; each family has
//    its own budget.

import type { CompiledOutboundRule, CompiledSnatBlock } from "./agent-protocol.js";
import type { Push } from "./checks.js";
import { refName } from "./ids.js";
import { ipVersion, type IpVersion } from "./ip.js";
import { Codes, issue } from "./issues.js";
import type { LoadBalancerSpec } from "./model.js";
import type { ResolvedLoadBalancer } from "./resolve.js";

export const SNAT_FIRST_PORT = 1024;
export const SNAT_PORTS_PER_FRONTEND = 64_000;

/** Azure's default port allocation by backend pool size (one frontend address). */
export function defaultAllocatedPorts(backends: number): number {
  const table: Array<[number, number]> = [[50, 1024], [100, 512], [200, 256], [400, 128], [800, 64], [1000, 32]];
  for (const [upTo, ports] of table) if (backends <= upTo) return ports;
  return Math.max(8, Math.floor(SNAT_PORTS_PER_FRONTEND / backends / 8) * 8);
}

interface SnatSource {
  kind: CompiledOutboundRule["kind"];
  name: string;
  index: number;
  protocol: CompiledOutboundRule["protocol"];
  frontends: string[];
  backends: string[];
  /** As given; 0 = default. */
  allocatedOutboundPorts: number;
  idleTimeoutInMinutes: number;
  enableTcpReset: boolean;
}

const byFamily = (ips: string[], family: IpVersion) => ips.filter((ip) => ipVersion(ip) === family);
const unique = (xs: string[]) => [...new Set(xs)];

/** Outbound rules, then SNAT-ing load-balancing rules of a public load balancer, with resolved addresses. */
function snatSources(spec: LoadBalancerSpec, lb: ResolvedLoadBalancer): SnatSource[] {
  const p = spec.properties ?? {};
  const frontendIp = (ref: { id: string } | undefined) => {
    const n = refName(lb.id, "frontendIPConfigurations", ref);
    return n === undefined ? undefined : lb.frontends.get(n.toLowerCase())?.ip;
  };
  const poolIps = (ref: { id: string } | undefined) => {
    const n = refName(lb.id, "backendAddressPools", ref);
    return (n === undefined ? [] : (lb.pools.get(n.toLowerCase()) ?? [])).filter((a) => a.adminState !== "Down").map((a) => a.ip);
  };
  const out: SnatSource[] = [];
  (p.outboundRules ?? []).forEach((o, index) => {
    const op = o?.properties;
    if (!op || !["Tcp", "Udp", "All"].includes(op.protocol)) return;
    out.push({
      kind: "OutboundRule", name: o.name, index, protocol: op.protocol,
      frontends: unique((op.frontendIPConfigurations ?? []).map(frontendIp).filter((ip): ip is string => ip !== undefined)),
      backends: unique(poolIps(op.backendAddressPool)).sort(),
      allocatedOutboundPorts: op.allocatedOutboundPorts ?? 0,
      idleTimeoutInMinutes: op.idleTimeoutInMinutes ?? 4,
      enableTcpReset: op.enableTcpReset === true,
    });
  });
  if (lb.type === "Public") {
    (p.loadBalancingRules ?? []).forEach((r, index) => {
      const rp = r?.properties;
      if (!rp || rp.disableOutboundSnat === true || !["Tcp", "Udp", "All"].includes(rp.protocol)) return;
      const fe = frontendIp(rp.frontendIPConfiguration);
      const pools = [...(rp.backendAddressPool ? [rp.backendAddressPool] : []), ...(rp.backendAddressPools ?? [])];
      out.push({
        kind: "LoadBalancingRule", name: r.name, index, protocol: rp.protocol,
        frontends: fe ? [fe] : [],
        backends: unique(pools.flatMap(poolIps)).sort(),
        allocatedOutboundPorts: 0,
        idleTimeoutInMinutes: rp.idleTimeoutInMinutes ?? 4,
        enableTcpReset: rp.enableTcpReset === true,
      });
    });
  }
  // Canonical order (outbound rules first, then by name): the spec's order must not move a block.
  const rank = (s: SnatSource) => (s.kind === "OutboundRule" ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}

/** Ports each backend of `src` gets in `family` (Azure's default when 0). */
function portsPerBackend(src: SnatSource, family: IpVersion): number {
  return src.allocatedOutboundPorts || defaultAllocatedPorts(byFamily(src.backends, family).length);
}

/** Contiguous blocks in address order on the family's frontends; undefined when they do not fit. */
function blocksOf(src: SnatSource, family: IpVersion): CompiledSnatBlock[] | undefined {
  const fes = byFamily(src.frontends, family);
  const backends = byFamily(src.backends, family);
  if (backends.length === 0) return [];
  const ports = portsPerBackend(src, family);
  const perFrontend = Math.floor(SNAT_PORTS_PER_FRONTEND / ports);
  if (fes.length === 0 || perFrontend * fes.length < backends.length) return undefined;
  return backends.map((address, i) => {
    const low = SNAT_FIRST_PORT + (i % perFrontend) * ports;
    return { address, frontendIPAddress: fes[Math.floor(i / perFrontend)], portLow: low, portHigh: low + ports - 1 };
  });
}

/** The budget law (see the header), one issue per rule and family that breaks it. */
export function checkOutboundPorts(spec: LoadBalancerSpec, lb: ResolvedLoadBalancer, push: Push): void {
  for (const src of snatSources(spec, lb)) {
    if (src.kind !== "OutboundRule") continue; // default allocation fits by construction (≤ 1,000 backends)
    const at = `properties.outboundRules[${src.index}].properties.allocatedOutboundPorts`;
    if (src.allocatedOutboundPorts % 8 !== 0) {
      push(issue(Codes.SnatPortsNotMultipleOfEight,
        `Specified allocated outbound ports ${src.allocatedOutboundPorts} for outbound rule ${src.name} is not a multiple of 8.`, at));
      continue;
    }
    for (const family of ["IPv4", "IPv6"] as const) {
      const backends = byFamily(src.backends, family).length;
      const fes = byFamily(src.frontends, family).length;
      if (backends === 0 || blocksOf(src, family) !== undefined) continue;
      const ports = portsPerBackend(src, family);
      const available = fes === 0 ? 0 : Math.floor((fes * SNAT_PORTS_PER_FRONTEND) / backends / 8) * 8;
      const seated = fes * Math.floor(SNAT_PORTS_PER_FRONTEND / ports);
      push(issue(Codes.SnatPortsExceedAvailable,
        `Specified allocated outbound ports ${ports} for outbound rule ${src.name} exceeds the total number of available ports ` +
          `per backend instance of ${available} for ${backends} ${family} backends and ${fes} ${family} frontend addresses ` +
          `(${fes} × 64,000 ports; a block stays on one address, so ${seated} backends fit). ` +
          `Reduce allocated ports or add frontend IP addresses to the outbound rule.`, at));
    }
  }
}

/**
 * The SNAT the agents program: one entry per rule that gives outbound connectivity, with every
 * backend's block. A backend already given a block by an earlier entry (outbound rules first, then
 * load-balancing rules, each by name) keeps that one: a source address leaves through one place.
 */
export function compileOutbound(spec: LoadBalancerSpec, lb: ResolvedLoadBalancer): CompiledOutboundRule[] {
  const seated = new Set<string>();
  const out: CompiledOutboundRule[] = [];
  for (const src of snatSources(spec, lb)) {
    const blocks: CompiledSnatBlock[] = [];
    for (const family of ["IPv4", "IPv6"] as const) blocks.push(...(blocksOf(src, family) ?? []));
    const fresh = blocks.filter((b) => !seated.has(b.address));
    for (const b of fresh) seated.add(b.address);
    if (fresh.length === 0) continue;
    out.push({
      kind: src.kind, name: src.name, protocol: src.protocol, frontendIPAddresses: [...src.frontends].sort(),
      allocatedOutboundPorts: src.allocatedOutboundPorts, idleTimeoutInMinutes: src.idleTimeoutInMinutes,
      enableTcpReset: src.enableTcpReset, blocks: fresh,
    });
  }
  return out;
}
