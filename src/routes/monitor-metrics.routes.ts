// Azure Monitor's metrics API on load balancer ids, as @azure/arm-monitor calls it:
//   GET {lbId}/providers/Microsoft.Insights/metrics            metrics.list(resourceUri, options)
//   GET {lbId}/providers/Microsoft.Insights/metricDefinitions  metricDefinitions.list(resourceUri)
// The figures are what lbplane's agents reported (src/services/metrics.service.ts); the load balancer
// must exist (ARM's 404s otherwise), and the caller needs read access to it like any other read.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { METRICS } from "../domain/metrics-protocol.js";
import { Errors } from "../errors.js";
import { queryMetrics } from "../services/metrics.service.js";
import { StringEnum, armErrors } from "./schemas/arm.schema.js";
import { LB_PATH, LbParams, requireLoadBalancer } from "./load-balancer.http.js";
import { METRIC_NAMESPACE, MetricDefinitionsResponseSchema, MetricsResponseSchema, renderDefinitions, renderMetrics } from "./monitor-metrics.view.js";

/** Azure Monitor's metrics api-versions: what @azure/arm-monitor v8 sends (2024-02-01) and earlier ones. */
export const MONITOR_API_VERSIONS = ["2024-02-01", "2023-10-01", "2021-05-01", "2019-07-01", "2018-01-01"] as const;

const NamespaceQuery = {
  "api-version": StringEnum(MONITOR_API_VERSIONS, { default: MONITOR_API_VERSIONS[0], description: "Azure Monitor api-version (2024-02-01 is the newest)" }),
  metricnamespace: Type.Optional(Type.String()),
};

const MetricsQuery = Type.Object({
  ...NamespaceQuery,
  timespan: Type.Optional(Type.String({ maxLength: 200 })),
  interval: Type.Optional(Type.String({ maxLength: 40 })),
  metricnames: Type.Optional(Type.String({ maxLength: 2000 })),
  aggregation: Type.Optional(Type.String({ maxLength: 200 })),
  top: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  orderby: Type.Optional(Type.String({ maxLength: 100 })),
  $filter: Type.Optional(Type.String({ maxLength: 4000 })),
  resultType: Type.Optional(Type.String()),
  AutoAdjustTimegrain: Type.Optional(Type.Boolean()),
  ValidateDimensions: Type.Optional(Type.Boolean()),
  rollupby: Type.Optional(Type.String()),
});

function checkNamespace(namespace: string | undefined): void {
  if (namespace !== undefined && namespace.toLowerCase() !== METRIC_NAMESPACE.toLowerCase()) {
    throw Errors.metricQueryInvalid("metricnamespace", `load balancers have only the ${METRIC_NAMESPACE} namespace, not '${namespace}'`);
  }
}

export async function monitorMetricsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const config = { apiVersions: MONITOR_API_VERSIONS };
  const tags = ["Metrics"];

  app.get(
    `${LB_PATH}/providers/Microsoft.Insights/metrics`,
    {
      config,
      schema: {
        operationId: "Metrics_List",
        tags,
        summary: "Azure Monitor metrics of a load balancer (Data Path Availability, Health Probe Status, bytes, packets, SYNs, SNAT)",
        description:
          "metricnames: comma list (default VipAvailability). timespan: start/end, start/duration or a duration ending now (default PT1H). interval: PT1M (default) … P1D or FULL. aggregation: Average, Count, Minimum, Maximum, Total (default: the metric's primary). $filter: \"Dim eq 'v1' or Dim eq 'v2' and Other eq '*'\" over FrontendIPAddress, FrontendPort, BackendIPAddress, BackendPort, ProtocolType, Direction, ConnectionState (SnatConnectionCount); every dimension named splits the result, except those in rollupby; top limits the series (default 10, busiest first). orderby, resultType, AutoAdjustTimegrain and ValidateDimensions are accepted and ignored.",
        params: LbParams,
        querystring: MetricsQuery,
        response: { ...armErrors, 200: MetricsResponseSchema },
      },
    },
    async (request) => {
      const q = request.query;
      checkNamespace(q.metricnamespace);
      const lb = await requireLoadBalancer(request, request.params);
      const answer = await queryMetrics(request.server.deps, lb, {
        timespan: q.timespan,
        interval: q.interval,
        metricnames: q.metricnames,
        aggregation: q.aggregation,
        filter: q.$filter,
        top: q.top,
        rollupby: q.rollupby,
      });
      return renderMetrics(lb.id, lb.location, answer);
    },
  );

  app.get(
    `${LB_PATH}/providers/Microsoft.Insights/metricDefinitions`,
    {
      config,
      schema: {
        operationId: "MetricDefinitions_List",
        tags,
        summary: "The metrics a load balancer has: names, units, aggregations, dimensions, grains and retention",
        params: LbParams,
        querystring: Type.Object(NamespaceQuery),
        response: { ...armErrors, 200: MetricDefinitionsResponseSchema },
      },
    },
    async (request) => {
      checkNamespace(request.query.metricnamespace);
      const lb = await requireLoadBalancer(request, request.params);
      return renderDefinitions(lb.id, METRICS, request.server.deps.config.trafficMetricsRetentionDays);
    },
  );
}
