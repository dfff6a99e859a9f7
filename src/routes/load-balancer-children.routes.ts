// Child resources of a load balancer: GET and list for every collection of the collection table;
// PUT and DELETE for its writable ones, which rewrite the parent through the same validated,
// transactional use case as a load balancer PUT (src/services/load-balancer-children.service.ts).
// operationIds use each collection's Azure SDK operation group and path parameters Azure's names
// (loadBalancingRuleName, probeName, …: the collection's singular + "Name"), as Azure's own do.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { CHILD_COLLECTIONS, type ChildCollection, type WritableChildCollection } from "../domain/collections.js";
import { Errors } from "../errors.js";
import { deleteLoadBalancerChild, putLoadBalancerChild } from "../services/load-balancer-children.service.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { checkName, pageOf, resourcePath, sendStatusOnly, setEtagHeader } from "./arm-common.js";
import { LB_PATH, LbParams, type LbParamsT, answerDelete, answerWrite, requireLoadBalancer, writeTarget } from "./load-balancer.http.js";
import { renderChildren } from "./load-balancer.view.js";
import {
  ASYNC_HEADERS, ETAG_HEADER, LOCATION_HEADERS, NetworkApiVersionQuery, PreconditionHeaders, armErrors, armErrorsWithConflict,
  armWriteErrors, noBody, withHeaders,
} from "./schemas/arm.schema.js";
import { EXAMPLE } from "./schemas/examples.js";
import {
  CHILD_PUT_SCHEMAS, CHILD_SCHEMAS, listResult, type BackendAddressPoolBody, type InboundNatRuleBody,
} from "./schemas/load-balancer.schema.js";

const config = { apiVersions: NETWORK_API_VERSIONS };

/** Azure's path parameter of a child: loadBalancingRules → loadBalancingRuleName. */
function childParam(collection: ChildCollection): string {
  return `${collection.slice(0, -1)}Name`;
}

function childParams(collection: ChildCollection, singular: string) {
  const name = Type.String({ description: `The ${singular}`, examples: [EXAMPLE.children[collection]] });
  // Typed as the load balancer's parameters (a computed key has no static name); the child's own
  // is read by name with childNameOf.
  return Type.Object({ ...LbParams.properties, [childParam(collection)]: name }) as unknown as typeof LbParams;
}

/** The child's name from the validated path parameters (childParams requires it). */
function childNameOf(params: LbParamsT, collection: ChildCollection): string {
  return (params as LbParamsT & Record<string, string>)[childParam(collection)];
}

/**
 * A validated child PUT body's properties. CHILD_PUT_SCHEMAS types each collection's schema only as
 * TSchema, so the body arrives as `unknown`; it is one of these schemas' values. A pool may come
 * without properties: they are passed on as they came, undefined included (the use case defaults
 * them to {}), so the cast changes only the type.
 */
function childProperties(body: unknown): Record<string, unknown> {
  return (body as BackendAddressPoolBody | InboundNatRuleBody).properties as Record<string, unknown>;
}

export async function loadBalancerChildRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  for (const { name: collection, sdkGroup, singular } of CHILD_COLLECTIONS) {
    const tags = [sdkGroup];
    const param = childParam(collection);
    const nameOf = (p: LbParamsT) => childNameOf(p, collection);
    app.get(`${LB_PATH}/${collection}`, {
      config,
      schema: {
        operationId: `${sdkGroup}_List`, tags, summary: `List the ${collection} of a load balancer`,
        params: LbParams, querystring: NetworkApiVersionQuery,
        response: { ...armErrors, 200: listResult(`${sdkGroup.slice(0, -1)}ListResult`, CHILD_SCHEMAS[collection]) },
      },
    }, async (request) => pageOf(request, renderChildren(await requireLoadBalancer(request, request.params), collection), 1000));

    app.get(`${LB_PATH}/${collection}/:${param}`, {
      config,
      schema: {
        operationId: `${sdkGroup}_Get`, tags, summary: `Get one of the ${collection} of a load balancer`,
        params: childParams(collection, singular), querystring: NetworkApiVersionQuery,
        response: { ...armErrors, 200: withHeaders(CHILD_SCHEMAS[collection], ETAG_HEADER, `The ${singular} (the load balancer's etag)`) },
      },
    }, async (request, reply) => {
      const lb = await requireLoadBalancer(request, request.params);
      const wanted = nameOf(request.params).toLowerCase();
      const found = renderChildren(lb, collection).find((c) => c.name.toLowerCase() === wanted);
      if (!found) throw Errors.childNotFound(resourcePath(request));
      setEtagHeader(reply, lb.etag);
      return found;
    });
  }

  for (const { name, sdkGroup, writable, singular } of CHILD_COLLECTIONS) {
    if (!writable) continue;
    const collection = name as WritableChildCollection;
    const tags = [sdkGroup];
    const param = childParam(collection);
    const nameOf = (p: LbParamsT) => childNameOf(p, collection);
    const written = withHeaders(CHILD_SCHEMAS[collection], { ...ETAG_HEADER, ...ASYNC_HEADERS });
    app.put(`${LB_PATH}/${collection}/:${param}`, {
      config,
      schema: {
        operationId: `${sdkGroup}_CreateOrUpdate`, tags,
        summary: `Create or replace one of the ${collection} of a load balancer`,
        description: "Rewrites the parent load balancer through the same validation (including the uniqueness law) and transaction as a load balancer PUT.",
        params: childParams(collection, singular), querystring: NetworkApiVersionQuery, headers: PreconditionHeaders,
        body: CHILD_PUT_SCHEMAS[collection],
        response: { ...armWriteErrors, 200: { ...written, "x-response-description": "Updated" }, 201: { ...written, "x-response-description": "Created" } },
      },
    }, async (request, reply) => {
      const p = request.params;
      const childName = nameOf(p);
      checkName(childName, "child");
      const outcome = await putLoadBalancerChild(request.server.deps, writeTarget(request, p, resourcePath(request)), {
        collection, childName, properties: childProperties(request.body),
        parentId: resourcePath(request).replace(new RegExp(`/${collection}/[^/]+$`, "i"), ""),
      });
      answerWrite(request, reply, outcome.operation);
      // The use case has just written the child into the stored load balancer, so it is there.
      const rendered = renderChildren(outcome.stored, collection).find((c) => c.name.toLowerCase() === childName.toLowerCase())!;
      setEtagHeader(reply, outcome.stored.etag);
      return reply.code(outcome.childCreated ? 201 : 200).send(rendered);
    });

    app.delete(`${LB_PATH}/${collection}/:${param}`, {
      config,
      schema: {
        operationId: `${sdkGroup}_Delete`, tags, summary: `Delete one of the ${collection} of a load balancer`,
        params: childParams(collection, singular), querystring: NetworkApiVersionQuery, headers: PreconditionHeaders,
        response: {
          ...armErrorsWithConflict,
          200: noBody("Deleted; no agent must confirm"),
          202: noBody("Accepted: agents are applying it; poll Location", { ...LOCATION_HEADERS, ...ASYNC_HEADERS }),
          204: noBody("It did not exist"),
        },
      },
    }, async (request, reply) => {
      const p = request.params;
      const outcome = await deleteLoadBalancerChild(request.server.deps, writeTarget(request, p), { collection, childName: nameOf(p) });
      if (!outcome) return sendStatusOnly(reply, 204);
      return answerDelete(request, reply, outcome.operation);
    });
  }
}
