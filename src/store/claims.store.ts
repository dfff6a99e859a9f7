// Flow claims in PostgreSQL: read the claims of other load balancers that could collide with a
// write (so the domain can explain the conflict), and replace a load balancer's own claims. The
// exclusion constraints in the migration make a concurrent double claim impossible.

import { claimLookupKeys, type Claims, type DestinationClaim, type FrontendClaim, type OwnedClaims } from "../domain/claims.js";
import { loadBalancerId } from "../domain/ids.js";
import type { Statement } from "./sql-transaction.js";

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

type FrontendRow = OwnerRow & { scope: string; ip_address: string; protocol: "Tcp" | "Udp"; port_low: number; port_high: number; owner: string; owner_kind: string };
type DestinationRow = OwnerRow & {
  scope: string; backend_address: string; destination_ip: string; protocol: "Tcp" | "Udp"; port_low: number; port_high: number;
  enable_floating_ip: boolean; owner: string; owner_kind: string;
};

/**
 * The statements reading claims held by load balancers other than `excludeUid` that share a lookup
 * key with `mine` (undefined where there is no key of that kind); otherClaimsFrom reads their answers.
 */
export function otherClaimsStatements(mine: Claims, excludeUid: string | undefined): { frontend?: Statement; destination?: Statement } {
  const keys = claimLookupKeys(mine);
  const exclude = excludeUid ?? "00000000-0000-0000-0000-000000000000";
  return {
    frontend: keys.frontend.length
      ? {
          text: `
            SELECT c.scope, c.ip_address, c.protocol, c.port_low, c.port_high, c.owner, c.owner_kind,
                   lb.id AS lb_id, lb.subscription_id, rg.name AS rg_name, lb.name AS lb_name
            FROM frontend_claims c
            JOIN load_balancers lb ON lb.id = c.load_balancer_id
            JOIN resource_groups rg ON rg.id = lb.resource_group_id
            WHERE c.load_balancer_id <> $1::uuid
              AND (c.scope, c.ip_address) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
          values: [exclude, keys.frontend.map((k) => k.scope), keys.frontend.map((k) => k.ipAddress)],
        }
      : undefined,
    destination: keys.destination.length
      ? {
          text: `
            SELECT c.scope, c.backend_address, c.destination_ip, c.protocol, c.port_low, c.port_high, c.enable_floating_ip,
                   c.owner, c.owner_kind, lb.id AS lb_id, lb.subscription_id, rg.name AS rg_name, lb.name AS lb_name
            FROM destination_claims c
            JOIN load_balancers lb ON lb.id = c.load_balancer_id
            JOIN resource_groups rg ON rg.id = lb.resource_group_id
            WHERE c.load_balancer_id <> $1::uuid
              AND (c.scope, c.backend_address) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
          values: [exclude, keys.destination.map((k) => k.scope), keys.destination.map((k) => k.backendAddress)],
        }
      : undefined,
  };
}

export function otherClaimsFrom(frontend: { rows: unknown[] } | undefined, destination: { rows: unknown[] } | undefined): OwnedClaims {
  return {
    frontend: ((frontend?.rows ?? []) as FrontendRow[]).map((r) => ({
      scope: r.scope, ipAddress: r.ip_address, protocol: r.protocol, portLow: r.port_low, portHigh: r.port_high,
      owner: r.owner, ownerKind: r.owner_kind as "LoadBalancingRule" | "InboundNatRule", ...owner(r),
    })),
    destination: ((destination?.rows ?? []) as DestinationRow[]).map((r) => ({
      scope: r.scope, backendAddress: r.backend_address, destinationIp: r.destination_ip, protocol: r.protocol,
      portLow: r.port_low, portHigh: r.port_high, enableFloatingIP: r.enable_floating_ip,
      owner: r.owner, ownerKind: r.owner_kind as "LoadBalancingRule" | "InboundNatRule", ...owner(r),
    })),
  };
}

const frontendKey = (c: FrontendClaim) => `${c.scope}|${c.ipAddress}|${c.protocol}|${c.portLow}|${c.portHigh}`;
const destinationKey = (c: DestinationClaim) =>
  `${c.scope}|${c.backendAddress}|${c.destinationIp}|${c.protocol}|${c.portLow}|${c.portHigh}|${c.enableFloatingIP}`;
const sameFrontend = (a: FrontendClaim, b: FrontendClaim) =>
  a.scope === b.scope && a.ipAddress === b.ipAddress && a.protocol === b.protocol && a.portLow === b.portLow && a.portHigh === b.portHigh;
const sameDestination = (a: DestinationClaim, b: DestinationClaim) =>
  a.backendAddress === b.backendAddress && a.destinationIp === b.destinationIp && a.portLow === b.portLow &&
  a.portHigh === b.portHigh && a.protocol === b.protocol && a.scope === b.scope && a.enableFloatingIP === b.enableFloatingIP;

function byOwner<T extends FrontendClaim | DestinationClaim>(claims: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const c of claims) {
    const k = `${c.ownerKind}|${c.owner}`;
    const list = m.get(k);
    if (list) list.push(c);
    else m.set(k, [c]);
  }
  return m;
}

