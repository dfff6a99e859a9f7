// Azure's own rule-health operation (LoadBalancerLoadBalancingRules_Health): a POST that is a
// long-running operation with final-state-via "location". As Azure does, the POST answers 202 with
// a Location header; the Location URL answers 200 with LoadBalancerHealthPerRule. The result is
// computed when it is read, from the reports of the location's live agents (majority rule, see
// src/domain/rule-health.ts), so polling late never returns stale health.

import type { FastifyInstance, FastifyRequest } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { getRuleHealth } from "../services/health.service.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { baseUrl, resourcePath, sendStatusOnly } from "./arm-common.js";
import { EXAMPLE } from "./schemas/examples.js";
import { BackendHealthStateSchema, LOCATION_HEADERS, NetworkApiVersionQuery, armErrors, noBody } from "./schemas/arm.schema.js";
import { LB_PATH, LbParams, requireLoadBalancer } from "./load-balancer.http.js";

const RULE_HEALTH_PATH = `${LB_PATH}/loadBalancingRules/:loadBalancingRuleName/health`;
const RuleParams = Type.Object({
  ...LbParams.properties,
  loadBalancingRuleName: Type.String({ description: "The load balancing rule", examples: [EXAMPLE.children.loadBalancingRules] }),
});
type RuleParamsT = Static<typeof RuleParams>;

const HealthPerRuleSchema = Type.Object(
  {
    up: Type.Integer({ description: "Backends considered healthy" }),
    down: Type.Integer({ description: "Backends considered unhealthy" }),
    loadBalancerBackendAddresses: Type.Array(
      Type.Object(
        {
          ipAddress: Type.String(),
          networkInterfaceIPConfigurationId: Type.Optional(Type.String()),
          state: BackendHealthStateSchema,
          reason: Type.String(),
        },
        { title: "LoadBalancerHealthPerRulePerBackendAddress" },
      ),
    ),
  },
  { title: "LoadBalancerHealthPerRule", description: "Health of each backend address of a rule" },
);
type HealthPerRule = Static<typeof HealthPerRuleSchema>;

async function ruleHealth(request: FastifyRequest, p: RuleParamsT): Promise<HealthPerRule> {
  const lb = await requireLoadBalancer(request, p);
  return getRuleHealth(request.server.deps, lb, p.loadBalancingRuleName);
}

export async function ruleHealthRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const config = { apiVersions: NETWORK_API_VERSIONS };
  const tags = ["LoadBalancers"];

  app.post(
    RULE_HEALTH_PATH,
    {
      config,
      schema: {
        operationId: "LoadBalancerLoadBalancingRules_Health",
        tags,
        summary: "Get health details of a load balancing rule (long-running: 202 + Location)",
        description:
          "Per backend address of the rule: Up when a majority of the location's live agents report its probe up, Down when a majority report it down, Unknown otherwise (tie, or no live reports).",
        params: RuleParams,
        querystring: NetworkApiVersionQuery,
        response: { ...armErrors, 202: noBody("Accepted: read the result at Location", LOCATION_HEADERS) },
      },
    },
    async (request, reply) => {
      const p = request.params;
      await ruleHealth(request, p); // 404s now rather than at the Location URL
      reply.header("location", `${baseUrl(request)}${resourcePath(request)}?api-version=${encodeURIComponent(request.query["api-version"])}`);
      reply.header("retry-after", "0");
      return sendStatusOnly(reply, 202);
    },
  );

  app.get(
    RULE_HEALTH_PATH,
    {
      config,
      schema: {
        operationId: "LoadBalancerLoadBalancingRules_HealthResult",
        tags,
        summary: "Result of the rule-health operation (the POST's Location target)",
        params: RuleParams,
        querystring: NetworkApiVersionQuery,
        response: { ...armErrors, 200: HealthPerRuleSchema },
      },
    },
    async (request) => ruleHealth(request, request.params),
  );
}
