// Load balancer use cases: PUT, PATCH tags, DELETE. Each write is one transaction that reads top to
// bottom: load (lock and read) → decide (preconditions, location, defaults, public IPs, claims, the
// uniqueness law against other load balancers' claims) → persist (head row, child diff, claim
// diff, generation, operation) → notify the agent machinery after commit. The store runs the SQL
// in named one-round-trip steps; the domain decides; nothing here speaks SQL.
//
// A concurrent writer that wins the same flow makes ours fail on an exclusion constraint (or the
// unique name, or a serialization failure): we re-run once, and the domain then explains the
// conflict it sees; a second loss answers AnotherOperationInProgress.

import { randomUUID } from "node:crypto";
import { deriveClaims } from "../domain/claims.js";
import { applyDefaults } from "../domain/defaults.js";
import { childId, loadBalancerId, normalizeLocation } from "../domain/ids.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { validateLoadBalancer } from "../domain/validate.js";
import { Errors, issuesError } from "../errors.js";
import { newEtag } from "../store/etag.js";
import { bumpGeneration } from "../store/generations.store.js";
import {
  commitLoadBalancerWrite, deleteLoadBalancerRow, inLoadBalancerTransaction, inLoadBalancerWrite, lockLoadBalancer,
  lockLoadBalancerForWrite, planChildWrites, readCompetingClaims, replaceLoadBalancerTags, resolvePublicIps,
  type LoadBalancerKey,
} from "../store/load-balancer-writes.store.js";
import { findLoadBalancerByName, type LoadBalancerVersion, type StoredLoadBalancer } from "../store/load-balancers.store.js";
import { countLiveAgents, createOperation, type Operation } from "../store/operations.store.js";
import { isLostRace } from "../store/pg-errors.js";
import { publicIpRefs } from "../store/public-ip-resolver.js";
import { requireLinkedAccess, visibleId, type CallerScope } from "./caller-scope.js";
import type { ServiceDeps } from "./deps.js";
import { requireResourceGroup } from "./resource-groups.service.js";

export interface WriteTarget extends LoadBalancerKey {
  /**
   * Throws (412) when the If-Match / If-None-Match headers do not hold for `currentEtag`;
   * `loadBalancerId` is the ARM id of the load balancer written.
   */
  precondition: (currentEtag: string | undefined, loadBalancerId: string) => void;
  /** Who writes: what the body may reference and what the answers may name (linked authorization). */
  caller: CallerScope;
}

export interface WriteOutcome {
  stored: StoredLoadBalancer;
  created: boolean;
  operation: Operation;
}

type WriteDeps = Pick<ServiceDeps, "db" | "config" | "notifyChange">;

const LB_TYPE = "Microsoft.Network/loadBalancers";

/** The load balancer, or ARM's 404s (missing resource group, missing load balancer). */
export async function requireLoadBalancer(deps: Pick<ServiceDeps, "db">, key: LoadBalancerKey): Promise<StoredLoadBalancer> {
  return (await requireChangedLoadBalancer(deps, key)) as StoredLoadBalancer;
}

/**
 * The load balancer, or undefined when it is still the `known` version (a reader holding its
 * rendering need not read it again); ARM's 404s when it or its group is missing.
 */
export async function requireChangedLoadBalancer(
  deps: Pick<ServiceDeps, "db">,
  key: LoadBalancerKey,
  known?: LoadBalancerVersion,
): Promise<StoredLoadBalancer | undefined> {
  const found = await findLoadBalancerByName(deps.db, key.subscriptionId, key.resourceGroup, key.name, known);
  if (!found.resourceGroupExists) throw Errors.resourceGroupNotFound(key.resourceGroup);
  if (found.unchanged) return undefined;
  if (!found.loadBalancer) throw Errors.resourceNotFound(LB_TYPE, key.name, key.resourceGroup);
  return found.loadBalancer;
}

/** Runs `attempt` and, on a lost race, once more; a second loss is AnotherOperationInProgress. */
async function withOneRetry<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (!isLostRace(err)) throw err;
  }
  try {
    return await attempt();
  } catch (err) {
    if (isLostRace(err)) throw Errors.anotherOperationInProgress();
    throw err;
  }
}

/**
 * Creates or replaces a load balancer. `desired` is the spec, or a function of the current one
 * (undefined when absent) that returns it and may throw (e.g. 404 for a child write on a missing
 * load balancer); it runs once per attempt. A plain spec saves a round trip: its public IPs are
 * looked up with the row.
 */
