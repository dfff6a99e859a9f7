// Child resources of a load balancer: GET and list for every collection of the collection table;
// PUT and DELETE for its writable ones, which rewrite the parent through the same validated,
// transactional use case as a load balancer PUT (src/services/load-balancer-children.service.ts).
// operationIds use each collection's Azure SDK operation group, as Azure's own do.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { CHILD_COLLECTIONS, type WritableChildCollection } from "../domain/collections.js";
import { Errors } from "../errors.js";
import { deleteLoadBalancerChild, putLoadBalancerChild } from "../services/load-balancer-children.service.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import {
  ApiVersionQuery, armErrors, armErrorsWithConflict, checkName, pageOf, resourcePath, sendStatusOnly, setEtagHeader,
} from "./arm-common.js";
import { LB_PATH, LbParams, answerDelete, answerWrite, requireLoadBalancer, writeTarget } from "./load-balancer.http.js";
import { renderChildren } from "./load-balancer.view.js";
import {
  CHILD_PUT_SCHEMAS, ResourceListSchema, ResourceSchema, type BackendAddressPoolPutSchema, type InboundNatRulePutSchema,
} from "./schemas/load-balancer.schema.js";

const config = { apiVersions: NETWORK_API_VERSIONS };

const ChildParams = Type.Object({ ...LbParams.properties, childName: Type.String() });

/**
 * A validated child PUT body's properties. CHILD_PUT_SCHEMAS types each collection's schema only as
 * TSchema, so the body arrives as `unknown`; it is one of these schemas' values. A pool may come
 * without properties: they are passed on as they came, undefined included (the use case defaults
 * them to {}), so the cast changes only the type.
 */
type ChildPutBody = Static<typeof BackendAddressPoolPutSchema> | Static<typeof InboundNatRulePutSchema>;
function childProperties(body: unknown): Record<string, unknown> {
  return (body as ChildPutBody).properties as Record<string, unknown>;
}

export async function loadBalancerChildRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  for (const { name: collection, sdkGroup } of CHILD_COLLECTIONS) {
    const tags = [sdkGroup];
    app.get(`${LB_PATH}/${collection}`, {
      config,
      schema: {
        operationId: `${sdkGroup}_List`, tags, summary: `List the ${collection} of a load balancer`,
        params: LbParams, querystring: ApiVersionQuery, response: { ...armErrors, 200: ResourceListSchema },
      },
    }, async (request) => pageOf(request, renderChildren(await requireLoadBalancer(request, request.params), collection), 1000));

    app.get(`${LB_PATH}/${collection}/:childName`, {
      config,
      schema: {
        operationId: `${sdkGroup}_Get`, tags, summary: `Get one of the ${collection} of a load balancer`,
        params: ChildParams, querystring: ApiVersionQuery, response: { ...armErrors, 200: ResourceSchema },
      },
    }, async (request, reply) => {
      const lb = await requireLoadBalancer(request, request.params);
      const found = renderChildren(lb, collection).find((c) => c.name.toLowerCase() === request.params.childName.toLowerCase());
      if (!found) throw Errors.childNotFound(resourcePath(request));
      setEtagHeader(reply, lb.etag);
      return found;
    });
  }

  for (const { name, sdkGroup, writable } of CHILD_COLLECTIONS) {
    if (!writable) continue;
    const collection = name as WritableChildCollection;
    const tags = [sdkGroup];
    app.put(`${LB_PATH}/${collection}/:childName`, {
      config,
      schema: {
        operationId: `${sdkGroup}_CreateOrUpdate`, tags,
        summary: `Create or replace one of the ${collection} of a load balancer`,
        description: "Rewrites the parent load balancer through the same validation (including the uniqueness law) and transaction as a load balancer PUT.",
        params: ChildParams, querystring: ApiVersionQuery, body: CHILD_PUT_SCHEMAS[collection],
        response: { ...armErrorsWithConflict, 200: ResourceSchema, 201: ResourceSchema },
      },
    }, async (request, reply) => {
      const p = request.params;
      checkName(p.childName, "child");
      const outcome = await putLoadBalancerChild(request.server.deps, writeTarget(request, p, resourcePath(request)), {
        collection, childName: p.childName, properties: childProperties(request.body),
        parentId: resourcePath(request).replace(new RegExp(`/${collection}/[^/]+$`, "i"), ""),
      });
      answerWrite(request, reply, outcome.operation);
      // The use case has just written the child into the stored load balancer, so it is there.
      const rendered = renderChildren(outcome.stored, collection).find((c) => c.name.toLowerCase() === p.childName.toLowerCase())!;
      setEtagHeader(reply, outcome.stored.etag);
      return reply.code(outcome.childCreated ? 201 : 200).send(rendered);
    });

    app.delete(`${LB_PATH}/${collection}/:childName`, {
      config,
      schema: {
        operationId: `${sdkGroup}_Delete`, tags, summary: `Delete one of the ${collection} of a load balancer`,
        params: ChildParams, querystring: ApiVersionQuery,
        response: { ...armErrorsWithConflict, 200: Type.Null(), 202: Type.Null(), 204: Type.Null() },
      },
    }, async (request, reply) => {
      const p = request.params;
      const outcome = await deleteLoadBalancerChild(request.server.deps, writeTarget(request, p), { collection, childName: p.childName });
      if (!outcome) return sendStatusOnly(reply, 204);
      return answerDelete(request, reply, outcome.operation);
    });
  }
}
