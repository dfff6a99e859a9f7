// Availability samples, taken every few seconds, for Azure's two availability metrics:
//   Data Path Availability (VipAvailability), per frontend:
//     TCP (one port): a synthetic TCP flow from this host to VIP:port through the data path — it succeeds
//       only if the forwarding in force carries it to a backend that accepts, so a broken VIP path, a
//       lost table or no healthy backend all show.
//     UDP and HA ports (protocol All): the health of the path. A synthetic datagram proves nothing in
//       general — a UDP service need not answer, and silence cannot tell a lost datagram from a quiet
//       one — and HA ports have no one port to try. So the frontend is available when the data path
//       itself holds it (driver.frontendsInForce: nftables reads its dispatch entries back from the
//       kernel; a userspace listener is its open socket) and it steers new flows to at least one backend
//       (one probed Up, or unprobed, or all of them under noHealthyBackendsBehavior AllProbedUp).
//   Health Probe Status (DipAvailability): the prober's current verdict for each (rule, backend).
// Samples accumulate per target until a report carries them, so memory is bounded by the
// configuration, never by time.

import net from "node:net";
import type { CompiledListener, CompiledLoadBalancer, ProbeReport } from "../../domain/agent-protocol.js";
import type { AvailabilitySample } from "../../domain/metrics-protocol.js";
import { frontendOf, type ListenerStatus } from "../driver.js";

export interface AvailabilityOptions {
  loadBalancers: () => CompiledLoadBalancer[];
  probeReports: () => ProbeReport[];
  /** A synthetic flow that has not connected within this is a failure (default 1 s). */
  connectTimeoutMs?: number;
  /** Try a TCP flow to host:port; resolves true when it connects. Tests may replace it. */
  connect?: (host: string, port: number, timeoutMs: number) => Promise<boolean>;
  /** The driver's listeners and their backends' state (driver.status()); without it, UDP and HA-ports frontends are not sampled. */
  listeners?: () => ListenerStatus[];
  /** Frontends the data path holds now (driver.frontendsInForce); absent = listeners() is the data path's word. */
  frontendsInForce?: () => Promise<Set<string>>;
}

/** Data Path Availability by the health of the path, for a frontend no synthetic flow can prove (see the header). */
async function pathSamples(lbs: CompiledLoadBalancer[], opts: AvailabilityOptions): Promise<Array<{ target: Target; up: boolean }>> {
  const targets = lbs.flatMap((lb) => lb.listeners.filter((l) => !bySyntheticFlow(l)).map((l) => ({ lb, l })));
  if (targets.length === 0 || !opts.listeners) return [];
  const statuses = new Map(opts.listeners().map((s) => [`${s.loadBalancerId}\n${s.listener}\n${s.frontend}`, s]));
  const inForce = await opts.frontendsInForce?.();
  return targets.map(({ lb, l }) => {
    const frontend = frontendOf(l);
    const status = statuses.get(`${lb.id}\n${l.name}\n${frontend}`);
    const allProbedUp = lb.probes.find((p) => p.name === l.probe)?.noHealthyBackendsBehavior === "AllProbedUp";
    const steers = !!status && status.backends.length > 0 && (allProbedUp || status.backends.some((b) => b.up));
    const up = steers && (inForce?.has(`${lb.id}\n${frontend}`) ?? true);
    return { target: vipTarget(lb, l), up };
  });
}

const PARALLEL = 64;
/** The protocol's cap per item (about two months of 5 s samples). */
const MAX_SAMPLES = 1_000_000;

type Target = Omit<AvailabilitySample, "up" | "samples">;

/** TCP frontends with one port are sampled by a synthetic flow; the others by the health of the path. */
const bySyntheticFlow = (l: CompiledListener): boolean => l.protocol === "Tcp" && l.frontendPort !== 0;

const vipTarget = (lb: CompiledLoadBalancer, l: CompiledListener): Target => ({
  kind: "Vip", loadBalancerId: lb.id, frontendIPAddress: l.frontendIPAddress, frontendPort: l.frontendPort, protocol: l.protocol,
});

