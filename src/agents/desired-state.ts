// What every agent of a location must serve at a generation: the compiled load balancers of that
// location. Compiled once per (location, generation) and shared by every push of that generation,
// so 100 agents cost one compile and one JSON serialisation.

import { AGENT_PROTOCOL_VERSION, type AgentConfig } from "../domain/agent-protocol.js";
import { compileLoadBalancer } from "../domain/compile.js";
import { normalizeLocation } from "../domain/ids.js";
import type { Db } from "../store/prisma.js";
import { readLoadBalancersInLocation } from "../store/load-balancers.store.js";

export interface DesiredState {
  location: string;
  generation: bigint;
  config: AgentConfig;
  /** The push body, serialised once. */
  body: string;
  /** Lower-cased ARM id → load balancer uid, to record per-LB ACKs (unknown ids are ignored). */
  uidByArmId: Map<string, string>;
}

export type DesiredStateSource = (location: string) => Promise<DesiredState>;

/**
 * Reads the generation and the load balancers in one REPEATABLE READ snapshot: the content is
 * exactly what that generation committed, so an ACK of generation g proves the agent has every
 * write stamped <= g.
 */
export async function readDesiredState(db: Db, location: string): Promise<DesiredState> {
  const key = normalizeLocation(location);
  return db.$transaction(
    async (tx) => {
      const row = await tx.locationGeneration.findUnique({ where: { location: key } });
      const generation = row?.generation ?? 0n;
      const stored = await readLoadBalancersInLocation(tx, key);
      const uidByArmId = new Map<string, string>();
      const loadBalancers = stored.map((lb) => {
        uidByArmId.set(lb.id.toLowerCase(), lb.uid);
        return compileLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
      });
      const config: AgentConfig = {
        protocolVersion: AGENT_PROTOCOL_VERSION,
        generation: Number(generation),
        location: key,
        loadBalancers,
      };
      return { location: key, generation, config, body: JSON.stringify(config), uidByArmId };
    },
    { isolationLevel: "RepeatableRead" },
  );
}

/**
 * Caches the newest desired state per location. A lookup first reads the (cheap) current generation;
 * only a generation change recompiles. Concurrent callers for one location share one compile.
 */
export class DesiredStateCache {
  private readonly entries = new Map<string, Promise<DesiredState>>();

  constructor(
    private readonly db: Db,
    private readonly read: (db: Db, location: string) => Promise<DesiredState> = readDesiredState,
  ) {}

  async get(location: string, atLeast: bigint): Promise<DesiredState> {
    const key = normalizeLocation(location);
    for (let attempt = 0; attempt < 2; attempt++) {
      // The second look catches a refresh another caller started while we awaited the first entry.
      const entry = this.entries.get(key);
      const state = entry && (await entry.catch(() => undefined));
      if (state && state.generation >= atLeast) return state;
    }
    const fresh = this.read(this.db, key);
    this.entries.set(key, fresh);
    fresh.catch(() => {
      if (this.entries.get(key) === fresh) this.entries.delete(key);
    });
    return fresh;
  }
}
