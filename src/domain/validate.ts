// The one validation entry point. Every check runs and every issue is returned (users fix a whole
// load balancer at once, not one error per PUT). Checks that depend on resolution — the uniqueness
// law — run over whatever did resolve: a dangling reference hides that rule's flows but never
// invents a conflict.

import { claimsOf, type OwnedClaims } from "./claims.js";
import type { Push } from "./checks.js";
import { missingProperty } from "./issues.js";
import { checkLimits } from "./limits.js";
import type { DomainIssue, LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "./model.js";
import { checkOutboundPorts } from "./outbound.js";
import { resolveLoadBalancer } from "./resolve.js";
import { checkUniqueness, conflictIssues } from "./uniqueness.js";
import { checkFrontends, checkOutbound } from "./validate-frontends.js";
import { checkReferences } from "./validate-references.js";
import { checkStructure } from "./validate-structure.js";

export interface ValidationContext {
  address: LoadBalancerAddress;
  /** public IPs referenced by the spec, keyed by lower-cased ARM id; missing key = does not exist */
  publicIps: Map<string, PublicIpView>;
  /** claims held by OTHER load balancers that may collide (the store fetches them) */
  existingClaims: OwnedClaims;
}

/** Validates a defaults-applied spec; returns every issue found (empty = acceptable). */
export function validateLoadBalancer(spec: LoadBalancerSpec, ctx: ValidationContext): DomainIssue[] {
  const issues: DomainIssue[] = [];
  const push: Push = (i) => issues.push(i);
  if (!spec || typeof spec !== "object" || !spec.properties || typeof spec.properties !== "object") {
    return [missingProperty("properties", "")];
  }
  checkStructure(spec, ctx.address.name, push);
  checkReferences(spec, ctx.address, push);
  checkFrontends(spec, ctx, push);
  checkOutbound(spec, ctx.address, push);
  issues.push(...checkLimits(spec));

  const lb = resolveLoadBalancer(spec, ctx);
  checkOutboundPorts(spec, lb, push);
  issues.push(...checkUniqueness(lb, spec.sku?.name ?? "Standard"));
  issues.push(...conflictIssues(claimsOf(lb), ctx.existingClaims, { address: ctx.address, lbType: lb.type, spec }));
  return issues;
}
