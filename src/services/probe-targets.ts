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

interface Cached {
  generation: bigint;
  targets: LocationTargets;
}

const cache = new WeakMap<Db, Map<string, Cached>>();
/** Reads in flight per location: a burst of reports after a change compiles the location once. */
const reading = new WeakMap<Db, Map<string, Promise<Cached>>>();

function perDb<T>(map: WeakMap<Db, Map<string, T>>, db: Db): Map<string, T> {
  let m = map.get(db);
  if (!m) map.set(db, (m = new Map()));
  return m;
}

/** The probe targets of `location` (normalised) at its current generation. */
export async function probeTargetsOf(db: Db, location: string): Promise<LocationTargets> {
  const cached = perDb(cache, db).get(location);
  if (cached && cached.generation === (await locationGeneration(db, location))) return cached.targets;
  const inFlight = perDb(reading, db);
  let read = inFlight.get(location);
  if (!read) {
    read = compileTargets(db, location).finally(() => inFlight.delete(location));
    inFlight.set(location, read);
  }
  const fresh = await read;
  perDb(cache, db).set(location, fresh);
  return fresh.targets;
}

async function compileTargets(db: Db, location: string): Promise<Cached> {
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
  return { generation: snapshot.generation, targets };
}

/** The canonical DIP if `lbId`'s probe `probe` targets `address`, else undefined. */
export function sentTarget(targets: LocationTargets, lbId: string, probe: string, address: string): { uid: string; dip: string } | undefined {
  const lb = targets.get(lbId.toLowerCase());
  const dip = canonicalIp(address);
  if (!lb || !dip || !lb.probes.get(probe.toLowerCase())?.has(dip)) return undefined;
  return { uid: lb.uid, dip };
}
