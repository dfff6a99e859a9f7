// A fake data-plane agent: a REAL HTTP server on 127.0.0.1 that accepts config pushes (checking the
// push token) and talks to lbplane over HTTP like lbplane-agent does. Its behaviour can be switched
// while a test runs: acknowledge, refuse some load balancers, answer slowly, lie about the
// generation, or die in the middle of a push. It speaks push protocol 2 like lbplane-agent: it keeps
// the load balancers it serves, applies deltas only on the generation it has (409 DeltaBaseMismatch
// otherwise) and keeps a refused load balancer's last good version.

import http from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentConfig, CompiledLoadBalancer, ConfigAck, HealthReport, RegisterResponse } from "../../src/domain/agent-protocol.js";

export interface FakeAgentBehaviour {
  /** ARM ids (any case) this agent refuses, with the detail it gives. */
  refuse?: Map<string, string>;
  delayMs?: number;
  /** ACK a different generation than the one pushed. */
  lie?: boolean;
  /** Destroy the connection of the next push without answering, then stop listening. */
  dieOnNextPush?: boolean;
  /** Answer every push 503 (an agent that is up but cannot apply, so it misses generations). */
  unavailable?: boolean;
}

export class FakeAgent {
  behaviour: FakeAgentBehaviour = {};
  appliedGeneration = -1;
  readonly received: Array<{
    generation: number;
    from: AgentConfig["fromGeneration"];
    upserts: number;
    removals: number;
    bytes: number;
    at: number;
    auth: string | undefined;
  }> = [];
  /** What the agent serves, by id (a refused version never replaces the last good one). */
  readonly serving = new Map<string, CompiledLoadBalancer>();
  /** Pushes answered 409 because their base was not the generation in force. */
  baseMismatches = 0;
  private lastPush?: { generation: number; from: AgentConfig["fromGeneration"]; ack: ConfigAck };
  reg?: RegisterResponse;
  unauthorizedPushes = 0;
  /** Pushes being handled right now, and the most ever at once (one pusher per agent means 1). */
  inFlight = 0;
  maxInFlight = 0;
  startedPushes = 0;
  private server?: http.Server;
  private beat?: NodeJS.Timeout;
  private waiters: Array<{ gen: number; resolve: () => void }> = [];
  url = "";

