// One resolved view of a load balancer — references followed, addresses canonical, ports as ranges —
// shared by claims, compilation, effective mappings and the uniqueness law, so they can never
// disagree about which flow a rule produces. Resolution is total: anything that does not resolve
// (a dangling reference, an invalid IP) is skipped here and reported by validation.

import { loadBalancerId, normalizeLocation, refName } from "./ids.js";
import { canonicalIp, ipVersion } from "./ip.js";
import type {
  LoadBalancerAddress, LoadBalancerSpec, LoadDistribution, Protocol, PublicIpView,
} from "./model.js";

export type Transport = "Tcp" | "Udp";
export type OwnerKind = "LoadBalancingRule" | "InboundNatRule";
export type LoadBalancerType = "Public" | "Internal";

export interface ResolveContext {
  address: LoadBalancerAddress;
  publicIps: Map<string, PublicIpView>;
}

export interface ResolvedFrontend {
  name: string;
  index: number;
  isPublic: boolean;
  /** Canonical VIP; absent when the public IP is unknown/unallocated or the private IP invalid. */
  ip?: string;
  /** Frontend claim scope: public IPs are globally unique, private ones per location. */
  scope: string;
}

export interface ResolvedAddress {
  /** Canonical DIP. */
  ip: string;
  /** Destination claim scope: location[/vnet]/public|internal. */
  scope: string;
  /** Pool it came from (absent for a NAT rule's backendIPAddress). */
  pool?: string;
  adminState?: string;
  /** Dense number per distinct (scope, ip) within this load balancer: fast grouping keys. */
  slot: number;
  /** The address's family, parsed once (rules compare it per target). */
  family?: "IPv4" | "IPv6";
}

export interface ResolvedTarget {
  backend: ResolvedAddress;
  /** DIP for a default rule, the VIP for a floating IP rule. */
  destinationIp: string;
  destLow: number;
  destHigh: number;
  /** Frontend port that leads here (differs per target only for pool-based NAT rules). */
  frontendPort: number;
}

export interface ResolvedRule {
  kind: OwnerKind;
  name: string;
  index: number;
  frontend?: ResolvedFrontend;
  protocol: Protocol;
  transports: Transport[];
  frontendLow: number;
  frontendHigh: number;
  backendPort: number;
  floating: boolean;
  /** HA ports: a load-balancing rule with frontendPort 0 (every port of the protocol). */
  ha: boolean;
  probe?: string;
  loadDistribution: LoadDistribution;
  idleTimeoutInMinutes: number;
  enableTcpReset: boolean;
  /** The backends it delivers to, unique by slot, in order (a pool-based NAT rule: those within its port range). */
  backends: ResolvedAddress[];
  /** One per backend: where and on which ports it delivers. */
  readonly targets: ResolvedTarget[];
}

export interface ResolvedLoadBalancer {
  id: string;
  name: string;
  location: string;
  type: LoadBalancerType;
  frontends: Map<string, ResolvedFrontend>;
  /** Pool name (lower-cased) → its valid addresses, in spec order. */
  pools: Map<string, ResolvedAddress[]>;
  rules: ResolvedRule[];
}

export function loadBalancerType(spec: LoadBalancerSpec): LoadBalancerType {
  const fes = spec.properties?.frontendIPConfigurations ?? [];
  return fes.some((fe) => fe.properties?.publicIPAddress !== undefined) ? "Public" : "Internal";
}

export function transportsOf(protocol: string): Transport[] {
  if (protocol === "All") return ["Tcp", "Udp"];
  return protocol === "Tcp" || protocol === "Udp" ? [protocol] : [];
}

const FULL_LOW = 0;
const FULL_HIGH = 65535;

function firstByName<T extends { name: string }>(items: T[] | undefined): Map<string, [T, number]> {
  const m = new Map<string, [T, number]>();
  (items ?? []).forEach((it, i) => {
    const k = String(it?.name ?? "").toLowerCase();
    if (!m.has(k)) m.set(k, [it, i]);
  });
  return m;
}

// A write resolves the same spec for its claims and again for validation (and compilation):
// at Azure's Standard limits that is 150,000 targets each time. The spec object and its context
// are not changed after defaults are applied, so one resolution serves them all.
const resolved = new WeakMap<LoadBalancerSpec, { ctx: ResolveContext; lb: ResolvedLoadBalancer }>();

