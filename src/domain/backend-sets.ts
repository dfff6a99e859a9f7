// Destination groups compared as sets of backend VMs. Two groups of one partition (protocol and
// destination) collide where their port ranges overlap AND they share a VM: the sweep over port
// ranges finds the overlapping pairs (linear when rules use distinct ports, as they mostly do), and
// only those pairs intersect their member sets. Members are compared by slot — one number per
// (scope, address) within a load balancer — since the same DIP reached through two pools is two
// address objects but one VM.

import { closeBefore, type DestinationGroup } from "./flows.js";
import type { ResolvedAddress } from "./resolve.js";

const slotIndex = new WeakMap<ResolvedAddress[], Map<number, ResolvedAddress>>();

/**
 * A group's members by slot, built on first use (most groups never take part in an overlap) and
 * once per member list (rules on the same pools share theirs).
 */
export function membersBySlot(g: DestinationGroup): Map<number, ResolvedAddress> {
  let m = slotIndex.get(g.members);
  if (!m) {
    m = new Map();
    for (const a of g.members) if (!m.has(a.slot)) m.set(a.slot, a);
    slotIndex.set(g.members, m);
  }
  return m;
}

/** Slots of `candidates` that are members of `g`. */
function sharedSlots(g: DestinationGroup, candidates: Iterable<number>): number[] {
  const mine = membersBySlot(g);
  const out: number[] = [];
  for (const s of candidates) if (mine.has(s)) out.push(s);
  return out;
}

const byStart = <G extends DestinationGroup>(order: (a: G, b: G) => number) => (a: G, b: G) =>
  a.low - b.low || b.high - a.high || order(a, b);

export interface SharedConflict<G extends DestinationGroup> {
  /** The earlier group (in port order) and the later one it collides with. */
  first: G;
  second: G;
  /** Slots of the VMs where they collide that no earlier partner of `second` already covered. */
  slots: number[];
}

/**
 * Colliding pairs within one partition. For each group, partners are taken in sweep order and each
 * shared VM is attributed to the first incompatible partner that has it — one report per VM at
 * most, however many rules pile onto it (thirty rules on one pool and port give 29 reports, not 435).
 */
export function sweepSharedConflicts<G extends DestinationGroup>(
  groups: G[],
  order: (a: G, b: G) => number,
  compatible: (a: G, b: G) => boolean,
): Array<SharedConflict<G>> {
  if (groups.length < 2) return [];
  const sorted = [...groups].sort(byStart(order));
  const open: G[] = [];
  const out: Array<SharedConflict<G>> = [];
  for (const x of sorted) {
    closeBefore(open, x.low);
    let uncovered: Set<number> | undefined;
    for (const a of open) {
      if (compatible(a, x)) continue;
      // Iterate the smaller side: usually both are whole pools, sometimes one is a single NAT target.
      const slots = uncovered
        ? sharedSlots(a, uncovered)
        : a.members.length < x.members.length ? sharedSlots(x, membersBySlot(a).keys()) : sharedSlots(a, membersBySlot(x).keys());
      if (!slots.length) continue;
      out.push({ first: a, second: x, slots });
      uncovered ??= new Set(membersBySlot(x).keys());
      for (const s of slots) uncovered.delete(s);
      if (!uncovered.size) break;
    }
    open.push(x);
  }
  return out;
}

/**
 * The members of each group minus those a group earlier in sweep order already claims with a port
 * range containing its own (a floating rule inside a floating HA-ports rule on the same frontend:
 * the HA claim covers it). Groups left with no member are dropped.
 */
export function withoutSubsumedMembers<G extends DestinationGroup>(groups: G[], order: (a: G, b: G) => number): G[] {
  if (groups.length < 2) return groups;
  const sorted = [...groups].sort(byStart(order));
  const open: G[] = [];
  const kept: G[] = [];
  for (const x of sorted) {
    closeBefore(open, x.low);
    let covered: Set<number> | undefined;
    for (const a of open) {
      if (a.high < x.high) continue;
      for (const s of sharedSlots(a, membersBySlot(x).keys())) (covered ??= new Set()).add(s);
    }
    const members = covered ? x.members.filter((m) => !covered.has(m.slot)) : x.members;
    if (members.length) kept.push(members === x.members ? x : { ...x, members });
    open.push(x);
  }
  return kept;
}
