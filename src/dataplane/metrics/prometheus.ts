// The agent's own Prometheus exposition (GET /metrics on its config endpoint): the traffic it forwards,
// per (load balancer, rule, frontend, backend), as cumulative counters read from the driver at scrape
// time (kernel counters for nftables, socket counts for userspace), each SNAT block's connections and
// ports (nftables outbound rules), and the latest availability samples as percentages. Counters may
// restart (a re-created nftables table); Prometheus' rate() handles that. Text format 0.0.4, written by
// hand: the agent carries no metrics library.

import type { AvailabilitySample } from "../../domain/metrics-protocol.js";
import type { CounterReading, SeriesKey } from "./counters.js";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const escapeLabel = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (l: Record<string, string | number>): string =>
  `{${Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(",")}}`;

function seriesLabels(k: SeriesKey): Record<string, string | number> {
  return {
    load_balancer: k.loadBalancerId,
    rule: k.rule,
    frontend_ip: k.frontendIPAddress,
    frontend_port: k.frontendPort,
    protocol: k.protocol,
    backend_ip: k.backendIPAddress,
    backend_port: k.backendPort,
  };
}

/** A SNAT block: no ports (its frontend port and backend port are 0), the outbound rule by its role. */
function snatLabels(k: SeriesKey): Record<string, string | number> {
  return { load_balancer: k.loadBalancerId, outbound_rule: k.rule, frontend_ip: k.frontendIPAddress, protocol: k.protocol, backend_ip: k.backendIPAddress };
}

export function renderPrometheus(driver: string, all: CounterReading[], availability: AvailabilitySample[]): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const readings = all.filter((r) => !r.snat);
  const per = (f: (r: CounterReading, l: Record<string, string | number>) => string[]) => readings.flatMap((r) => f(r, seriesLabels(r.key)));
  const blocks = all.flatMap((r) => (r.snat ? [{ snat: r.snat, l: snatLabels(r.key) }] : []));
  family("lbplane_agent_traffic_bytes_total", "counter", `Bytes forwarded (driver ${driver}); direction in = client to backend, out = backend to client.`,
    per((r, l) => [`lbplane_agent_traffic_bytes_total${labels({ ...l, direction: "in" })} ${r.bytesIn}`, `lbplane_agent_traffic_bytes_total${labels({ ...l, direction: "out" })} ${r.bytesOut}`]));
  family("lbplane_agent_traffic_packets_total", "counter", "Packets forwarded (userspace TCP: socket reads, a lower bound).",
    per((r, l) => [`lbplane_agent_traffic_packets_total${labels({ ...l, direction: "in" })} ${r.packetsIn}`, `lbplane_agent_traffic_packets_total${labels({ ...l, direction: "out" })} ${r.packetsOut}`]));
  family("lbplane_agent_traffic_new_flows_total", "counter", "New flows (TCP SYNs that opened a flow, first datagrams of UDP flows).",
    per((r, l) => [`lbplane_agent_traffic_new_flows_total${labels(l)} ${r.newFlows}`]));
  family("lbplane_agent_traffic_current_flows", "gauge", "Flows open now (drivers that can see flows).",
    per((r, l) => (r.currentFlows === undefined ? [] : [`lbplane_agent_traffic_current_flows${labels(l)} ${r.currentFlows}`])));
  family("lbplane_agent_snat_connections_total", "counter", "New outbound flows of a SNAT block: successful = carried, failed = refused because every port of the block was in use (each retried attempt counts).",
    blocks.flatMap(({ snat, l }) => [`lbplane_agent_snat_connections_total${labels({ ...l, state: "successful" })} ${snat.connections}`, `lbplane_agent_snat_connections_total${labels({ ...l, state: "failed" })} ${snat.failedConnections}`]));
  family("lbplane_agent_snat_ports_allocated", "gauge", "Ports of the backend's SNAT block on the frontend address (allocatedOutboundPorts).",
    blocks.map(({ snat, l }) => `lbplane_agent_snat_ports_allocated${labels(l)} ${snat.allocatedPorts}`));
  family("lbplane_agent_snat_ports_used", "gauge", "Ports of the block that open flows hold now (from conntrack).",
    blocks.flatMap(({ snat, l }) => (snat.usedPorts === undefined ? [] : [`lbplane_agent_snat_ports_used${labels(l)} ${snat.usedPorts}`])));
  const avail = (kind: AvailabilitySample["kind"], name: string, help: string) =>
    family(name, "gauge", help, availability.filter((a) => a.kind === kind).map((a) => {
      const l: Record<string, string | number> = { load_balancer: a.loadBalancerId, frontend_ip: a.frontendIPAddress, frontend_port: a.frontendPort, protocol: a.protocol };
      if (kind === "Dip") Object.assign(l, { backend_ip: a.backendIPAddress ?? "", backend_port: a.backendPort ?? 0 });
      return `${name}${labels(l)} ${(100 * a.up) / a.samples}`;
    }));
  avail("Vip", "lbplane_agent_data_path_availability_percent", "Data Path Availability: the latest synthetic flow to the frontend (100 = carried to a backend).");
  avail("Dip", "lbplane_agent_health_probe_status_percent", "Health Probe Status: the latest probe verdict of the backend (100 = up).");
  return out.join("\n") + "\n";
}
