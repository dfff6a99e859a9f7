// The backends of one listener plus the health view that steers new flows. Health lives in the load
// balancer's shared map (probe|DIP → up), so a probe result reaches every listener that uses the probe
// at once, and a listener added by a later config version starts from the current health.

import type { CompiledListener } from "../../domain/agent-protocol.js";
import type { LoadDistribution } from "../../domain/model.js";
import { flowKey, hashString, rendezvous, type FlowTuple } from "./flow-hash.js";

export interface Backend {
  /** DIP: the probed address. */
  address: string;
  host: string;
  port: number;
  /** "host:port": identity of the destination within a listener. */
  key: string;
  seed: number;
}

/** probe|DIP → up. Absent = unknown: eligible until the first probe result (see prober.ts). */
export type HealthMap = Map<string, boolean>;

export const healthKey = (probe: string, address: string) => `${probe}|${address}`;

export class BackendPool {
  readonly backends: Backend[];
  readonly mode: LoadDistribution;

  constructor(
    listener: CompiledListener,
    private readonly health: HealthMap,
    private readonly noHealthyBehavior: "AllProbedDown" | "AllProbedUp",
  ) {
    this.mode = listener.loadDistribution;
    this.probe = listener.probe;
    this.backends = listener.backends.map((b) => {
      const key = `${b.destinationIPAddress}:${b.destinationPort}`;
      return { address: b.address, host: b.destinationIPAddress, port: b.destinationPort, key, seed: hashString(key) };
    });
  }

  private readonly probe: string | undefined;

  isUp(b: Backend): boolean {
    if (this.probe === undefined) return true;
    return this.health.get(healthKey(this.probe, b.address)) !== false;
  }

  usesProbe(probe: string): boolean {
    return this.probe === probe;
  }

  has(key: string): boolean {
    return this.backends.some((b) => b.key === key);
  }

  /** Backend for a new flow, or undefined when Azure would drop it (no backend up, AllProbedDown). */
  pick(tuple: FlowTuple): Backend | undefined {
    let candidates = this.backends.filter((b) => this.isUp(b));
    // Azure's noHealthyBackendsBehavior: AllProbedUp sends to every backend when all probes fail.
    if (candidates.length === 0 && this.noHealthyBehavior === "AllProbedUp") candidates = this.backends;
    return rendezvous(flowKey(this.mode, tuple), candidates);
  }
}
