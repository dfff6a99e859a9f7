// What every agent of a location must serve at a generation: the compiled load balancers of that
// location. Compiled once per (location, generation) and shared by every push of that generation,
// so 100 agents cost one compile and one JSON serialisation.

import type pg from "pg";
import { AGENT_PROTOCOL_VERSION, type AgentConfig } from "../domain/agent-protocol.js";
import { compileLoadBalancer } from "../domain/compile.js";
import { normalizeLocation } from "../domain/ids.js";
import { CHILDREN_JSON_SQL } from "../store/load-balancer-rows.js";
import { toStored, type Row } from "../store/load-balancers.store.js";

export interface DesiredState {
  location: string;
  generation: bigint;
  config: AgentConfig;
  /** The push body, serialised and UTF-8 encoded once per generation, shared by every push. */
  body: Buffer;
  /** Lower-cased ARM id → load balancer uid, to record per-LB ACKs (unknown ids are ignored). */
  uidByArmId: Map<string, string>;
}

export type DesiredStateSource = (pool: pg.Pool, location: string) => Promise<DesiredState>;

// The location's generation and every load balancer row of it (the documents the store's readers
// parse with toStored), in ONE statement: one snapshot, one round trip, no transaction. Prepared
// (named) once per connection: planning it costs more than running it.
const DESIRED_SQL = `
  SELECT (SELECT generation::text FROM location_generations WHERE location = $1) AS generation,
         (SELECT coalesce(json_agg(d.doc ORDER BY d.id), '[]'::json)::text FROM (
            SELECT lb.id, to_jsonb(lb) || jsonb_build_object('generation', lb.generation::text, 'rg_name', rg.name)
                          || jsonb_build_object(${CHILDREN_JSON_SQL}) AS doc
            FROM load_balancers lb JOIN resource_groups rg ON rg.id = lb.resource_group_id
            WHERE lb.location = $1) d) AS docs`;

/**
 * Reads the generation and the load balancers in one statement, hence one snapshot: the content is
 * exactly what that generation committed, so an ACK of generation g proves the agent has every
 * write stamped <= g.
 */
export async function readDesiredState(pool: pg.Pool, location: string): Promise<DesiredState> {
  const key = normalizeLocation(location);
  const { rows } = await pool.query<{ generation: string | null; docs: string }>({ name: "lbplane-desired-state", text: DESIRED_SQL, values: [key] });
  const generation = BigInt(rows[0].generation ?? 0);
  const uidByArmId = new Map<string, string>();
  const loadBalancers = (JSON.parse(rows[0].docs) as Row[]).map((row) => {
    const lb = toStored(row);
    uidByArmId.set(lb.id.toLowerCase(), lb.uid);
    return compileLoadBalancer(lb.spec, { address: lb.address, publicIps: lb.publicIps });
  });
  const config: AgentConfig = {
    protocolVersion: AGENT_PROTOCOL_VERSION,
    generation: Number(generation),
    location: key,
    loadBalancers,
  };
  return { location: key, generation, config, body: Buffer.from(JSON.stringify(config), "utf8"), uidByArmId };
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

  constructor(
    private readonly pool: pg.Pool,
    private readonly read: DesiredStateSource = readDesiredState,
  ) {}

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
    const fresh = this.read(this.pool, key);
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
