// Claims: flows as the store persists them. The database holds them under exclusion constraints
// (frontend: scope+IP+protocol+port range; destination: scope+VM+destination IP+protocol+port
// range), the backstop that makes the uniqueness law hold under concurrent writers.

import { compareRules, dropSubsumed, flowsOf, groupBy } from "./flows.js";
import type { LoadBalancerSpec } from "./model.js";
import { resolveLoadBalancer, type OwnerKind, type ResolveContext, type ResolvedLoadBalancer } from "./resolve.js";

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

export interface DestinationClaim {
  scope: string;
  backendAddress: string;
  destinationIp: string;
  protocol: "Tcp" | "Udp";
  portLow: number;
  portHigh: number;
  enableFloatingIP: boolean;
  owner: string;
  ownerKind: OwnerKind;
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
  destination: DestinationClaim[];
}

/**
 * Claims a (defaults-applied, structurally valid) spec occupies. Within one LB the output has no
 * overlapping rows: a row contained in another of the same key is dropped (Azure allows a floating
 * rule inside a floating HA-ports rule on the same frontend; the HA row already covers it), and
 * identical rows from one rule reaching a DIP twice collapse. For a spec validation refused, rows may
 * still overlap — the database would then refuse them too.
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
  const destination: DestinationClaim[] = [];
  for (const group of flowsOf(lb).destination.values()) {
    for (const d of dropSubsumed(group, byRule)) {
      destination.push({
        scope: d.scope, backendAddress: d.backend, destinationIp: d.destinationIp, protocol: d.protocol,
        portLow: d.low, portHigh: d.high, enableFloatingIP: d.rule.floating,
        owner: d.rule.name, ownerKind: d.rule.kind,
      });
    }
  }
  return { frontend, destination };
}

/** The query keys the store needs to fetch possibly-colliding claims of other LBs. */
export function claimLookupKeys(c: Claims): {
  frontend: Array<{ scope: string; ipAddress: string }>;
  destination: Array<{ scope: string; backendAddress: string }>;
} {
  const uniq = <T>(items: T[], key: (t: T) => string) =>
    [...groupBy(items, key).values()].map((g) => g[0]);
  return {
    frontend: uniq(c.frontend, (f) => `${f.scope}|${f.ipAddress}`).map((f) => ({ scope: f.scope, ipAddress: f.ipAddress })),
    destination: uniq(c.destination, (d) => `${d.scope}|${d.backendAddress}`).map((d) => ({
      scope: d.scope, backendAddress: d.backendAddress,
    })),
  };
}
