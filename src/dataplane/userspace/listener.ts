// What the userspace driver needs from a TCP or UDP frontend, so apply/swap logic is protocol-blind.

import type { CompiledListener } from "../../domain/agent-protocol.js";
import type { Logger } from "../log.js";
import type { SeriesKey, TrafficTally } from "../metrics/counters.js";
import type { Backend, BackendPool } from "./backend-pool.js";
import type { ConnectionLimit } from "./connection-limit.js";

export interface ListenerSettings {
  loadBalancerId: string;
  config: CompiledListener;
  pool: BackendPool;
  idleTimeoutMs: number;
  enableTcpReset: boolean;
}

export interface ListenerDeps {
  limit: ConnectionLimit;
  connectTimeoutMs: number;
  log: Logger;
  /** Traffic counters (bytes, packets, new flows) per (listener, backend); absent = not counted. */
  traffic?: TrafficTally;
}

export interface ForwardingListener {
  /** "ip:port/Tcp" */
  readonly frontend: string;
  readonly settings: ListenerSettings;
  readonly activeFlows: number;
  /** Start listening; rejects on bind failure (EADDRINUSE, EADDRNOTAVAIL, EACCES). */
  bind(): Promise<void>;
  /** New backends/settings for later flows; flows whose backend left the pool are closed. */
  update(settings: ListenerSettings): void;
  healthChanged(address: string, up: boolean): void;
  flowsByBackend(): Map<string, number>;
  /** Stop taking new flows; established ones keep going (graceful drain). */
  stopAccepting(): void;
  /** Close the socket and every flow now. */
  destroy(): void;
}

export { frontendOf } from "../driver.js";

/** The traffic series a flow of `backend` through this listener counts into. */
export function seriesKeyOf(s: ListenerSettings, backend: Backend): SeriesKey {
  const c = s.config;
  return {
    loadBalancerId: s.loadBalancerId,
    rule: c.name,
    frontendIPAddress: c.frontendIPAddress,
    frontendPort: c.frontendPort,
    protocol: c.protocol,
    backendIPAddress: backend.address,
    backendPort: backend.port,
  };
}
