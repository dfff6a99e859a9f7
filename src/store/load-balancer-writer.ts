// Every load balancer write — PUT, DELETE, and child PUT/DELETE — is one transaction: lock the
// row, check preconditions, validate through the domain (including the uniqueness law against other
// load balancers' claims), replace children and claims, bump the location generation, record the
// operation. A concurrent writer that wins the same flow makes ours fail on the exclusion
// constraint; we then re-run once, and the domain explains the conflict it now sees.

import { applyDefaults } from "../domain/defaults.js";
import { deriveClaims } from "../domain/claims.js";
import { childId, loadBalancerId, normalizeLocation } from "../domain/ids.js";
import { validateLoadBalancer } from "../domain/validate.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { ArmError, issuesError, resourceNotFound } from "../errors.js";
import type { Db } from "./prisma.js";
import { bumpGeneration } from "./generations.store.js";
import { writeChildren } from "./load-balancer-children.js";
import { specToRows, storedChildRows } from "./load-balancer-rows.js";
import { findLoadBalancer, findLoadBalancerRow, toStored, type StoredLoadBalancer } from "./load-balancers.store.js";
import { lockClaimKeys, otherClaims, replaceClaims } from "./claims.store.js";
import { countLiveAgents, createOperation, type Operation } from "./operations.store.js";
import { resolvePublicIps } from "./public-ip-resolver.js";
import { isExclusionViolation, isSerializationFailure, isUniqueViolation } from "./pg-errors.js";
import { requireResourceGroup, type Tx } from "./resource-groups.store.js";
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
      throw new ArmError(409, "AnotherOperationInProgress", "A concurrent write changed the same flows or names; retry the request.");
    }
    throw err;
  }
}

/**
 * Creates or replaces a load balancer. `build` receives the current one (undefined when absent) and
 * returns the desired spec; it may throw (e.g. 404 for a child write on a missing load balancer).
 */
export function saveLoadBalancer(
  db: Db,
  target: WriteTarget,
  build: (current: StoredLoadBalancer | undefined) => LoadBalancerSpec,
): Promise<WriteOutcome> {
  return withOneRetry(() =>
    db.$transaction(async (tx) => {
      const rg = await requireResourceGroup(tx, target.subscriptionId, target.resourceGroup);
      const lockedId = await lockRow(tx, rg.id, target.name);
      const currentRow = lockedId ? await findLoadBalancerRow(tx, rg.id, target.name) : undefined;
      const current = currentRow && toStored(currentRow);
      target.precondition(current?.etag);
      const address: LoadBalancerAddress = {
        subscriptionId: rg.subscriptionId,
        resourceGroup: rg.name,
        name: current?.address.name ?? target.name,
      };
      const desired = build(current);
      const location = normalizeLocation(desired.location);
      if (current && current.location !== location) {
        throw new ArmError(
          409,
          "InvalidResourceLocation",
          `The resource '${address.name}' already exists in location '${current.location}' in resource group '${rg.name}'. A resource with the same name cannot be created in location '${location}'.`,
        );
      }
      const spec = applyDefaults({ ...desired, location }, address);
      const lbId = loadBalancerId(address);
      const { views: publicIps, uids: publicIpUids } = await resolvePublicIps(tx, spec);
      const ctx = { address, publicIps };
      const claims = deriveClaims(spec, ctx);
      await lockClaimKeys(tx, claims);
      const existingClaims = await otherClaims(tx, claims, current?.uid);
      const issues = validateLoadBalancer(spec, { ...ctx, existingClaims });
      if (issues.length) throw issuesError(issues);

      const generation = await bumpGeneration(tx, location);
      const waitForAgents = (await countLiveAgents(tx, location, target.livenessMs)) > 0;
      const uid = current?.uid ?? randomUUID();
      const fields = {
        location,
        tags: spec.tags ?? {},
        etag: newEtag(),
        skuName: spec.sku?.name ?? "Standard",
        skuTier: spec.sku?.tier ?? "Regional",
        provisioningState: waitForAgents ? "Updating" : "Succeeded",
        generation,
      };
      if (current) {
        await tx.loadBalancer.update({ where: { id: uid }, data: fields });
      } else {
        await tx.loadBalancer.create({
          data: { id: uid, resourceGroupId: rg.id, subscriptionId: rg.subscriptionId, name: address.name, nameKey: address.name.toLowerCase(), ...fields },
        });
      }
      const rowsWritten = await writeChildren(tx, currentRow && storedChildRows(currentRow), specToRows(spec, uid, publicIpUids));
      // Claims are a function of the stored child rows, the location (fixed above), the name and the
      // public IPs' addresses: when none of those changed, neither did the claims.
      if (!current || rowsWritten > 0 || !samePublicIpAddresses(current.publicIps, publicIps)) {
        const previous = current ? deriveClaims(current.spec, { address: current.address, publicIps: current.publicIps }) : NO_CLAIMS;
        await replaceClaims(tx, uid, rg.subscriptionId, previous, claims);
      }
      const operation = await createOperation(tx, {
        subscriptionId: rg.subscriptionId, location, resourceId: lbId, loadBalancerId: uid, kind: "Put", generation, done: !waitForAgents,
      });
      // Built from what was just written rather than read back: same data, a dozen fewer queries.
      const ownFrontends = new Map(
        [...publicIps].map(([ref, view]) => [ref, { ...view, usedBy: frontendUsing(spec, lbId, ref) ?? view.usedBy }]),
      );
      const stored: StoredLoadBalancer = {
        uid, id: lbId, address, spec, publicIps: ownFrontends, location, etag: fields.etag,
        provisioningState: fields.provisioningState, generation, resourceGroupId: rg.id,
      };
      return { stored, created: !current, operation };
    }, TX_OPTIONS),
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
    if (!current) throw resourceNotFound("Microsoft.Network/loadBalancers", target.name, target.resourceGroup);
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
