// Flows: what each rule occupies, before it becomes a database row. A frontend flow is (frontend IP,
// protocol, port range). A destination group is one rule's (destination, protocol, port range) over
// a set of backend VMs: the destination is each VM's own DIP for a default rule, the one VIP for a
// floating IP rule (so it claims VIP:port once per VM). Kept as sets, not one flow per (rule, VM):
// at Azure's Standard limits that is 3,000 groups instead of 150,000 flows. Each flow keeps the rule
// it came from so the uniqueness law can name both rules of a conflict.

import type { ResolvedAddress, ResolvedLoadBalancer, ResolvedRule, Transport } from "./resolve.js";

export interface Span {
  low: number;
  high: number;
}

export interface FrontendFlow extends Span {
  rule: ResolvedRule;
  scope: string;
  ip: string;
  protocol: Transport;
}

export interface DestinationGroup extends Span {
  rule: ResolvedRule;
  protocol: Transport;
  /** Null: each member's own DIP (a default rule); else the one destination IP (a floating rule's VIP). */
  vip: string | null;
  /** Backend VMs, unique by slot, in the rule's target order. */
  members: ResolvedAddress[];
}

export interface Flows {
  frontend: Map<string, FrontendFlow[]>;
  /** Groups that may collide, by protocol and destination ("Tcp|" for DIPs, "Tcp|<vip>" for a VIP). */
  destination: Map<string, DestinationGroup[]>;
}

const memo = new WeakMap<ResolvedLoadBalancer, Flows>();

/** Flows grouped by what may collide, computed once per resolved load balancer. */
export function flowsOf(lb: ResolvedLoadBalancer): Flows {
  let f = memo.get(lb);
  if (!f) {
    f = {
      frontend: groupBy(frontendFlows(lb), (x) => `${x.scope}|${x.ip}|${x.protocol}`),
      destination: groupBy(destinationGroups(lb), partitionOf),
    };
    memo.set(lb, f);
  }
  return f;
}

export const partitionOf = (g: { protocol: string; vip: string | null }) => `${g.protocol}|${g.vip ?? ""}`;

export function frontendFlows(lb: ResolvedLoadBalancer): FrontendFlow[] {
  const out: FrontendFlow[] = [];
  for (const rule of lb.rules) {
    const fe = rule.frontend;
    if (!fe?.ip || !validSpan(rule.frontendLow, rule.frontendHigh)) continue;
    for (const protocol of rule.transports) {
      out.push({ rule, scope: fe.scope, ip: fe.ip, protocol, low: rule.frontendLow, high: rule.frontendHigh });
    }
  }
  return out;
}

/**
 * Each rule's destination groups: one per transport and (destination, port range). A
 * load-balancing rule's backends share both, so its groups are its backend list (shared by every
 * rule on the same pools); a NAT rule's few targets are grouped one by one.
 */
export function destinationGroups(lb: ResolvedLoadBalancer): DestinationGroup[] {
  const out: DestinationGroup[] = [];
  for (const rule of lb.rules) {
    const variants = rule.kind === "LoadBalancingRule" ? ruleVariants(rule) : targetVariants(rule);
    for (const protocol of rule.transports) for (const v of variants) out.push({ ...v, protocol });
  }
  return out;
}

type Variant = Omit<DestinationGroup, "protocol">;

function ruleVariants(rule: ResolvedRule): Variant[] {
  const low = rule.ha ? 0 : rule.backendPort;
  const high = rule.ha ? 65535 : rule.backendPort;
  if (!rule.backends.length || !validSpan(low, high)) return [];
  const vip = rule.floating ? (rule.frontend?.ip ?? null) : null;
  // A floating rule whose VIP is also one of its DIPs delivers there as a default rule would.
  const own = vip === null ? [] : rule.backends.filter((b) => b.ip === vip);
  if (!own.length) return [{ rule, vip, low, high, members: rule.backends }];
  return [
    { rule, vip: null, low, high, members: own },
    { rule, vip, low, high, members: rule.backends.filter((b) => b.ip !== vip) },
  ].filter((v) => v.members.length);
}

function targetVariants(rule: ResolvedRule): Variant[] {
  const variants: Variant[] = [];
  for (const t of rule.targets) {
    if (!validSpan(t.destLow, t.destHigh)) continue;
    const vip = t.destinationIp === t.backend.ip ? null : t.destinationIp;
    let v = variants.find((x) => x.vip === vip && x.low === t.destLow && x.high === t.destHigh);
    if (!v) variants.push((v = { rule, vip, low: t.destLow, high: t.destHigh, members: [] }));
    v.members.push(t.backend);
  }
  return variants;
}

function validSpan(low: number, high: number): boolean {
  return Number.isInteger(low) && Number.isInteger(high) && low >= 0 && high <= 65535 && low <= high;
}

/** Total order on rules that ignores their position in the spec (results must not depend on it). */
export function compareRules(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  if (a.kind !== b.kind) return a.kind === "LoadBalancingRule" ? -1 : 1;
  const la = a.name.toLowerCase(), lb = b.name.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Groups in first-seen order; callers that report sort what they report, not every group. */
export function groupBy<T, K extends string | number = string>(items: T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = m.get(k);
    if (g) g.push(it);
    else m.set(k, [it]);
  }
  return m;
}

export const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Overlapping pairs within one group of spans, found by a sweep (sorted by start, keeping only the
 * spans still open): linear in the group plus the overlaps it finds, never all-pairs. Each span is
 * reported at most once, with the first open span it may not share its ports with.
 */
export function sweepConflicts<T extends Span>(
  group: T[],
  order: (a: T, b: T) => number,
  compatible: (a: T, b: T) => boolean,
): Array<[T, T]> {
  if (group.length < 2) return [];
  const sorted = [...group].sort((a, b) => a.low - b.low || b.high - a.high || order(a, b));
  const open: T[] = [];
  const pairs: Array<[T, T]> = [];
  for (const x of sorted) {
    closeBefore(open, x.low);
    const partner = open.find((a) => !compatible(a, x));
    if (partner) pairs.push([partner, x]);
    open.push(x);
  }
  return pairs;
}

/** Removes, in place, the spans of a sweep's open list that end before `low`. */
export function closeBefore(open: Span[], low: number): void {
  let w = 0;
  for (const a of open) if (a.high >= low) open[w++] = a;
  open.length = w;
}

/** Drops spans contained in an earlier one of the same group (e.g. a floating rule under floating HA ports). */
export function dropSubsumed<T extends Span>(group: T[], order: (a: T, b: T) => number): T[] {
  if (group.length < 2) return group;
  const sorted = [...group].sort((a, b) => a.low - b.low || b.high - a.high || order(a, b));
  const kept: T[] = [];
  let cover: T | undefined;
  for (const x of sorted) {
    if (cover && x.high <= cover.high) continue;
    kept.push(x);
    if (!cover || x.high > cover.high) cover = x;
  }
  return kept;
}
