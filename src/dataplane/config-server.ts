// The agent's own HTTP endpoint.
//   PUT /v1/config  Bearer <push token from registration>: apply a pushed config → ConfigAck;
//                   400 ProtocolVersionUnsupported (a version this agent does not speak),
//                   409 DeltaBaseMismatch (a delta on a generation this agent has not: send full).
//   GET /v1/status  no auth: applied generation, load balancers, listeners, backend health, flows.
//   GET /metrics    no auth: Prometheus traffic metrics (src/dataplane/metrics/prometheus.ts), same reasoning.
// Status is unauthenticated so operators can curl it; it carries no credentials, only what the
// agent forwards (the default listen address is loopback). Config is never accepted before the agent
// has registered, because only registration tells it which token lbplane will present.

import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { DELTA_BASE_MISMATCH, type AgentConfig, type ConfigAck } from "../domain/agent-protocol.js";
import { BaseMismatch } from "./config-applier.js";
import { asConfig, checkEnvelope, checkProtocolVersion } from "./config-validate.js";
import { errorText, type Logger } from "./log.js";

const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface ConfigServerHandlers {
  applyConfig(config: AgentConfig): Promise<ConfigAck>;
  status(): unknown;
  /** Prometheus exposition text. */
  metrics?(): Promise<{ contentType: string; text: string }>;
  /** Token the control plane must present, or undefined before registration. */
  pushToken(): string | undefined;
  log: Logger;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ConfigServer {
  private readonly server: http.Server;

  constructor(private readonly h: ConfigServerHandlers) {
    this.server = http.createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }, (req, res) => {
      if ((req.url ?? "/").split("?")[0] === "/metrics" && req.method === "GET" && this.h.metrics) return this.scrape(req, res);
      this.route(req).then(
        (body) => send(res, 200, body),
        (err) => {
          if (err instanceof HttpError) return send(res, err.status, { error: { code: err.code, message: err.message } });
          this.h.log.error("config endpoint failed", { err: errorText(err) });
          send(res, 500, { error: { code: "InternalError", message: errorText(err) } });
        },
      );
    });
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host, port }, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private scrape(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    this.h.metrics!().then(
      ({ contentType, text }) => {
        res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
        res.end(text);
      },
      (err) => {
        this.h.log.error("metrics scrape failed", { err: errorText(err) });
        send(res, 500, { error: { code: "InternalError", message: errorText(err) } });
      },
    );
  }

  private async route(req: http.IncomingMessage): Promise<unknown> {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/v1/status") {
      if (req.method !== "GET") throw new HttpError(405, "MethodNotAllowed", "use GET");
      req.resume();
      return this.h.status();
    }
    if (path !== "/v1/config") throw new HttpError(404, "NotFound", `no route ${path}`);
    if (req.method !== "PUT") throw new HttpError(405, "MethodNotAllowed", "use PUT");
    this.authorize(req.headers.authorization);
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, "InvalidRequestFormat", "body is not valid JSON");
    }
    const unspoken = checkProtocolVersion(body);
    if (unspoken) throw new HttpError(400, "ProtocolVersionUnsupported", unspoken);
    const problem = checkEnvelope(body);
    if (problem) throw new HttpError(400, "InvalidRequestFormat", problem);
    try {
      return await this.h.applyConfig(asConfig(body));
    } catch (err) {
      if (err instanceof BaseMismatch) throw new HttpError(409, DELTA_BASE_MISMATCH, err.message);
      throw err;
    }
  }

  private authorize(header: string | undefined): void {
    const token = this.h.pushToken();
    if (token === undefined) throw new HttpError(503, "NotRegistered", "agent has not registered with lbplane yet");
    const expected = Buffer.from(`Bearer ${token}`);
    const given = Buffer.from(header ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new HttpError(401, "Unauthorized", "missing or wrong push token");
    }
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, "RequestTooLarge", `config larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
