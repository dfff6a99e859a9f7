// A forwarding driver turns compiled load balancers into real forwarding. The agent core (config
// endpoint, probes, reporting) is driver-independent; a driver only translates the shared compiled
// model (src/domain/agent-protocol.ts) into sockets (userspace) or kernel rules (nftables).

import type { AgentCapabilities, CompiledListener, CompiledLoadBalancer, DriverName } from "../domain/agent-protocol.js";
import type { CounterReading } from "./metrics/counters.js";

/** Thrown by a driver to refuse one load balancer; the message is reported to lbplane verbatim. */
export class DriverRefusal extends Error {
  override name = "DriverRefusal";
}

/** A frontend as every driver names it in status(): "ip:port/proto", an IPv6 address in brackets. */
export function frontendOf(l: Pick<CompiledListener, "frontendIPAddress" | "frontendPort" | "protocol">): string {
  const ip = l.frontendIPAddress.includes(":") ? `[${l.frontendIPAddress}]` : l.frontendIPAddress;
  return `${ip}:${l.frontendPort}/${l.protocol}`;
}

export interface ListenerStatus {
  loadBalancerId: string;
  listener: string;
  frontend: string; // frontendOf()
  backends: Array<{ address: string; destination: string; up: boolean; activeFlows: number }>;
}

export interface ForwardingDriver {
  readonly name: DriverName;
  readonly capabilities: AgentCapabilities;
  /** Reason this driver cannot serve `lb` (unsupported rule type, bad data), or undefined. No side effects. */
  check(lb: CompiledLoadBalancer): Promise<string | undefined>;
  /**
   * Replace the forwarding of one load balancer atomically: on success the new version serves; on
   * failure it throws (DriverRefusal for a reason worth reporting) and the previous version stays in force.
   * Unchanged listeners keep their sockets and established connections.
   */
  apply(lb: CompiledLoadBalancer): Promise<void>;
  /** Stop serving a load balancer that is no longer in the desired state. */
  remove(loadBalancerId: string): Promise<void>;
  /** A probe result changed: steer new flows of every listener using (lb, probe) accordingly. */
  setHealth(loadBalancerId: string, probe: string, address: string, up: boolean): void;
  status(): ListenerStatus[];
  /**
   * Traffic counters since the driver started, cumulative, per (load balancer, rule, frontend, backend),
   * read without per-packet work in Node (kernel counters, or socket byte counts). Absent = not counted.
   */
  trafficCounters?(): Promise<CounterReading[]>;
  /**
   * Frontends the data path itself holds now, as `${loadBalancerId}\n${frontendOf(listener)}` — read back
   * from where forwarding happens (nftables: the kernel's dispatch maps), not from the driver's memory.
   * Data Path Availability of frontends no synthetic flow can prove (UDP, HA ports) asks it; absent =
   * status() is the data path's word (a userspace listener is its open socket).
   */
  frontendsInForce?(): Promise<Set<string>>;
  /** Stop accepting, let flows drain until the deadline, then close everything. */
  close(deadlineMs: number): Promise<void>;
}
