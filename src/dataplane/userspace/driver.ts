// The userspace forwarding driver: node:net / node:dgram proxies on every frontend. Runs unprivileged
// on any OS Node runs on. Serves default rules and inbound NAT rules (destination NAT to DIP:port);
// refuses floating IP and HA ports (see support.ts).

import type { CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { DriverRefusal, type ForwardingDriver, type ListenerStatus } from "../driver.js";
import { errorText, type Logger } from "../log.js";
import { seriesId, TrafficTally, type CounterReading } from "../metrics/counters.js";
import { BackendPool, healthKey, type HealthMap } from "./backend-pool.js";
import { ConnectionLimit } from "./connection-limit.js";
import { frontendOf, seriesKeyOf, type ForwardingListener, type ListenerDeps, type ListenerSettings } from "./listener.js";
import { checkUserspaceSupport } from "./support.js";
import { TcpListener } from "./tcp-listener.js";
import { UdpListener } from "./udp-listener.js";

export interface UserspaceDriverOptions {
  log: Logger;
  /** Concurrent flows (TCP connections + UDP flows) over all listeners; beyond it new flows are refused. */
  maxConnections?: number;
  /** How long a SYN to a backend may take before the client's flow is reset. */
  connectTimeoutMs?: number;
  /** Length of one `idleTimeoutInMinutes` unit: 60 000 in production, shorter in tests. */
  minuteMs?: number;
  /** Count bytes, packets and flows per (rule, backend) for traffic metrics (default true). */
  countTraffic?: boolean;
}

export interface FlowStats {
  activeFlows: number;
  refusedFlows: number;
  maxConnections: number;
}

interface LoadBalancerRuntime {
  lb: CompiledLoadBalancer;
  health: HealthMap;
  listeners: Map<string, ForwardingListener>;
}

export class UserspaceDriver implements ForwardingDriver {
  readonly name = "userspace" as const;
  readonly capabilities = { driver: "userspace" as const, floatingIP: false, haPorts: false, protocols: ["Tcp" as const, "Udp" as const], outbound: false, ipv6: true };
  private readonly lbs = new Map<string, LoadBalancerRuntime>();
  private readonly limit: ConnectionLimit;
  private readonly deps: ListenerDeps;
  private readonly minuteMs: number;
  private readonly traffic: TrafficTally | undefined;

  constructor(opts: UserspaceDriverOptions) {
    this.limit = new ConnectionLimit(opts.maxConnections ?? 10_000);
    this.traffic = opts.countTraffic === false ? undefined : new TrafficTally();
    this.deps = { limit: this.limit, connectTimeoutMs: opts.connectTimeoutMs ?? 5000, log: opts.log, traffic: this.traffic };
    this.minuteMs = opts.minuteMs ?? 60_000;
  }

  async check(lb: CompiledLoadBalancer): Promise<string | undefined> {
    return checkUserspaceSupport(lb, (frontend) => {
      for (const [id, rt] of this.lbs) if (rt.listeners.has(frontend)) return id;
      return undefined;
    });
  }

  async apply(lb: CompiledLoadBalancer): Promise<void> {
    const reason = await this.check(lb);
    if (reason) throw new DriverRefusal(reason);
    const prev = this.lbs.get(lb.id);
    const health: HealthMap = prev?.health ?? new Map();
    const next = new Map<string, ForwardingListener>();
    const opened: ForwardingListener[] = [];
    for (const l of lb.listeners) {
      const key = frontendOf(l);
      const existing = prev?.listeners.get(key);
      if (existing) next.set(key, existing);
      else {
        const settings = this.settingsFor(lb, l, health);
        const created = l.protocol === "Udp" ? new UdpListener(settings, this.deps) : new TcpListener(settings, this.deps);
        next.set(key, created);
        opened.push(created);
      }
    }
    // All new sockets first; if any cannot bind, the old version keeps serving untouched.
    const results = await Promise.allSettled(opened.map((l) => l.bind()));
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      for (const l of opened) l.destroy();
      const err = (results[failed] as PromiseRejectedResult).reason;
      throw new DriverRefusal(`cannot listen on ${opened[failed]!.frontend}: ${errorText(err)}`);
    }
    // Swap: unchanged frontends keep their sockets and flows and only get new backends/settings.
    for (const l of lb.listeners) {
      const key = frontendOf(l);
      const listener = next.get(key)!;
      if (!opened.includes(listener)) listener.update(this.settingsFor(lb, l, health));
    }
    for (const [key, old] of prev?.listeners ?? []) if (!next.has(key)) old.destroy();
    this.pruneHealth(lb, health);
    this.lbs.set(lb.id, { lb, health, listeners: next });
  }

  async remove(loadBalancerId: string): Promise<void> {
    const rt = this.lbs.get(loadBalancerId);
    if (!rt) return;
    for (const l of rt.listeners.values()) l.destroy();
    this.lbs.delete(loadBalancerId);
  }

  setHealth(loadBalancerId: string, probe: string, address: string, up: boolean): void {
    const rt = this.lbs.get(loadBalancerId);
    if (!rt) return;
    rt.health.set(healthKey(probe, address), up);
    for (const l of rt.listeners.values()) if (l.settings.pool.usesProbe(probe)) l.healthChanged(address, up);
  }

  status(): ListenerStatus[] {
    const out: ListenerStatus[] = [];
    for (const [id, rt] of this.lbs) {
      for (const l of rt.listeners.values()) {
        const counts = l.flowsByBackend();
        const pool = l.settings.pool;
        out.push({
          loadBalancerId: id,
          listener: l.settings.config.name,
          frontend: l.frontend,
          backends: pool.backends.map((b) => ({ address: b.address, destination: b.key, up: pool.isUp(b), activeFlows: counts.get(b.key) ?? 0 })),
        });
      }
    }
    return out;
  }

  async trafficCounters(): Promise<CounterReading[]> {
    const tally = this.traffic;
    if (!tally) return [];
    const flows = new Map<string, number>();
    for (const rt of this.lbs.values())
      for (const l of rt.listeners.values()) {
        const counts = l.flowsByBackend();
        for (const b of l.settings.pool.backends) flows.set(seriesId(seriesKeyOf(l.settings, b)), counts.get(b.key) ?? 0);
      }
    const readings = tally.read((key) => flows.get(seriesId(key)) ?? 0);
    // Series of rules and backends no longer served go once their last totals have surely been read.
    tally.retain((key) => flows.has(seriesId(key)));
    return readings;
  }

  stats(): FlowStats {
    return { activeFlows: this.limit.active, refusedFlows: this.limit.refused, maxConnections: this.limit.max };
  }

  /** `deadlineMs` is how long (from now) established flows may drain before they are cut. */
  async close(deadlineMs: number): Promise<void> {
    const all = [...this.lbs.values()].flatMap((rt) => [...rt.listeners.values()]);
    for (const l of all) l.stopAccepting();
    const until = Date.now() + deadlineMs;
    while (Date.now() < until && all.some((l) => l.activeFlows > 0)) await new Promise((r) => setTimeout(r, 50));
    for (const l of all) l.destroy();
    this.lbs.clear();
  }

  private settingsFor(lb: CompiledLoadBalancer, l: CompiledListener, health: HealthMap): ListenerSettings {
    const probe = lb.probes.find((p) => p.name === l.probe);
    const pool = new BackendPool(l, health, probe?.noHealthyBackendsBehavior ?? "AllProbedDown");
    return { loadBalancerId: lb.id, config: l, pool, idleTimeoutMs: Math.max(1, l.idleTimeoutInMinutes * this.minuteMs), enableTcpReset: l.enableTcpReset };
  }

  /** Forget results of probes/targets the new version no longer has, so the map cannot grow without bound. */
  private pruneHealth(lb: CompiledLoadBalancer, health: HealthMap): void {
    const keep = new Set(lb.probes.flatMap((p) => p.targets.map((t) => healthKey(p.name, t))));
    for (const key of health.keys()) if (!keep.has(key)) health.delete(key);
  }
}

export function createUserspaceDriver(opts: UserspaceDriverOptions): UserspaceDriver {
  return new UserspaceDriver(opts);
}
