// Frontend IP configurations (where VIPs come from) and the outbound rules that share them.
// lbplane has no virtual networks to allocate from: an internal frontend must give a static
// privateIPAddress, a public one references a Public IP resource the store resolved for us.

import { checkIp, type Push } from "./checks.js";
import { CHILD_COLLECTION_NAMES } from "./collections.js";
import { childId, loadBalancerId, normalizeLocation, refName } from "./ids.js";
import { ipVersion } from "./ip.js";
import { Codes, invalidReference, issue } from "./issues.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "./model.js";
import { transportsOf } from "./resolve.js";

export function checkFrontends(
  spec: LoadBalancerSpec, ctx: { address: LoadBalancerAddress; publicIps: Map<string, PublicIpView> }, push: Push,
): void {
  const lbId = loadBalancerId(ctx.address);
  const p = spec.properties;
  const fes = p.frontendIPConfigurations ?? [];
  const lbSku = spec.sku?.name ?? "Standard";
  const privateSeen = new Map<string, string>();
  const pipSeen = new Map<string, string>();
  let publics = 0, internals = 0;

  fes.forEach((fe, i) => {
    const fp = fe?.properties ?? {};
    const feId = childId(lbId, "frontendIPConfigurations", fe?.name);
    const pp = `properties.frontendIPConfigurations[${i}].properties`;
    const hasPublic = fp.publicIPAddress !== undefined;
    const hasPrivate = fp.privateIPAddress !== undefined && fp.privateIPAddress !== null;
    if (hasPublic) publics++; else internals++;
    if (!hasPublic && !hasPrivate) {
      push(issue(Codes.FrontendIPConfigHasNoSubnetOrPublicIP,
        `Frontend IP Configuration ${feId} must reference either a Public IP Address or give a static privateIPAddress: ` +
          `lbplane has no subnets to allocate a private address from.`, pp));
      return;
    }
    if (hasPublic && (hasPrivate || fp.subnet !== undefined)) {
      push(issue(Codes.FrontendIPConfigHasBothSubnetAndPublicIP,
        `Frontend IP Configuration ${feId} must not reference both a Subnet (or private IP address) and a Public IP Address.`,
        `${pp}.publicIPAddress`));
    }
    if (!hasPublic) {
      const ip = checkIp(push, fp.privateIPAddress, `${pp}.privateIPAddress`, `Private IP address of frontend ${fe.name}`);
      if (!ip) return;
      const version = fp.privateIPAddressVersion ?? "IPv4";
      if (ipVersion(ip) !== version) {
        push(issue(Codes.InvalidIPAddress,
          `Private IP address ${ip} of frontend ${fe.name} is not an ${version} address (privateIPAddressVersion).`,
          `${pp}.privateIPAddress`));
      }
      const other = privateSeen.get(ip);
      if (other !== undefined) {
        push(issue(Codes.MultipleIpConfigsRequestSamePrivateIpAddress,
          `Frontend IP configurations ${other} and ${fe.name} request the same private IP address ${ip}.`,
          `${pp}.privateIPAddress`));
      } else privateSeen.set(ip, fe.name);
      return;
    }
    const pipId = fp.publicIPAddress?.id;
    if (typeof pipId !== "string" || pipId === "") return; // shape check reports it
    const pip = ctx.publicIps.get(pipId.toLowerCase());
    // Azure's message for a missing reference already says "both resources are in the same region".
    if (!pip || (pip.location !== undefined && pip.location !== normalizeLocation(spec.location))) {
      push(invalidReference(pipId, feId, `${pp}.publicIPAddress`));
      return;
    }
    if (pip.skuName.toLowerCase() !== lbSku.toLowerCase()) {
      push(issue(Codes.DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed,
        `Load balancer ${ctx.address.name} with SKU ${lbSku} cannot reference public IP address ${pip.id} with SKU ${pip.skuName}; ` +
          `the SKUs must match.`, `${pp}.publicIPAddress`));
    }
    const twin = pipSeen.get(pipId.toLowerCase());
    if (twin !== undefined) {
      push(issue(Codes.PublicIPAddressInUse,
        `Public IP address ${pip.id} is referenced by both frontend IP configurations ${twin} and ${fe.name}.`,
        `${pp}.publicIPAddress`));
    } else pipSeen.set(pipId.toLowerCase(), fe.name);
    if (pip.usedBy && pip.usedBy.toLowerCase() !== feId.toLowerCase()) {
      push(issue(Codes.PublicIPAddressInUse,
        `Public IP address ${pip.id} is in use by ${pip.usedBy} and cannot be used by frontend IP configuration ${feId}.`,
        `${pp}.publicIPAddress`));
    }
    if (!pip.ipAddress) {
      push(issue(Codes.PublicIPAddressNotAllocated, `Public IP address ${pip.id} has no IP address allocated.`, `${pp}.publicIPAddress`));
    }
  });

  if (publics > 0 && internals > 0) {
    push(issue(Codes.LoadBalancerMixesPublicAndInternalFrontends,
      `Load balancer ${ctx.address.name} has ${publics} public and ${internals} internal frontend IP configurations; ` +
        `a load balancer is either public or internal.`, "properties.frontendIPConfigurations"));
  }
  const children = CHILD_COLLECTION_NAMES.filter((c) => c !== "frontendIPConfigurations");
  if (fes.length === 0 && children.some((c) => (p[c]?.length ?? 0) > 0)) {
    push(issue(Codes.LoadBalancerWithoutFrontendIPCantHaveChildResources,
      `Load balancer ${lbId} does not have Frontend IP Configuration, hence it cannot have ${children.filter((c) => (p[c]?.length ?? 0) > 0).join(", ")}.`,
      "properties.frontendIPConfigurations"));
  }
}

