// The agent's calls to lbplane (register, heartbeat, health, deregister) over one pooled undici
// client. Every call has connect/header/body timeouts and always consumes the response body, so a
// slow or misbehaving control plane can neither hang the agent nor leak sockets.

import { Pool } from "undici";
import type { HealthReport, HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse } from "../domain/agent-protocol.js";
import type { TrafficReport } from "../domain/metrics-protocol.js";
import type { Logger } from "./log.js";
import { ControlPlaneUnavailable, Reachability } from "./reachability.js";

export class ControlPlaneError extends Error {
  override name = "ControlPlaneError";
  constructor(
    readonly status: number,
    message: string,
    /** lbplane's Retry-After, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ControlPlaneClientOptions {
  timeoutMs?: number;
  /** Where the client says once that lbplane is unavailable, and when it is back. */
  log?: Logger;
}

export class ControlPlaneClient {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly reachability: Reachability | undefined;

  constructor(baseUrl: string, opts: ControlPlaneClientOptions = {}) {
    this.reachability = opts.log && new Reachability(opts.log);
    const url = new URL(baseUrl);
    // Keep a path prefix (lbplane behind a reverse proxy at /lbplane) but drop a trailing slash.
    this.prefix = url.pathname.replace(/\/+$/, "");
    const timeout = opts.timeoutMs ?? 5000;
    this.pool = new Pool(url.origin, { connections: 4, connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout });
  }

  register(joinToken: string, body: RegisterRequest): Promise<RegisterResponse> {
    return this.call("POST", "/dataplane/v1/agents/register", joinToken, body) as Promise<RegisterResponse>;
  }

  heartbeat(agentId: string, credential: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.call("POST", `/dataplane/v1/agents/${encodeURIComponent(agentId)}/heartbeat`, credential, body) as Promise<HeartbeatResponse>;
  }

  async reportHealth(agentId: string, credential: string, body: HealthReport): Promise<void> {
    await this.call("POST", `/dataplane/v1/agents/${encodeURIComponent(agentId)}/health`, credential, body);
  }

  async reportTraffic(agentId: string, credential: string, body: TrafficReport): Promise<void> {
    await this.call("POST", `/dataplane/v1/agents/${encodeURIComponent(agentId)}/metrics`, credential, body);
  }

  async deregister(agentId: string, credential: string): Promise<void> {
    await this.call("DELETE", `/dataplane/v1/agents/${encodeURIComponent(agentId)}`, credential);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async call(method: "POST" | "DELETE", path: string, token: string, body?: unknown): Promise<unknown> {
    let res: Awaited<ReturnType<Pool["request"]>>;
    try {
      res = await this.pool.request({
        method,
        path: this.prefix + path,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw this.unavailable(method, path, err);
    }
    const text = await res.body.text();
    // 503: lbplane is up but its database is not (or it is starting or stopping) — the same outage.
    if (res.statusCode === 503) throw this.unavailable(method, path, new ControlPlaneError(503, `${method} ${path} → 503: ${text.slice(0, 300)}`));
    this.reachability?.reached();
    if (res.statusCode >= 300) {
      const retryAfter = Number(res.headers["retry-after"]);
      const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
      throw new ControlPlaneError(res.statusCode, `${method} ${path} → ${res.statusCode}: ${text.slice(0, 300)}`, retryAfterMs);
    }
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new ControlPlaneError(res.statusCode, `${method} ${path}: response is not JSON`);
    }
  }

  private unavailable(method: string, path: string, cause: unknown): ControlPlaneUnavailable {
    this.reachability?.unavailable(`${method} ${path.replace(/\/agents\/[^/]+/, "/agents/{id}")}`, cause);
    return new ControlPlaneUnavailable(cause);
  }
}
