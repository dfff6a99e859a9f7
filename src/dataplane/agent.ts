// The agent core, independent of the forwarding driver: registers with lbplane (retrying until it
// answers), heartbeats, re-registers when lbplane no longer knows it (401/404, e.g. after a restore
// or the agent missed its liveness window), applies pushed config, probes DIPs, and reports health.
//
// Identity: a name is held by the live agent that registered it. A re-registration presents the
// credential this process last received, which proves it is the holder; a name held by another
// live agent answers 409, retried until about two liveness windows have passed (a restarted
// predecessor's registration lapses within one), then the agent gives up loudly (`onFatal`).
//
// Registration is retried no less often than a registered agent heartbeats (with jitter, so a fleet
// restarted together does not register in lockstep): a control plane that comes back is reached
// within one heartbeat interval by restarted agents too, not after a long backoff, and the rate is
// one lbplane already sustains from every agent.

import { SUPPORTED_PROTOCOL_VERSIONS, type CompiledLoadBalancer, type ProbeReport, type RegisterResponse } from "../domain/agent-protocol.js";
import { ConfigApplier } from "./config-applier.js";
import { ConfigServer } from "./config-server.js";
import { ControlPlaneClient, ControlPlaneError } from "./control-plane-client.js";
import { logCallFailure } from "./reachability.js";
import type { ForwardingDriver } from "./driver.js";
import { HealthReporter } from "./health-reporter.js";
import { AvailabilitySampler } from "./metrics/availability.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./metrics/prometheus.js";
import { TrafficReporter } from "./metrics/report.js";
import { errorText, type Logger } from "./log.js";
import { Prober } from "./prober.js";

export interface AgentOptions {
  controlPlaneUrl: string;
  name: string;
  location: string;
  joinToken: string;
  listenHost: string;
  listenPort: number;
  /** URL lbplane should push to; default http://<listen address> (set it when listening on 0.0.0.0). */
  advertiseUrl?: string;
  driver: ForwardingDriver;
  log: Logger;
  probeIntervalMs?: number;
  healthSummaryIntervalMs?: number;
  /** Traffic metrics: how often deltas go to lbplane (default 15 s) and availability is sampled (default 5 s). */
  trafficReportIntervalMs?: number;
  availabilitySampleMs?: number;
  controlPlaneTimeoutMs?: number;
  /** Longest wait between registration attempts; default the heartbeat interval (last announced, else lbplane's default). */
  maxRetryMs?: number;
  /**
   * How long a name held by another live agent is retried before giving up; default two liveness
   * windows (the last one lbplane announced, else the 409's Retry-After, else lbplane's default of 5 s).
   */
  nameTakenGiveUpMs?: number;
  /** The agent cannot go on (its name is held by another agent); the process should exit non-zero. */
  onFatal?: (reason: string) => void;
}

/** lbplane's default LBPLANE_AGENT_LIVENESS_MS, for an agent that has not been told the window yet. */
const DEFAULT_LIVENESS_MS = 5000;
/** The heartbeat interval lbplane announces for that window (a quarter of it). */
const DEFAULT_HEARTBEAT_MS = DEFAULT_LIVENESS_MS / 4;

export class Agent {
  url = "";
  private registration: RegisterResponse | undefined;
  /** The credential of the last successful registration: presented to prove a re-registration. */
  private credential: string | undefined;
  private livenessWindowMs: number | undefined;
  private heartbeatIntervalMs: number | undefined;
  private registering: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly client: ControlPlaneClient;
  private readonly server: ConfigServer;
  readonly applier: ConfigApplier;
  readonly prober: Prober;
  private readonly reporter: HealthReporter;
  readonly sampler: AvailabilitySampler;
  readonly traffic: TrafficReporter;

