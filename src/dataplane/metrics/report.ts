// Sends traffic metrics to lbplane every interval: counter deltas since the last ACCEPTED report, plus
// the availability samples taken since. The baseline advances only when lbplane answered 2xx, so a
// failed send is not lost — the next report carries its deltas too — and nothing is counted twice.
// Series with nothing new are left out (a quiet load balancer costs nothing). Sampling runs on its own
// shorter period so availability has several samples per minute.

import type { TrafficReport, TrafficSeries } from "../../domain/metrics-protocol.js";
import { MAX_TRAFFIC_SERIES } from "../../domain/metrics-protocol.js";
import { errorText, type Logger } from "../log.js";
import { logCallFailure } from "../reachability.js";
import type { AvailabilitySampler } from "./availability.js";
import { COUNTER_FIELDS, seriesId, type CounterReading } from "./counters.js";

export interface TrafficReporterOptions {
  /** Cumulative readings (the driver's trafficCounters), or undefined when the driver does not count. */
  read: () => Promise<CounterReading[]>;
  sampler: AvailabilitySampler;
  send: (report: TrafficReport) => Promise<void>;
  reportIntervalMs: number;
  sampleIntervalMs: number;
  log: Logger;
}

/** A counter's growth since its baseline; below the baseline it restarted from zero. */
const growth = (now: number, base: number | undefined): number => (base !== undefined && now >= base ? now - base : now);

/**
 * Deltas of `now` against `base`. A SNAT block's series always goes (its port gauges are the value now,
 * and an idle block's 0 used ports is a figure too, for the minute's average).
 */
export function deltasOf(now: CounterReading[], base: Map<string, CounterReading>): TrafficSeries[] {
  const out: TrafficSeries[] = [];
  for (const r of now) {
    const b = base.get(seriesId(r.key));
    const s: TrafficSeries = { ...r.key };
    let changed = false;
    for (const f of COUNTER_FIELDS) {
      const d = growth(r[f], b?.[f]);
      if (d > 0) {
        s[f] = d;
        changed = true;
      }
    }
    // Current flows are a gauge: sent while there are any, and once more when they fall to 0 (the last
    // accepted report had some), so lbplane sees the fall even in a report with no traffic.
    if (r.currentFlows !== undefined && (r.currentFlows > 0 || (b?.currentFlows ?? 0) > 0)) {
      s.currentFlows = r.currentFlows;
      changed = true;
    }
    if (r.snat) {
      const ok = growth(r.snat.connections, b?.snat?.connections);
      const failed = growth(r.snat.failedConnections, b?.snat?.failedConnections);
      if (ok > 0) s.snatConnections = ok;
      if (failed > 0) s.failedSnatConnections = failed;
      s.allocatedSnatPorts = r.snat.allocatedPorts;
      if (r.snat.usedPorts !== undefined) s.usedSnatPorts = r.snat.usedPorts;
      changed = true;
    }
    if (changed) out.push(s);
  }
  return out;
}

export class TrafficReporter {
  private baseline = new Map<string, CounterReading>();
  private reportTimer: NodeJS.Timeout | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  private sending = false;
  private sampling = false;

  constructor(private readonly opts: TrafficReporterOptions) {}

  start(): void {
    this.sampleTimer = setInterval(() => void this.sample(), this.opts.sampleIntervalMs);
    this.reportTimer = setInterval(() => void this.report(), this.opts.reportIntervalMs);
    this.sampleTimer.unref();
    this.reportTimer.unref();
  }

  stop(): void {
    clearInterval(this.sampleTimer);
    clearInterval(this.reportTimer);
  }

  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      await this.opts.sampler.sample();
    } catch (err) {
      this.opts.log.warn("availability sampling failed", { err: errorText(err) });
    } finally {
      this.sampling = false;
    }
  }

  /** One report now (also used by tests and on shutdown). Returns whether lbplane accepted it. */
  async report(): Promise<boolean> {
    if (this.sending) return false;
    this.sending = true;
    const availability = this.opts.sampler.take();
    try {
      const readings = await this.opts.read();
      const all = deltasOf(readings, this.baseline);
      const series = all.slice(0, MAX_TRAFFIC_SERIES);
      if (series.length === 0 && availability.length === 0) return true;
      await this.opts.send({ series, availability: availability.slice(0, MAX_TRAFFIC_SERIES) });
      // Series beyond the cap keep their old baseline: their deltas go with the next report.
      const held = new Set(all.slice(MAX_TRAFFIC_SERIES).map((s) => seriesId(s)));
      const next = new Map<string, CounterReading>();
      for (const r of readings) {
        const id = seriesId(r.key);
        const keep = held.has(id) ? this.baseline.get(id) : r;
        if (keep) next.set(id, keep);
      }
      this.baseline = next;
      return true;
    } catch (err) {
      this.opts.sampler.restore(availability);
      logCallFailure(this.opts.log, "traffic report failed; its figures go with the next one", err);
      return false;
    } finally {
      this.sending = false;
    }
  }
}
