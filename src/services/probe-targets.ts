// What an agent of a location was sent to probe: per load balancer of the location, per probe, the
// DIPs the compiled load balancer targets (src/domain/compile.ts decides them, as for every push).
// Health intake counts a report item only if it names one of these, so an agent can neither vote
// on another location's load balancers nor on addresses no load balancer has — and its stored rows
// are bounded by what exists. Compiled once per (location, generation), like a push.

import { compileLoadBalancer } from "../domain/compile.js";
import { canonicalIp } from "../domain/ip.js";
import { locationGeneration } from "../store/agents.store.js";
import { readDesiredSnapshotFrom } from "../store/desired-state.store.js";
import type { Db } from "../store/prisma.js";

export interface LoadBalancerTargets {
  uid: string;
  /** Lower-cased probe name → canonical DIPs it probes. */
  probes: Map<string, Set<string>>;
}

/** Lower-cased ARM id → what was sent about that load balancer. */
export type LocationTargets = Map<string, LoadBalancerTargets>;

const cache = new WeakMap<Db, Map<string, { generation: bigint; targets: LocationTargets }>>();

/** The probe targets of `location` (normalised) at its current generation. */
export async function probeTargetsOf(db: Db, location: string): Promise<LocationTargets> {
  let perDb = cache.get(db);
  if (!perDb) cache.set(db, (perDb = new Map()));
  const cached = perDb.get(location);
  if (cached && cached.generation === (await locationGeneration(db, location))) return cached.targets;
  const snapshot = await readDesiredSnapshotFrom(db, location);
  const targets: LocationTargets = new Map();
  for (const lb of snapshot.loadBalancers) {
    const compiled = compileLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
    const probes = new Map<string, Set<string>>();
    for (const p of compiled.probes) {
      probes.set(p.name.toLowerCase(), new Set(p.targets.map((t) => canonicalIp(t) ?? t)));
    }
    targets.set(lb.id.toLowerCase(), { uid: lb.uid, probes });
  }
  perDb.set(location, { generation: snapshot.generation, targets });
  return targets;
}

/** The canonical DIP if `lbId`'s probe `probe` targets `address`, else undefined. */
export function sentTarget(targets: LocationTargets, lbId: string, probe: string, address: string): { uid: string; dip: string } | undefined {
  const lb = targets.get(lbId.toLowerCase());
  const dip = canonicalIp(address);
  if (!lb || !dip || !lb.probes.get(probe.toLowerCase())?.has(dip)) return undefined;
  return { uid: lb.uid, dip };
}
