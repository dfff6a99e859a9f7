// A TCP frontend: accepts client connections and splices each one to the backend its pool picks.
// Every flow is two independent sockets with their own timers, so a backend that accepts and then
// hangs only ever stalls its own flows. The backend is fixed when the flow starts: health changes
// steer new flows only, and a flow is cut only when its backend leaves the pool.

import net from "node:net";
import type { Backend } from "./backend-pool.js";
import { frontendOf, seriesKeyOf, type ForwardingListener, type ListenerDeps, type ListenerSettings } from "./listener.js";

interface TcpFlow {
  client: net.Socket;
  upstream: net.Socket;
  backend: Backend;
}

/** RST instead of FIN: what a client sees when a real L4 balancer drops or resets a flow. */
export function resetSocket(s: net.Socket): void {
  if (s.destroyed) return;
  // Node defers the RST of a still-connecting socket until it connects, which may be never; and
  // libuv refuses a reset after our FIN (EINVAL), after which Node emits 'error' but never 'close'
  // and leaks the descriptor. A plain close is the right thing in both cases.
  if (s.connecting || s.writableEnded) {
    s.destroy();
    return;
  }
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export class TcpListener implements ForwardingListener {
  readonly frontend: string;
  private readonly server: net.Server;
  private readonly flows = new Set<TcpFlow>();
  private accepting = true;

  constructor(
    public settings: ListenerSettings,
    private readonly deps: ListenerDeps,
  ) {
    this.frontend = frontendOf(settings.config);
    // allowHalfOpen: a client may send FIN after its request and still expect the whole response.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => this.accept(c));
  }

  get activeFlows(): number {
    return this.flows.size;
  }

  bind(): Promise<void> {
    const { frontendIPAddress: host, frontendPort: port } = this.settings.config;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen({ host, port, backlog: 1024 }, () => {
        this.server.off("error", onError);
        this.server.on("error", (err) => this.deps.log.error("tcp listener error", { frontend: this.frontend, err: err.message }));
        resolve();
      });
    });
  }

  update(settings: ListenerSettings): void {
    this.settings = settings;
    for (const f of this.flows) {
      if (!settings.pool.has(f.backend.key)) this.cut(f);
    }
  }

  healthChanged(): void {
    // Established TCP flows stay on their backend (Azure keeps flows pinned); only new flows move.
  }

  flowsByBackend(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of this.flows) counts.set(f.backend.key, (counts.get(f.backend.key) ?? 0) + 1);
    return counts;
  }

  stopAccepting(): void {
    this.accepting = false;
    this.server.close();
  }

  destroy(): void {
    this.stopAccepting();
    for (const f of this.flows) this.cut(f);
  }

  private cut(f: TcpFlow): void {
    resetSocket(f.client);
    resetSocket(f.upstream);
  }

  /** Traffic counters: one lookup per flow, then an addition per chunk read on either side. */
  private count(f: TcpFlow): void {
    const tally = this.deps.traffic?.of(seriesKeyOf(this.settings, f.backend));
    if (!tally) return;
    tally.newFlows++;
    f.client.on("data", (chunk: Buffer) => {
      tally.bytesIn += chunk.length;
      tally.packetsIn++;
    });
    f.upstream.on("data", (chunk: Buffer) => {
      tally.bytesOut += chunk.length;
      tally.packetsOut++;
    });
  }

  private accept(client: net.Socket): void {
    client.on("error", () => {}); // reported through 'close'; an unhandled 'error' would crash the agent
    if (!this.accepting || !this.deps.limit.tryAcquire()) {
      resetSocket(client);
      return;
    }
    const { config, pool, idleTimeoutMs, enableTcpReset } = this.settings;
    const backend = pool.pick({
      srcIP: client.remoteAddress ?? "",
      srcPort: client.remotePort ?? 0,
      dstIP: config.frontendIPAddress,
      dstPort: config.frontendPort,
      protocol: "Tcp",
    });
    if (!backend) {
      this.deps.limit.release();
      resetSocket(client); // no backend up and AllProbedDown: the flow is dropped
      return;
    }
    const upstream = net.connect({ host: backend.host, port: backend.port, allowHalfOpen: true, noDelay: true });
    const flow: TcpFlow = { client, upstream, backend };
    this.flows.add(flow);
    this.count(flow);

    // A SYN to a dead or blackholed backend must not hold the client (and a descriptor) forever.
    const connectTimer = setTimeout(() => this.cut(flow), this.deps.connectTimeoutMs);
    upstream.once("connect", () => clearTimeout(connectTimer));

    // Idle = no bytes either way; all bytes cross the client socket, so its timer covers both directions.
    client.setTimeout(idleTimeoutMs);
    client.on("timeout", () => {
      if (enableTcpReset) this.cut(flow);
      else {
        client.destroy();
        upstream.destroy();
      }
    });

    // Errors propagate as resets so each side sees what a direct connection would have shown.
    upstream.on("error", () => resetSocket(client));
    client.on("error", () => resetSocket(upstream));

    let closed = 0;
    const onClose = (hadError: boolean, other: net.Socket) => {
      if (hadError) resetSocket(other);
      if (++closed === 2) {
        clearTimeout(connectTimer);
        this.flows.delete(flow);
        this.deps.limit.release();
      }
    };
    client.once("close", (e) => onClose(e, upstream));
    upstream.once("close", (e) => onClose(e, client));

    client.pipe(upstream);
    upstream.pipe(client);
  }
}