  constructor(private readonly opts: AgentOptions) {
    const { log, driver } = opts;
    this.client = new ControlPlaneClient(opts.controlPlaneUrl, { timeoutMs: opts.controlPlaneTimeoutMs, log });
    this.prober = new Prober({ log, intervalOverrideMs: opts.probeIntervalMs, onTransition: (r) => this.onProbeTransition(r) });
    this.applier = new ConfigApplier(driver, log, (lbs: CompiledLoadBalancer[]) => this.prober.sync(lbs));
    this.reporter = new HealthReporter({
      log,
      fullIntervalMs: opts.healthSummaryIntervalMs ?? 10_000,
      summary: () => this.prober.reports(),
      send: async (report) => {
        const reg = this.registration;
        if (!reg) throw new Error("not registered");
        try {
          await this.client.reportHealth(reg.agentId, reg.credential, report);
        } catch (err) {
          if (isForgotten(err)) this.reregister(reg);
          throw err;
        }
      },
    });
    this.sampler = new AvailabilitySampler({
      loadBalancers: () => this.applier.appliedLoadBalancers(),
      probeReports: () => this.prober.reports(),
      listeners: () => driver.status(),
      frontendsInForce: driver.frontendsInForce ? () => driver.frontendsInForce!() : undefined,
    });
    this.traffic = new TrafficReporter({
      log,
      read: async () => (await driver.trafficCounters?.()) ?? [],
      sampler: this.sampler,
      reportIntervalMs: opts.trafficReportIntervalMs ?? 15_000,
      sampleIntervalMs: opts.availabilitySampleMs ?? 5_000,
      send: async (report) => {
        const reg = this.registration;
        if (!reg) throw new Error("not registered");
        await this.client.reportTraffic(reg.agentId, reg.credential, report);
      },
    });
    this.server = new ConfigServer({
      log,
      metrics: async () => ({
        contentType: PROMETHEUS_CONTENT_TYPE,
        text: renderPrometheus(driver.name, (await driver.trafficCounters?.()) ?? [], this.sampler.current()),
      }),
      applyConfig: (config) => {
        log.info("config pushed", {
          generation: config.generation,
          from: config.fromGeneration,
          upserts: config.upserts.length,
          removals: config.removals.length,
        });
        return this.applier.apply(config);
      },
      status: () => this.status(),
      pushToken: () => this.registration?.pushToken,
    });
  }

  get agentId(): string | undefined {
    return this.registration?.agentId;
  }

  /** Listen for config, then register in the background (lbplane may not be up yet). */
  async start(): Promise<void> {
    const addr = await this.server.listen(this.opts.listenHost, this.opts.listenPort);
    const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    this.url = this.opts.advertiseUrl ?? `http://${host}:${addr.port}`;
    this.opts.log.info("config endpoint listening", { url: this.url, driver: this.opts.driver.name });
    this.reporter.start();
    this.traffic.start();
    void this.ensureRegistered();
  }

  /** Resolves once registered (for callers that must not push before that). */
  ensureRegistered(): Promise<void> {
    this.registering ??= this.registerLoop().finally(() => (this.registering = undefined));
    return this.registering;
  }

  status() {
    const driver = this.opts.driver as ForwardingDriver & { stats?: () => unknown };
    const listeners = driver.status();
    return {
      agentId: this.registration?.agentId ?? null,
      name: this.opts.name,
      location: this.opts.location,
      driver: driver.name,
      appliedGeneration: this.applier.generation,
      loadBalancers: this.applier.states(),
      listeners,
      probes: this.prober.snapshot(),
      flows: driver.stats?.() ?? { activeFlows: listeners.flatMap((l) => l.backends).reduce((n, b) => n + b.activeFlows, 0) },
    };
  }

