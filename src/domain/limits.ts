// Per-load-balancer limits (reference §4.3, Azure's load-balancer-limits include). Basic has no
// documented per-LB ip-configuration total; a Basic pool spans one availability set, so lbplane caps
// the total at the pool size. Basic supports no outbound rules at all.

import { Codes, issue } from "./issues.js";
import type { DomainIssue, LoadBalancerSpec } from "./model.js";

export interface LoadBalancerLimits {
  frontendIPConfigurations: number;
  /** Load-balancing rules + inbound NAT rules. */
  rules: number;
  addressesPerPool: number;
  outboundRules: number;
  /** Backend addresses over all pools. */
  ipConfigurations: number;
}

export const STANDARD_LIMITS: LoadBalancerLimits = {
  frontendIPConfigurations: 600,
  rules: 1500,
  addressesPerPool: 5000,
  outboundRules: 600,
  ipConfigurations: 20000,
};

export const BASIC_LIMITS: LoadBalancerLimits = {
  frontendIPConfigurations: 200,
  rules: 250,
  addressesPerPool: 300,
  outboundRules: 0,
  ipConfigurations: 300,
};

export function limitsFor(spec: LoadBalancerSpec): LoadBalancerLimits {
  return spec.sku?.name === "Basic" ? BASIC_LIMITS : STANDARD_LIMITS;
}

export function checkLimits(spec: LoadBalancerSpec): DomainIssue[] {
  const lim = limitsFor(spec);
  const sku = spec.sku?.name ?? "Standard";
  const p = spec.properties;
  const out: DomainIssue[] = [];
  const frontends = p.frontendIPConfigurations?.length ?? 0;
  if (frontends > lim.frontendIPConfigurations) {
    out.push(issue(Codes.LoadBalancerFrontendIPConfigurationCountLimitReached,
      `A ${sku} load balancer cannot have more than ${lim.frontendIPConfigurations} FrontendIPConfigurations (it has ${frontends}).`,
      "properties.frontendIPConfigurations"));
  }
  const rules = (p.loadBalancingRules?.length ?? 0) + (p.inboundNatRules?.length ?? 0);
  if (rules > lim.rules) {
    out.push(issue(Codes.LoadBalancerRuleCountLimitReached,
      `A ${sku} load balancer cannot have more than ${lim.rules} load balancing and inbound NAT rules together (it has ${rules}).`,
      "properties.loadBalancingRules"));
  }
  const outbound = p.outboundRules?.length ?? 0;
  if (outbound > lim.outboundRules) {
    out.push(issue(Codes.LoadBalancerOutboundRuleCountLimitReached,
      lim.outboundRules === 0
        ? `A ${sku} load balancer does not support outbound rules.`
        : `A ${sku} load balancer cannot have more than ${lim.outboundRules} outbound rules (it has ${outbound}).`,
      "properties.outboundRules"));
  }
  let total = 0;
  (p.backendAddressPools ?? []).forEach((pool, i) => {
    const n = pool.properties?.loadBalancerBackendAddresses?.length ?? 0;
    total += n;
    if (n > lim.addressesPerPool) {
      out.push(issue(Codes.LoadBalancerBackendPoolSizeLimitReached,
        `Backend address pool ${pool.name} of a ${sku} load balancer cannot have more than ${lim.addressesPerPool} addresses (it has ${n}).`,
        `properties.backendAddressPools[${i}].properties.loadBalancerBackendAddresses`));
    }
  });
  if (total > lim.ipConfigurations) {
    out.push(issue(Codes.LoadBalancerIpConfigurationCountLimitReached,
      `A ${sku} load balancer cannot have more than ${lim.ipConfigurations} backend IP configurations over all pools (it has ${total}).`,
      "properties.backendAddressPools"));
  }
  return out;
}
