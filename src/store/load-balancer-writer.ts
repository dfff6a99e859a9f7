// Every load balancer write — PUT, DELETE, and child PUT/DELETE — is one transaction: lock the
// row, check preconditions, validate through the domain (including the uniqueness law against other
// load balancers' claims), replace children and claims, bump the location generation, record the
// operation. A concurrent writer that wins the same flow makes ours fail on the exclusion
// constraint; we then re-run once, and the domain explains the conflict it now sees.
//
// PUT (the hot path) runs on the pg driver in steps (sql-transaction.ts): lock and read, (resolve
// public IPs,) lock claim keys and read the claims they guard, then every write and COMMIT — with
// prepared statements and no query-builder work.

import { applyDefaults } from "../domain/defaults.js";
import { deriveClaims } from "../domain/claims.js";
import { childId, loadBalancerId, normalizeLocation } from "../domain/ids.js";
import { validateLoadBalancer } from "../domain/validate.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { Errors, issuesError } from "../errors.js";
import { poolOf, type Db } from "./prisma.js";
import { bumpGeneration } from "./generations.store.js";
import { childWrites } from "./load-balancer-children.js";
import { specToRows, storedChildRows } from "./load-balancer-rows.js";
import { findLoadBalancer, loadBalancerByNameStatement, rowOf, toStored, type StoredLoadBalancer } from "./load-balancers.store.js";
import { lockClaimKeysStatement, otherClaimsFrom, otherClaimsStatements, replaceClaimsStatements } from "./claims.store.js";
import { countLiveAgents, createOperation, type Operation } from "./operations.store.js";
import { publicIpRefs, publicIpStatement, resolvedPublicIps } from "./public-ip-resolver.js";
import { isExclusionViolation, isSerializationFailure, isUniqueViolation } from "./pg-errors.js";
import type { Tx } from "./resource-groups.store.js";
import { requireResourceGroup } from "../services/resource-groups.service.js";
import { inTransaction, type Statement } from "./sql-transaction.js";
import { randomUUID } from "node:crypto";
import { newEtag } from "./etag.js";

export interface WriteTarget {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Throws (412) when the If-Match / If-None-Match headers do not hold for `currentEtag`. */
  precondition: (currentEtag: string | undefined) => void;
  livenessMs: number;
}

export interface WriteOutcome {
  stored: StoredLoadBalancer;
  created: boolean;
  operation: Operation;
}

const NO_CLAIMS = { frontend: [], destination: [] };
const TX_OPTIONS = { maxWait: 10_000, timeout: 120_000 } as const;

