// Azure's own rule-health operation (LoadBalancerLoadBalancingRules_Health): a POST that is a
// long-running operation with final-state-via "location". As Azure does, the POST answers 202 with
// a Location header; the Location URL answers 200 with LoadBalancerHealthPerRule. The result is
// computed when it is read, from the reports of the location's live agents (majority rule, see
// src/agents/health.ts), so polling late never returns stale health.

import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { healthVerdicts } from "../agents/health.js";
import { childId } from "../domain/ids.js";
import { resolveLoadBalancer } from "../domain/resolve.js";
import { Errors } from "../errors.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { ApiVersionQuery, armErrors, baseUrl } from "./arm-common.js";
import { LB_PATH, LbParams, requireLoadBalancer } from "./load-balancer.http.js";

const RULE_HEALTH_PATH = `${LB_PATH}/loadBalancingRules/:loadBalancingRuleName/health`;
const RuleParams = Type.Object({ ...LbParams.properties, loadBalancingRuleName: Type.String() });
type RuleParamsT = Static<typeof RuleParams>;

const HealthPerRuleSchema = Type.Object(
  {
    up: Type.Integer({ description: "Backends considered healthy" }),
    down: Type.Integer({ description: "Backends considered unhealthy" }),
    loadBalancerBackendAddresses: Type.Array(
      Type.Object({
        ipAddress: Type.String(),
        networkInterfaceIPConfigurationId: Type.Optional(Type.String()),
        state: Type.String({ description: "Up, Down or Unknown" }),
        reason: Type.String(),
      }),
    ),
  },
  { description: "LoadBalancerHealthPerRule" },
);
type HealthPerRule = Static<typeof HealthPerRuleSchema>;

async function ruleHealth(request: FastifyRequest, p: RuleParamsT): Promise<HealthPerRule> {
  const { db, config } = request.server.deps;
  const lb = await requireLoadBalancer(request, p);
  const resolved = resolveLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
  const wanted = p.loadBalancingRuleName.toLowerCase();
  const rule = resolved.rules.find((r) => r.kind === "LoadBalancingRule" && r.name.toLowerCase() === wanted);
  if (!rule) throw Errors.childNotFound(childId(lb.id, "loadBalancingRules", p.loadBalancingRuleName));
  const verdictOf = await healthVerdicts(db, lb.uid, lb.location, config.agentLivenessMs);
  const seen = new Set<string>();
  const addresses: HealthPerRule["loadBalancerBackendAddresses"] = [];
  for (const t of rule.targets) {
    if (seen.has(t.backend.ip)) continue;
    seen.add(t.backend.ip);
    if (t.backend.adminState === "Down") {
      addresses.push({ ipAddress: t.backend.ip, state: "Down", reason: "The backend address's adminState is Down" });
    } else if (!rule.probe) {
      addresses.push({ ipAddress: t.backend.ip, state: "Unknown", reason: "The rule has no health probe" });
    } else {
      const v = verdictOf(rule.probe, t.backend.ip);
      addresses.push({ ipAddress: t.backend.ip, state: v.state, reason: v.reason });
    }
  }
  return {
    up: addresses.filter((a) => a.state === "Up").length,
    down: addresses.filter((a) => a.state === "Down").length,
    loadBalancerBackendAddresses: addresses,
  };
}

export async function ruleHealthRoutes(app: FastifyInstance): Promise<void> {
  const config = { apiVersions: NETWORK_API_VERSIONS };
  const tags = ["LoadBalancers"];

  app.post<{ Params: RuleParamsT; Querystring: Static<typeof ApiVersionQuery> }>(
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
        querystring: ApiVersionQuery,
        response: { ...armErrors, 202: Type.Null() },
      },
    },
    async (request, reply) => {
      const p = request.params;
      await ruleHealth(request, p); // 404s now rather than at the Location URL
      const path = request.url.split("?")[0];
      reply.header("location", `${baseUrl(request)}${path}?api-version=${encodeURIComponent(request.query["api-version"])}`);
      reply.header("retry-after", "0");
      return reply.code(202).send();
    },
  );

  app.get<{ Params: RuleParamsT }>(
    RULE_HEALTH_PATH,
    {
      config,
      schema: {
        operationId: "LoadBalancerLoadBalancingRules_HealthResult",
        tags,
        summary: "Result of the rule-health operation (the POST's Location target)",
        params: RuleParams,
        querystring: ApiVersionQuery,
        response: { ...armErrors, 200: HealthPerRuleSchema },
      },
    },
    async (request) => ruleHealth(request, request.params),
  );
}
