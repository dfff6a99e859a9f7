// HTTP pieces every load-balancer route shares (the load balancer's own routes, its children,
// rule health, effective mappings): the path and its parameters, the 404s of a missing load
// balancer, and how a write is answered (Azure-AsyncOperation / Location headers).

import type { FastifyReply, FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { requireChangedLoadBalancer, requireLoadBalancer as requireLoadBalancerByName, type WriteTarget } from "../services/load-balancers.service.js";
import { versionOf, type StoredLoadBalancer } from "../store/load-balancers.store.js";
import { type Rendered, type RenderedLoadBalancers, renderLoadBalancer } from "./load-balancer.view.js";
import type { Operation } from "../store/operations.store.js";
import { baseUrl, checkPreconditions } from "./arm-common.js";
import { ResourceGroupParams } from "./schemas/arm.schema.js";
import { EXAMPLE } from "./schemas/examples.js";
import { callerScope } from "./auth.js";

export const LB_PATH = "/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/providers/Microsoft.Network/loadBalancers/:loadBalancerName";
export const LbParams = Type.Object({
  ...ResourceGroupParams.properties,
  loadBalancerName: Type.String({ description: "The load balancer", examples: [EXAMPLE.loadBalancerName] }),
});
export type LbParamsT = Static<typeof LbParams>;

/**
 * What a write addresses, with the If-Match / If-None-Match check; a 412 names `resourceId`
 * (default: the ARM id of the load balancer written, as the use case reports it).
 */
export function writeTarget(request: FastifyRequest, p: LbParamsT, resourceId?: string): WriteTarget {
  return {
    subscriptionId: p.subscriptionId,
    resourceGroup: p.resourceGroupName,
    name: p.loadBalancerName,
    precondition: (etag, loadBalancerId) => checkPreconditions(request, etag, resourceId ?? loadBalancerId),
    caller: callerScope(request),
  };
}

export function operationUrls(request: FastifyRequest, op: Operation) {
  const base = `${baseUrl(request)}/subscriptions/${op.subscriptionId}/providers/Microsoft.Network/locations/${op.location}`;
  const q = `?api-version=${(request.query as { "api-version": string })["api-version"]}`;
  return { asyncOperation: `${base}/operations/${op.id}${q}`, location: `${base}/operationResults/${op.id}${q}` };
}

/** Loads a load balancer or answers ARM's 404s. */
export function requireLoadBalancer(request: FastifyRequest, p: LbParamsT): Promise<StoredLoadBalancer> {
  return requireLoadBalancerByName(request.server.deps, keyOf(p));
}

function keyOf(p: LbParamsT) {
  return { subscriptionId: p.subscriptionId, resourceGroup: p.resourceGroupName, name: p.loadBalancerName };
}

/** A body already serialised: fastify sends a string with a JSON type as it is. */
export const JSON_UTF8 = "application/json; charset=utf-8";

/**
 * The load balancer's GET answer: the one `rendered` holds when the database says it is still
 * current, else rendered and serialised (by the route's own response schema) afresh and kept.
 */
export async function renderedAnswer(request: FastifyRequest<{ Params: LbParamsT }>, reply: FastifyReply, rendered: RenderedLoadBalancers): Promise<Rendered> {
  const p = request.params;
  const key = `${p.subscriptionId}/${p.resourceGroupName}/${p.loadBalancerName}`.toLowerCase();
  const held = rendered.get(key);
  let lb: StoredLoadBalancer | undefined;
  try {
    lb = await requireChangedLoadBalancer(request.server.deps, keyOf(p), held?.version);
  } catch (err) {
    rendered.drop(key);
    throw err;
  }
  // "Unchanged" is only ever the answer to a version that was sent, i.e. to `held`.
  if (lb === undefined) return held as Rendered;
  return rendered.put(key, versionOf(lb), reply.serialize(renderLoadBalancer(lb)) as string);
}

/** A PUT's operation headers (the use case already told the agents). */
export function answerWrite(request: FastifyRequest, reply: FastifyReply, op: Operation): void {
  const urls = operationUrls(request, op);
  reply.header("azure-asyncoperation", urls.asyncOperation);
  reply.header("retry-after", "1");
}

/** DELETE's answer: 200 when no agent must confirm, else 202 with the Location to poll. */
export function answerDelete(request: FastifyRequest, reply: FastifyReply, op: Operation) {
  if (op.status === "Succeeded") return reply.code(200).send();
  const urls = operationUrls(request, op);
  reply.header("location", urls.location).header("azure-asyncoperation", urls.asyncOperation).header("retry-after", "1");
  return reply.code(202).send();
}

