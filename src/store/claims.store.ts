// Flow claims in PostgreSQL: read the claims of other load balancers that could collide with a
// write (so the domain can explain the conflict), and replace a load balancer's own claims. The
// exclusion constraints in the migration make a concurrent double claim impossible.

import { claimLookupKeys, type Claims, type DestinationClaim, type FrontendClaim, type OwnedClaims } from "../domain/claims.js";
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

const frontendKey = (c: FrontendClaim) => `${c.scope}|${c.ipAddress}|${c.protocol}|${c.portLow}|${c.portHigh}|${c.ownerKind}|${c.owner}`;
const destinationKey = (c: DestinationClaim) =>
  `${c.scope}|${c.backendAddress}|${c.destinationIp}|${c.protocol}|${c.portLow}|${c.portHigh}|${c.enableFloatingIP}|${c.ownerKind}|${c.owner}`;

function diff<T>(before: T[], after: T[], key: (t: T) => string): { removed: T[]; added: T[] } {
  const old = new Map(before.map((c) => [key(c), c]));
  const added: T[] = [];
  for (const c of after) if (!old.delete(key(c))) added.push(c);
  return { removed: [...old.values()], added };
}

/**
 * Serialises writers that touch the same frontend IPs or backend addresses: transaction-scoped
 * advisory locks on every lookup key, taken in one statement in sorted order (no deadlocks). Under
 * them the domain's check against committed claims is authoritative; the constraints are the backstop.
 */
export async function lockClaimKeys(tx: Tx, claims: Claims): Promise<void> {
  const keys = claimLookupKeys(claims);
  const names = [
    ...keys.frontend.map((k) => `f|${k.scope}|${k.ipAddress}`),
    ...keys.destination.map((k) => `d|${k.scope}|${k.backendAddress}`),
  ];
  if (!names.length) return;
  await tx.$queryRaw`
    SELECT count(pg_advisory_xact_lock(k)) FROM (
      SELECT DISTINCT ('x' || substr(md5(n), 1, 16))::bit(64)::bigint AS k FROM unnest(${names}::text[]) AS n ORDER BY 1
    ) AS keys`;
}

/**
 * Moves a load balancer's claims from `before` to `after`, touching only what changed: updating
 * one rule of a 1,500-rule load balancer writes that rule's rows, not 150,000.
 */
export async function replaceClaims(tx: Tx, uid: string, subscriptionId: string, before: Claims, after: Claims): Promise<void> {
  const fe = diff(before.frontend, after.frontend, frontendKey);
  const de = diff(before.destination, after.destination, destinationKey);
  if (fe.removed.length) {
    const r = fe.removed;
    await tx.$executeRaw`
      DELETE FROM frontend_claims c USING unnest(${r.map((x) => x.scope)}::text[], ${r.map((x) => x.ipAddress)}::text[],
        ${r.map((x) => x.protocol)}::text[], ${r.map((x) => x.portLow)}::int[]) AS d(scope, ip, protocol, port_low)
      WHERE c.load_balancer_id = ${uid}::uuid AND c.scope = d.scope AND c.ip_address = d.ip
        AND c.protocol = d.protocol AND c.port_low = d.port_low`;
  }
  if (de.removed.length) {
    const r = de.removed;
    await tx.$executeRaw`
      DELETE FROM destination_claims c USING unnest(${r.map((x) => x.scope)}::text[], ${r.map((x) => x.backendAddress)}::text[],
        ${r.map((x) => x.destinationIp)}::text[], ${r.map((x) => x.protocol)}::text[], ${r.map((x) => x.portLow)}::int[])
        AS d(scope, backend, dest, protocol, port_low)
      WHERE c.load_balancer_id = ${uid}::uuid AND c.scope = d.scope AND c.backend_address = d.backend
        AND c.destination_ip = d.dest AND c.protocol = d.protocol AND c.port_low = d.port_low`;
  }
  const f = fe.added;
  if (f.length) {
    await tx.$executeRaw`
      INSERT INTO frontend_claims (load_balancer_id, subscription_id, scope, ip_address, protocol, port_low, port_high, owner, owner_kind)
      SELECT ${uid}::uuid, ${subscriptionId}, * FROM unnest(
        ${f.map((c) => c.scope)}::text[], ${f.map((c) => c.ipAddress)}::text[], ${f.map((c) => c.protocol)}::text[],
        ${f.map((c) => c.portLow)}::int[], ${f.map((c) => c.portHigh)}::int[], ${f.map((c) => c.owner)}::text[],
        ${f.map((c) => c.ownerKind)}::text[])`;
  }
  const d = de.added;
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