export async function saveLoadBalancer(
  deps: WriteDeps,
  target: WriteTarget,
  desired: LoadBalancerSpec | ((current: StoredLoadBalancer | undefined) => LoadBalancerSpec),
): Promise<WriteOutcome> {
  // Linked authorization first, before any lookup: a foreign reference answers 403 whether or not
  // it exists. A function (a child write) checked its own body before calling us.
  if (typeof desired !== "function") {
    requireLinkedAccess(target.caller, `${LB_TYPE}/write`, loadBalancerId(target), desired);
  }
  const early = typeof desired === "function" ? undefined : publicIpRefs(desired);
  const outcome = await withOneRetry(() => inLoadBalancerWrite(deps.db, async (tx) => {
    // Load.
    const locked = await lockLoadBalancerForWrite(tx, target, early);
    const rg = locked.resourceGroup;
    if (!rg) throw Errors.resourceGroupNotFound(target.resourceGroup);
    const current = locked.current;
    const address: LoadBalancerAddress = { subscriptionId: rg.subscriptionId, resourceGroup: rg.name, name: current?.address.name ?? target.name };
    const lbId = loadBalancerId(address);

    // Decide: preconditions, location, defaults, public IPs, claims.
    target.precondition(current?.etag, lbId);
    const wanted = typeof desired === "function" ? desired(current) : desired;
    const location = normalizeLocation(wanted.location);
    if (current && current.location !== location) {
      throw Errors.invalidResourceLocation(address.name, current.location, rg.name, location);
    }
    const spec = applyDefaults({ ...wanted, location }, address);
    const refs = publicIpRefs(spec);
    const sameRefs = early !== undefined && JSON.stringify(refs) === JSON.stringify(early);
    const resolved = sameRefs ? locked.publicIps! : await resolvePublicIps(tx, refs);
    const publicIps = visibleUsers(resolved.views, target.caller);
    const publicIpUids = resolved.uids;
    const ctx = { address, publicIps };
    const claims = deriveClaims(spec, ctx);

    // Decide: the whole load balancer, including the uniqueness law against the claims of others.
    const existingClaims = await readCompetingClaims(tx, claims, current?.uid);
    const issues = validateLoadBalancer(spec, { ...ctx, existingClaims });
    if (issues.length) throw issuesError(issues);

    // Persist.
    const uid = current?.uid ?? randomUUID();
    const etag = newEtag();
    const children = planChildWrites(locked.currentRow, spec, uid, publicIpUids);
    // Claims are a function of the stored child rows, the location (fixed above), the name and the
    // public IPs' addresses: when none of those changed, neither did the claims.
    const claimsChanged = !current || children.written > 0 || !samePublicIpAddresses(current.publicIps, publicIps);
    const operation = await commitLoadBalancerWrite(tx, {
      head: {
        create: !current, uid, resourceGroupId: rg.id, subscriptionId: rg.subscriptionId, resourceId: lbId, name: address.name,
        location, tags: spec.tags ?? {}, etag, skuName: spec.sku?.name ?? "Standard", skuTier: spec.sku?.tier ?? "Regional",
        operationId: randomUUID(), livenessMs: deps.config.agentLivenessMs,
      },
      children,
      claims: claimsChanged ? claims : undefined,
      document: { resourceGroupName: rg.name, publicIps: resolved.views },
    });
    // Built from what was just written rather than read back: same data, a dozen fewer queries.
    const ownFrontends = new Map(
      [...publicIps].map(([ref, view]) => [ref, { ...view, usedBy: frontendUsing(spec, lbId, ref) ?? view.usedBy }]),
    );
    const stored: StoredLoadBalancer = {
      uid, id: lbId, address, spec, publicIps: ownFrontends, location, etag,
      provisioningState: operation.status === "Succeeded" ? "Succeeded" : "Updating", generation: operation.generation, resourceGroupId: rg.id,
    };
    return { stored, created: !current, operation };
  }));
  deps.notifyChange?.(outcome.stored.location);
  return outcome;
}

/**
 * The public IPs with each user the caller cannot read replaced by a phrase: a "PublicIPAddressInUse"
 * must not name another tenant's load balancer. (Only a frontend's own id is compared with usedBy,
 * and that one is always readable: it is in the path's subscription.)
 */
function visibleUsers(views: Map<string, PublicIpView>, caller: CallerScope): Map<string, PublicIpView> {
  return new Map([...views].map(([ref, view]) => [ref, view.usedBy ? { ...view, usedBy: visibleId(caller, view.usedBy) } : view]));
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
 * replaces and the answer shows the load balancer as it now is. Tags reach no agent: no generation,
 * no notification.
 */
export function updateLoadBalancerTags(deps: Pick<ServiceDeps, "db">, target: WriteTarget, tags: Record<string, string>): Promise<StoredLoadBalancer> {
  return inLoadBalancerTransaction(deps.db, async (tx) => {
    const rg = await requireResourceGroup(tx, target.subscriptionId, target.resourceGroup);
    const current = await lockLoadBalancer(tx, rg.id, target.name);
    if (!current) throw Errors.resourceNotFound(LB_TYPE, target.name, target.resourceGroup);
    target.precondition(current.etag, current.id);
    const etag = newEtag();
    await replaceLoadBalancerTags(tx, current.uid, tags, etag);
    return { ...current, etag, spec: { ...current.spec, tags } };
  });
}

/** Deletes a load balancer; undefined when it did not exist (ARM answers 204). */
export async function deleteLoadBalancer(deps: WriteDeps, target: WriteTarget): Promise<{ operation: Operation; location: string } | undefined> {
  const result = await inLoadBalancerTransaction(deps.db, async (tx) => {
    const rg = await requireResourceGroup(tx, target.subscriptionId, target.resourceGroup);
    const current = await lockLoadBalancer(tx, rg.id, target.name);
    if (!current) return undefined;
    target.precondition(current.etag, current.id);
    await deleteLoadBalancerRow(tx, current.uid);
    const generation = await bumpGeneration(tx, current.location);
    const waitForAgents = (await countLiveAgents(tx, current.location, deps.config.agentLivenessMs)) > 0;
    const operation = await createOperation(tx, {
      subscriptionId: rg.subscriptionId, location: current.location, resourceId: current.id, kind: "Delete", generation, done: !waitForAgents,
    });
    return { operation, location: current.location };
  });
  if (result) deps.notifyChange?.(result.location);
  return result;
}
