// Claims: flows as the store persists them. The database checks them under per-address advisory
// locks (frontend: an exclusion constraint on scope+IP+protocol+port range; destination: a check of
// each VM+destination IP+protocol+port range against other load balancers' groups), the backstop
// that makes the uniqueness law hold under concurrent writers.

import { withoutSubsumedMembers } from "./backend-sets.js";
import { compareRules, compareStrings, dropSubsumed, flowsOf, groupBy, type DestinationGroup } from "./flows.js";
import type { LoadBalancerSpec } from "./model.js";
import {
  resolveLoadBalancer, type OwnerKind, type ResolveContext, type ResolvedAddress, type ResolvedLoadBalancer,
} from "./resolve.js";

export { conflictIssues } from "./uniqueness.js";

export interface FrontendClaim {
  scope: string;
  ipAddress: string;
  protocol: "Tcp" | "Udp";
  portLow: number;
  portHigh: number;
  owner: string;
  ownerKind: OwnerKind;
}

/** What a rule delivers, whatever the VM: protocol, backend port range, and the rule. */
interface DestinationTerms {
  protocol: "Tcp" | "Udp";
  portLow: number;
  portHigh: number;
  enableFloatingIP: boolean;
  owner: string;
  ownerKind: OwnerKind;
}

/** One flow on one VM, as other load balancers' claims are read back for comparison. */
export interface DestinationClaim extends DestinationTerms {
  scope: string;
  backendAddress: string;
  destinationIp: string;
}

export interface ClaimMember {
  scope: string;
  backendAddress: string;
}

/**
 * A rule's destination claim over a set of VMs: (destination, protocol, port range) on each member.
 * What the store persists (one row per group, each distinct member set once) and what the law
 * compares — never expanded into one claim per VM.
 */
export interface DestinationClaimGroup extends DestinationTerms {
  /** Null: each member's own address (the DIP); else the one destination (a floating rule's VIP). */
  destinationIp: string | null;
  /** Sorted by (scope, address), unique; equal member lists of one derivation are one array. */
  members: ClaimMember[];
}

export interface ClaimOwner {
  loadBalancerId: string;
  loadBalancerName: string;
  subscriptionId: string;
}

export interface OwnedClaims {
  frontend: Array<FrontendClaim & ClaimOwner>;
  destination: Array<DestinationClaim & ClaimOwner>;
}

export interface Claims {
  frontend: FrontendClaim[];
  destination: DestinationClaimGroup[];
}

/**
 * Claims a (defaults-applied, structurally valid) spec occupies. Within one LB the output has no
 * overlapping claims: a VM's claim contained in another of the same destination is dropped (Azure
 * allows a floating rule inside a floating HA-ports rule on the same frontend; the HA claim already
 * covers it), and a rule reaching a DIP twice claims it once. For a spec validation refused, claims
 * may still overlap.
 */
export function deriveClaims(spec: LoadBalancerSpec, ctx: ResolveContext): Claims {
  return claimsOf(resolveLoadBalancer(spec, ctx));
}

const claimsMemo = new WeakMap<ResolvedLoadBalancer, Claims>();

/** The claims of a resolved load balancer, derived once per resolution (callers do not mutate them). */
export function claimsOf(lb: ResolvedLoadBalancer): Claims {
  let claims = claimsMemo.get(lb);
  if (!claims) claimsMemo.set(lb, (claims = deriveFromFlows(lb)));
  return claims;
}

function deriveFromFlows(lb: ResolvedLoadBalancer): Claims {
  const byRule = <T extends { rule: { kind: string; name: string } }>(a: T, b: T) => compareRules(a.rule, b.rule);

  const frontend: FrontendClaim[] = [];
  for (const group of flowsOf(lb).frontend.values()) {
    for (const f of dropSubsumed(group, byRule)) {
      frontend.push({
        scope: f.scope, ipAddress: f.ip, protocol: f.protocol, portLow: f.low, portHigh: f.high,
        owner: f.rule.name, ownerKind: f.rule.kind,
      });
    }
  }
  const kept = [...flowsOf(lb).destination.values()].flatMap((partition) => withoutSubsumedMembers(partition, byRule));
  const members = memberLists(kept);
  const destination = kept.map((g): DestinationClaimGroup => ({
    destinationIp: g.vip, protocol: g.protocol, portLow: g.low, portHigh: g.high, enableFloatingIP: g.rule.floating,
    owner: g.rule.name, ownerKind: g.rule.kind, members: members(g.members),
  }));
  return { frontend, destination };
}