  constructor(
    readonly name: string,
    readonly controlPlane: string,
    readonly location = "westeurope",
  ) {}

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if (req.method !== "PUT" || req.url !== "/v1/config") return void res.writeHead(404).end();
    if (!this.reg || req.headers.authorization !== `Bearer ${this.reg.pushToken}`) {
      this.unauthorizedPushes++;
      return void res.writeHead(401).end('{"error":{"code":"Unauthorized"}}');
    }
    this.startedPushes++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.answerPush(req, res, text);
    } finally {
      this.inFlight--;
    }
  }

  private async answerPush(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    if (this.behaviour.dieOnNextPush) {
      this.behaviour.dieOnNextPush = false;
      req.socket.destroy();
      await this.kill();
      return;
    }
    if (this.behaviour.delayMs) await new Promise((r) => setTimeout(r, this.behaviour.delayMs));
    const config = JSON.parse(text) as AgentConfig;
    this.received.push({
      generation: config.generation,
      from: config.fromGeneration,
      upserts: config.upserts.length,
      removals: config.removals.length,
      bytes: Buffer.byteLength(text),
      at: performance.now(),
      auth: req.headers.authorization,
    });
    if (this.behaviour.unavailable) return void res.writeHead(503).end('{"error":{"code":"Busy","message":"try later"}}');
    // The push just applied, again (its ACK was lost, or a second replica raced): the same ACK.
    const last = this.lastPush;
    if (last && last.generation === config.generation && last.from === config.fromGeneration && this.appliedGeneration === config.generation) {
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(last.ack));
    }
    if (config.fromGeneration !== "full" && config.fromGeneration !== this.appliedGeneration) {
      this.baseMismatches++;
      const message = `delta from ${config.fromGeneration}, have ${this.appliedGeneration}`;
      return void res.writeHead(409, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "DeltaBaseMismatch", message } }));
    }
    const refuse = this.behaviour.refuse ?? new Map<string, string>();
    const ack: ConfigAck = {
      generation: this.behaviour.lie ? config.generation + 7 : config.generation,
      loadBalancers: config.upserts.map((lb) => {
        const detail = refuse.get(lb.id.toLowerCase());
        return detail ? { id: lb.id, version: lb.version, state: "Refused" as const, detail } : { id: lb.id, version: lb.version, state: "Applied" as const };
      }),
    };
    if (!this.behaviour.lie) {
      if (config.fromGeneration === "full") {
        const named = new Set(config.upserts.map((lb) => lb.id));
        for (const id of [...this.serving.keys()]) if (!named.has(id)) this.serving.delete(id);
      }
      for (const id of config.removals) this.serving.delete(id);
      for (const lb of config.upserts) if (!refuse.has(lb.id.toLowerCase())) this.serving.set(lb.id, lb);
      this.appliedGeneration = config.generation;
      this.lastPush = { generation: config.generation, from: config.fromGeneration, ack };
      this.waiters = this.waiters.filter((w) => (w.gen <= config.generation ? (w.resolve(), false) : true));
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(ack));
  }

  /** Names of the load balancers served, sorted. */
  servedNames(): string[] {
    return [...this.serving.values()].map((lb) => lb.name).sort();
  }

  /** Resolves once a push of at least `generation` was applied. */
  waitForGeneration(generation: number, timeoutMs = 5000): Promise<void> {
    if (this.appliedGeneration >= generation) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: generation ${generation} not applied within ${timeoutMs} ms (have ${this.appliedGeneration})`)), timeoutMs);
      this.waiters.push({ gen: generation, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(this.controlPlane + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  async register(joinToken: string, opts: { empty?: boolean } = {}): Promise<RegisterResponse> {
    if (opts.empty) {
      this.appliedGeneration = -1;
      this.serving.clear();
      this.lastPush = undefined;
    }
    const res = await this.call("POST", "/dataplane/v1/agents/register", joinToken, {
      name: this.name,
      location: this.location,
      url: this.url,
      capabilities: { driver: "userspace", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"] },
      appliedGeneration: this.appliedGeneration,
      protocolVersions: [2],
      // Like lbplane-agent: a re-registration proves it is the name's holder with its credential.
      ...(this.reg ? { credential: this.reg.credential } : {}),
    });
    if (res.status !== 200) throw new Error(`register ${this.name}: ${res.status} ${JSON.stringify(res.json)}`);
    this.reg = res.json as RegisterResponse;
    return this.reg;
  }

  /** Heartbeats sent (answered or not). */
  beats = 0;

  heartbeat(): Promise<{ status: number; json: any }> {
    this.beats++;
    return this.call("POST", `/dataplane/v1/agents/${this.reg!.agentId}/heartbeat`, this.reg!.credential, { appliedGeneration: this.appliedGeneration });
  }

  /** Heartbeats at the interval registration asked for, until stopped. */
  startHeartbeats(): void {
    this.stopHeartbeats();
    this.beat = setInterval(() => void this.heartbeat().catch(() => {}), this.reg!.heartbeatIntervalMs);
  }

  stopHeartbeats(): void {
    if (this.beat) clearInterval(this.beat);
    this.beat = undefined;
  }

  reportHealth(report: HealthReport | string): Promise<{ status: number; json: any }> {
    return this.call("POST", `/dataplane/v1/agents/${this.reg!.agentId}/health`, this.reg!.credential, report);
  }

  /** The process "dies": no heartbeats, no listener. */
  async kill(): Promise<void> {
    this.stopHeartbeats();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
