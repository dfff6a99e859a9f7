// Flow claims in PostgreSQL: read the claims of other load balancers that could collide with a
// write (so the domain can explain the conflict), and replace a load balancer's own claims. The
// exclusion constraints in the migration make a concurrent double claim impossible.

import { claimLookupKeys, type Claims, type OwnedClaims } from "../domain/claims.js";
import { loadBalancerId } from "../domain/ids.js";
import type { Tx } from "./resource-groups.store.js";

interface OwnerRow {
  lb_id: string;
  subscription_id: string;
  rg_name: string;
  lb_name: string;
}

const owner = (r: OwnerRow) => ({
  loadBalancerId: loadBalancerId({ subscriptionId: r.subscription_id, resourceGroup: r.rg_name, name: r.lb_name }),
  loadBalancerName: r.lb_name,
  subscriptionId: r.subscription_id,
});

/** Claims held by load balancers other than `excludeUid` that share a lookup key with `mine`. */
export async function otherClaims(tx: Tx, mine: Claims, excludeUid: string | undefined): Promise<OwnedClaims> {
  const keys = claimLookupKeys(mine);
  const exclude = excludeUid ?? "00000000-0000-0000-0000-000000000000";
  const fe = keys.frontend.length
    ? await tx.$queryRaw<Array<OwnerRow & { scope: string; ip_address: string; protocol: "Tcp" | "Udp"; port_low: number; port_high: number; owner: string; owner_kind: string }>>`
        SELECT c.scope, c.ip_address, c.protocol, c.port_low, c.port_high, c.owner, c.owner_kind,
               lb.id AS lb_id, lb.subscription_id, rg.name AS rg_name, lb.name AS lb_name
        FROM frontend_claims c
        JOIN load_balancers lb ON lb.id = c.load_balancer_id
        JOIN resource_groups rg ON rg.id = lb.resource_group_id
        WHERE c.load_balancer_id <> ${exclude}::uuid
          AND (c.scope, c.ip_address) IN (SELECT * FROM unnest(${keys.frontend.map((k) => k.scope)}::text[], ${keys.frontend.map((k) => k.ipAddress)}::text[]))`
    : [];
  const dest = keys.destination.length
    ? await tx.$queryRaw<Array<OwnerRow & { scope: string; backend_address: string; destination_ip: string; protocol: "Tcp" | "Udp"; port_low: number; port_high: number; enable_floating_ip: boolean; owner: string; owner_kind: string }>>`
        SELECT c.scope, c.backend_address, c.destination_ip, c.protocol, c.port_low, c.port_high, c.enable_floating_ip,
               c.owner, c.owner_kind, lb.id AS lb_id, lb.subscription_id, rg.name AS rg_name, lb.name AS lb_name
        FROM destination_claims c
        JOIN load_balancers lb ON lb.id = c.load_balancer_id
        JOIN resource_groups rg ON rg.id = lb.resource_group_id
        WHERE c.load_balancer_id <> ${exclude}::uuid
          AND (c.scope, c.backend_address) IN (SELECT * FROM unnest(${keys.destination.map((k) => k.scope)}::text[], ${keys.destination.map((k) => k.backendAddress)}::text[]))`
    : [];
  return {
    frontend: fe.map((r) => ({
      scope: r.scope, ipAddress: r.ip_address, protocol: r.protocol, portLow: r.port_low, portHigh: r.port_high,
      owner: r.owner, ownerKind: r.owner_kind as "LoadBalancingRule" | "InboundNatRule", ...owner(r),
    })),
    destination: dest.map((r) => ({
      scope: r.scope, backendAddress: r.backend_address, destinationIp: r.destination_ip, protocol: r.protocol,
      portLow: r.port_low, portHigh: r.port_high, enableFloatingIP: r.enable_floating_ip,
      owner: r.owner, ownerKind: r.owner_kind as "LoadBalancingRule" | "InboundNatRule", ...owner(r),
    })),
  };
}

/** Replaces a load balancer's claims: one statement per table, whatever the size. */
export async function replaceClaims(tx: Tx, uid: string, subscriptionId: string, claims: Claims): Promise<void> {
  await tx.$executeRaw`DELETE FROM frontend_claims WHERE load_balancer_id = ${uid}::uuid`;
  await tx.$executeRaw`DELETE FROM destination_claims WHERE load_balancer_id = ${uid}::uuid`;
  const f = claims.frontend;
  if (f.length) {
    await tx.$executeRaw`
      INSERT INTO frontend_claims (load_balancer_id, subscription_id, scope, ip_address, protocol, port_low, port_high, owner, owner_kind)
      SELECT ${uid}::uuid, ${subscriptionId}, * FROM unnest(
        ${f.map((c) => c.scope)}::text[], ${f.map((c) => c.ipAddress)}::text[], ${f.map((c) => c.protocol)}::text[],
        ${f.map((c) => c.portLow)}::int[], ${f.map((c) => c.portHigh)}::int[], ${f.map((c) => c.owner)}::text[],
        ${f.map((c) => c.ownerKind)}::text[])`;
  }
  const d = claims.destination;
  if (d.length) {
    await tx.$executeRaw`
      INSERT INTO destination_claims (load_balancer_id, subscription_id, scope, backend_address, destination_ip, protocol,
                                      port_low, port_high, enable_floating_ip, owner, owner_kind)
      SELECT ${uid}::uuid, ${subscriptionId}, * FROM unnest(
        ${d.map((c) => c.scope)}::text[], ${d.map((c) => c.backendAddress)}::text[], ${d.map((c) => c.destinationIp)}::text[],
        ${d.map((c) => c.protocol)}::text[], ${d.map((c) => c.portLow)}::int[], ${d.map((c) => c.portHigh)}::int[],
        ${d.map((c) => c.enableFloatingIP)}::boolean[], ${d.map((c) => c.owner)}::text[], ${d.map((c) => c.ownerKind)}::text[])`;
  }
}
