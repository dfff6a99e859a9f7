// What a forwarding driver tells the agent about traffic: cumulative counters per (load balancer, rule,
// frontend, backend) since the driver started counting. The agent (report.ts) turns readings into
// deltas, so drivers only ever add; a counter that went backwards (a kernel table re-created, a
// listener re-opened) is taken as restarted from zero rather than as negative traffic.

import type { TrafficSeries } from "../../domain/metrics-protocol.js";

export type SeriesKey = Pick<TrafficSeries, "loadBalancerId" | "rule" | "frontendIPAddress" | "frontendPort" | "protocol" | "backendIPAddress" | "backendPort">;

/**
 * Cumulative figures of one series; `currentFlows` is a gauge, absent when the driver cannot see flows.
 * A SNAT block's series (an outbound rule's block for one backend and transport: `rule` is the outbound
 * rule, `frontendIPAddress` the address it SNATs to, ports 0) carries the `snat` figures instead of traffic.
 */
export interface CounterReading {
  key: SeriesKey;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  newFlows: number;
  currentFlows?: number;
  snat?: SnatReading;
}

/** One SNAT block: its new connections (cumulative) and its ports (gauges, now). */
export interface SnatReading {
  /** New outbound flows the block carried. */
  connections: number;
  /** New-flow packets refused because the block was exhausted (a retransmitted attempt counts again). */
  failedConnections: number;
  /** The block's size. */
  allocatedPorts: number;
  /** Distinct ports of the block held by open flows now; absent when the driver cannot see them. */
  usedPorts?: number;
}

export const COUNTER_FIELDS = ["bytesIn", "bytesOut", "packetsIn", "packetsOut", "newFlows"] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

export const seriesId = (k: SeriesKey): string =>
  `${k.loadBalancerId}\n${k.rule}\n${k.frontendIPAddress}\n${k.frontendPort}\n${k.protocol}\n${k.backendIPAddress}\n${k.backendPort}`;

/**
 * Counters a userspace listener bumps as bytes cross its sockets: one object per (listener, backend),
 * looked up once per flow, so the per-chunk cost is an addition. Packets are socket reads for TCP (a
 * lower bound: the kernel may coalesce segments) and datagrams for UDP (exact).
 */
export class TrafficTally {
  private readonly series = new Map<string, CounterReading>();

  /** The counters of one series, created at zero on first use. */
  of(key: SeriesKey): CounterReading {
    const id = seriesId(key);
    let c = this.series.get(id);
    if (!c) this.series.set(id, (c = { key, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, newFlows: 0 }));
    return c;
  }

  /** Snapshot; `currentFlows(key)` supplies the gauge. Series of listeners gone keep their last totals. */
  read(currentFlows: (key: SeriesKey) => number | undefined): CounterReading[] {
    return [...this.series.values()].map((c) => ({ ...c, currentFlows: currentFlows(c.key) }));
  }

  private readonly unservedSince = new Map<string, number>();

  /**
   * Forget series no longer served once `graceMs` passed since they stopped, so every reader (the
   * reporter, a Prometheus scrape) has had the time to read their last totals.
   */
  retain(keep: (key: SeriesKey) => boolean, now = Date.now(), graceMs = 120_000): void {
    for (const [id, c] of this.series) {
      if (keep(c.key)) {
        this.unservedSince.delete(id);
        continue;
      }
      const since = this.unservedSince.get(id) ?? now;
      this.unservedSince.set(id, since);
      if (now - since >= graceMs) {
        this.series.delete(id);
        this.unservedSince.delete(id);
      }
    }
  }
}
