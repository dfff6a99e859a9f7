// The contract between lbplane and its data-plane agents (HTTP + JSON). Shared by src/agents (the
// control-plane side) and src/dataplane (lbplane-agent); nothing else crosses that boundary.
//
//   agent → lbplane  POST   /dataplane/v1/agents/register        Bearer <join token>
//   agent → lbplane  POST   /dataplane/v1/agents/{id}/heartbeat  Bearer <agent credential>
//   agent → lbplane  POST   /dataplane/v1/agents/{id}/health     Bearer <agent credential>
//   agent → lbplane  DELETE /dataplane/v1/agents/{id}            Bearer <agent credential>
//   lbplane → agent  PUT    {agent url}/v1/config                Bearer <push token>
//   operator         GET    /dataplane/v1/agents                 Bearer <admin token>

import type { LoadDistribution, ProbeProtocol } from "./model.js";

export const AGENT_PROTOCOL_VERSION = 1;

export type DriverName = "userspace" | "nftables";

export interface AgentCapabilities {
  driver: DriverName;
  floatingIP: boolean;
  haPorts: boolean;
  protocols: Array<"Tcp" | "Udp">;
}

export interface RegisterRequest {
  name: string;
  location: string;
  /** Base URL of the agent's config endpoint, e.g. http://127.0.0.1:7070 */
  url: string;
  capabilities: AgentCapabilities;
  /** Generation the agent currently has applied (-1 when it starts empty). */
  appliedGeneration?: number;
}

export interface RegisterResponse {
  agentId: string;
  /** The agent's own credential for every later call to lbplane. */
  credential: string;
  /** lbplane presents this on every push; the agent refuses config without it. */
  pushToken: string;
  heartbeatIntervalMs: number;
  livenessWindowMs: number;
}

export interface HeartbeatRequest {
  appliedGeneration: number;
}

export interface HeartbeatResponse {
  desiredGeneration: number;
}

/** One frontend tuple and where its flows go: a load-balancing rule or an inbound NAT rule. */
export interface CompiledListener {
  kind: "LoadBalancingRule" | "InboundNatRule";
  name: string;
  frontendIPAddress: string;
  /** "All" with port 0 = HA ports (every port of Tcp and Udp). */
  protocol: "Tcp" | "Udp" | "All";
  frontendPort: number;
  /** Backend port; equal to frontendPort for HA ports (0 = keep the packet's port). */
  backendPort: number;
  enableFloatingIP: boolean;
  loadDistribution: LoadDistribution;
  idleTimeoutInMinutes: number;
  enableTcpReset: boolean;
  /** Probe name within the load balancer; absent = backends always considered up. */
  probe?: string;
  backends: CompiledBackend[];
}

export interface CompiledBackend {
  /** The DIP: identifies the backend VM, and is where probes go. */
  address: string;
  /** DIP for a default rule, the VIP for a floating IP rule. */
  destinationIPAddress: string;
  destinationPort: number;
}

export interface CompiledProbe {
  name: string;
  protocol: ProbeProtocol;
  port: number;
  requestPath?: string;
  intervalInSeconds: number;
  /** Consecutive failures to mark down (Azure's probeThreshold, else numberOfProbes). */
  probeThreshold: number;
  noHealthyBackendsBehavior: "AllProbedDown" | "AllProbedUp";
  /** DIPs to probe. */
  targets: string[];
}

export interface CompiledLoadBalancer {
  /** ARM id. */
  id: string;
  name: string;
  /** Changes whenever anything in this entry changes (content hash), for cheap diffing. */
  version: string;
  type: "Public" | "Internal";
  listeners: CompiledListener[];
  probes: CompiledProbe[];
}

export interface AgentConfig {
  protocolVersion: number;
  generation: number;
  location: string;
  loadBalancers: CompiledLoadBalancer[];
}

export type LoadBalancerOutcome =
  | { id: string; version: string; state: "Applied" }
  | { id: string; version: string; state: "Refused"; detail: string };

export interface ConfigAck {
  generation: number;
  loadBalancers: LoadBalancerOutcome[];
}

export type HealthState = "Up" | "Down";

export interface ProbeReport {
  loadBalancerId: string;
  probe: string;
  backendAddress: string;
  state: HealthState;
  reason?: string;
  /** ISO time of the last transition. */
  since: string;
}

export interface HealthReport {
  /** true = periodic summary of every probed target; false = transitions only. */
  full: boolean;
  reports: ProbeReport[];
}
