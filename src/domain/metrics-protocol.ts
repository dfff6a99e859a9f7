// Traffic metrics, agent → lbplane: POST /dataplane/v1/agents/{id}/metrics (Bearer <agent credential>).
//
// An agent counts traffic per (load balancer, rule, frontend, backend) from kernel counters (nftables)
// or its own sockets (userspace) and samples availability; every report interval it sends only what
// changed since the last accepted report (deltas; a series with nothing new is left out), so a quiet
// load balancer costs nothing on the wire or in the database. lbplane files a report in the one-minute
// bucket of its arrival: clocks of agents need not agree, and a retried report lands at most a
// minute late. A rejected report is kept and merged into the next one by the agent (no loss, no
// double count: the agent advances its baseline only on a 2xx).
//
// This file also holds the metric catalogue Azure Monitor's API serves (names, units, aggregations,
// dimensions), because both ends must agree on which counter feeds which metric.

import { Type, type Static } from "typebox";

/** Per-report cap on series: at the default 15 s interval that is 6,000 series per load balancer host. */
export const MAX_TRAFFIC_SERIES = 20_000;

const Strict = { additionalProperties: false } as const;
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Address = Type.String({ minLength: 2, maxLength: 45, pattern: "^[0-9A-Fa-f.:]+$" });
const LoadBalancerId = Type.String({ minLength: 1, maxLength: 1024, pattern: "^[\\x21-\\x7e]+$" });
const ProtocolSchema = Type.Union([Type.Literal("Tcp"), Type.Literal("Udp"), Type.Literal("All")]);

/** One (rule, frontend, backend) of one load balancer: what every traffic figure is counted per. */
const SeriesKey = {
  loadBalancerId: LoadBalancerId,
  rule: Type.String({ minLength: 1, maxLength: 80 }),
  frontendIPAddress: Address,
  frontendPort: Port,
  protocol: ProtocolSchema,
  backendIPAddress: Address,
  backendPort: Port,
};

/** Deltas since the last accepted report; absent = 0. Gauges (currentFlows, SNAT ports) are the value now. */
export const TrafficSeriesSchema = Type.Object(
  {
    ...SeriesKey,
    bytesIn: Type.Optional(Count),
    bytesOut: Type.Optional(Count),
    packetsIn: Type.Optional(Count),
    packetsOut: Type.Optional(Count),
    /** New flows (TCP SYNs that opened a flow; first datagram of a UDP flow). */
    newFlows: Type.Optional(Count),
    /** New outbound (SNAT) connections the block carried. */
    snatConnections: Type.Optional(Count),
    /** New outbound connection attempts refused because the block was exhausted (retransmitted attempts included). */
    failedSnatConnections: Type.Optional(Count),
    currentFlows: Type.Optional(Count),
    allocatedSnatPorts: Type.Optional(Count),
    usedSnatPorts: Type.Optional(Count),
  },
  { ...Strict, title: "TrafficSeries" },
);
export type TrafficSeries = Static<typeof TrafficSeriesSchema>;

/**
 * Availability samples since the last report: `up` of `samples` succeeded. Vip = a synthetic flow
 * through the data path to the frontend (Data Path Availability); Dip = the health probe of one backend
 * (Health Probe Status). lbplane turns them into percentages.
 */
export const AvailabilitySampleSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal("Vip"), Type.Literal("Dip")]),
    loadBalancerId: LoadBalancerId,
    frontendIPAddress: Address,
    frontendPort: Port,
    protocol: ProtocolSchema,
    /** Dip only. */
    backendIPAddress: Type.Optional(Address),
    backendPort: Type.Optional(Port),
    up: Count,
    samples: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { ...Strict, title: "AvailabilitySample" },
);
export type AvailabilitySample = Static<typeof AvailabilitySampleSchema>;

export const TrafficReportSchema = Type.Object(
  {
    series: Type.Array(TrafficSeriesSchema, { maxItems: MAX_TRAFFIC_SERIES }),
    availability: Type.Array(AvailabilitySampleSchema, { maxItems: MAX_TRAFFIC_SERIES }),
  },
  { ...Strict, title: "TrafficReport" },
);
export type TrafficReport = Static<typeof TrafficReportSchema>;

export const TrafficIntakeResponseSchema = Type.Object({ accepted: Type.Integer(), ignored: Type.Integer() }, { title: "TrafficIntakeResponse" });
export type TrafficIntakeResponse = Static<typeof TrafficIntakeResponseSchema>;

// ---- the metric catalogue (Azure Monitor's Microsoft.Network/loadBalancers metrics lbplane serves)

export type Dimension = "FrontendIPAddress" | "FrontendPort" | "BackendIPAddress" | "BackendPort" | "ProtocolType" | "Direction" | "ConnectionState";
export const DIMENSIONS: readonly Dimension[] = ["FrontendIPAddress", "FrontendPort", "BackendIPAddress", "BackendPort", "ProtocolType", "Direction", "ConnectionState"];
export type Aggregation = "Average" | "Count" | "Minimum" | "Maximum" | "Total";
export const AGGREGATIONS: readonly Aggregation[] = ["Average", "Count", "Minimum", "Maximum", "Total"];

export interface MetricDefinition {
  name: MetricName;
  displayName: string;
  description: string;
  unit: "Count" | "Bytes";
  primaryAggregation: Aggregation;
  dimensions: readonly Dimension[];
}

export type MetricName =
  | "VipAvailability"
  | "DipAvailability"
  | "ByteCount"
  | "PacketCount"
  | "SYNCount"
  | "SnatConnectionCount"
  | "AllocatedSnatPorts"
  | "UsedSnatPorts";

