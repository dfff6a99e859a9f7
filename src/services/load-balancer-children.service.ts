// Child PUT and DELETE (the writable collections of the collection table): a child write is a
// rewrite of its parent through the same validated, transactional use case as a load balancer PUT,
// so the uniqueness law and every other rule hold for it without a second implementation.

import type { WritableChildCollection } from "../domain/collections.js";
import type { LoadBalancerSpec } from "../domain/model.js";
import { Errors } from "../errors.js";
import { requireLinkedAccess } from "./caller-scope.js";
import type { ServiceDeps } from "./deps.js";
import { requireLoadBalancer, saveLoadBalancer, type WriteOutcome, type WriteTarget } from "./load-balancers.service.js";

type WriteDeps = Pick<ServiceDeps, "db" | "config" | "notifyChange">;
type NamedChild = { name: string; properties?: unknown };

export interface ChildAddress {
  collection: WritableChildCollection;
  childName: string;
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function childrenOf(spec: LoadBalancerSpec, collection: WritableChildCollection): NamedChild[] {
  return (spec.properties[collection] ?? []) as NamedChild[];
}

function withCollection(spec: LoadBalancerSpec, collection: WritableChildCollection, list: unknown[]): LoadBalancerSpec {
  return { ...spec, properties: { ...spec.properties, [collection]: list } };
}

/**
 * Creates or replaces one child (keeping the stored spelling of its name when it exists).
 * `parentId` names the load balancer in the 404 when it does not exist.
 */
export async function putLoadBalancerChild(
  deps: WriteDeps,
  target: WriteTarget,
  child: ChildAddress & { properties: Record<string, unknown>; parentId: string },
): Promise<WriteOutcome & { childCreated: boolean }> {
  // Linked authorization on the child's body as sent, before any lookup (the rest of the load
  // balancer was authorised when it was written).
  requireLinkedAccess(target.caller, `Microsoft.Network/loadBalancers/${child.collection}/write`, childScope(child), child.properties);
  let created = false;
  const outcome = await saveLoadBalancer(deps, target, (current) => {
    if (!current) throw Errors.childNotFound(child.parentId);
    const list = [...childrenOf(current.spec, child.collection)];
    const next = { name: child.childName, properties: child.properties ?? {} };
    const at = list.findIndex((c) => sameName(c.name, child.childName));
    // Decided per attempt: a retried transaction may find the child a concurrent write added.
    created = at < 0;
    if (created) list.push(next);
    else list[at] = { ...next, name: list[at].name };
    return withCollection(current.spec, child.collection, list);
  });
  return { ...outcome, childCreated: created };
}

function childScope(child: ChildAddress & { parentId: string }): string {
  return `${child.parentId}/${child.collection}/${child.childName}`;
}

/** Deletes one child; undefined when it does not exist (ARM answers 204). 404s when the load balancer does not. */
export async function deleteLoadBalancerChild(deps: WriteDeps, target: WriteTarget, child: ChildAddress): Promise<WriteOutcome | undefined> {
  const lb = await requireLoadBalancer(deps, target);
  if (!childrenOf(lb.spec, child.collection).some((c) => sameName(c.name, child.childName))) return undefined;
  return saveLoadBalancer(deps, { ...target, precondition: (etag) => target.precondition(etag, lb.id) }, (current) => {
    if (!current) throw Errors.childNotFound(lb.id);
    const list = childrenOf(current.spec, child.collection).filter((c) => !sameName(c.name, child.childName));
    return withCollection(current.spec, child.collection, list);
  });
}
