// Probes every DIP of every probe of the load balancers in force. Azure's state machine: a target
// is marked Down after `probeThreshold` consecutive failures and Up after one success. A target starts
// Unknown and its first result is a transition either way, so a dead backend leaves rotation as soon
// as the first attempt fails instead of after a full threshold window. Unknown targets are eligible
// for new flows (see backend-pool.ts): a fresh config serves at once instead of waiting for probes.

import type { CompiledLoadBalancer, CompiledProbe, HealthState, ProbeReport } from "../domain/agent-protocol.js";
import type { Logger } from "./log.js";
import { runProbe, type ProbeCheck } from "./probe-checks.js";

export interface ProbeTargetState {
  loadBalancerId: string;
  probe: string;
  address: string;
  state: HealthState | "Unknown";
  since: string;
  reason?: string;
  consecutiveFailures: number;
}

export interface ProberOptions {
  log: Logger;
  /** Overrides every probe's intervalInSeconds (labs, tests, fast failover). */
  intervalOverrideMs?: number;
  onTransition: (report: ProbeReport) => void;
  check?: ProbeCheck;
}

interface Target extends ProbeTargetState {
  spec: CompiledProbe;
  signature: string;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

const MAX_TIMEOUT_MS = 5000;

export class Prober {
  private readonly targets = new Map<string, Target>();
  private readonly check: ProbeCheck;

  constructor(private readonly opts: ProberOptions) {
    this.check = opts.check ?? runProbe;
  }

  /** Probe exactly the targets of `lbs`; targets whose probe is unchanged keep their state. */
  sync(lbs: CompiledLoadBalancer[]): void {
    const wanted = new Set<string>();
    for (const lb of lbs) {
      for (const probe of lb.probes) {
        const signature = JSON.stringify([probe.protocol, probe.port, probe.requestPath, probe.intervalInSeconds, probe.probeThreshold]);
        for (const address of new Set(probe.targets)) {
          const key = `${lb.id}\n${probe.name}\n${address}`;
          wanted.add(key);
          const existing = this.targets.get(key);
          if (existing?.signature === signature) continue;
          if (existing) this.stopTarget(existing);
          const t: Target = {
            loadBalancerId: lb.id, probe: probe.name, address, state: "Unknown", since: new Date().toISOString(),
            consecutiveFailures: 0, spec: probe, signature, stopped: false,
          };
          this.targets.set(key, t);
          this.schedule(t, 0);
        }
      }
    }
    for (const [key, t] of this.targets) {
      if (wanted.has(key)) continue;
      this.stopTarget(t);
      this.targets.delete(key);
    }
  }

  snapshot(): ProbeTargetState[] {
    return [...this.targets.values()].map(({ loadBalancerId, probe, address, state, since, reason, consecutiveFailures }) =>
      ({ loadBalancerId, probe, address, state, since, reason, consecutiveFailures }));
  }

  /** Every target with a known state, as the periodic summary reports them. */
  reports(): ProbeReport[] {
    return [...this.targets.values()].filter((t) => t.state !== "Unknown").map((t) => toReport(t));
  }

  stop(): void {
    for (const t of this.targets.values()) this.stopTarget(t);
    this.targets.clear();
  }

  private intervalMs(t: Target): number {
    return this.opts.intervalOverrideMs ?? t.spec.intervalInSeconds * 1000;
  }

  private schedule(t: Target, delayMs: number): void {
    t.timer = setTimeout(() => void this.run(t), delayMs);
    t.timer.unref();
  }

  private async run(t: Target): Promise<void> {
    const interval = this.intervalMs(t);
    const failure = await this.check(t.spec, t.address, Math.min(interval, MAX_TIMEOUT_MS));
    if (t.stopped) return;
    this.record(t, failure);
    this.schedule(t, interval);
  }

  private record(t: Target, failure: string | undefined): void {
    if (failure === undefined) {
      t.consecutiveFailures = 0;
      t.reason = undefined;
      if (t.state !== "Up") this.transition(t, "Up");
      return;
    }
    t.consecutiveFailures++;
    t.reason = failure;
    if (t.state === "Unknown" || (t.state === "Up" && t.consecutiveFailures >= t.spec.probeThreshold)) this.transition(t, "Down");
  }

  private transition(t: Target, state: HealthState): void {
    t.state = state;
    t.since = new Date().toISOString();
    this.opts.log.info("probe transition", { loadBalancerId: t.loadBalancerId, probe: t.probe, address: t.address, state, reason: t.reason });
    this.opts.onTransition(toReport(t));
  }

  private stopTarget(t: Target): void {
    t.stopped = true;
    clearTimeout(t.timer);
  }
}

function toReport(t: ProbeTargetState): ProbeReport {
  const r: ProbeReport = { loadBalancerId: t.loadBalancerId, probe: t.probe, backendAddress: t.address, state: t.state as HealthState, since: t.since };
  if (t.reason) r.reason = t.reason;
  return r;
}
