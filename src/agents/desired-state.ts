// What a push carries: for an agent at base generation B, the load balancers of its location written
// after B (compiled) and those deleted after B — or, for a base of "full", every load balancer. A body
// is built once per (location, base, generation) and shared by every agent at that base (after a
// change, nearly all agents of a location are at the same base), so 100 agents cost one read, one
// serialisation, and compiles only of what changed (src/agents/compiled-load-balancers.ts).

import { AGENT_PROTOCOL_VERSION, type FromGeneration } from "../domain/agent-protocol.js";
import { normalizeLocation } from "../domain/ids.js";
import type { LocationChanges } from "../store/load-balancer-versions.store.js";
import { CompiledLocation } from "./compiled-load-balancers.js";

export interface DesiredState {
  location: string;
  generation: bigint;
  /** What the push applies on: "full", or the generation the agent must have. */
  from: FromGeneration;
  /** The push body, serialised and UTF-8 encoded once, shared by every push at this base. */
  body: Buffer;
  /** Lower-cased ARM id → load balancer uid of the upserts, to record per-LB ACKs (others are ignored). */
  uidByArmId: Map<string, string>;
  upserts: number;
  removals: number;
}

/** A read of what changed since `since` (-1 = everything), naming what is already compiled. */
export type ChangesSource = (location: string, since: bigint, known: Array<{ uid: string; generation: bigint }>) => Promise<LocationChanges>;

/** The base a push is asked for: the agent's acknowledged generation, or "full". */
export type PushBase = bigint | "full";

interface LocationBodies {
  compiled: CompiledLocation;
  /** Newest generation any read of this location saw: bodies for older targets are dropped. */
  newest: bigint;
  /** Base key ("full" or the generation) → the body for the newest target from that base. */
  bodies: Map<string, Promise<DesiredState>>;
  /** The base most agents were at after the last change (the previous target), for prefetch. */
  lastTarget: bigint;
}

export class DesiredStateCache {
  private readonly locations = new Map<string, LocationBodies>();

  constructor(private readonly read: ChangesSource) {}

  /**
   * The push for an agent at `base` that brings it to at least generation `atLeast`. Concurrent
   * callers at one base share one read; a base the database can no longer answer a delta for
   * (behind the tombstone horizon, or ahead of the location) gets the full state.
   */
  async get(location: string, base: PushBase, atLeast: bigint): Promise<DesiredState> {
    const loc = this.location(normalizeLocation(location));
    const key = String(base);
    for (let attempt = 0; attempt < 2; attempt++) {
      const entry = loc.bodies.get(key);
      const state = entry && (await entry.catch(() => undefined));
      if (state && state.generation >= atLeast) return state;
    }
    return this.build(loc, normalizeLocation(location), base);
  }

  /** A location changed: build the body most of its agents (those at the last target) will need. */
  prefetch(location: string): void {
    const key = normalizeLocation(location);
    const loc = this.locations.get(key);
    if (loc && loc.lastTarget >= 0n) this.build(loc, key, loc.lastTarget).catch(() => {});
  }

  private location(key: string): LocationBodies {
    let loc = this.locations.get(key);
    if (!loc) {
      loc = { compiled: new CompiledLocation(), newest: -1n, bodies: new Map(), lastTarget: -1n };
      this.locations.set(key, loc);
    }
    return loc;
  }

  private build(loc: LocationBodies, location: string, base: PushBase): Promise<DesiredState> {
    const key = String(base);
    const fresh = this.readAndSerialise(loc, location, base);
    loc.bodies.set(key, fresh);
    fresh.then(
      (state) => {
        if (state.generation > loc.newest) {
          loc.newest = state.generation;
          // Bodies aimed at an older target are never asked for again (claims name the newest).
          for (const [k, p] of loc.bodies) {
            if (p !== fresh) void p.then((s) => s.generation < loc.newest && loc.bodies.get(k) === p && loc.bodies.delete(k), () => {});
          }
        }
        if (base !== "full" || loc.lastTarget < 0n) loc.lastTarget = state.generation;
      },
      () => {
        if (loc.bodies.get(key) === fresh) loc.bodies.delete(key);
      },
    );
    return fresh;
  }

  private async readAndSerialise(loc: LocationBodies, location: string, base: PushBase): Promise<DesiredState> {
    let since = base === "full" ? -1n : base;
    let changes = await this.read(location, since, loc.compiled.knownAbove(since));
    // A base the tombstones no longer cover, or one from the future (a restored database): full.
    if (since >= 0n && (since < changes.horizon || since > changes.generation)) {
      since = -1n;
      changes = await this.read(location, since, loc.compiled.knownAbove(since));
    }
    const full = since < 0n;
    const entries = loc.compiled.absorb(changes, full);
    const upsertIds = new Set(entries.map((e) => e.lb.id));
    // Deleted and created again under the same id: the upsert replaces it, no removal needed.
    const removals = full ? [] : [...new Set(changes.removed.map((r) => r.id))].filter((id) => !upsertIds.has(id));
    const from: FromGeneration = full ? "full" : Number(since);
    const head = JSON.stringify({
      protocolVersion: AGENT_PROTOCOL_VERSION,
      location,
      fromGeneration: from,
      generation: Number(changes.generation),
      removals,
    });
    // The compiled load balancers are spliced in as the JSON they were serialised to once.
    const body = Buffer.from(`${head.slice(0, -1)},"upserts":[${entries.map((e) => e.json).join(",")}]}`, "utf8");
    const uidByArmId = new Map(entries.map((e) => [e.lb.id.toLowerCase(), e.uid]));
    return { location, generation: changes.generation, from, body, uidByArmId, upserts: entries.length, removals: removals.length };
  }
}
