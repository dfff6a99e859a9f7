// Child-to-child references: each must name a child of this load balancer in the right collection.
// Azure reports a dangling one as InvalidResourceReference with both ids, whatever the collection.

import type { Push } from "./checks.js";
import { childId, loadBalancerId, refName, type ChildCollection } from "./ids.js";
import { Codes, invalidReference, issue } from "./issues.js";
import type { LoadBalancerAddress, LoadBalancerSpec, SubResource } from "./model.js";

export function checkReferences(spec: LoadBalancerSpec, address: LoadBalancerAddress, push: Push): void {
  const lbId = loadBalancerId(address);
  const p = spec.properties;
  const names = (items: Array<{ name: string }> | undefined) =>
    new Set((items ?? []).map((it) => String(it?.name ?? "").toLowerCase()));
  const known: Record<string, Set<string>> = {
    frontendIPConfigurations: names(p.frontendIPConfigurations),
    backendAddressPools: names(p.backendAddressPools),
    probes: names(p.probes),
  };
  const check = (coll: ChildCollection, ref: SubResource | undefined, byId: string, path: string) => {
    if (typeof ref?.id !== "string" || ref.id === "") return; // shape checks report missing ids
    const n = refName(lbId, coll, ref);
    if (n === undefined || !known[coll].has(n.toLowerCase())) push(invalidReference(ref.id, byId, path));
  };

  (p.loadBalancingRules ?? []).forEach((r, i) => {
    const rp = r?.properties;
    if (!rp) return;
    const byId = childId(lbId, "loadBalancingRules", r.name);
    const pp = `properties.loadBalancingRules[${i}].properties`;
    check("frontendIPConfigurations", rp.frontendIPConfiguration, byId, `${pp}.frontendIPConfiguration`);
    check("backendAddressPools", rp.backendAddressPool, byId, `${pp}.backendAddressPool`);
    (rp.backendAddressPools ?? []).forEach((ref, k) => check("backendAddressPools", ref, byId, `${pp}.backendAddressPools[${k}]`));
    check("probes", rp.probe, byId, `${pp}.probe`);
  });

  const poolSizes = new Map(
    (p.backendAddressPools ?? []).map((pool) => [
      String(pool?.name ?? "").toLowerCase(), pool?.properties?.loadBalancerBackendAddresses?.length ?? 0,
    ]),
  );
  (p.inboundNatRules ?? []).forEach((n, i) => {
    const np = n?.properties;
    if (!np) return;
    const byId = childId(lbId, "inboundNatRules", n.name);
    const pp = `properties.inboundNatRules[${i}].properties`;
    check("frontendIPConfigurations", np.frontendIPConfiguration, byId, `${pp}.frontendIPConfiguration`);
    check("backendAddressPools", np.backendAddressPool, byId, `${pp}.backendAddressPool`);
    const pool = refName(lbId, "backendAddressPools", np.backendAddressPool);
    const size = pool === undefined ? undefined : poolSizes.get(pool.toLowerCase());
    const { frontendPortRangeStart: s, frontendPortRangeEnd: e } = np;
    if (size !== undefined && np.frontendPort === undefined && typeof s === "number" && typeof e === "number" && s <= e && e - s + 1 < size) {
      push(issue(Codes.InboundNatRuleFrontendPortRangeTooSmall,
        `Inbound NAT rule ${n.name} maps frontend ports ${s}-${e} (${e - s + 1} ports) to backend address pool ${pool}, ` +
          `which has ${size} addresses; each address needs its own frontend port.`, `${pp}.frontendPortRangeEnd`));
    }
  });

  (p.outboundRules ?? []).forEach((o, i) => {
    const op = o?.properties;
    if (!op) return;
    const byId = childId(lbId, "outboundRules", o.name);
    const pp = `properties.outboundRules[${i}].properties`;
    (op.frontendIPConfigurations ?? []).forEach((ref, k) =>
      check("frontendIPConfigurations", ref, byId, `${pp}.frontendIPConfigurations[${k}]`));
    check("backendAddressPools", op.backendAddressPool, byId, `${pp}.backendAddressPool`);
  });
}
