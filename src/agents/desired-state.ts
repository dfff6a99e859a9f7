// What every agent of a location must serve at a generation: the compiled load balancers of that
// location. Compiled once per (location, generation) and shared by every push of that generation,
// so 100 agents cost one compile and one JSON serialisation.

import { AGENT_PROTOCOL_VERSION, type AgentConfig } from "../domain/agent-protocol.js";
import { compileLoadBalancer } from "../domain/compile.js";
import { normalizeLocation } from "../domain/ids.js";
import type { DesiredSnapshot } from "../store/desired-state.store.js";

export interface DesiredState {
  location: string;
  generation: bigint;
  config: AgentConfig;
  /** The push body, serialised and UTF-8 encoded once per generation, shared by every push. */
  body: Buffer;
  /** Lower-cased ARM id → load balancer uid, to record per-LB ACKs (unknown ids are ignored). */
  uidByArmId: Map<string, string>;
}

/** Reads a location's desired state (the key is already normalised). */
export type DesiredStateSource = (location: string) => Promise<DesiredState>;

/**
 * Compiles a one-statement snapshot (src/store/desired-state.store.ts): its content is exactly what
 * that generation committed, so an ACK of generation g proves the agent has every write stamped <= g.
 */
export function compileDesiredState(location: string, snapshot: DesiredSnapshot): DesiredState {
  const uidByArmId = new Map<string, string>();
  const loadBalancers = snapshot.loadBalancers.map((lb) => {
    uidByArmId.set(lb.id.toLowerCase(), lb.uid);
    return compileLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
  });
  const config: AgentConfig = {
    protocolVersion: AGENT_PROTOCOL_VERSION,
    generation: Number(snapshot.generation),
    location,
    loadBalancers,
  };
  return { location, generation: snapshot.generation, config, body: Buffer.from(JSON.stringify(config), "utf8"), uidByArmId };
}

/**
 * Caches the newest desired state per location: a lookup that the cached generation satisfies costs
 * nothing; only a newer generation reads and recompiles. Concurrent callers for one location share
 * one compile. `prefetch` starts that read as soon as a change is announced, so it overlaps with
 * claiming the agents instead of following it.
 */
export class DesiredStateCache {
  private readonly entries = new Map<string, Promise<DesiredState>>();
  /** Reads in flight, per location. */
  private readonly reading = new Map<string, Promise<DesiredState>>();

  constructor(private readonly read: DesiredStateSource) {}

  async get(location: string, atLeast: bigint): Promise<DesiredState> {
    const key = normalizeLocation(location);
    for (let attempt = 0; attempt < 2; attempt++) {
      // The second look catches a refresh another caller started while we awaited the first entry.
      const entry = this.entries.get(key);
      const state = entry && (await entry.catch(() => undefined));
      if (state && state.generation >= atLeast) return state;
    }
    return this.refresh(key);
  }

  /**
   * A location changed: read its new state now, unless a read is already under way (if that one
   * started just before the change, `get` notices the older generation and reads once more).
   */
  prefetch(location: string): void {
    const key = normalizeLocation(location);
    if (!this.reading.has(key)) this.refresh(key).catch(() => {});
  }

  private refresh(key: string): Promise<DesiredState> {
    const fresh = this.read(key);
    this.entries.set(key, fresh);
    this.reading.set(key, fresh);
    const done = () => {
      if (this.reading.get(key) === fresh) this.reading.delete(key);
    };
    fresh.then(done, () => {
      done();
      if (this.entries.get(key) === fresh) this.entries.delete(key);
    });
    return fresh;
  }
}
