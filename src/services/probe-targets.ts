// What an agent of a location was sent to probe: per load balancer of the location, per probe, the
// DIPs the compiled load balancer targets (src/domain/compile.ts decides them, as for every push).
// Health intake counts a report item only if it names one of these, so an agent can neither vote
// on another location's load balancers nor on addresses no load balancer has — and its stored rows
// are bounded by what exists.
//
// Kept up to date the way pushes are (src/agents/desired-state.ts): after a write, the next report
// reads only what changed since the generation held (the incremental-push read, one statement) and
// compiles only those load balancers. Recompiling the whole location per generation made every
// write cost O(load balancers in the location) once agents reported on it — 10,000 compiles per
// PUT in a full location (bench/fill-location.ts).

import { compileLoadBalancer } from "../domain/compile.js";
import { canonicalIp } from "../domain/ip.js";
import { locationGeneration } from "../store/agents.store.js";
import { readLocationChanges, type LocationChanges } from "../store/load-balancer-versions.store.js";
import type { StoredLoadBalancer } from "../store/load-balancers.store.js";
import { poolOf, type Db } from "../store/prisma.js";

export interface LoadBalancerTargets {
  uid: string;
  /** The load balancer's generation these targets were compiled from. */
  generation: bigint;
  /** Lower-cased probe name → canonical DIPs it probes. */
  probes: Map<string, Set<string>>;
}

/** Lower-cased ARM id → what was sent about that load balancer. */
export type LocationTargets = Map<string, LoadBalancerTargets>;

interface Held {
  generation: bigint;
  targets: LocationTargets;
  /** uid → lower-cased ARM id, to apply a deletion (tombstones name the uid). */
  idByUid: Map<string, string>;
}

const held = new WeakMap<Db, Map<string, Held>>();
/** Reads in flight per location: a burst of reports after a change reads the changes once. */
const reading = new WeakMap<Db, Map<string, Promise<Held>>>();

function perDb<T>(map: WeakMap<Db, Map<string, T>>, db: Db): Map<string, T> {
  let m = map.get(db);
  if (!m) map.set(db, (m = new Map()));
  return m;
}

/** The probe targets of `location` (normalised) at its current generation (or newer). */
export async function probeTargetsOf(db: Db, location: string): Promise<LocationTargets> {
  const current = perDb(held, db).get(location);
  if (current && current.generation >= (await locationGeneration(db, location))) return current.targets;
  const inFlight = perDb(reading, db);
  let read = inFlight.get(location);
  if (!read) {
    read = catchUp(db, location, perDb(held, db).get(location)).finally(() => inFlight.delete(location));
    inFlight.set(location, read);
  }
  const fresh = await read;
  perDb(held, db).set(location, fresh);
  return fresh.targets;
}

/**
 * Brings `prior` (if any) to the location's generation: a delta since its generation, or — first
 * time, or when the tombstones it would need are pruned — a full read that names what is already
 * compiled, so only unknown or rewritten load balancers are compiled. Mutates `prior` in place: a
 * reader gets the targets at its generation or newer, never older.
 */
async function catchUp(db: Db, location: string, prior: Held | undefined): Promise<Held> {
  const pool = poolOf(db);
  if (prior) {
    const delta = await readLocationChanges(pool, location, prior.generation, []);
    // A base the tombstones no longer cover, or one ahead of the location (a restored database).
    if (prior.generation >= delta.horizon && prior.generation <= delta.generation) return applyDelta(prior, delta);
  }
  const known = prior ? [...prior.targets.values()].map((t) => ({ uid: t.uid, generation: t.generation })) : [];
  return applyFull(prior, await readLocationChanges(pool, location, -1n, known));
}

function applyDelta(h: Held, changes: LocationChanges): Held {
  for (const uid of changes.removedUids) forget(h, uid);
  for (const doc of changes.documents) remember(h, doc);
  h.generation = changes.generation;
  return h;
}

function applyFull(prior: Held | undefined, changes: LocationChanges): Held {
  const h: Held = { generation: changes.generation, targets: new Map(), idByUid: new Map() };
  const priorByUid = new Map(prior ? [...prior.targets.values()].map((t) => [t.uid, t]) : []);
  for (const c of changes.changed) {
    const kept = priorByUid.get(c.uid);
    const id = prior?.idByUid.get(c.uid);
    if (kept && id && kept.generation === c.generation) {
      h.targets.set(id, kept);
      h.idByUid.set(c.uid, id);
    }
  }
  for (const doc of changes.documents) remember(h, doc);
  return h;
}

function forget(h: Held, uid: string): void {
  const id = h.idByUid.get(uid);
  h.idByUid.delete(uid);
  // Deleted and created again under the same id: the new uid's entry is not this deletion's.
  if (id && h.targets.get(id)?.uid === uid) h.targets.delete(id);
}

function remember(h: Held, lb: StoredLoadBalancer): void {
  const compiled = compileLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
  const probes = new Map<string, Set<string>>();
  for (const p of compiled.probes) probes.set(p.name.toLowerCase(), new Set(p.targets.map((t) => canonicalIp(t) ?? t)));
  const id = lb.id.toLowerCase();
  const replaced = h.targets.get(id);
  if (replaced && replaced.uid !== lb.uid) h.idByUid.delete(replaced.uid);
  h.targets.set(id, { uid: lb.uid, generation: lb.generation, probes });
  h.idByUid.set(lb.uid, id);
}

/** The canonical DIP if `lbId`'s probe `probe` targets `address`, else undefined. */
export function sentTarget(targets: LocationTargets, lbId: string, probe: string, address: string): { uid: string; dip: string } | undefined {
  const lb = targets.get(lbId.toLowerCase());
  const dip = canonicalIp(address);
  if (!lb || !dip || !lb.probes.get(probe.toLowerCase())?.has(dip)) return undefined;
  return { uid: lb.uid, dip };
}