const FLOW_DIMENSIONS: readonly Dimension[] = ["FrontendIPAddress", "FrontendPort", "BackendIPAddress", "BackendPort", "ProtocolType", "Direction"];
const BACKEND_DIMENSIONS: readonly Dimension[] = ["FrontendIPAddress", "FrontendPort", "BackendIPAddress", "BackendPort", "ProtocolType"];
/** A SNAT block: the outbound frontend address, the backend it belongs to, its transport (Azure's, no ports). */
const SNAT_DIMENSIONS: readonly Dimension[] = ["FrontendIPAddress", "BackendIPAddress", "ProtocolType"];

/** Azure's names, units and primary aggregations; dimensions are those lbplane records for each. */
export const METRICS: readonly MetricDefinition[] = [
  { name: "VipAvailability", displayName: "Data Path Availability", description: "Average Load Balancer data path availability per time duration", unit: "Count", primaryAggregation: "Average", dimensions: ["FrontendIPAddress", "FrontendPort", "ProtocolType"] },
  { name: "DipAvailability", displayName: "Health Probe Status", description: "Average Load Balancer health probe status per time duration", unit: "Count", primaryAggregation: "Average", dimensions: BACKEND_DIMENSIONS },
  { name: "ByteCount", displayName: "Byte Count", description: "Total number of Bytes transmitted within time period", unit: "Bytes", primaryAggregation: "Total", dimensions: FLOW_DIMENSIONS },
  { name: "PacketCount", displayName: "Packet Count", description: "Total number of Packets transmitted within time period", unit: "Count", primaryAggregation: "Total", dimensions: FLOW_DIMENSIONS },
  { name: "SYNCount", displayName: "SYN Count", description: "Total number of SYN Packets transmitted within time period", unit: "Count", primaryAggregation: "Total", dimensions: FLOW_DIMENSIONS },
  { name: "SnatConnectionCount", displayName: "SNAT Connection Count", description: "Total number of new SNAT connections created within time period", unit: "Count", primaryAggregation: "Total", dimensions: [...SNAT_DIMENSIONS, "ConnectionState"] },
  { name: "AllocatedSnatPorts", displayName: "Allocated SNAT Ports", description: "Total number of SNAT ports allocated within time period", unit: "Count", primaryAggregation: "Average", dimensions: SNAT_DIMENSIONS },
  { name: "UsedSnatPorts", displayName: "Used SNAT Ports", description: "Total number of SNAT ports used within time period", unit: "Count", primaryAggregation: "Average", dimensions: SNAT_DIMENSIONS },
];

export function metricNamed(name: string): MetricDefinition | undefined {
  const lower = name.trim().toLowerCase();
  return METRICS.find((m) => m.name.toLowerCase() === lower);
}

/** Azure's Direction values for ByteCount/PacketCount/SYNCount. */
export type Direction = "Inbound" | "Outbound";
/** Azure's ConnectionState values for SnatConnectionCount: carried by the block, or refused (block exhausted). */
export type ConnectionState = "Successful" | "Failed";

/** One stored sample row: a metric at one dimension combination ("" / 0 where a dimension does not apply). */
export interface MetricSample {
  metric: MetricName;
  frontendIPAddress: string;
  frontendPort: number;
  protocol: string;
  backendIPAddress: string;
  backendPort: number;
  direction: Direction | "";
  connectionState: ConnectionState | "";
  value: number;
}

/**
 * A report's figures as metric samples. Counters: one sample per non-zero delta. Gauges: one sample per
 * report (also 0), so their average over a minute is the average of what agents saw. Availability: the
 * percentage of successful samples, weighted by the sample count (`weight`), so an agent sampling twice
 * as often does not count half as much.
 */
export function samplesOf(report: Pick<TrafficReport, "series" | "availability">): Array<MetricSample & { loadBalancerId: string; weight: number }> {
  const out: Array<MetricSample & { loadBalancerId: string; weight: number }> = [];
  for (const s of report.series) {
    const base = { loadBalancerId: s.loadBalancerId, frontendIPAddress: s.frontendIPAddress, frontendPort: s.frontendPort, protocol: s.protocol, backendIPAddress: s.backendIPAddress, backendPort: s.backendPort, connectionState: "" as const, weight: 1 };
    const counter = (metric: MetricName, direction: Direction | "", value: number | undefined, connectionState: ConnectionState | "" = "") => {
      if (value) out.push({ ...base, metric, direction, connectionState, value });
    };
    counter("ByteCount", "Inbound", s.bytesIn);
    counter("ByteCount", "Outbound", s.bytesOut);
    counter("PacketCount", "Inbound", s.packetsIn);
    counter("PacketCount", "Outbound", s.packetsOut);
    counter("SYNCount", "Inbound", s.newFlows);
    counter("SnatConnectionCount", "", s.snatConnections, "Successful");
    counter("SnatConnectionCount", "", s.failedSnatConnections, "Failed");
    if (s.allocatedSnatPorts !== undefined) out.push({ ...base, metric: "AllocatedSnatPorts", direction: "", value: s.allocatedSnatPorts });
    if (s.usedSnatPorts !== undefined) out.push({ ...base, metric: "UsedSnatPorts", direction: "", value: s.usedSnatPorts });
  }
  for (const a of report.availability) {
    out.push({
      loadBalancerId: a.loadBalancerId,
      metric: a.kind === "Vip" ? "VipAvailability" : "DipAvailability",
      frontendIPAddress: a.frontendIPAddress,
      frontendPort: a.frontendPort,
      protocol: a.protocol,
      backendIPAddress: a.kind === "Dip" ? (a.backendIPAddress ?? "") : "",
      backendPort: a.kind === "Dip" ? (a.backendPort ?? 0) : 0,
      direction: "",
      connectionState: "",
      value: (100 * Math.min(a.up, a.samples)) / a.samples,
      weight: a.samples,
    });
  }
  return out;
}
