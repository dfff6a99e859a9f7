// Azure fills these server-side and echoes them in every GET; lbplane does the same so a PUT of what
// GET returned is a no-op and the compiled model never sees an undefined knob.

import { CHILD_COLLECTION_NAMES } from "./collections.js";
import { childId, loadBalancerId } from "./ids.js";
import { ipVersion } from "./ip.js";
import type { LoadBalancerAddress, LoadBalancerSpec } from "./model.js";

function fill<T extends object>(target: T, values: Partial<T>): void {
  for (const [k, v] of Object.entries(values)) {
    if ((target as Record<string, unknown>)[k] === undefined) (target as Record<string, unknown>)[k] = v;
  }
}

/** Returns a new spec with Azure's defaults and every child's id; the input is not mutated. */
export function applyDefaults(spec: LoadBalancerSpec, address: LoadBalancerAddress): LoadBalancerSpec {
  const out = structuredClone(spec);
  const lbId = loadBalancerId(address);
  out.sku = { ...out.sku, name: out.sku?.name ?? "Standard", tier: out.sku?.tier ?? "Regional" };
  out.properties ??= {};
  const p = out.properties;
  // Real responses echo every collection, empty or not, and every child carries its id.
  for (const collection of CHILD_COLLECTION_NAMES) {
    const children = (p[collection] ??= []) as Array<{ id?: string; name: string }>;
    for (const child of children) child.id = childId(lbId, collection, child.name);
  }
  p.inboundNatPools ??= [];

  for (const fe of p.frontendIPConfigurations ?? []) {
    fe.properties ??= {};
    const fp = fe.properties;
    if (fp.privateIPAddress !== undefined) fp.privateIPAllocationMethod ??= "Static";
    if (fp.publicIPAddress === undefined) {
      fp.privateIPAddressVersion ??= ipVersion(fp.privateIPAddress) === "IPv6" ? "IPv6" : "IPv4";
    }
  }
  for (const pool of p.backendAddressPools ?? []) {
    pool.properties ??= {};
    pool.properties.loadBalancerBackendAddresses ??= [];
  }
  for (const rule of p.loadBalancingRules ?? []) {
    fill(rule.properties, {
      loadDistribution: "Default",
      idleTimeoutInMinutes: 4,
      enableFloatingIP: false,
      enableTcpReset: false,
      disableOutboundSnat: false,
    });
    if (rule.properties.backendPort === undefined) rule.properties.backendPort = rule.properties.frontendPort;
  }
  for (const probe of p.probes ?? []) {
    fill(probe.properties, {
      intervalInSeconds: 15,
      numberOfProbes: 2,
      probeThreshold: 1,
      noHealthyBackendsBehavior: "AllProbedDown",
    });
  }
  for (const nat of p.inboundNatRules ?? []) {
    fill(nat.properties, { idleTimeoutInMinutes: 4, enableFloatingIP: false, enableTcpReset: false });
  }
  for (const ob of p.outboundRules ?? []) {
    fill(ob.properties, { idleTimeoutInMinutes: 4, enableTcpReset: false, allocatedOutboundPorts: 0 });
  }
  return out;
}
