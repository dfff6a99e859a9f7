// Read-only back-references ARM returns on GET (who references this frontend/probe/pool). They are
// derived, never stored: whatever a client sent in them is replaced. Empty lists are omitted.
// lbplane has no NIC ipconfigs, so a NAT rule's `backendIPConfiguration` has no equivalent; for
// pool-based NAT rules the per-address `inboundNatRulesPortMapping` is filled instead.

import type { ChildCollection } from "./collections.js";
import type { LoadBalancerSpec, SubResource } from "./model.js";

type Props = Record<string, unknown>;

/**
 * The back-references each referenced collection lists: a member named after the referencing
 * collection (ARM's spelling), e.g. a frontend's `loadBalancingRules`. Read-only: never stored.
 */
export const BACK_REFERENCES: Partial<Record<ChildCollection, readonly ChildCollection[]>> = {
  frontendIPConfigurations: ["loadBalancingRules", "inboundNatRules", "outboundRules"],
  probes: ["loadBalancingRules"],
  backendAddressPools: ["loadBalancingRules", "inboundNatRules", "outboundRules"],
};

function setRefs(props: Props, key: string, ids: string[]): void {
  if (ids.length > 0) props[key] = [...new Set(ids)].map((id): SubResource => ({ id }));
  else delete props[key];
}

/** Children of a collection indexed by lower-cased id (ids come from applyDefaults). */
function byId<T extends { id?: string }>(items: T[] | undefined): Map<string, T> {
  return new Map((items ?? []).filter((it) => it?.id).map((it) => [it.id!.toLowerCase(), it]));
}

export function withBackReferences(spec: LoadBalancerSpec): LoadBalancerSpec {
  const out = structuredClone(spec);
  const p = out.properties;
  const fes = byId(p.frontendIPConfigurations);
  const pools = byId(p.backendAddressPools);
  const probes = byId(p.probes);
  const refs = new Map<object, Map<string, string[]>>();
  const add = (target: object | undefined, key: string, id: string | undefined) => {
    if (!target || !id) return;
    let m = refs.get(target);
    if (!m) refs.set(target, (m = new Map<string, string[]>()));
    const ids = m.get(key);
    if (ids) ids.push(id);
    else m.set(key, [id]);
  };
  const lookup = <T>(m: Map<string, T>, ref: SubResource | undefined) =>
    typeof ref?.id === "string" ? m.get(ref.id.toLowerCase()) : undefined;

  for (const r of p.loadBalancingRules ?? []) {
    add(lookup(fes, r.properties.frontendIPConfiguration), "loadBalancingRules", r.id);
    add(lookup(probes, r.properties.probe), "loadBalancingRules", r.id);
    for (const ref of [r.properties.backendAddressPool, ...(r.properties.backendAddressPools ?? [])]) {
      add(lookup(pools, ref), "loadBalancingRules", r.id);
    }
  }
  for (const n of p.inboundNatRules ?? []) {
    add(lookup(fes, n.properties.frontendIPConfiguration), "inboundNatRules", n.id);
    add(lookup(pools, n.properties.backendAddressPool), "inboundNatRules", n.id);
  }
  for (const o of p.outboundRules ?? []) {
    for (const ref of o.properties.frontendIPConfigurations ?? []) add(lookup(fes, ref), "outboundRules", o.id);
    add(lookup(pools, o.properties.backendAddressPool), "outboundRules", o.id);
  }

  for (const [collection, names] of Object.entries(BACK_REFERENCES) as Array<[ChildCollection, readonly ChildCollection[]]>) {
    for (const child of (p[collection] ?? []) as Array<{ properties: Props }>) {
      for (const key of names) setRefs(child.properties, key, refs.get(child)?.get(key) ?? []);
    }
  }

  // Pool-based NAT rules: the i-th address of the pool is reached on frontendPortRangeStart + i.
  for (const pool of p.backendAddressPools ?? []) {
    for (const a of pool.properties.loadBalancerBackendAddresses ?? []) delete a.properties.inboundNatRulesPortMapping;
  }
  for (const n of p.inboundNatRules ?? []) {
    const np = n.properties;
    const pool = lookup(pools, np.backendAddressPool);
    if (!pool || np.frontendPort !== undefined || np.frontendPortRangeStart === undefined) continue;
    const end = np.frontendPortRangeEnd ?? np.frontendPortRangeStart;
    (pool.properties.loadBalancerBackendAddresses ?? []).forEach((a, i) => {
      const frontendPort = np.frontendPortRangeStart! + i;
      if (frontendPort > end) return;
      const list = (a.properties.inboundNatRulesPortMapping as unknown[] | undefined) ?? [];
      list.push({ inboundNatRuleName: n.name, frontendPort, backendPort: np.backendPort });
      a.properties.inboundNatRulesPortMapping = list;
    });
  }
  return out;
}