export function resolveLoadBalancer(spec: LoadBalancerSpec, ctx: ResolveContext): ResolvedLoadBalancer {
  const hit = resolved.get(spec);
  if (hit && hit.ctx.publicIps === ctx.publicIps && sameAddress(hit.ctx.address, ctx.address)) return hit.lb;
  const lb = resolveUncached(spec, ctx);
  resolved.set(spec, { ctx, lb });
  return lb;
}

const sameAddress = (a: LoadBalancerAddress, b: LoadBalancerAddress) =>
  a === b || (a.subscriptionId === b.subscriptionId && a.resourceGroup === b.resourceGroup && a.name === b.name);

function resolveUncached(spec: LoadBalancerSpec, ctx: ResolveContext): ResolvedLoadBalancer {
  const id = loadBalancerId(ctx.address);
  const location = normalizeLocation(spec.location);
  const type = loadBalancerType(spec);
  const typeKey = type.toLowerCase();
  const p = spec.properties ?? {};

  const frontends = new Map<string, ResolvedFrontend>();
  for (const [key, [fe, index]] of firstByName(p.frontendIPConfigurations)) {
    const pip = fe.properties?.publicIPAddress;
    const isPublic = pip !== undefined;
    const ip = isPublic
      ? canonicalIp(ctx.publicIps.get(String(pip?.id ?? "").toLowerCase())?.ipAddress)
      : canonicalIp(fe.properties?.privateIPAddress);
    frontends.set(key, { name: fe.name, index, isPublic, ip, scope: isPublic ? "public" : `private:${location}` });
  }

  const addressSlots = new Map<string, number>();
  const intern = (m: Map<string, number>, k: string) => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = m.size));
    return v;
  };
  const address = (ip: string, scope: string, pool?: string, adminState?: string): ResolvedAddress => ({
    ip, scope, slot: intern(addressSlots, `${scope}|${ip}`), ...(pool === undefined ? {} : { pool }),
    ...(adminState === undefined ? {} : { adminState }), family: ipVersion(ip),
  });
  const destScope = (vnet: string | undefined) =>
    vnet ? `${location}/${vnet.toLowerCase()}/${typeKey}` : `${location}/${typeKey}`;
  const pools = new Map<string, ResolvedAddress[]>();
  for (const [key, [pool]] of firstByName(p.backendAddressPools)) {
    const poolVnet = pool.properties?.virtualNetwork?.id;
    const addrs: ResolvedAddress[] = [];
    for (const a of pool.properties?.loadBalancerBackendAddresses ?? []) {
      const ip = canonicalIp(a?.properties?.ipAddress);
      if (!ip) continue;
      const vnet = a.properties.virtualNetwork?.id ?? poolVnet;
      addrs.push(address(ip, destScope(vnet), pool.name, a.properties.adminState));
    }
    pools.set(key, addrs);
  }
  const poolOf = (ref: { id: string } | undefined) => {
    const n = refName(id, "backendAddressPools", ref);
    return n === undefined ? undefined : pools.get(n.toLowerCase());
  };
  const frontendOf = (ref: { id: string } | undefined) => {
    const n = refName(id, "frontendIPConfigurations", ref);
    return n === undefined ? undefined : frontends.get(n.toLowerCase());
  };
  const probeNames = firstByName(p.probes);

  // Rules on the same pools share one backend list (a Standard-limits load balancer has 1,500 rules
  // over 50 pools): deduplicated by slot (the same DIP via two pools is one destination) and
  // limited to the frontend's family (a rule forwards within one IP family; pools may be dual-stack).
  const backendLists = new Map<string, ResolvedAddress[]>();
  const backendsOf = (refs: Array<{ id: string }>, family: string | undefined): ResolvedAddress[] => {
    const names = refs.map((ref) => refName(id, "backendAddressPools", ref)?.toLowerCase());
    const key = `${family}|${names.join("|")}`;
    let list = backendLists.get(key);
    if (!list) {
      const seen = new Set<number>();
      list = [];
      for (const name of names) {
        for (const backend of (name === undefined ? undefined : pools.get(name)) ?? []) {
          if (seen.has(backend.slot) || backend.family !== family) continue;
          seen.add(backend.slot);
          list.push(backend);
        }
      }
      backendLists.set(key, list);
    }
    return list;
  };

  const rules: ResolvedRule[] = [];
  (p.loadBalancingRules ?? []).forEach((r, index) => {
    let targets: ResolvedTarget[] | undefined;
    const rp = r.properties ?? ({} as typeof r.properties);
    const frontend = frontendOf(rp.frontendIPConfiguration);
    const ha = rp.frontendPort === 0;
    const floating = rp.enableFloatingIP === true;
    const backendPort = rp.backendPort ?? rp.frontendPort;
    const probeName = refName(id, "probes", rp.probe);
    const probe = probeName === undefined ? undefined : probeNames.get(probeName.toLowerCase())?.[0].name;
    const refs = [...(rp.backendAddressPool ? [rp.backendAddressPool] : []), ...(rp.backendAddressPools ?? [])];
    const backends = frontend?.ip ? backendsOf(refs, ipVersion(frontend.ip)) : [];
    const vip = frontend?.ip;
    const destLow = ha ? FULL_LOW : backendPort;
    const destHigh = ha ? FULL_HIGH : backendPort;
    rules.push({
      kind: "LoadBalancingRule", name: r.name, index, frontend, protocol: rp.protocol,
      transports: transportsOf(rp.protocol),
      frontendLow: ha ? FULL_LOW : rp.frontendPort, frontendHigh: ha ? FULL_HIGH : rp.frontendPort,
      backendPort: ha ? 0 : backendPort, floating, ha, probe,
      loadDistribution: rp.loadDistribution ?? "Default",
      idleTimeoutInMinutes: rp.idleTimeoutInMinutes ?? 4,
      enableTcpReset: rp.enableTcpReset === true,
      backends,
      // Built on first use (compilation, mappings, health): the write path's checks work on
      // `backends` as a set and never need 150,000 of these at Standard limits.
      get targets() {
        return (targets ??= backends.map((backend) => ({
          backend, destinationIp: floating ? vip! : backend.ip, destLow, destHigh, frontendPort: rp.frontendPort,
        })));
      },
    });
  });

  (p.inboundNatRules ?? []).forEach((n, index) => {
    const np = n.properties ?? ({} as typeof n.properties);
    const frontend = frontendOf(np.frontendIPConfiguration);
    const floating = np.enableFloatingIP === true;
    const ranged = np.frontendPort === undefined;
    const low = ranged ? (np.frontendPortRangeStart ?? 0) : np.frontendPort!;
    const high = ranged ? (np.frontendPortRangeEnd ?? low) : low;
    const targets: ResolvedTarget[] = [];
    const toTarget = (backend: ResolvedAddress, frontendPort: number): ResolvedTarget => ({
      backend,
      destinationIp: floating ? frontend!.ip! : backend.ip,
      destLow: np.backendPort,
      destHigh: np.backendPort,
      frontendPort,
    });
    if (frontend?.ip) {
      const single = canonicalIp(np.backendIPAddress);
      if (!ranged && single) targets.push(toTarget(address(single, destScope(undefined)), low));
      if (ranged && np.backendAddressPool) {
        // Pool-based (V2) NAT rule: the i-th address of the pool, in the pool's order, is reached on
        // frontendPortRangeStart + i. Addresses beyond the range get no port (validation refuses that).
        const family = ipVersion(frontend.ip);
        const addrs = (poolOf(np.backendAddressPool) ?? []).filter((a) => a.family === family);
        addrs.slice(0, Math.max(0, high - low + 1)).forEach((a, i) => targets.push(toTarget(a, low + i)));
      }
    }
    rules.push({
      kind: "InboundNatRule", name: n.name, index, frontend, protocol: np.protocol,
      transports: transportsOf(np.protocol), frontendLow: low, frontendHigh: high,
      backendPort: np.backendPort, floating, ha: false, probe: undefined,
      loadDistribution: "Default", idleTimeoutInMinutes: np.idleTimeoutInMinutes ?? 4,
      enableTcpReset: np.enableTcpReset === true, targets, backends: targets.map((t) => t.backend),
    });
  });

  return { id, name: ctx.address.name, location, type, frontends, pools, rules };
}