  /** Graceful shutdown: deregister, stop probing, let flows drain up to `drainMs`, close everything. */
  async stop(drainMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.heartbeatTimer);
    this.reporter.stop();
    this.traffic.stop();
    const reg = this.registration;
    if (reg) await this.traffic.report(); // the last deltas, before the credential is given up
    if (reg) {
      await this.client.deregister(reg.agentId, reg.credential).then(
        () => this.opts.log.info("deregistered", { agentId: reg.agentId }),
        (err) => this.opts.log.warn("deregister failed", { err: errorText(err) }),
      );
    }
    this.registration = undefined;
    await this.server.close();
    this.prober.stop();
    await this.opts.driver.close(drainMs);
    await this.client.close();
  }

  private async registerLoop(): Promise<void> {
    let delay = 200;
    let nameTakenSince: number | undefined;
    while (!this.stopped) {
      try {
        const reg = await this.client.register(this.opts.joinToken, {
          name: this.opts.name,
          location: this.opts.location,
          url: this.url,
          capabilities: this.opts.driver.capabilities,
          appliedGeneration: this.applier.generation,
          protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
          ...(this.credential ? { credential: this.credential } : {}),
        });
        this.registration = reg;
        this.credential = reg.credential;
        this.livenessWindowMs = reg.livenessWindowMs;
        this.heartbeatIntervalMs = reg.heartbeatIntervalMs;
        this.opts.log.info("registered", { agentId: reg.agentId, heartbeatIntervalMs: reg.heartbeatIntervalMs });
        this.scheduleHeartbeat();
        // lbplane may have lost what we reported before (restart, restore): tell it everything now.
        void this.reporter.flush();
        void this.reporter.sendFull();
        return;
      } catch (err) {
        let maxDelay = this.opts.maxRetryMs ?? this.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
        if (err instanceof ControlPlaneError && err.status === 409) {
          // A new process learns the window from the 409 itself (Retry-After): assuming lbplane's
          // default would give up before a longer window lets its predecessor's registration lapse.
          const window = this.livenessWindowMs ?? err.retryAfterMs ?? DEFAULT_LIVENESS_MS;
          const giveUpMs = this.opts.nameTakenGiveUpMs ?? 2 * window;
          nameTakenSince ??= Date.now();
          if (Date.now() - nameTakenSince >= giveUpMs) {
            const reason =
              `the agent name '${this.opts.name}' is held by another live agent (lbplane answered 409 for ${giveUpMs} ms); ` +
              "stop the other agent or start this one with another --name";
            this.opts.log.error("name taken; giving up", { name: this.opts.name, err: errorText(err) });
            this.opts.onFatal?.(reason);
            return;
          }
          // Poll often enough to catch the name the moment a lapsed holder frees it.
          maxDelay = Math.min(maxDelay, Math.max(100, Math.floor(window / 4)));
          this.opts.log.warn("agent name held by another live agent; retrying", { name: this.opts.name, retryInMs: Math.min(delay, maxDelay) });
        } else if (err instanceof ControlPlaneError && (err.status === 400 || err.status === 403)) {
          // A refused push URL (not an origin, outside LBPLANE_AGENT_NETWORKS) or another bad
          // registration: retrying the same request cannot succeed, so say why and stop.
          const reason = `lbplane refused the registration (${err.status}): ${errorText(err)}; check --advertise-url and the other flags`;
          this.opts.log.error("registration refused; giving up", { err: errorText(err) });
          this.opts.onFatal?.(reason);
          return;
        } else {
          nameTakenSince = undefined;
          logCallFailure(this.opts.log, "registration failed; retrying", err, { retryInMs: Math.min(delay, maxDelay) });
        }
        delay = Math.min(delay, maxDelay);
        // "Equal jitter": half the delay fixed, half random (the log above names the longest wait).
        await new Promise((r) => setTimeout(r, Math.round(delay / 2 + (Math.random() * delay) / 2)));
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }

  private scheduleHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    const reg = this.registration;
    if (!reg || this.stopped) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(reg), reg.heartbeatIntervalMs);
  }

  private async heartbeat(reg: RegisterResponse): Promise<void> {
    try {
      const res = await this.client.heartbeat(reg.agentId, reg.credential, { appliedGeneration: this.applier.generation });
      if (res && res.desiredGeneration > this.applier.generation) {
        this.opts.log.debug("behind desired generation; lbplane will push", { desired: res.desiredGeneration, applied: this.applier.generation });
      }
    } catch (err) {
      if (isForgotten(err)) return this.reregister(reg);
      logCallFailure(this.opts.log, "heartbeat failed", err);
    }
    if (this.registration === reg) this.scheduleHeartbeat();
  }

  private reregister(stale: RegisterResponse): void {
    if (this.registration !== stale || this.stopped) return;
    this.opts.log.warn("lbplane no longer knows this agent; registering again", { agentId: stale.agentId });
    clearTimeout(this.heartbeatTimer);
    this.registration = undefined;
    void this.ensureRegistered();
  }

  private onProbeTransition(report: ProbeReport): void {
    // Steer new flows first: the data plane must not wait for a round trip to lbplane.
    this.opts.driver.setHealth(report.loadBalancerId, report.probe, report.backendAddress, report.state === "Up");
    this.reporter.transition(report);
  }
}

function isForgotten(err: unknown): boolean {
  return err instanceof ControlPlaneError && (err.status === 401 || err.status === 404);
}