/** Outbound rules: public frontends only, one per frontend+protocol, and LB rules there must not SNAT. */
export function checkOutbound(spec: LoadBalancerSpec, address: LoadBalancerAddress, push: Push): void {
  const lbId = loadBalancerId(address);
  const p = spec.properties;
  const feByName = new Map((p.frontendIPConfigurations ?? []).map((fe) => [String(fe?.name).toLowerCase(), fe]));
  const usedBy = new Map<string, string>(); // frontend|protocol → outbound rule
  const outboundOf = new Map<string, string[]>(); // frontend → outbound rules
  (p.outboundRules ?? []).forEach((o, i) => {
    const pp = `properties.outboundRules[${i}].properties`;
    (o?.properties?.frontendIPConfigurations ?? []).forEach((ref, k) => {
      const n = refName(lbId, "frontendIPConfigurations", ref)?.toLowerCase();
      const fe = n === undefined ? undefined : feByName.get(n);
      if (!fe || n === undefined) return;
      if (fe.properties?.publicIPAddress === undefined) {
        push(issue(Codes.OutboundRuleRequiresPublicFrontend,
          `Outbound rule ${o.name} references frontend IP configuration ${fe.name}, which has no public IP address; ` +
            `outbound rules translate to public addresses only.`, `${pp}.frontendIPConfigurations[${k}]`));
      }
      outboundOf.set(n, [...(outboundOf.get(n) ?? []), o.name]);
      for (const t of transportsOf(o.properties.protocol)) {
        const first = usedBy.get(`${n}|${t}`);
        if (first !== undefined && first !== o.name) {
          push(issue(Codes.MoreThanOneOutboundRule,
            `Outbound rules ${first} and ${o.name} both use frontend IP configuration ${fe.name} for ${t}; ` +
              `only one outbound rule may use a frontend IP configuration and protocol.`, `${pp}.frontendIPConfigurations[${k}]`));
          break;
        }
        usedBy.set(`${n}|${t}`, o.name);
      }
    });
  });
  (p.loadBalancingRules ?? []).forEach((r, i) => {
    const n = refName(lbId, "frontendIPConfigurations", r?.properties?.frontendIPConfiguration)?.toLowerCase();
    const outbound = n === undefined ? undefined : outboundOf.get(n);
    if (!outbound || r.properties.disableOutboundSnat === true) return;
    push(issue(Codes.LoadBalancingRuleMustDisableSNAT,
      `Load Balancing Rules ${r.name} must have disableOutboundSNAT set to true when same FrontendIPConfiguration ` +
        `${feByName.get(n!)?.name} is referenced by Outbound Rules ${[...new Set(outbound)].join(", ")}.`,
      `properties.loadBalancingRules[${i}].properties.disableOutboundSnat`));
  });
}