const sampleId = (s: Target): string =>
  `${s.kind}\n${s.loadBalancerId}\n${s.frontendIPAddress}\n${s.frontendPort}\n${s.protocol}\n${s.backendIPAddress ?? ""}\n${s.backendPort ?? ""}`;

/**
 * A synthetic TCP flow: it succeeds when it connects and is not reset within `settleMs`. The wait matters
 * for a proxy (the userspace driver accepts first, then resets the client when no backend takes the
 * flow); a backend that answers and closes (FIN) is a success too.
 */
export function tryConnect(host: string, port: number, timeoutMs: number, settleMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.removeAllListeners();
      s.on("error", () => {});
      s.destroy();
      resolve(ok);
    };
    let timer = setTimeout(() => done(false), timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(true), settleMs);
    });
    s.on("data", () => {}); // a banner is fine; reading keeps the socket flowing
    s.once("end", () => done(true));
    s.once("error", () => done(false));
  });
}

export class AvailabilitySampler {
  private pending = new Map<string, AvailabilitySample>();
  /** The latest single sample per target (100 or 0), for the Prometheus gauges. */
  private readonly latest = new Map<string, AvailabilitySample>();

  constructor(private readonly opts: AvailabilityOptions) {}

  /**
   * One round: a synthetic flow per TCP frontend (in parallel), the path's health per UDP or HA-ports
   * frontend, and the probe verdict per (rule, backend).
   */
  async sample(): Promise<void> {
    const lbs = this.opts.loadBalancers();
    const states = new Map(this.opts.probeReports().map((r) => [`${r.loadBalancerId}\n${r.probe}\n${r.backendAddress}`, r.state]));
    const frontends = new Map<string, Target>();
    for (const lb of lbs)
      for (const l of lb.listeners) {
        if (bySyntheticFlow(l)) {
          const f = vipTarget(lb, l);
          frontends.set(sampleId(f), f);
        }
        if (l.probe === undefined) continue;
        for (const b of l.backends) {
          const state = states.get(`${lb.id}\n${l.probe}\n${b.address}`);
          if (state === undefined) continue; // not probed yet: no verdict to count
          this.add({
            kind: "Dip", loadBalancerId: lb.id, frontendIPAddress: l.frontendIPAddress, frontendPort: l.frontendPort, protocol: l.protocol,
            backendIPAddress: b.address, backendPort: b.destinationPort,
          }, state === "Up");
        }
      }
    for (const { target, up } of await pathSamples(lbs, this.opts)) this.add(target, up);
    const configured = new Set(lbs.map((lb) => lb.id));
    for (const [id, s] of this.latest) if (!configured.has(s.loadBalancerId)) this.latest.delete(id);
    const connect = this.opts.connect ?? tryConnect;
    const timeout = this.opts.connectTimeoutMs ?? 1000;
    // At most PARALLEL synthetic flows at once: a location of 1,500 frontends must not open 1,500 sockets together.
    const queue = [...frontends.values()];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) this.add(f, await connect(f.frontendIPAddress, f.frontendPort, timeout));
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
  }

  /** Everything sampled since the last take; the caller gives it back with `restore` if sending failed. */
  take(): AvailabilitySample[] {
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }

  restore(samples: AvailabilitySample[]): void {
    for (const s of samples) this.merge(s);
  }

  /** Latest sample per target, as a percentage (for Prometheus). */
  current(): AvailabilitySample[] {
    return [...this.latest.values()];
  }

  private add(target: Target, up: boolean): void {
    const s = { ...target, up: up ? 1 : 0, samples: 1 };
    this.latest.set(sampleId(s), s);
    this.merge(s);
  }

  private merge(s: AvailabilitySample): void {
    const id = sampleId(s);
    const p = this.pending.get(id);
    if (!p) this.pending.set(id, { ...s });
    else if (p.samples + s.samples <= MAX_SAMPLES) {
      p.up += s.up;
      p.samples += s.samples;
    } // else: lbplane has been unreachable for weeks; older samples are enough to say what happened
  }
}
