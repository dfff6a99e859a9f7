// Sends probe results to lbplane: each transition at once (batched while a send is in flight) and a
// full summary periodically, which also repairs anything a failed send or a control-plane restart
// lost. Pending transitions are kept per target (latest wins), so an unreachable control plane costs
// bounded memory, never an ever-growing queue.

import type { HealthReport, ProbeReport } from "./../domain/agent-protocol.js";
import { logCallFailure } from "./reachability.js";
import { errorText, type Logger } from "./log.js";

export interface HealthReporterOptions {
  send: (report: HealthReport) => Promise<void>;
  /** Every target with a known state, for the periodic summary. */
  summary: () => ProbeReport[];
  fullIntervalMs: number;
  retryMs?: number;
  log: Logger;
}

export class HealthReporter {
  private readonly pending = new Map<string, ProbeReport>();
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private fullTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: HealthReporterOptions) {}

  start(): void {
    this.fullTimer = setInterval(() => void this.sendFull(), this.opts.fullIntervalMs);
    this.fullTimer.unref();
  }

  stop(): void {
    clearInterval(this.fullTimer);
    clearTimeout(this.retryTimer);
  }

  transition(report: ProbeReport): void {
    this.pending.set(`${report.loadBalancerId}\n${report.probe}\n${report.backendAddress}`, report);
    void this.flush();
  }

  /** Send what is pending now (e.g. right after registering). */
  async flush(): Promise<void> {
    if (this.sending || this.pending.size === 0) return;
    this.sending = true;
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending.entries()];
        this.pending.clear();
        try {
          await this.opts.send({ full: false, reports: batch.map(([, r]) => r) });
        } catch (err) {
          // Put back what no newer transition replaced, and try again later.
          for (const [key, r] of batch) if (!this.pending.has(key)) this.pending.set(key, r);
          logCallFailure(this.opts.log, "health report failed; will retry", err, { pending: this.pending.size });
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.flush(), this.opts.retryMs ?? 1000);
          this.retryTimer.unref();
          return;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  async sendFull(): Promise<void> {
    try {
      await this.opts.send({ full: true, reports: this.opts.summary() });
    } catch (err) {
      this.opts.log.debug("health summary failed", { err: errorText(err) });
    }
  }
}
