// Microsoft.Network/loadBalancers: PUT (201/200 + Azure-AsyncOperation), GET, DELETE (200/202/204),
// PATCH tags, and lists by resource group and subscription with nextLink paging.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { LoadBalancerProperties, LoadBalancerSpec } from "../domain/model.js";
import { deleteLoadBalancer, saveLoadBalancer, updateLoadBalancerTags } from "../services/load-balancers.service.js";
import { listLoadBalancers } from "../store/load-balancers.store.js";
import { requireResourceGroup } from "../services/resource-groups.service.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { checkName, listAnswer, pageRequestOf, resourcePath, sendStatusOnly, setEtagHeader } from "./arm-common.js";
import {
  ASYNC_HEADERS, ETAG_HEADER, LOCATION_HEADERS, NetworkApiVersionQuery, NetworkListQuery, PreconditionHeaders,
  ResourceGroupParams, SubscriptionParams, TagsObjectSchema, armErrors, armErrorsWithConflict, armWriteErrors, noBody, withHeaders,
} from "./schemas/arm.schema.js";
import { JSON_UTF8, LB_PATH, LbParams, answerDelete, answerWrite, renderedAnswer, writeTarget } from "./load-balancer.http.js";
import { RenderedLoadBalancers, renderLoadBalancer } from "./load-balancer.view.js";
import { LoadBalancerListSchema, LoadBalancerSchema, type LoadBalancerBody } from "./schemas/load-balancer.schema.js";
import { TAGS_EXAMPLE } from "./schemas/examples.js";

const config = { apiVersions: NETWORK_API_VERSIONS };
const tags = ["LoadBalancers"];

/**
 * The validated PUT body as the domain's spec. The schema is looser than LoadBalancerSpec where
 * Azure clients are (a pool may come without `properties`, read-only members are accepted); the
 * domain validates and defaults the rest, so the properties are passed on as they came, only typed
 * as the spec here. Absent properties are an empty load balancer.
 */
function toLoadBalancerSpec({ location, tags: t, sku, properties }: LoadBalancerBody): LoadBalancerSpec {
  return { location, tags: t, sku, properties: (properties ?? {}) as LoadBalancerProperties };
}

export async function loadBalancerRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // Per app: each instance (a test's, a replica's) checks its own answers against its database.
  const rendered = new RenderedLoadBalancers(app.deps.config.readCacheMb * 1024 * 1024);

  app.put(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_CreateOrUpdate", tags, summary: "Create or replace a load balancer",
      description: "Validates the whole load balancer (structure, references, limits and the uniqueness law against every load balancer of the location), stores it in one transaction and starts pushing it to the location's agents. 201 on create, 200 on update; poll Azure-AsyncOperation for agent acknowledgement.",
      params: LbParams, querystring: NetworkApiVersionQuery, headers: PreconditionHeaders, body: LoadBalancerSchema,
      response: {
        ...armWriteErrors,
        200: withHeaders(LoadBalancerSchema, { ...ETAG_HEADER, ...ASYNC_HEADERS }, "Updated"),
        201: withHeaders(LoadBalancerSchema, { ...ETAG_HEADER, ...ASYNC_HEADERS }, "Created"),
      },
    },
  }, async (request, reply) => {
    const p = request.params;
    checkName(p.loadBalancerName, "loadBalancer");
    const outcome = await saveLoadBalancer(request.server.deps, writeTarget(request, p, resourcePath(request)), toLoadBalancerSpec(request.body));
    answerWrite(request, reply, outcome.operation);
    setEtagHeader(reply, outcome.stored.etag);
    return reply.code(outcome.created ? 201 : 200).send(renderLoadBalancer(outcome.stored));
  });

  app.get(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_Get", tags, summary: "Get a load balancer",
      params: LbParams, querystring: NetworkApiVersionQuery,
      response: { ...armErrors, 200: withHeaders(LoadBalancerSchema, ETAG_HEADER, "The load balancer") },
    },
  }, async (request, reply) => {
    const answer = await renderedAnswer(request, reply, rendered);
    setEtagHeader(reply, answer.version.etag);
    // Already serialised by this route's response schema; the typed reply only knows objects.
    return reply.type(JSON_UTF8).send(answer.body as never);
  });

  app.delete(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_Delete", tags, summary: "Delete a load balancer",
      description: "200 when deleted and no agent must confirm, 202 (Location) while agents withdraw it, 204 when it did not exist.",
      params: LbParams, querystring: NetworkApiVersionQuery, headers: PreconditionHeaders,
      response: {
        ...armErrorsWithConflict,
        200: noBody("Deleted; no agent must confirm"),
        202: noBody("Accepted: agents are withdrawing it; poll Location", { ...LOCATION_HEADERS, ...ASYNC_HEADERS }),
        204: noBody("It did not exist"),
      },
    },
  }, async (request, reply) => {
    const p = request.params;
    const result = await deleteLoadBalancer(request.server.deps, writeTarget(request, p, resourcePath(request)));
    if (!result) return sendStatusOnly(reply, 204);
    return answerDelete(request, reply, result.operation);
  });

  app.patch(LB_PATH, {
    config,
    schema: {
      operationId: "LoadBalancers_UpdateTags", tags, summary: "Replace a load balancer's tags",
      params: LbParams, querystring: NetworkApiVersionQuery, headers: PreconditionHeaders,
      body: { ...TagsObjectSchema, examples: [TAGS_EXAMPLE] },
      response: { ...armWriteErrors, 200: withHeaders(LoadBalancerSchema, ETAG_HEADER, "The load balancer with its new tags") },
    },
  }, async (request, reply) => {
    const p = request.params;
    const updated = await updateLoadBalancerTags(request.server.deps, writeTarget(request, p, resourcePath(request)), request.body.tags ?? {});
    setEtagHeader(reply, updated.etag);
    return renderLoadBalancer(updated);
  });

  app.get(
    "/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/providers/Microsoft.Network/loadBalancers",
    {
      config,
      schema: {
        operationId: "LoadBalancers_List", tags, summary: "List the load balancers of a resource group",
        params: ResourceGroupParams, querystring: NetworkListQuery, response: { ...armErrors, 200: LoadBalancerListSchema },
      },
    },
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params;
      const rg = await requireResourceGroup(request.server.deps.db, subscriptionId, resourceGroupName);
      const page = await listLoadBalancers(request.server.deps.db, { subscriptionId, resourceGroupId: rg.id }, pageRequestOf(request));
      return listAnswer(request, page, renderLoadBalancer);
    },
  );

  app.get("/subscriptions/:subscriptionId/providers/Microsoft.Network/loadBalancers", {
    config,
    schema: {
      operationId: "LoadBalancers_ListAll", tags, summary: "List the load balancers of a subscription",
      params: SubscriptionParams, querystring: NetworkListQuery, response: { ...armErrors, 200: LoadBalancerListSchema },
    },
  }, async (request) => {
    const page = await listLoadBalancers(request.server.deps.db, { subscriptionId: request.params.subscriptionId }, pageRequestOf(request));
    return listAnswer(request, page, renderLoadBalancer);
  });
}
