// Traffic metric use cases: an agent's report goes into one-minute buckets (only about load balancers
// of the agent's own location, which it was sent), and Azure Monitor's metrics query reads them back
// aggregated to the caller's grain, split and filtered by dimensions.

import type { Dimension, MetricDefinition, Aggregation, TrafficReport } from "../domain/metrics-protocol.js";
import { METRICS, metricNamed, samplesOf } from "../domain/metrics-protocol.js";
import { isQueryProblem, parseAggregations, parseFilter, parseInterval, parseTimespan, type QueryProblem } from "../domain/metrics-query.js";
import { Errors } from "../errors.js";
import { isAgentLive, type Agent } from "../store/agents.store.js";
import type { StoredLoadBalancer } from "../store/load-balancers.store.js";
import { addTrafficSamples, readTrafficMetrics, type MetricRow, type StoredSample } from "../store/metrics.store.js";
import type { ServiceDeps } from "./deps.js";
import { probeTargetsOf } from "./probe-targets.js";

type Deps = Pick<ServiceDeps, "db" | "config">;

/**
 * Stores a live agent's traffic report (409 AgentNotLive otherwise). Figures about load balancers
 * outside the agent's location (or deleted) are ignored one by one and counted, as for health.
 */
export async function reportTraffic(deps: Deps, agent: Agent, report: TrafficReport): Promise<{ accepted: number; ignored: number }> {
  if (!(await isAgentLive(deps.db, agent.id, deps.config.agentLivenessMs))) throw Errors.agentNotLive(agent.name);
  const sent = await probeTargetsOf(deps.db, agent.location);
  const samples: StoredSample[] = [];
  let ignored = 0;
  for (const s of samplesOf(report)) {
    const lb = sent.get(s.loadBalancerId.toLowerCase());
    if (!lb) {
      ignored++;
      continue;
    }
    samples.push({ ...s, loadBalancerUid: lb.uid });
  }
  await addTrafficSamples(deps.db, samples);
  return { accepted: samples.length, ignored };
}

export interface MetricsQueryInput {
  timespan?: string;
  interval?: string;
  metricnames?: string;
  aggregation?: string;
  filter?: string;
  top?: number;
  /** Dimensions that filter but do not split (Azure's rollupby). */
  rollupby?: string;
}

export interface MetricPoint {
  timeStamp: Date;
  values: Partial<Record<Aggregation, number>>;
}

export interface MetricSeries {
  dimensions: Partial<Record<Dimension, string>>;
  points: MetricPoint[];
}

export interface MetricResult {
  definition: MetricDefinition;
  series: MetricSeries[];
}

export interface MetricsAnswer {
  timespan: string;
  interval: string;
  metrics: MetricResult[];
}

function orThrow<T>(x: T | QueryProblem): T {
  if (isQueryProblem(x)) throw Errors.metricQueryInvalid(x.parameter, x.detail);
  return x;
}

/** Azure Monitor's metrics query on one load balancer. Without metricnames: the first metric (Azure's default). */
export async function queryMetrics(deps: Pick<ServiceDeps, "db">, lb: StoredLoadBalancer, input: MetricsQueryInput, now = Date.now()): Promise<MetricsAnswer> {
  const names = (input.metricnames ?? METRICS[0].name).split(",").filter((n) => n.trim());
  const definitions = names.map((n) => metricNamed(n) ?? throwNotFound(n));
  const span = orThrow(parseTimespan(input.timespan, now));
  const interval = orThrow(parseInterval(input.interval, span));
  const filter = orThrow(parseFilter(input.filter));
  const top = input.top ?? 10;
  const rolledUp = new Set((input.rollupby ?? "").split(",").map((d) => d.trim().toLowerCase()).filter(Boolean));
  const metrics: MetricResult[] = [];
  for (const definition of definitions) {
    const aggregations = orThrow(parseAggregations(input.aggregation, definition.primaryAggregation));
    // A dimension the metric does not have cannot split it; Azure ignores such a filter for that metric.
    const own = new Map([...filter].filter(([d]) => definition.dimensions.includes(d)));
    const splitBy = [...own.keys()].filter((d) => !rolledUp.has(d.toLowerCase()));
    const rows = await readTrafficMetrics(deps.db, {
      loadBalancerUid: lb.uid,
      metrics: [definition.name],
      from: span.from,
      to: span.to,
      grainSeconds: interval.grainMs === undefined ? undefined : interval.grainMs / 1000,
      splitBy,
      filters: new Map([...own].filter(([, values]) => values.length > 0)),
    });
    const grains = grainStarts(span.from.getTime(), span.to.getTime(), interval.grainMs);
    let series = seriesOf(rows, splitBy, grains, aggregations);
    if (splitBy.length > 0) series = series.sort((a, b) => weight(b) - weight(a)).slice(0, top);
    metrics.push({ definition, series });
  }
  return { timespan: `${span.from.toISOString()}/${span.to.toISOString()}`, interval: interval.label, metrics };
}

function throwNotFound(name: string): never {
  throw Errors.metricNotFound(name.trim(), METRICS.map((m) => m.name));
}

function grainStarts(from: number, to: number, grainMs: number | undefined): number[] {
  if (grainMs === undefined) return [from];
  const out: number[] = [];
  for (let t = from; t < to; t += grainMs) out.push(t);
  return out;
}

/** Rows → one series per dimension combination, with a point at every grain (empty grains too, as Azure). */
function seriesOf(rows: MetricRow[], splitBy: Dimension[], grains: number[], aggregations: Aggregation[]): MetricSeries[] {
  const byKey = new Map<string, { dimensions: MetricRow["dimensions"]; rows: Map<number, MetricRow> }>();
  for (const r of rows) {
    const key = JSON.stringify(splitBy.map((d) => r.dimensions[d]));
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { dimensions: r.dimensions, rows: new Map() }));
    s.rows.set(r.grainStart.getTime(), r);
  }
  // Unsplit, a metric always has its one series, even with no data yet.
  if (splitBy.length === 0 && byKey.size === 0) byKey.set("", { dimensions: {}, rows: new Map() });
  return [...byKey.values()].map((s) => ({
    dimensions: s.dimensions,
    points: grains.map((t) => ({ timeStamp: new Date(t), values: valuesOf(s.rows.get(t), aggregations) })),
  }));
}

function valuesOf(row: MetricRow | undefined, aggregations: Aggregation[]): MetricPoint["values"] {
  const out: MetricPoint["values"] = {};
  for (const a of aggregations) {
    if (a === "Total") out.Total = row?.total ?? 0;
    else if (a === "Count") out.Count = row?.count ?? 0;
    else if (row && a === "Average") out.Average = row.count > 0 ? row.total / row.count : 0;
    else if (row && a === "Minimum") out.Minimum = row.minimum;
    else if (row && a === "Maximum") out.Maximum = row.maximum;
  }
  return out;
}

/** Ordering for `top`: the series that carried the most. */
const weight = (s: MetricSeries): number => s.points.reduce((n, p) => n + (p.values.Total ?? p.values.Average ?? p.values.Count ?? 0), 0);
