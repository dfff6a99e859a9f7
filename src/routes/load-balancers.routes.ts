// Microsoft.Network/loadBalancers: PUT (201/200 + Azure-AsyncOperation), GET, DELETE (200/202/204),
// PATCH tags, and lists by resource group and subscription with nextLink paging.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { LoadBalancerSpec } from "../domain/model.js";
import { Errors } from "../errors.js";
import { deleteLoadBalancer, saveLoadBalancer, updateLoadBalancerTags, type WriteTarget } from "../store/load-balancer-writer.js";
import { findLoadBalancerByName, listLoadBalancers, type StoredLoadBalancer } from "../store/load-balancers.store.js";
import { requireResourceGroup } from "../store/resource-groups.store.js";
import type { Operation } from "../store/operations.store.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { ApiVersionQuery, ListQuery, ResourceGroupParams, SubscriptionParams, TagsSchema, armErrors, baseUrl, checkName, checkPreconditions, pageOf, resourcePath, setEtagHeader } from "./arm-common.js";
import { renderLoadBalancer } from "./load-balancer.view.js";
import { LoadBalancerBodySchema, ResourceListSchema, ResourceSchema } from "./schemas/load-balancer.schema.js";

export const LB_PATH = "/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/providers/Microsoft.Network/loadBalancers/:loadBalancerName";
export const LbParams = Type.Object({ ...ResourceGroupParams.properties, loadBalancerName: Type.String() });
type LbParamsT = { subscriptionId: string; resourceGroupName: string; loadBalancerName: string };
const LB_TYPE = "Microsoft.Network/loadBalancers";
const config = { apiVersions: NETWORK_API_VERSIONS };
const tags = ["LoadBalancers"];

export function writeTarget(request: FastifyRequest, p: LbParamsT, resourceId: string): WriteTarget {
  return {
    subscriptionId: p.subscriptionId,
    resourceGroup: p.resourceGroupName,
    name: p.loadBalancerName,
    precondition: (etag) => checkPreconditions(request, etag, resourceId),
    livenessMs: request.server.deps.config.agentLivenessMs,
  };
}

export function operationUrls(request: FastifyRequest, op: Operation) {
  const base = `${baseUrl(request)}/subscriptions/${op.subscriptionId}/providers/Microsoft.Network/locations/${op.location}`;
  const q = `?api-version=${(request.query as { "api-version": string })["api-version"]}`;
  return { asyncOperation: `${base}/operations/${op.id}${q}`, location: `${base}/operationResults/${op.id}${q}` };
}

/** Loads a load balancer or answers ARM's 404s. */
export async function requireLoadBalancer(request: FastifyRequest, p: LbParamsT): Promise<StoredLoadBalancer> {
  const found = await findLoadBalancerByName(request.server.deps.db, p.subscriptionId, p.resourceGroupName, p.loadBalancerName);
  if (!found.resourceGroupExists) throw Errors.resourceGroupNotFound(p.resourceGroupName);
  if (!found.loadBalancer) throw Errors.resourceNotFound(LB_TYPE, p.loadBalancerName, p.resourceGroupName);
  return found.loadBalancer;
}

export function afterWrite(request: FastifyRequest, reply: FastifyReply, op: Operation, location: string): void {
  request.server.deps.notifyChange?.(location);
  const urls = operationUrls(request, op);
  reply.header("azure-asyncoperation", urls.asyncOperation);
  reply.header("retry-after", "1");
}

/** DELETE's answer: 200 when no agent must confirm, else 202 with the Location to poll. */
export function answerDelete(request: FastifyRequest, reply: FastifyReply, op: Operation, location: string) {
  request.server.deps.notifyChange?.(location);
  if (op.status === "Succeeded") return reply.code(200).send();
  const urls = operationUrls(request, op);
  reply.header("location", urls.location).header("azure-asyncoperation", urls.asyncOperation).header("retry-after", "1");
  return reply.code(202).send();
}

