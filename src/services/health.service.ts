// Health use cases: the rule-health result Azure's LoadBalancingRules_Health operation answers and
// the health column of the effective-mappings table. Both read the votes of the location's live
// agents when asked (so polling late never returns stale health) and let the domain decide.

import { childId } from "../domain/ids.js";
import { effectiveMappings, type EffectiveMapping } from "../domain/mappings.js";
import { resolveLoadBalancer } from "../domain/resolve.js";
import { findLoadBalancingRule, ruleHealth, verdictsOf, type HealthPerRule, type VerdictOf } from "../domain/rule-health.js";
import { Errors } from "../errors.js";
import type { StoredLoadBalancer } from "../store/load-balancers.store.js";
import { readLiveVotes } from "../store/probe-health.store.js";
import type { ServiceDeps } from "./deps.js";

type Deps = Pick<ServiceDeps, "db" | "config">;

async function loadVerdicts(deps: Deps, lb: StoredLoadBalancer): Promise<VerdictOf> {
  return verdictsOf(await readLiveVotes(deps.db, lb.uid, lb.location, deps.config.agentLivenessMs));
}

/** Health per backend address of one load-balancing rule, or 404 NotFound for an unknown rule. */
export async function getRuleHealth(deps: Deps, lb: StoredLoadBalancer, ruleName: string): Promise<HealthPerRule> {
  const resolved = resolveLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
  const rule = findLoadBalancingRule(resolved, ruleName);
  if (!rule) throw Errors.childNotFound(childId(lb.id, "loadBalancingRules", ruleName));
  return ruleHealth(rule, await loadVerdicts(deps, lb));
}

/** The seed's mapping table of one load balancer, each destination with its aggregated health. */
export async function listEffectiveMappings(deps: Deps, lb: StoredLoadBalancer): Promise<EffectiveMapping[]> {
  const verdictOf = await loadVerdicts(deps, lb);
  return effectiveMappings(lb.spec, { address: lb.address, publicIps: lb.publicIps }, (probe, backend) => verdictOf(probe, backend).state);
}