/**
 * The claims to remove and to add. Compared rule by rule: a rule whose claims come out the same,
 * in the same order, costs one pass without building keys; only changed rules are diffed by key.
 */
function diff<T extends FrontendClaim | DestinationClaim>(
  before: T[], after: T[], key: (t: T) => string, same: (a: T, b: T) => boolean,
): { removed: T[]; added: T[] } {
  const removed: T[] = [];
  const added: T[] = [];
  const old = byOwner(before);
  for (const [owner, next] of byOwner(after)) {
    const prev = old.get(owner) ?? [];
    old.delete(owner);
    if (prev.length === next.length && next.every((c, i) => same(c, prev[i]))) continue;
    const left = new Map(prev.map((c) => [key(c), c]));
    for (const c of next) if (!left.delete(key(c))) added.push(c);
    for (const c of left.values()) removed.push(c);
  }
  for (const prev of old.values()) for (const c of prev) removed.push(c);
  return { removed, added };
}

/**
 * Serialises writers that touch the same frontend IPs or backend addresses: transaction-scoped
 * advisory locks on every lookup key, taken in one statement in sorted order (no deadlocks). Under
 * them the domain's check against committed claims is authoritative; the constraints are the backstop.
 */
export function lockClaimKeysStatement(claims: Claims): Statement | undefined {
  const keys = claimLookupKeys(claims);
  const names = [
    ...keys.frontend.map((k) => `f|${k.scope}|${k.ipAddress}`),
    ...keys.destination.map((k) => `d|${k.scope}|${k.backendAddress}`),
  ];
  if (!names.length) return undefined;
  return {
    text: `
      SELECT count(pg_advisory_xact_lock(k)) FROM (
        SELECT DISTINCT ('x' || substr(md5(n), 1, 16))::bit(64)::bigint AS k FROM unnest($1::text[]) AS n ORDER BY 1
      ) AS keys`,
    values: [names],
  };
}

/**
 * Moves a load balancer's claims from `before` to `after`, touching only what changed: updating
 * one rule of a 1,500-rule load balancer writes that rule's rows, not 150,000.
 */
export function replaceClaimsStatements(uid: string, subscriptionId: string, before: Claims, after: Claims): Statement[] {
  const fe = diff(before.frontend, after.frontend, frontendKey, sameFrontend);
  const de = diff(before.destination, after.destination, destinationKey, sameDestination);
  // Rows travel as one JSON parameter per statement: 150,000 claims are one string, not 1.35M
  // array elements for the driver to convert one by one.
  const statements: Statement[] = [];
  if (fe.removed.length) {
    statements.push({ text: `
      DELETE FROM frontend_claims c USING json_to_recordset($2::json) AS d(scope text, "ipAddress" text, protocol text, "portLow" int)
      WHERE c.load_balancer_id = $1::uuid AND c.scope = d.scope AND c.ip_address = d."ipAddress"
        AND c.protocol = d.protocol AND c.port_low = d."portLow"`, values: [uid, JSON.stringify(fe.removed)] });
  }
  if (de.removed.length) {
    statements.push({ text: `
      DELETE FROM destination_claims c
      USING json_to_recordset($2::json) AS d(scope text, "backendAddress" text, "destinationIp" text, protocol text, "portLow" int)
      WHERE c.load_balancer_id = $1::uuid AND c.scope = d.scope AND c.backend_address = d."backendAddress"
        AND c.destination_ip = d."destinationIp" AND c.protocol = d.protocol AND c.port_low = d."portLow"`, values: [uid, JSON.stringify(de.removed)] });
  }
  if (fe.added.length) {
    statements.push({ text: `
      INSERT INTO frontend_claims (load_balancer_id, subscription_id, scope, ip_address, protocol, port_low, port_high, owner, owner_kind)
      SELECT $1::uuid, $2, scope, "ipAddress", protocol, "portLow", "portHigh", owner, "ownerKind"
      FROM json_to_recordset($3::json) AS x(scope text, "ipAddress" text, protocol text, "portLow" int, "portHigh" int, owner text, "ownerKind" text)`,
      values: [uid, subscriptionId, JSON.stringify(fe.added)] });
  }
  if (de.added.length) {
    statements.push({ text: `
      INSERT INTO destination_claims (load_balancer_id, subscription_id, scope, backend_address, destination_ip, protocol,
                                      port_low, port_high, enable_floating_ip, owner, owner_kind)
      SELECT $1::uuid, $2, scope, "backendAddress", "destinationIp", protocol, "portLow", "portHigh", "enableFloatingIP", owner, "ownerKind"
      FROM json_to_recordset($3::json) AS x(scope text, "backendAddress" text, "destinationIp" text, protocol text, "portLow" int,
                                            "portHigh" int, "enableFloatingIP" boolean, owner text, "ownerKind" text)`,
      values: [uid, subscriptionId, JSON.stringify(de.added)] });
  }
  return statements;
}
