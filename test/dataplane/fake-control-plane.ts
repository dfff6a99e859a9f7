// A stand-in for lbplane's agent endpoints, as a real HTTP server: it registers agents, records
// heartbeats, health and traffic reports, and pushes config to an agent over HTTP with undici exactly as the
// real control plane does. Enough to test the agent without Postgres or the API.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import type { AgentConfig, ConfigAck, HealthReport, RegisterRequest } from "../../src/domain/agent-protocol.js";
import type { TrafficReport } from "../../src/domain/metrics-protocol.js";
import { waitUntil } from "../kit/wait.js";

export interface FakeAgentRecord extends RegisterRequest {
  agentId: string;
  credential: string;
  pushToken: string;
  heartbeats: number;
}

export class FakeControlPlane {
  readonly joinToken = "join-secret";
  url = "";
  readonly agents = new Map<string, FakeAgentRecord>();
  readonly registrations: RegisterRequest[] = [];
  readonly healthReports: Array<HealthReport & { agentId: string }> = [];
  readonly trafficReports: Array<TrafficReport & { agentId: string }> = [];
  readonly deregistered: string[] = [];
  private next = 1;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  constructor(private readonly heartbeatIntervalMs = 200) {}

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Simulate lbplane losing the agent (restore, missed liveness window): its calls get 404. */
  forget(agentId: string): void {
    this.agents.delete(agentId);
  }

  agentNamed(name: string): FakeAgentRecord | undefined {
    return [...this.agents.values()].find((a) => a.name === name);
  }

  async waitForAgent(name: string, timeoutMs = 10_000): Promise<FakeAgentRecord> {
    await waitUntil(() => this.agentNamed(name) !== undefined, timeoutMs, `agent ${name} never registered`);
    return this.agentNamed(name)!;
  }

  /** The latest state reported for one (load balancer, probe, DIP), transitions and summaries alike. */
  lastReported(lbId: string, probe: string, address: string): string | undefined {
    for (let i = this.healthReports.length - 1; i >= 0; i--) {
      const r = this.healthReports[i]!.reports.find((x) => x.loadBalancerId === lbId && x.probe === probe && x.backendAddress === address);
      if (r) return r.state;
    }
    return undefined;
  }

  async push(agent: FakeAgentRecord, config: AgentConfig, token = agent.pushToken): Promise<{ status: number; body: any }> {
    const res = await request(`${agent.url}/v1/config`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(config),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  async pushOk(agent: FakeAgentRecord, config: AgentConfig): Promise<ConfigAck> {
    const { status, body } = await this.push(agent, config);
    if (status !== 200) throw new Error(`push → ${status}: ${JSON.stringify(body)}`);
    return body as ConfigAck;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      const reply = (status: number, body?: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body === undefined ? "" : JSON.stringify(body));
      };
      const auth = req.headers.authorization ?? "";
      const url = req.url ?? "";
      if (req.method === "POST" && url === "/dataplane/v1/agents/register") {
        if (auth !== `Bearer ${this.joinToken}`) return reply(401, { error: { code: "Unauthorized" } });
        const body = JSON.parse(text) as RegisterRequest;
        this.registrations.push(body);
        const agentId = `agent-${this.next++}`;
        const rec: FakeAgentRecord = { ...body, agentId, credential: `cred-${agentId}`, pushToken: `push-${agentId}`, heartbeats: 0 };
        for (const [id, a] of this.agents) if (a.name === body.name) this.agents.delete(id);
        this.agents.set(agentId, rec);
        return reply(200, { agentId, credential: rec.credential, pushToken: rec.pushToken, heartbeatIntervalMs: this.heartbeatIntervalMs, livenessWindowMs: this.heartbeatIntervalMs * 3 });
      }
      const m = /^\/dataplane\/v1\/agents\/([^/]+)(?:\/(heartbeat|health|metrics))?$/.exec(url);
      const rec = m ? this.agents.get(decodeURIComponent(m[1]!)) : undefined;
      if (!m || !rec) return reply(404, { error: { code: "NotFound" } });
      if (auth !== `Bearer ${rec.credential}`) return reply(401, { error: { code: "Unauthorized" } });
      if (req.method === "POST" && m[2] === "heartbeat") {
        rec.heartbeats++;
        return reply(200, { desiredGeneration: 0 });
      }
      if (req.method === "POST" && m[2] === "health") {
        this.healthReports.push({ agentId: rec.agentId, ...(JSON.parse(text) as HealthReport) });
        return reply(204);
      }
      if (req.method === "POST" && m[2] === "metrics") {
        this.trafficReports.push({ agentId: rec.agentId, ...(JSON.parse(text) as TrafficReport) });
        return reply(204);
      }
      if (req.method === "DELETE" && !m[2]) {
        this.agents.delete(rec.agentId);
        this.deregistered.push(rec.agentId);
        return reply(204);
      }
      reply(405);
    });
  }
}

export { waitUntil };
