// lbplane's extension: the seed's "complete mapping" table for one load balancer — one row per rule
// and inbound NAT rule, each destination with the health the location's agents report.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { listEffectiveMappings } from "../services/health.service.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import {
  BackendHealthStateSchema, NetworkApiVersionQuery, StringEnum, TransportProtocolSchema, armErrors,
} from "./schemas/arm.schema.js";
import { LB_PATH, LbParams, requireLoadBalancer } from "./load-balancer.http.js";

const MappingSchema = Type.Object(
  {
    rule: Type.String(),
    kind: StringEnum(["LoadBalancingRule", "InboundNatRule"], { title: "EffectiveMappingKind" }),
    // The domain holds the protocol as a string; the document names the closed set.
    protocol: Type.Unsafe<string>(TransportProtocolSchema),
    frontendIPAddress: Type.String(),
    frontendPort: Type.Integer(),
    enableFloatingIP: Type.Boolean(),
    destinations: Type.Array(
      Type.Object(
        {
          backendAddress: Type.String({ description: "the DIP (identifies the backend VM; probes go here)" }),
          destinationIPAddress: Type.String({ description: "DIP for a default rule, the VIP for a floating IP rule" }),
          destinationPort: Type.Integer(),
          health: BackendHealthStateSchema,
        },
        { title: "EffectiveDestination" },
      ),
    ),
  },
  { title: "EffectiveMapping", description: "One row of the seed's mapping table" },
);

export async function effectiveMappingRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(`${LB_PATH}/effectiveMappings`, {
    config: { apiVersions: NETWORK_API_VERSIONS },
    schema: {
      operationId: "LoadBalancers_ListEffectiveMappings",
      tags: ["LoadBalancers"],
      summary: "The flow mapping a load balancer produces (lbplane extension)",
      description:
        "One row per load-balancing rule and inbound NAT rule: protocol, VIP, frontend port, and per backend the destination IP (the DIP for a default rule, the VIP for a floating IP rule), destination port and probe health (majority of the location's live agents; Unknown without reports).",
      params: LbParams,
      querystring: NetworkApiVersionQuery,
      response: { ...armErrors, 200: Type.Object({ value: Type.Array(MappingSchema) }, { title: "EffectiveMappingListResult" }) },
    },
  }, async (request) => {
    const lb = await requireLoadBalancer(request, request.params);
    return { value: await listEffectiveMappings(request.server.deps, lb) };
  });
}