async function lockRow(tx: Tx, resourceGroupId: string, name: string) {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM load_balancers WHERE resource_group_id = ${resourceGroupId}::uuid AND name_key = ${name.toLowerCase()} FOR UPDATE`;
  return rows[0]?.id;
}

/** The resource group (locked FOR KEY SHARE) and, locked FOR UPDATE, the id of its load balancer `name` (null when absent). */
function lockStatement(target: WriteTarget): Statement {
  return {
    text: `
      SELECT rg.id, rg.subscription_id, rg.name,
             (SELECT lb.id FROM load_balancers lb WHERE lb.resource_group_id = rg.id AND lb.name_key = $3 FOR UPDATE) AS lb_id
      FROM resource_groups rg WHERE rg.subscription_id = $1 AND rg.name_key = $2
      -- Held to the end: a resource group delete (which locks the row first) waits for this write, then sees it.
      FOR KEY SHARE OF rg`,
    values: [target.subscriptionId.toLowerCase(), target.resourceGroup.toLowerCase(), target.name.toLowerCase()],
  };
}

/**
 * Bumps the location's generation, sees whether a live agent must confirm, writes the load
 * balancer's own row (INSERT when `create`) and records the operation — one statement.
 */
function headStatement(create: boolean, v: {
  location: string; livenessMs: number; tags: unknown; etag: string; skuName: string; skuTier: string; uid: string;
  operationId: string; subscriptionId: string; resourceId: string; resourceGroupId: string; name: string;
}): Statement {
  const state = "CASE WHEN a.wait THEN 'Updating' ELSE 'Succeeded' END";
  const row = create
    ? `INSERT INTO load_balancers (id, resource_group_id, subscription_id, name, name_key, location, tags, etag, sku_name, sku_tier,
                                   provisioning_state, generation, created_at, updated_at)
       SELECT $7::uuid, $11::uuid, $9, $12, $13, $1, $3::jsonb, $4, $5, $6, ${state}, g.generation, now(), now() FROM g, a`
    : `UPDATE load_balancers SET location = $1, tags = $3::jsonb, etag = $4, sku_name = $5, sku_tier = $6,
                                 provisioning_state = ${state}, generation = g.generation, updated_at = now()
       FROM g, a WHERE id = $7::uuid`;
  return {
    text: `
      WITH g AS (
        INSERT INTO location_generations (location, generation, updated_at) VALUES ($1, 1, now())
        ON CONFLICT (location) DO UPDATE SET generation = location_generations.generation + 1, updated_at = now()
        RETURNING generation),
      a AS (SELECT EXISTS (SELECT 1 FROM agents WHERE location = $1
                           AND last_heartbeat_at > now() - make_interval(secs => $2::double precision)) AS wait),
      lb AS (${row}),
      op AS (
        INSERT INTO operations (id, subscription_id, location, resource_id, load_balancer_id, kind, status, generation, start_time, end_time)
        SELECT $8::uuid, $9, $1, $10, $7::uuid, 'Put', CASE WHEN a.wait THEN 'InProgress' ELSE 'Succeeded' END, g.generation,
               now(), CASE WHEN a.wait THEN NULL ELSE now() END
        FROM g, a
        RETURNING status, start_time, end_time)
      SELECT g.generation::text AS generation, op.status, op.start_time, op.end_time FROM g, op`,
    values: [
      v.location.toLowerCase(), v.livenessMs / 1000, JSON.stringify(v.tags), v.etag, v.skuName, v.skuTier, v.uid,
      v.operationId, v.subscriptionId, v.resourceId, ...(create ? [v.resourceGroupId, v.name, v.name.toLowerCase()] : []),
    ],
  };
}

/** Runs `attempt` and, on a lost race (unique/exclusion/serialization), once more. */
async function withOneRetry<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (!(isExclusionViolation(err) || isUniqueViolation(err) || isSerializationFailure(err))) throw err;
  }
  try {
    return await attempt();
  } catch (err) {
    if (isExclusionViolation(err) || isUniqueViolation(err) || isSerializationFailure(err)) {
      throw Errors.anotherOperationInProgress();
    }
    throw err;
  }
}

/**
 * Creates or replaces a load balancer. `desired` is the spec, or a function of the current one
 * (undefined when absent) that returns it and may throw (e.g. 404 for a child write on a missing
 * load balancer). A plain spec saves a round trip: its public IPs are looked up with the row.
 */
export function saveLoadBalancer(
  db: Db,
  target: WriteTarget,
  desired: LoadBalancerSpec | ((current: StoredLoadBalancer | undefined) => LoadBalancerSpec),
): Promise<WriteOutcome> {
  const early = typeof desired === "function" ? undefined : publicIpRefs(desired);
  const earlyLookup = early && publicIpStatement(early);
  return withOneRetry(() =>
    inTransaction(poolOf(db), { maxWaitMs: TX_OPTIONS.maxWait, timeoutMs: TX_OPTIONS.timeout }, async (tx) => {
      const [locked, read, earlyPips] = await tx.step([
        lockStatement(target),
        loadBalancerByNameStatement(target.subscriptionId, target.resourceGroup, target.name),
        earlyLookup,
      ]);
      const rg = locked.rows[0] as { id: string; subscription_id: string; name: string; lb_id: string | null } | undefined;
      if (!rg) throw Errors.resourceGroupNotFound(target.resourceGroup);
      // Read after the lock (its own snapshot); a row created meanwhile by another writer is not
      // ours to update — inserting then fails on the unique name and the retry sees it locked.
      const row = rowOf(read);
      const currentRow = rg.lb_id && row?.id === rg.lb_id ? row : undefined;
      const current = currentRow && toStored(currentRow);
      target.precondition(current?.etag);
      const address: LoadBalancerAddress = {
        subscriptionId: rg.subscription_id,
        resourceGroup: rg.name,
        name: current?.address.name ?? target.name,
      };
      const wanted = typeof desired === "function" ? desired(current) : desired;
      const location = normalizeLocation(wanted.location);
      if (current && current.location !== location) {
        throw Errors.invalidResourceLocation(address.name, current.location, rg.name, location);
      }
      const spec = applyDefaults({ ...wanted, location }, address);
      const lbId = loadBalancerId(address);
      const refs = publicIpRefs(spec);
      const sameRefs = early !== undefined && JSON.stringify(refs) === JSON.stringify(early);
      const lookup = sameRefs ? undefined : publicIpStatement(refs);
      const pipResult = sameRefs ? earlyPips : lookup && (await tx.step([lookup]))[0];
      const { views: publicIps, uids: publicIpUids } = resolvedPublicIps(refs, pipResult);
      const ctx = { address, publicIps };
      const claims = deriveClaims(spec, ctx);
      // The claims are read after the advisory locks are held, so no writer of the same keys commits in between.
      const reads = otherClaimsStatements(claims, current?.uid);
      const [, frontendClaims, destinationClaims] = await tx.step([lockClaimKeysStatement(claims), reads.frontend, reads.destination]);
      const existingClaims = otherClaimsFrom(frontendClaims, destinationClaims);
      const issues = validateLoadBalancer(spec, { ...ctx, existingClaims });
      if (issues.length) throw issuesError(issues);

      const uid = current?.uid ?? randomUUID();
      const operationId = randomUUID();
      const etag = newEtag();
      const skuName = spec.sku?.name ?? "Standard";
      const skuTier = spec.sku?.tier ?? "Regional";
      const head = headStatement(!current, {
        location, livenessMs: target.livenessMs, tags: spec.tags ?? {}, etag, skuName, skuTier, uid, operationId,
        subscriptionId: rg.subscription_id, resourceId: lbId, resourceGroupId: rg.id, name: address.name,
      });
      const children = childWrites(currentRow && storedChildRows(currentRow), specToRows(spec, uid, publicIpUids));
      // Claims are a function of the stored child rows, the location (fixed above), the name and the
      // public IPs' addresses: when none of those changed, neither did the claims.
      const claimWrites = !current || children.written > 0 || !samePublicIpAddresses(current.publicIps, publicIps)
        ? replaceClaimsStatements(uid, rg.subscription_id, current ? deriveClaims(current.spec, { address: current.address, publicIps: current.publicIps }) : NO_CLAIMS, claims)
        : [];
      const [written] = await tx.commit([head, ...children.statements, ...claimWrites]);
      const h = written.rows[0] as { generation: string; status: string; start_time: Date; end_time: Date | null };
      const generation = BigInt(h.generation);
      const operation: Operation = {
        id: operationId, subscriptionId: rg.subscription_id, location, resourceId: lbId, loadBalancerId: uid, kind: "Put",
        status: h.status, generation, error: null, startTime: h.start_time, endTime: h.end_time,
      };
      // Built from what was just written rather than read back: same data, a dozen fewer queries.
      const ownFrontends = new Map(
        [...publicIps].map(([ref, view]) => [ref, { ...view, usedBy: frontendUsing(spec, lbId, ref) ?? view.usedBy }]),
      );
      const stored: StoredLoadBalancer = {
        uid, id: lbId, address, spec, publicIps: ownFrontends, location, etag,
        provisioningState: h.status === "Succeeded" ? "Succeeded" : "Updating", generation, resourceGroupId: rg.id,
      };
      return { stored, created: !current, operation };
    }),
  );
}

function frontendUsing(spec: LoadBalancerSpec, lbId: string, publicIpRef: string): string | undefined {
  const fe = (spec.properties.frontendIPConfigurations ?? []).find(
    (f) => f.properties.publicIPAddress?.id?.toLowerCase() === publicIpRef,
  );
  return fe ? childId(lbId, "frontendIPConfigurations", fe.name) : undefined;
}

function samePublicIpAddresses(a: Map<string, PublicIpView>, b: Map<string, PublicIpView>): boolean {
  return a.size === b.size && [...a].every(([ref, view]) => b.has(ref) && b.get(ref)!.ipAddress === view.ipAddress);
}

/**
 * PATCH: replaces the tags under the row lock, so If-Match is checked against the etag the update
 * replaces and the answer shows the load balancer as it now is. Tags reach no agent: no generation.
 */
export function updateLoadBalancerTags(db: Db, target: WriteTarget, tags: Record<string, string>): Promise<StoredLoadBalancer> {
  return db.$transaction(async (tx) => {
    const rg = await requireResourceGroup(tx, target.subscriptionId, target.resourceGroup);
    const lockedId = await lockRow(tx, rg.id, target.name);
    const current = lockedId && (await findLoadBalancer(tx, rg.id, target.name));
    if (!current) throw Errors.resourceNotFound("Microsoft.Network/loadBalancers", target.name, target.resourceGroup);
    target.precondition(current.etag);
    const etag = newEtag();
    await tx.loadBalancer.update({ where: { id: current.uid }, data: { tags, etag } });
    return { ...current, etag, spec: { ...current.spec, tags } };
  }, TX_OPTIONS);
}

/** Deletes a load balancer; undefined when it did not exist (ARM answers 204). */
export function deleteLoadBalancer(db: Db, target: WriteTarget): Promise<{ operation: Operation; location: string } | undefined> {
  return db.$transaction(async (tx) => {
    const rg = await requireResourceGroup(tx, target.subscriptionId, target.resourceGroup);
    const lockedId = await lockRow(tx, rg.id, target.name);
    if (!lockedId) return undefined;
    const current = (await findLoadBalancer(tx, rg.id, target.name))!;
    target.precondition(current.etag);
    await tx.loadBalancer.delete({ where: { id: current.uid } });
    const generation = await bumpGeneration(tx, current.location);
    const waitForAgents = (await countLiveAgents(tx, current.location, target.livenessMs)) > 0;
    const operation = await createOperation(tx, {
      subscriptionId: rg.subscriptionId, location: current.location, resourceId: current.id, kind: "Delete", generation, done: !waitForAgents,
    });
    return { operation, location: current.location };
  }, TX_OPTIONS);
}
