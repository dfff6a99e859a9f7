// Probe health as lbplane serves it, from the votes of agents (also in the README).
//
// Aggregation rule: for one (load balancer, probe, DIP), only reports from LIVE agents of the load
// balancer's location count, one vote per agent (the store hands over only those). Up when a strict
// majority of those reporters say Up, Down when a strict majority say Down, otherwise Unknown — a
// tie, or no live reporter at all. A stale agent's last word never decides health: it may be the one
// that is partitioned from the backends.
//
// Per backend of a rule, adminState Down and a rule without a probe come first (`healthSource` in
// mappings.ts), so Azure's rule-health operation and the mapping table always agree.

import { healthSource, type Health } from "./mappings.js";
import type { ResolvedLoadBalancer, ResolvedRule } from "./resolve.js";

export type AggregateHealth = Health;

export interface HealthVerdict {
  state: AggregateHealth;
  reason: string;
  up: number;
  down: number;
}

export interface Vote {
  state: string;
  reason: string | null;
}

export function aggregate(votes: Vote[]): HealthVerdict {
  const up = votes.filter((v) => v.state === "Up");
  const down = votes.filter((v) => v.state === "Down");
  const total = votes.length;
  if (total > 0 && up.length * 2 > total) {
    return { state: "Up", reason: up.find((v) => v.reason)?.reason ?? "Probe succeeded", up: up.length, down: down.length };
  }
  if (total > 0 && down.length * 2 > total) {
    return { state: "Down", reason: down.find((v) => v.reason)?.reason ?? "Probe failed", up: up.length, down: down.length };
  }
  const reason = total === 0 ? "No live agent has reported this probe target" : `Agents disagree (${up.length} up, ${down.length} down)`;
  return { state: "Unknown", reason, up: up.length, down: down.length };
}

export type VerdictOf = (probe: string, backendAddress: string) => HealthVerdict;

const key = (probe: string, backend: string) => `${probe.toLowerCase()}\u0000${backend}`;

/** The aggregate per (probe, DIP) of one load balancer's live votes; probe names compare case-insensitively. */
export function verdictsOf(votes: Array<Vote & { probe: string; backendAddress: string }>): VerdictOf {
  const byTarget = new Map<string, Vote[]>();
  for (const v of votes) {
    const k = key(v.probe, v.backendAddress);
    const list = byTarget.get(k) ?? [];
    list.push({ state: v.state, reason: v.reason });
    byTarget.set(k, list);
  }
  return (probe, backend) => aggregate(byTarget.get(key(probe, backend)) ?? []);
}

/** Azure's LoadBalancerHealthPerRule. */
export interface HealthPerRule {
  up: number;
  down: number;
  loadBalancerBackendAddresses: Array<{ ipAddress: string; networkInterfaceIPConfigurationId?: string; state: string; reason: string }>;
}

/** The load-balancing rule named `ruleName` (case-insensitive), if the load balancer has one. */
export function findLoadBalancingRule(lb: ResolvedLoadBalancer, ruleName: string): ResolvedRule | undefined {
  const wanted = ruleName.toLowerCase();
  return lb.rules.find((r) => r.kind === "LoadBalancingRule" && r.name.toLowerCase() === wanted);
}

/** Health of each distinct backend address of a rule, in target order, with the Up/Down counts. */
export function ruleHealth(rule: ResolvedRule, verdictOf: VerdictOf): HealthPerRule {
  const seen = new Set<string>();
  const addresses: HealthPerRule["loadBalancerBackendAddresses"] = [];
  for (const t of rule.targets) {
    if (seen.has(t.backend.ip)) continue;
    seen.add(t.backend.ip);
    const source = healthSource(rule, t);
    if (source === "adminDown") {
      addresses.push({ ipAddress: t.backend.ip, state: "Down", reason: "The backend address's adminState is Down" });
    } else if (source === "unprobed") {
      addresses.push({ ipAddress: t.backend.ip, state: "Unknown", reason: "The rule has no health probe" });
    } else {
      const v = verdictOf(rule.probe!, t.backend.ip);
      addresses.push({ ipAddress: t.backend.ip, state: v.state, reason: v.reason });
    }
  }
  return {
    up: addresses.filter((a) => a.state === "Up").length,
    down: addresses.filter((a) => a.state === "Down").length,
    loadBalancerBackendAddresses: addresses,
  };
}
