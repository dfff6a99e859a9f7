// Prometheus metrics of the agent machinery. One registry per process (not prom-client's global
// one, so nothing else in the process can collide with these names). Counters and the latency
// histogram are this replica's own work; the per-agent gauges are read from the database at scrape
// time, so every replica reports the same, current picture.

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { readAgentGauges } from "../store/agent-gauges.store.js";
import type { Db } from "../store/prisma.js";

export const registry = new Registry();

export const pushLatency = new Histogram({
  name: "lbplane_agent_push_duration_seconds",
  help: "Time from sending a config push to receiving the agent's ACK",
  labelNames: ["outcome"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const pushFailures = new Counter({
  name: "lbplane_agent_push_failures_total",
  help: "Config pushes that got no valid ACK (network error, timeout, non-200, wrong generation)",
  labelNames: ["agent"] as const,
  registers: [registry],
});

export const nacks = new Counter({
  name: "lbplane_agent_nacks_total",
  help: "Load balancers an agent refused in an ACK (xDS-style per-resource NACK)",
  labelNames: ["agent"] as const,
  registers: [registry],
});

export const pushedBytes = new Counter({
  name: "lbplane_agent_pushed_bytes_total",
  help: "Bytes of config pushed to agents",
  registers: [registry],
});

const liveAgents = new Gauge({
  name: "lbplane_agents_live",
  help: "Agents whose heartbeat arrived within the liveness window",
  labelNames: ["location"] as const,
  registers: [registry],
});

const staleAgents = new Gauge({
  name: "lbplane_agents_stale",
  help: "Registered agents whose heartbeat is older than the liveness window",
  labelNames: ["location"] as const,
  registers: [registry],
});

const generationsBehind = new Gauge({
  name: "lbplane_agent_generations_behind",
  help: "Location generation minus the agent's acknowledged generation",
  labelNames: ["agent", "location"] as const,
  registers: [registry],
});

/** Refreshes the database-backed gauges; call just before serialising the registry. */
export async function refreshAgentGauges(db: Db, livenessMs: number): Promise<void> {
  const rows = await readAgentGauges(db, livenessMs);
  liveAgents.reset();
  staleAgents.reset();
  generationsBehind.reset();
  for (const r of rows) {
    (r.live ? liveAgents : staleAgents).inc({ location: r.location });
    generationsBehind.set({ agent: r.name, location: r.location }, Number(r.behind));
  }
}
