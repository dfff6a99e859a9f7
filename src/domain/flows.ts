// Flows: what each rule occupies, before it becomes a database row. A frontend flow is (frontend IP,
// protocol, port range); a destination flow is (backend VM, destination IP, protocol, port range) —
// the VM named by its DIP, so a floating IP rule claims VIP:port once per VM. Each flow keeps the
// rule it came from so the uniqueness law can name both rules of a conflict.

import type { ResolvedLoadBalancer, ResolvedRule, Transport } from "./resolve.js";

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

export interface DestinationFlow extends Span {
  rule: ResolvedRule;
  /** Grouping key: same (scope, VM, destination IP, protocol) ⇔ same number. */
  key: number;
  scope: string;
  backend: string;
  destinationIp: string;
  protocol: Transport;
  pool?: string;
}

export interface Flows {
  frontend: Map<string, FrontendFlow[]>;
  destination: Map<number, DestinationFlow[]>;
}

const memo = new WeakMap<ResolvedLoadBalancer, Flows>();

/** Flows grouped by what may collide, computed once per resolved load balancer. */
export function flowsOf(lb: ResolvedLoadBalancer): Flows {
  let f = memo.get(lb);
  if (!f) {
    f = {
      frontend: groupBy(frontendFlows(lb), (x) => `${x.scope}|${x.ip}|${x.protocol}`),
      destination: groupBy(destinationFlows(lb), (x) => x.key),
    };
    memo.set(lb, f);
  }
  return f;
}

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

export function destinationFlows(lb: ResolvedLoadBalancer): DestinationFlow[] {
  const out: DestinationFlow[] = [];
  for (const rule of lb.rules) {
    for (const t of rule.targets) {
      if (!validSpan(t.destLow, t.destHigh)) continue;
      for (const protocol of rule.transports) {
        out.push({
          rule, key: (t.backend.slot * lb.ipSlots + t.destinationSlot) * 2 + (protocol === "Tcp" ? 0 : 1),
          scope: t.backend.scope, backend: t.backend.ip, destinationIp: t.destinationIp, protocol,
          low: t.destLow, high: t.destHigh, pool: t.backend.pool,
        });
      }
    }
  }
  return out;
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
    let w = 0;
    for (const a of open) if (a.high >= x.low) open[w++] = a;
    open.length = w;
    const partner = open.find((a) => !compatible(a, x));
    if (partner) pairs.push([partner, x]);
    open.push(x);
  }
  return pairs;
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
