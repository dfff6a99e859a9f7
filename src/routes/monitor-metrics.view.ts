// Azure Monitor's response shapes (Microsoft.Insights metrics and metricDefinitions, api-version
// 2024-02-01 as @azure/arm-monitor v8 sends it) as TypeBox schemas, and the renderers from the use
// case's answer. Dimension names in metadatavalues are lower-cased, as Azure Monitor answers them.

import { Type } from "typebox";
import type { Aggregation, MetricDefinition } from "../domain/metrics-protocol.js";
import { AGGREGATIONS } from "../domain/metrics-protocol.js";
import type { MetricsAnswer } from "../services/metrics.service.js";

export const METRIC_NAMESPACE = "Microsoft.Network/loadBalancers";
/** What lbplane keeps: one-minute buckets for the retention period. */
// Titles are Azure Monitor's own model names, so generated clients get the types Azure's SDKs have.
const LocalizableString = Type.Object({ value: Type.String(), localizedValue: Type.String() }, { title: "LocalizableString" });

const MetricValueSchema = Type.Object({
  timeStamp: Type.String(),
  average: Type.Optional(Type.Number()),
  minimum: Type.Optional(Type.Number()),
  maximum: Type.Optional(Type.Number()),
  total: Type.Optional(Type.Number()),
  count: Type.Optional(Type.Number()),
}, { title: "MetricValue" });

const MetricSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  name: LocalizableString,
  displayDescription: Type.String(),
  errorCode: Type.String(),
  unit: Type.String(),
  timeseries: Type.Array(
    Type.Object(
      {
        metadatavalues: Type.Array(Type.Object({ name: LocalizableString, value: Type.String() }, { title: "MetadataValue" })),
        data: Type.Array(MetricValueSchema),
      },
      { title: "TimeSeriesElement" },
    ),
  ),
}, { title: "Metric" });

export const MetricsResponseSchema = Type.Object(
  {
    cost: Type.Integer(),
    timespan: Type.String(),
    interval: Type.String(),
    namespace: Type.String(),
    resourceregion: Type.String(),
    value: Type.Array(MetricSchema),
  },
  { title: "MetricsResponse", description: "Azure Monitor Response (metrics)" },
);

const MetricDefinitionSchema = Type.Object({
  id: Type.String(),
  resourceId: Type.String(),
  namespace: Type.String(),
  name: LocalizableString,
  displayDescription: Type.String(),
  category: Type.String(),
  metricClass: Type.String(),
  unit: Type.String(),
  isDimensionRequired: Type.Boolean(),
  primaryAggregationType: Type.String(),
  supportedAggregationTypes: Type.Array(Type.String()),
  metricAvailabilities: Type.Array(Type.Object({ timeGrain: Type.String(), retention: Type.String() }, { title: "MetricAvailability" })),
  dimensions: Type.Array(LocalizableString),
}, { title: "MetricDefinition" });

export const MetricDefinitionsResponseSchema = Type.Object({ value: Type.Array(MetricDefinitionSchema) }, { title: "MetricDefinitionCollection", description: "The metrics a load balancer has" });

const lower: Record<Aggregation, "average" | "count" | "minimum" | "maximum" | "total"> = {
  Average: "average",
  Count: "count",
  Minimum: "minimum",
  Maximum: "maximum",
  Total: "total",
};

export function renderMetrics(lbId: string, location: string, answer: MetricsAnswer) {
  return {
    cost: 0,
    timespan: answer.timespan,
    interval: answer.interval,
    namespace: METRIC_NAMESPACE,
    resourceregion: location,
    value: answer.metrics.map(({ definition: d, series }) => ({
      id: `${lbId}/providers/Microsoft.Insights/metrics/${d.name}`,
      type: "Microsoft.Insights/metrics",
      name: { value: d.name, localizedValue: d.displayName },
      displayDescription: d.description,
      errorCode: "Success",
      unit: d.unit,
      timeseries: series.map((s) => ({
        metadatavalues: Object.entries(s.dimensions).map(([k, v]) => ({ name: { value: k.toLowerCase(), localizedValue: k }, value: v ?? "" })),
        data: s.points.map((p) => ({
          timeStamp: p.timeStamp.toISOString(),
          ...Object.fromEntries(Object.entries(p.values).map(([a, v]) => [lower[a as Aggregation], v])),
        })),
      })),
    })),
  };
}

export function renderDefinitions(lbId: string, definitions: readonly MetricDefinition[], retentionDays: number) {
  return {
    value: definitions.map((d) => ({
      id: `${lbId}/providers/microsoft.insights/metricdefinitions/${d.name}`,
      resourceId: lbId,
      namespace: METRIC_NAMESPACE,
      name: { value: d.name, localizedValue: d.displayName },
      displayDescription: d.description,
      category: d.name.endsWith("Availability") ? "Availability" : d.name.includes("Snat") ? "SNAT" : "Traffic",
      metricClass: d.name.endsWith("Availability") ? "Availability" : "Traffic",
      unit: d.unit,
      isDimensionRequired: false,
      primaryAggregationType: d.primaryAggregation,
      supportedAggregationTypes: [...AGGREGATIONS],
      metricAvailabilities: ["PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"].map((timeGrain) => ({ timeGrain, retention: `P${retentionDays}D` })),
      dimensions: d.dimensions.map((x) => ({ value: x, localizedValue: x })),
    })),
  };
}
