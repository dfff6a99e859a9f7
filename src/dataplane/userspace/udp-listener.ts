// A UDP frontend. UDP has no connections, so a flow is keyed by the client's address and port (with
// the frontend, that is the 5-tuple): each flow gets its own connected upstream socket, so replies
// from the backend map back to exactly one client, and it expires after the idle timeout.

import dgram from "node:dgram";
import net from "node:net";
import type { Backend } from "./backend-pool.js";
import { frontendOf, seriesKeyOf, type ForwardingListener, type ListenerDeps, type ListenerSettings } from "./listener.js";
import type { CounterReading } from "../metrics/counters.js";

interface UdpFlow {
  upstream: dgram.Socket;
  backend: Backend;
  /** Traffic counters of (this listener, backend); undefined = not counted. */
  tally: CounterReading | undefined;
  lastActive: number;
  /** Datagrams that arrived before the upstream socket finished connecting. */
  pending: Buffer[] | undefined;
  closed: boolean;
}

const MAX_PENDING = 64;

export class UdpListener implements ForwardingListener {
  readonly frontend: string;
  private readonly socket: dgram.Socket;
  private readonly flows = new Map<string, UdpFlow>();
  private readonly sweeper: NodeJS.Timeout;
  private accepting = true;

  constructor(
    public settings: ListenerSettings,
    private readonly deps: ListenerDeps,
  ) {
    this.frontend = frontendOf(settings.config);
    const type = net.isIPv6(settings.config.frontendIPAddress) ? "udp6" : "udp4";
    this.socket = dgram.createSocket({ type, reuseAddr: false });
    this.socket.on("message", (msg, rinfo) => this.receive(msg, rinfo));
    // Sweep often enough that a flow outlives its timeout by at most ~25%.
    const every = Math.min(5000, Math.max(50, Math.floor(settings.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.expire(), every);
    this.sweeper.unref();
  }

  get activeFlows(): number {
    return this.flows.size;
  }

  bind(): Promise<void> {
    const { frontendIPAddress: address, frontendPort: port } = this.settings.config;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        clearInterval(this.sweeper);
        reject(err);
      };
      this.socket.once("error", onError);
      this.socket.bind({ address, port, exclusive: true }, () => {
        this.socket.off("error", onError);
        this.socket.on("error", (err) => this.deps.log.error("udp listener error", { frontend: this.frontend, err: err.message }));
        resolve();
      });
    });
  }

  update(settings: ListenerSettings): void {
    this.settings = settings;
    for (const [key, f] of this.flows) if (!settings.pool.has(f.backend.key)) this.close(key, f);
  }

  // UDP flows have no state worth keeping on a dead backend: re-pick on the next datagram.
  healthChanged(address: string, up: boolean): void {
    if (up) return;
    for (const [key, f] of this.flows) {
      if (f.backend.address === address && !this.settings.pool.isUp(f.backend)) this.close(key, f);
    }
  }

  flowsByBackend(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of this.flows.values()) counts.set(f.backend.key, (counts.get(f.backend.key) ?? 0) + 1);
    return counts;
  }

  stopAccepting(): void {
    this.accepting = false; // keep the socket: replies of established flows still leave through it
  }

  destroy(): void {
    this.accepting = false;
    clearInterval(this.sweeper);
    for (const [key, f] of this.flows) this.close(key, f);
    try {
      this.socket.close();
    } catch {
      // never bound, or already closed
    }
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    const existing = this.flows.get(key);
    if (existing) {
      existing.lastActive = Date.now();
      if (existing.tally) {
        existing.tally.bytesIn += msg.length;
        existing.tally.packetsIn++;
      }
      if (existing.pending) {
        if (existing.pending.length < MAX_PENDING) existing.pending.push(msg);
      } else existing.upstream.send(msg);
      return;
    }
    if (!this.accepting || !this.deps.limit.tryAcquire()) return;
    const { config, pool } = this.settings;
    const backend = pool.pick({ srcIP: rinfo.address, srcPort: rinfo.port, dstIP: config.frontendIPAddress, dstPort: config.frontendPort, protocol: "Udp" });
    if (!backend) {
      this.deps.limit.release();
      return;
    }
    const upstream = dgram.createSocket(net.isIPv6(backend.host) ? "udp6" : "udp4");
    const tally = this.deps.traffic?.of(seriesKeyOf(this.settings, backend));
    if (tally) {
      tally.newFlows++;
      tally.bytesIn += msg.length;
      tally.packetsIn++;
    }
    const flow: UdpFlow = { upstream, backend, tally, lastActive: Date.now(), pending: [msg], closed: false };
    this.flows.set(key, flow);
    upstream.on("message", (reply) => {
      flow.lastActive = Date.now();
      if (tally) {
        tally.bytesOut += reply.length;
        tally.packetsOut++;
      }
      try {
        this.socket.send(reply, rinfo.port, rinfo.address);
      } catch {
        this.close(key, flow); // frontend socket already closed (load balancer removed mid-flight)
      }
    });
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected socket: drop the flow, re-pick later.
    upstream.on("error", () => this.close(key, flow));
    upstream.connect(backend.port, backend.host, () => {
      const queued = flow.pending ?? [];
      flow.pending = undefined;
      for (const m of queued) upstream.send(m);
    });
  }

  private expire(): void {
    const cutoff = Date.now() - this.settings.idleTimeoutMs;
    for (const [key, f] of this.flows) if (f.lastActive < cutoff) this.close(key, f);
  }

  private close(key: string, f: UdpFlow): void {
    if (f.closed) return;
    f.closed = true;
    if (this.flows.get(key) === f) this.flows.delete(key);
    this.deps.limit.release();
    try {
      f.upstream.close();
    } catch {
      // already closed
    }
  }
}