/**
 * Canonical member lists: one ClaimMember per VM, each list sorted by (scope, address) and unique,
 * equal lists shared (rules on one pool share its list, so the store keys each set once). The VMs
 * are ranked once; each list then sorts numbers, not strings.
 */
function memberLists(groups: DestinationGroup[]): (addresses: ResolvedAddress[]) => ClaimMember[] {
  const bySlot = new Map<number, ResolvedAddress>();
  for (const g of groups) for (const a of g.members) if (!bySlot.has(a.slot)) bySlot.set(a.slot, a);
  const ranked = [...bySlot.values()]
    .map((a) => ({ slot: a.slot, member: { scope: a.scope, backendAddress: a.ip } }))
    .sort((x, y) => compareStrings(x.member.scope, y.member.scope) || compareStrings(x.member.backendAddress, y.member.backendAddress));
  const rank = new Map(ranked.map((r, i) => [r.slot, i]));
  const lists = new Map<string, ClaimMember[]>();
  const byArray = new Map<ResolvedAddress[], ClaimMember[]>(); // rules on one pool share its backend array
  return (addresses) => {
    const known = byArray.get(addresses);
    if (known) return known;
    const ranks = Int32Array.from(addresses, (a) => rank.get(a.slot)!).sort();
    let unique = 0;
    for (let i = 0; i < ranks.length; i++) if (i === 0 || ranks[i] !== ranks[i - 1]) ranks[unique++] = ranks[i];
    const sorted = ranks.subarray(0, unique);
    const content = sorted.join(",");
    let list = lists.get(content);
    if (!list) lists.set(content, (list = Array.from(sorted, (r) => ranked[r].member)));
    byArray.set(addresses, list);
    return list;
  };
}

/** Every (VM, destination) claim of the groups, one per member: for tests and explanations, not for hot paths. */
export function expandDestinationClaims(groups: DestinationClaimGroup[]): DestinationClaim[] {
  return groups.flatMap((g) => g.members.map((m) => ({
    scope: m.scope, backendAddress: m.backendAddress, destinationIp: g.destinationIp ?? m.backendAddress,
    protocol: g.protocol, portLow: g.portLow, portHigh: g.portHigh, enableFloatingIP: g.enableFloatingIP,
    owner: g.owner, ownerKind: g.ownerKind,
  })));
}

const lookupMemo = new WeakMap<Claims, ReturnType<typeof lookupKeys>>();

/** The query keys the store needs to fetch possibly-colliding claims of other LBs (also its lock keys). */
export function claimLookupKeys(c: Claims): ReturnType<typeof lookupKeys> {
  let keys = lookupMemo.get(c);
  if (!keys) lookupMemo.set(c, (keys = lookupKeys(c)));
  return keys;
}

function lookupKeys(c: Claims): {
  frontend: Array<{ scope: string; ipAddress: string }>;
  destination: Array<{ scope: string; backendAddress: string }>;
} {
  const uniq = <T>(items: Iterable<T>, key: (t: T) => string) =>
    [...groupBy([...items], key).values()].map((g) => g[0]);
  const members = new Set<ClaimMember>();
  for (const list of new Set(c.destination.map((g) => g.members))) for (const m of list) members.add(m);
  return {
    frontend: uniq(c.frontend, (f) => `${f.scope}|${f.ipAddress}`).map((f) => ({ scope: f.scope, ipAddress: f.ipAddress })),
    destination: uniq(members, (m) => `${m.scope}|${m.backendAddress}`).map((m) => ({
      scope: m.scope, backendAddress: m.backendAddress,
    })),
  };
}
