// The seed's "complete mapping" table (design.md §4.2): per rule, where each frontend's flows land —
// the DIP for a default rule, the VIP (on each VM) for a floating IP rule — with probe health.

import type { LoadBalancerSpec } from "./model.js";
import { resolveLoadBalancer, type ResolveContext, type ResolvedRule, type ResolvedTarget } from "./resolve.js";

export type Health = "Up" | "Down" | "Unknown";

export interface EffectiveMapping {
  rule: string;
  kind: "LoadBalancingRule" | "InboundNatRule";
  protocol: string;
  frontendIPAddress: string;
  frontendPort: number;
  enableFloatingIP: boolean;
  destinations: Array<{ backendAddress: string; destinationIPAddress: string; destinationPort: number; health: Health }>;
}

/**
 * What decides a backend's health in a rule, in precedence order: an adminState of Down wins; a
 * rule without a probe has nobody reporting on it; otherwise the probe's reports decide. Shared
 * by the mapping table and rule health (src/domain/rule-health.ts), so both always agree.
 */
export function healthSource(rule: ResolvedRule, t: ResolvedTarget): "adminDown" | "unprobed" | "probed" {
  if (t.backend.adminState === "Down") return "adminDown";
  return rule.probe ? "probed" : "unprobed";
}

/**
 * Rows in spec order (load-balancing rules, then inbound NAT rules); a pool-based NAT rule gives one
 * row per mapped frontend port. Health: adminState Down → Down; a probed rule → what `health`
 * reports (Unknown without it); a rule without a probe → Unknown, since nothing reports on it
 * (the data plane still sends it traffic).
 */
export function effectiveMappings(
  spec: LoadBalancerSpec,
  ctx: ResolveContext,
  health?: (probe: string, backendAddress: string) => Health,
): EffectiveMapping[] {
  const lb = resolveLoadBalancer(spec, ctx);
  const healthOf = (rule: ResolvedRule, t: ResolvedTarget): Health => {
    const source = healthSource(rule, t);
    if (source === "adminDown") return "Down";
    if (source === "unprobed" || !health) return "Unknown";
    return health(rule.probe!, t.backend.ip);
  };
  const row = (rule: ResolvedRule, frontendPort: number, targets: ResolvedTarget[]): EffectiveMapping => ({
    rule: rule.name,
    kind: rule.kind,
    protocol: rule.protocol,
    frontendIPAddress: rule.frontend!.ip!,
    frontendPort,
    enableFloatingIP: rule.floating,
    destinations: targets.map((t) => ({
      backendAddress: t.backend.ip,
      destinationIPAddress: t.destinationIp,
      destinationPort: rule.ha ? 0 : t.destLow,
      health: healthOf(rule, t),
    })),
  });
  const rows: EffectiveMapping[] = [];
  for (const rule of lb.rules) {
    if (!rule.frontend?.ip) continue;
    if (rule.kind === "InboundNatRule" && rule.frontendLow !== rule.frontendHigh && rule.targets.length > 0) {
      for (const t of rule.targets) rows.push(row(rule, t.frontendPort, [t]));
    } else {
      rows.push(row(rule, rule.frontendLow, rule.targets));
    }
  }
  return rows;
}
