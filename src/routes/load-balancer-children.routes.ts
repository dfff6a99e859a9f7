// Child resources of a load balancer: GET and list for every collection; PUT and DELETE for
// backendAddressPools and inboundNatRules, which rewrite the parent through the same validated,
// transactional path as a load balancer PUT.

import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { ChildCollection } from "../domain/ids.js";
import type { LoadBalancerSpec } from "../domain/model.js";
import { Errors } from "../errors.js";
import { saveLoadBalancer } from "../store/load-balancer-writer.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { ApiVersionQuery, armErrors, checkName, pageOf, resourcePath, setEtagHeader } from "./arm-common.js";
import { LB_PATH, LbParams, afterWrite, answerDelete, requireLoadBalancer, writeTarget } from "./load-balancer.http.js";
import { CHILD_COLLECTIONS, renderChildren } from "./load-balancer.view.js";
import {
  BackendAddressPoolPutSchema,
  InboundNatRulePutSchema,
  ResourceListSchema,
  ResourceSchema,
} from "./schemas/load-balancer.schema.js";

const config = { apiVersions: NETWORK_API_VERSIONS };

/** SDK operation-group names, for operationIds that match Azure's. */
const GROUP: Record<ChildCollection, string> = {
  frontendIPConfigurations: "LoadBalancerFrontendIPConfigurations",
  backendAddressPools: "LoadBalancerBackendAddressPools",
  loadBalancingRules: "LoadBalancerLoadBalancingRules",
  probes: "LoadBalancerProbes",
  inboundNatRules: "InboundNatRules",
  outboundRules: "LoadBalancerOutboundRules",
};

type Params = { subscriptionId: string; resourceGroupName: string; loadBalancerName: string; childName: string };
const ChildParams = Type.Object({ ...LbParams.properties, childName: Type.String() });

export async function loadBalancerChildRoutes(app: FastifyInstance): Promise<void> {
  for (const collection of CHILD_COLLECTIONS) {
    const tags = [GROUP[collection]];
    app.get<{ Params: Omit<Params, "childName"> }>(`${LB_PATH}/${collection}`, {
      config,
      schema: {
        operationId: `${GROUP[collection]}_List`, tags, summary: `List the ${collection} of a load balancer`,
        params: LbParams, querystring: ApiVersionQuery, response: { ...armErrors, 200: ResourceListSchema },
      },
    }, async (request) => pageOf(request, renderChildren(await requireLoadBalancer(request, request.params), collection), 1000));

    app.get<{ Params: Params }>(`${LB_PATH}/${collection}/:childName`, {
      config,
      schema: {
        operationId: `${GROUP[collection]}_Get`, tags, summary: `Get one of the ${collection} of a load balancer`,
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

  for (const collection of ["backendAddressPools", "inboundNatRules"] as const) {
    const tags = [GROUP[collection]];
    app.put<{ Params: Params; Body: { name?: string; properties: Record<string, unknown> } }>(`${LB_PATH}/${collection}/:childName`, {
      config,
      schema: {
        operationId: `${GROUP[collection]}_CreateOrUpdate`, tags,
        summary: `Create or replace one of the ${collection} of a load balancer`,
        description: "Rewrites the parent load balancer through the same validation (including the uniqueness law) and transaction as a load balancer PUT.",
        params: ChildParams, querystring: ApiVersionQuery,
        body: collection === "backendAddressPools" ? BackendAddressPoolPutSchema : InboundNatRulePutSchema,
        response: { ...armErrors, 200: ResourceSchema, 201: ResourceSchema, 409: armErrors[400] },
      },
    }, async (request, reply) => {
      const p = request.params;
      checkName(p.childName, "child");
      let created = false;
      const outcome = await saveLoadBalancer(request.server.deps.db, writeTarget(request, p, resourcePath(request)), (current) => {
        if (!current) throw Errors.childNotFound(resourcePath(request).replace(new RegExp(`/${collection}/[^/]+$`, "i"), ""));
        const list = [...((current.spec.properties[collection] ?? []) as Array<{ name: string; properties: unknown }>)];
        const child = { name: p.childName, properties: request.body.properties ?? {} };
        const at = list.findIndex((c) => c.name.toLowerCase() === p.childName.toLowerCase());
        // Decided per attempt: a retried transaction may find the child a concurrent write added.
        created = at < 0;
        if (created) list.push(child);
        else list[at] = { ...child, name: list[at].name };
        return withCollection(current.spec, collection, list);
      });
      afterWrite(request, reply, outcome.operation, outcome.stored.location);
      const rendered = renderChildren(outcome.stored, collection).find((c) => c.name.toLowerCase() === p.childName.toLowerCase());
      setEtagHeader(reply, outcome.stored.etag);
      return reply.code(created ? 201 : 200).send(rendered);
    });

    app.delete<{ Params: Params }>(`${LB_PATH}/${collection}/:childName`, {
      config,
      schema: {
        operationId: `${GROUP[collection]}_Delete`, tags, summary: `Delete one of the ${collection} of a load balancer`,
        params: ChildParams, querystring: ApiVersionQuery,
        response: { ...armErrors, 200: Type.Null(), 202: Type.Null(), 204: Type.Null(), 409: armErrors[400] },
      },
    }, async (request, reply) => {
      const p = request.params;
      const lb = await requireLoadBalancer(request, p);
      const exists = ((lb.spec.properties[collection] ?? []) as Array<{ name: string }>).some(
        (c) => c.name.toLowerCase() === p.childName.toLowerCase(),
      );
      if (!exists) return reply.code(204).send();
      const outcome = await saveLoadBalancer(request.server.deps.db, writeTarget(request, p, lb.id), (current) => {
        if (!current) throw Errors.childNotFound(lb.id);
        const list = ((current.spec.properties[collection] ?? []) as Array<{ name: string }>).filter(
          (c) => c.name.toLowerCase() !== p.childName.toLowerCase(),
        );
        return withCollection(current.spec, collection, list);
      });
      return answerDelete(request, reply, outcome.operation, outcome.stored.location);
    });
  }
}

function withCollection(spec: LoadBalancerSpec, collection: ChildCollection, list: unknown[]): LoadBalancerSpec {
  return { ...spec, properties: { ...spec.properties, [collection]: list } };
}