export async function loadBalancerRoutes(app: FastifyInstance): Promise<void> {
  app.put<{ Params: LbParamsT; Body: LoadBalancerSpec }>(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_CreateOrUpdate", tags, summary: "Create or replace a load balancer",
      description: "Validates the whole load balancer (structure, references, limits and the uniqueness law against every load balancer of the location), stores it in one transaction and starts pushing it to the location's agents. 201 on create, 200 on update; poll Azure-AsyncOperation for agent acknowledgement.",
      params: LbParams, querystring: ApiVersionQuery, body: LoadBalancerBodySchema,
      response: { ...armErrors, 200: ResourceSchema, 201: ResourceSchema, 409: armErrors[400] },
    },
  }, async (request, reply) => {
    const p = request.params;
    checkName(p.loadBalancerName, "loadBalancer");
    const { location, tags: t, sku, properties } = request.body;
    const outcome = await saveLoadBalancer(request.server.deps.db, writeTarget(request, p, resourcePath(request)), {
      location, tags: t, sku, properties: properties ?? {},
    });
    afterWrite(request, reply, outcome.operation, outcome.stored.location);
    setEtagHeader(reply, outcome.stored.etag);
    return reply.code(outcome.created ? 201 : 200).send(renderLoadBalancer(outcome.stored));
  });

  app.get<{ Params: LbParamsT }>(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_Get", tags, summary: "Get a load balancer",
      params: LbParams, querystring: ApiVersionQuery, response: { ...armErrors, 200: ResourceSchema },
    },
  }, async (request, reply) => {
    const lb = await requireLoadBalancer(request, request.params);
    setEtagHeader(reply, lb.etag);
    return renderLoadBalancer(lb);
  });

  app.delete<{ Params: LbParamsT }>(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_Delete", tags, summary: "Delete a load balancer",
      description: "200 when deleted and no agent must confirm, 202 (Location) while agents withdraw it, 204 when it did not exist.",
      params: LbParams, querystring: ApiVersionQuery,
      response: { ...armErrors, 200: Type.Null(), 202: Type.Null(), 204: Type.Null() },
    },
  }, async (request, reply) => {
    const p = request.params;
    const result = await deleteLoadBalancer(request.server.deps.db, writeTarget(request, p, resourcePath(request)));
    if (!result) return reply.code(204).send();
    return answerDelete(request, reply, result.operation, result.location);
  });

  app.patch<{ Params: LbParamsT; Body: { tags?: Record<string, string> } }>(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_UpdateTags", tags, summary: "Replace a load balancer's tags",
      params: LbParams, querystring: ApiVersionQuery,
      body: Type.Object({ tags: Type.Optional(TagsSchema) }, { additionalProperties: false }),
      response: { ...armErrors, 200: ResourceSchema },
    },
  }, async (request, reply) => {
    const p = request.params;
    const updated = await updateLoadBalancerTags(request.server.deps.db, writeTarget(request, p, resourcePath(request)), request.body.tags ?? {});
    setEtagHeader(reply, updated.etag);
    return renderLoadBalancer(updated);
  });

  app.get<{ Params: { subscriptionId: string; resourceGroupName: string } }>(
    "/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/providers/Microsoft.Network/loadBalancers",
    {
      config,
      schema: {
        operationId: "LoadBalancers_List", tags, summary: "List the load balancers of a resource group",
        params: ResourceGroupParams, querystring: ListQuery, response: { ...armErrors, 200: ResourceListSchema },
      },
    },
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params;
      const rg = await requireResourceGroup(request.server.deps.db, subscriptionId, resourceGroupName);
      const all = await listLoadBalancers(request.server.deps.db, { subscriptionId, resourceGroupId: rg.id });
      return pageOf(request, all.map(renderLoadBalancer));
    },
  );

  app.get<{ Params: { subscriptionId: string } }>("/subscriptions/:subscriptionId/providers/Microsoft.Network/loadBalancers", {
    config,
    schema: {
      operationId: "LoadBalancers_ListAll", tags, summary: "List the load balancers of a subscription",
      params: SubscriptionParams, querystring: ListQuery, response: { ...armErrors, 200: ResourceListSchema },
    },
  }, async (request) => {
    const all = await listLoadBalancers(request.server.deps.db, { subscriptionId: request.params.subscriptionId });
    return pageOf(request, all.map(renderLoadBalancer));
  });
}
