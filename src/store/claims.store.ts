// Flow claims in PostgreSQL: read the claims of other load balancers that could collide with a
// write (so the domain can explain the conflict), and replace a load balancer's own claims.
// Destination claims are stored as the domain derives them — one group row per rule over a backend
// set stored once per load balancer (migration destination_claim_sets) — and read expanded through
// the view destination_claims. Writers of the same keys serialise on advisory locks (lockClaimKeysStatement)
// before they read, so of two concurrent writers of one flow exactly one wins.

import { createHash } from "node:crypto";
import {
  claimLookupKeys, type ClaimMember, type Claims, type DestinationClaimGroup, type FrontendClaim, type OwnedClaims,
} from "../domain/claims.js";
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
const sameFrontend = (a: FrontendClaim, b: FrontendClaim) =>
  a.scope === b.scope && a.ipAddress === b.ipAddress && a.protocol === b.protocol && a.portLow === b.portLow && a.portHigh === b.portHigh;

/** Claims or claim groups by the rule that owns them ("kind|name"). */
function byOwner<T extends { ownerKind: string; owner: string }>(claims: T[]): Map<string, T[]> {
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
function diff<T extends FrontendClaim>(
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
 * one rule of a 1,500-rule load balancer rewrites that rule's rows, not the load balancer's.
 */
export function replaceClaimsStatements(uid: string, subscriptionId: string, before: StoredClaims, after: Claims): Statement[] {
  const fe = diff(before.frontend, after.frontend, frontendKey, sameFrontend);
  // Rows travel as one JSON parameter per statement: thousands of claims are one string, not
  // hundreds of thousands of array elements for the driver to convert one by one.
  const statements: Statement[] = [];
  if (fe.removed.length) {
    statements.push({ text: `
      DELETE FROM frontend_claims c USING json_to_recordset($2::json) AS d(scope text, "ipAddress" text, protocol text, "portLow" int)
      WHERE c.load_balancer_id = $1::uuid AND c.scope = d.scope AND c.ip_address = d."ipAddress"
        AND c.protocol = d.protocol AND c.port_low = d."portLow"`, values: [uid, JSON.stringify(fe.removed)] });
  }
  if (fe.added.length) {
    statements.push({ text: `
      INSERT INTO frontend_claims (load_balancer_id, subscription_id, scope, ip_address, protocol, port_low, port_high, owner, owner_kind)
      SELECT $1::uuid, $2, scope, "ipAddress", protocol, "portLow", "portHigh", owner, "ownerKind"
      FROM json_to_recordset($3::json) AS x(scope text, "ipAddress" text, protocol text, "portLow" int, "portHigh" int, owner text, "ownerKind" text)`,
      values: [uid, subscriptionId, JSON.stringify(fe.added)] });
  }
  statements.push(...replaceDestinationGroups(uid, subscriptionId, before.groups, after.destination));
  return statements;
}

/** A load balancer's claims as stored: its frontend claims and its destination claim groups. */
export interface StoredClaims {
  frontend: FrontendClaim[];
  groups: ClaimGroup[];
}

export const NO_STORED_CLAIMS: StoredClaims = { frontend: [], groups: [] };

/**
 * The statement reading load balancer `uid`'s stored claims: the diff starts from the rows, not from
 * claims derived again from the stored spec (150,000 of them at Standard limits; the rows are 3,000).
 */
export function storedClaimsStatement(uid: string): Statement {
  return {
    text: `SELECT
      (SELECT coalesce(json_agg(f ORDER BY f.id), '[]') FROM (
         SELECT id, scope, ip_address AS "ipAddress", protocol, port_low AS "portLow", port_high AS "portHigh", owner, owner_kind AS "ownerKind"
         FROM frontend_claims WHERE load_balancer_id = $1::uuid) f) AS frontend,
      (SELECT coalesce(json_agg(g), '[]') FROM (
         SELECT owner, owner_kind AS "ownerKind", set_key AS "setKey", destination_ip AS "destinationIp", protocol,
                port_low AS "portLow", port_high AS "portHigh", enable_floating_ip AS "enableFloatingIP"
         FROM destination_claim_groups WHERE load_balancer_id = $1::uuid) g) AS groups`,
    values: [uid],
  };
}

export function storedClaimsFrom(read: { rows: unknown[] }): StoredClaims {
  const row = read.rows[0] as { frontend: Array<FrontendClaim & { id?: unknown }>; groups: ClaimGroup[] };
  return { frontend: row.frontend.map(({ id: _id, ...c }) => c), groups: row.groups };
}

/** One stored destination claim: a rule's (destination, protocol, ports) over backend set `setKey`. */
interface ClaimGroup {
  owner: string;
  ownerKind: string;
  setKey: string;
  /** Null: each member's own address (the DIP); else the one destination (a floating rule's VIP). */
  destinationIp: string | null;
  protocol: string;
  portLow: number;
  portHigh: number;
  enableFloatingIP: boolean;
}

/**
 * The domain's groups keyed for storage: each distinct member set once, under the md5 of its
 * content. Equal member lists are one array in the domain, so each is joined and hashed once.
 */
function keyed(claims: DestinationClaimGroup[]): { groups: Map<string, ClaimGroup[]>; sets: Map<string, ClaimMember[]> } {
  const sets = new Map<string, ClaimMember[]>();
  const keyOfList = new Map<ClaimMember[], string>();
  const rows = claims.map(({ members, ...g }): ClaimGroup => {
    let setKey = keyOfList.get(members);
    if (!setKey) {
      setKey = createHash("md5").update(members.map((m) => `${m.scope}|${m.backendAddress}`).join(",")).digest("hex");
      keyOfList.set(members, setKey);
      sets.set(setKey, members);
    }
    return { ...g, setKey };
  });
  return { groups: byOwner(rows), sets };
}

const groupText = (g: ClaimGroup) =>
  `${g.protocol}|${g.portLow}|${g.portHigh}|${g.enableFloatingIP}|${g.destinationIp ?? ""}|${g.setKey}`;
const sameGroups = (a: ClaimGroup[], b: ClaimGroup[]) =>
  a.length === b.length && a.map(groupText).sort().join(",") === b.map(groupText).sort().join(",");

/**
 * The destination claim writes from `before` to `after`: a rule whose groups changed loses its
 * rows and gets the new ones; backend sets are inserted when new and deleted once no group uses them.
 */
function replaceDestinationGroups(uid: string, subscriptionId: string, before: ClaimGroup[], after: DestinationClaimGroup[]): Statement[] {
  const old = { groups: byOwner(before) };
  const next = keyed(after);
  const dropped: Array<{ ownerKind: string; owner: string }> = [];
  const added: ClaimGroup[] = [];
  for (const [owner, groups] of old.groups) {
    const now = next.groups.get(owner);
    if (!now || !sameGroups(groups, now)) dropped.push({ ownerKind: groups[0].ownerKind, owner: groups[0].owner });
  }
  for (const [owner, groups] of next.groups) {
    const was = old.groups.get(owner);
    if (!was || !sameGroups(was, groups)) added.push(...groups);
  }
  if (!dropped.length && !added.length) return [];
  const members = [...new Set(added.map((g) => g.setKey))].flatMap((k) => next.sets.get(k)!.map((m) => ({ k, s: m.scope, b: m.backendAddress })));
  // One statement for the rows (the DELETE sees only rows from before it, never the ones inserted
  // beside it), then one that drops the sets no group uses any more (also those a migration keyed
  // otherwise) and lets PostgreSQL check what was added (migration destination_claims_check:
  // raises exclusion_violation, which the use case treats as a lost race) — under the advisory
  // locks this writer holds, so a writer that skipped the domain's check (or a bug in it) cannot
  // commit a double claim. Each statement is a round trip; a one-rule change pays three in all.
  return [
    { text: `
      WITH dropped AS (
        DELETE FROM destination_claim_groups g USING json_to_recordset($2::json) AS d("ownerKind" text, owner text)
        WHERE g.load_balancer_id = $1::uuid AND g.owner_kind = d."ownerKind" AND g.owner = d.owner
        RETURNING 1
      ), members AS (
        INSERT INTO destination_claim_members (load_balancer_id, set_key, scope, backend_address)
        SELECT $1::uuid, k, s, b FROM json_to_recordset($3::json) AS x(k text, s text, b text)
        ON CONFLICT DO NOTHING
        RETURNING 1
      ), groups AS (
        INSERT INTO destination_claim_groups (load_balancer_id, subscription_id, set_key, destination_ip, protocol, port_low, port_high,
                                              enable_floating_ip, owner, owner_kind)
        SELECT $1::uuid, $4, "setKey", "destinationIp", protocol, "portLow", "portHigh", "enableFloatingIP", owner, "ownerKind"
        FROM json_to_recordset($5::json) AS x("setKey" text, "destinationIp" text, protocol text, "portLow" int, "portHigh" int,
                                              "enableFloatingIP" boolean, owner text, "ownerKind" text)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM dropped) AS dropped, (SELECT count(*) FROM members) AS members, (SELECT count(*) FROM groups) AS groups`,
      values: [uid, JSON.stringify(dropped), JSON.stringify(members), subscriptionId, JSON.stringify(added)] },
    { text: `
      WITH unused AS (
        DELETE FROM destination_claim_members m WHERE $2::boolean AND m.load_balancer_id = $1::uuid
          AND NOT EXISTS (SELECT 1 FROM destination_claim_groups g WHERE g.load_balancer_id = m.load_balancer_id AND g.set_key = m.set_key)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM unused) AS unused, CASE WHEN $3::boolean THEN lbplane_check_destination_claims($1::uuid) END AS checked`,
      values: [uid, dropped.length > 0, added.length > 0] },
  ];
}
