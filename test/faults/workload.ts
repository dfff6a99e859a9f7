// The writes a fault test makes while it breaks something: writers PUT a public IP and then a load
// balancer on it (one frontend, two backends, a probe, two rules), one after another, and remember
// only what lbplane acknowledged with a 2xx. Afterwards every acknowledged write must be there,
// complete, and the database's claims must match the load balancers exactly.

import type pg from "pg";
import { armLoadBalancer, loadBalancerPath, publicIpId } from "../kit/bodies.js";
import { api } from "../agents/processes.js";
import { SUB } from "../helpers/app.js";

export const NET = "api-version=2026-01-01";
export const RG = "faults";

export interface Acked {
  lb: string;
  ip: string;
}

/** Rules per load balancer the workload writes (each claims one frontend port and two destinations). */
export const RULES = 2;
export const BACKENDS = 2;

export async function createResourceGroup(base: string, rg = RG): Promise<void> {
  const res = await api(base, "PUT", `/subscriptions/${SUB}/resourcegroups/${rg}?api-version=2025-04-01`, { location: "westeurope" });
  if (res.status >= 300) throw new Error(`resource group: ${res.status} ${JSON.stringify(res.json)}`);
}

/**
 * The workload's load balancer `name` on the public IP `<name>-ip` (address `ip`); its backends are
 * derived from that address, so no two load balancers deliver to the same destination.
 */
export function loadBalancerBody(name: string, ip: string) {
  const [, , c, d] = ip.split(".");
  return armLoadBalancer(RG, name, {
    frontends: { fe: `${name}-ip` },
    backends: { vm1: `10.1.${c}.${d}`, vm2: `10.2.${c}.${d}` },
    probes: { tcp: { port: 80 } },
    rules: [
      { name: "http", frontend: "fe", frontendPort: 80, backendPort: 80, probe: "tcp" },
      { name: "https", frontend: "fe", frontendPort: 443, backendPort: 443, probe: "tcp" },
    ],
  });
}

/** One acknowledged pair, or undefined when either PUT was refused, failed or never answered. */
export async function writePair(base: string, name: string, ip: string): Promise<Acked | undefined> {
  try {
    const pip = await api(base, "PUT", `${publicIpId(RG, `${name}-ip`)}?${NET}`, {
      location: "westeurope",
      sku: { name: "Standard" },
      properties: { publicIPAllocationMethod: "Static", ipAddress: ip },
    });
    if (pip.status >= 300) return undefined;
    const lb = await api(base, "PUT", `${loadBalancerPath(RG, name)}?${NET}`, loadBalancerBody(name, ip));
    return lb.status < 300 ? { lb: name, ip } : undefined;
  } catch {
    return undefined; // connection refused or reset: not acknowledged
  }
}

/** `writers` loops writing pairs until `stop()` says so, pushing each acknowledged one to `acked` as it comes. */
export async function writeUntil(base: string, writers: number, stop: () => boolean, acked: Acked[] = [], prefix = "lb"): Promise<Acked[]> {
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let k = 0; !stop() && k < 250; k++) {
        const pair = await writePair(base, `${prefix}-${w}-${k}`, `65.52.${w + 10 * prefix.length}.${k + 1}`);
        if (pair) acked.push(pair);
      }
    }),
  );
  return acked;
}

/** Every acknowledged load balancer answers 200 with its whole body (frontend, backends, probe, rules). */
export async function missingOrIncomplete(base: string, acked: Acked[]): Promise<string[]> {
  const problems: string[] = [];
  for (const { lb, ip } of acked) {
    const res = await api(base, "GET", `${loadBalancerPath(RG, lb)}?${NET}`);
    const p = res.json?.properties;
    if (res.status !== 200) problems.push(`${lb}: ${res.status}`);
    else if (p.loadBalancingRules?.length !== RULES || p.frontendIPConfigurations?.length !== 1 || p.probes?.length !== 1)
      problems.push(`${lb}: incomplete ${JSON.stringify(p)}`);
    else if (p.backendAddressPools?.[0]?.properties?.loadBalancerBackendAddresses?.length !== BACKENDS) problems.push(`${lb}: backends`);
    const pip = await api(base, "GET", `${publicIpId(RG, `${lb}-ip`)}?${NET}`);
    if (pip.status !== 200 || pip.json.properties.ipAddress !== ip) problems.push(`${lb}-ip: ${pip.status}`);
  }
  return problems;
}

/**
 * Claims are exactly what the stored rules make: per load balancer one frontend claim per rule and
 * one destination claim per rule and backend, none without a load balancer (nothing half-written).
 */
export async function claimMismatches(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query<{ name: string; rules: number; backends: number; frontend: number; destination: number }>(`
    SELECT lb.name,
      (SELECT count(*) FROM load_balancing_rules r WHERE r.load_balancer_id = lb.id)::int AS rules,
      (SELECT count(*) FROM backend_addresses a JOIN backend_address_pools p ON p.id = a.pool_id WHERE p.load_balancer_id = lb.id)::int AS backends,
      (SELECT count(*) FROM frontend_claims c WHERE c.load_balancer_id = lb.id)::int AS frontend,
      (SELECT count(*) FROM destination_claims c WHERE c.load_balancer_id = lb.id)::int AS destination
    FROM load_balancers lb`);
  return rows
    .filter((r) => r.rules !== RULES || r.backends !== BACKENDS || r.frontend !== r.rules || r.destination !== r.rules * r.backends)
    .map((r) => JSON.stringify(r));
}
