// Brings the driver to a pushed config, one load balancer at a time. A full push replaces the whole
// state (what it does not name stops); a delta touches only what it names — its removals stop, its
// upserts apply — and only on top of the generation it was built from: any other base is refused
// (BaseMismatch → 409) so lbplane sends the full state instead of a delta that would leave holes.
// Load balancers a push does not name are not touched at all (no driver call, no listener rebind).
// A load balancer that cannot be served is refused with a detail and its last good version keeps
// forwarding, also across later deltas that do not name it; it never holds back the others. Pushes
// are serialized (the control plane may retry while one is still being applied) and idempotent: the
// same push again returns the same acknowledgement.

import type { AgentConfig, CompiledLoadBalancer, ConfigAck, LoadBalancerOutcome } from "../domain/agent-protocol.js";
import { checkLoadBalancer } from "./config-validate.js";
import { DriverRefusal, type ForwardingDriver } from "./driver.js";
import { errorText, type Logger } from "./log.js";

/** A delta whose base is not the generation in force; lbplane answers it with the full state. */
export class BaseMismatch extends Error {
  override name = "BaseMismatch";
}

export interface LoadBalancerState {
  id: string;
  name: string;
  appliedVersion?: string;
  refused?: { version: string; detail: string };
}

export class ConfigApplier {
  generation = -1;
  private readonly applied = new Map<string, CompiledLoadBalancer>();
  private readonly refused = new Map<string, { name: string; version: string; detail: string }>();
  private lastAck: ConfigAck | undefined;
  private lastPush: { from: AgentConfig["fromGeneration"]; removals: number } | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly driver: ForwardingDriver,
    private readonly log: Logger,
    /** Called after every push with the versions now in force (probes follow these). */
    private readonly onApplied: (lbs: CompiledLoadBalancer[]) => void,
  ) {}

  apply(config: AgentConfig): Promise<ConfigAck> {
    const run = this.tail.then(() => this.applyNow(config));
    this.tail = run.catch(() => {});
    return run;
  }

  appliedLoadBalancers(): CompiledLoadBalancer[] {
    return [...this.applied.values()];
  }

  states(): LoadBalancerState[] {
    const ids = new Set([...this.applied.keys(), ...this.refused.keys()]);
    return [...ids].map((id) => {
      const a = this.applied.get(id);
      const r = this.refused.get(id);
      return { id, name: a?.name ?? r?.name ?? "", appliedVersion: a?.version, refused: r && { version: r.version, detail: r.detail } };
    });
  }

  private async applyNow(config: AgentConfig): Promise<ConfigAck> {
    if (this.lastAck && this.isRepeat(config, this.lastAck)) return this.lastAck;
    const full = config.fromGeneration === "full";
    if (!full && config.fromGeneration !== this.generation) {
      throw new BaseMismatch(`a delta from generation ${config.fromGeneration}, but this agent has generation ${this.generation}; send the full state`);
    }
    if (config.generation < this.generation) {
      // Not an error: the control plane is the source of truth (e.g. its database was restored).
      this.log.warn("applying an older generation than the one in force", { generation: config.generation, previous: this.generation });
    }
    const upserted = new Set(config.upserts.map((lb) => lb.id));
    const going = full ? [...this.applied.keys(), ...this.refused.keys()].filter((id) => !upserted.has(id)) : config.removals;
    for (const id of new Set(going)) await this.removeOne(id);

    const outcomes: LoadBalancerOutcome[] = [];
    for (const lb of config.upserts) outcomes.push(await this.applyOne(lb));
    this.generation = config.generation;
    this.lastAck = { generation: config.generation, loadBalancers: outcomes };
    this.lastPush = { from: config.fromGeneration, removals: config.removals.length };
    this.onApplied(this.appliedLoadBalancers());
    return this.lastAck;
  }

  private async removeOne(id: string): Promise<void> {
    this.refused.delete(id);
    if (!this.applied.has(id)) return;
    await this.driver.remove(id);
    this.applied.delete(id);
    this.log.info("load balancer removed", { id });
  }

  private async applyOne(lb: CompiledLoadBalancer): Promise<LoadBalancerOutcome> {
    const current = this.applied.get(lb.id);
    if (current?.version === lb.version) {
      this.refused.delete(lb.id);
      return { id: lb.id, version: lb.version, state: "Applied" };
    }
    let detail: string | undefined;
    try {
      detail = checkLoadBalancer(lb) ?? (await this.driver.check(lb));
      if (!detail) await this.driver.apply(lb);
    } catch (err) {
      detail = err instanceof DriverRefusal ? err.message : `driver failed: ${errorText(err)}`;
    }
    if (detail) {
      this.refused.set(lb.id, { name: lb.name, version: lb.version, detail });
      this.log.warn("load balancer refused", { id: lb.id, version: lb.version, detail, keeps: current?.version ?? null });
      return { id: lb.id, version: lb.version, state: "Refused", detail };
    }
    this.applied.set(lb.id, lb);
    this.refused.delete(lb.id);
    this.log.info("load balancer applied", { id: lb.id, version: lb.version, listeners: lb.listeners.length });
    return { id: lb.id, version: lb.version, state: "Applied" };
  }

  /** The push just applied, again (lbplane retried because it never saw the ACK). */
  private isRepeat(config: AgentConfig, ack: ConfigAck): boolean {
    const last = this.lastPush;
    if (!last || config.generation !== ack.generation || config.fromGeneration !== last.from) return false;
    if (config.removals.length !== last.removals || config.upserts.length !== ack.loadBalancers.length) return false;
    return config.upserts.every((lb, i) => ack.loadBalancers[i]!.id === lb.id && ack.loadBalancers[i]!.version === lb.version);
  }
}
