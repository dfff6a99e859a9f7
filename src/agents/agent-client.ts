// lbplane → agent: the config push over one undici Agent (pooled keep-alive connections per agent
// origin). Every request has connect/header/body timeouts and always consumes the response body, so
// a slow or dead agent can neither hang a reconciler slot nor leak sockets.

import { Agent as UndiciAgent, type Dispatcher } from "undici";
import { Compile } from "typebox/compile";
import {
  ConfigAckEnvelopeSchema,
  LoadBalancerOutcomeSchema,
  MAX_REFUSAL_DETAIL,
  type ConfigAck,
  type LoadBalancerOutcome,
} from "../domain/agent-protocol.js";

export class AgentPushError extends Error {
  override name = "AgentPushError";
  constructor(
    message: string,
    /** HTTP status when the agent answered, undefined for network errors and timeouts. */
    readonly status?: number,
    /** The error code of the agent's answer (e.g. DeltaBaseMismatch), when it gave one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface AgentClientOptions {
  connectTimeoutMs?: number;
  /** Time allowed for the agent to apply the config and answer. */
  requestTimeoutMs?: number;
  connectionsPerAgent?: number;
}

/** Where every agent takes pushes (src/dataplane/config-server.ts); never taken from a registration. */
const CONFIG_PATH = "/v1/config";

/** The largest ACK lbplane reads: per-LB outcomes for a location's worth of load balancers. */
const MAX_ACK_BYTES = 4 * 1024 * 1024;

export class AgentClient {
  private readonly dispatcher: UndiciAgent;

  constructor(opts: AgentClientOptions = {}) {
    const request = opts.requestTimeoutMs ?? 10_000;
    this.dispatcher = new UndiciAgent({
      connect: { timeout: opts.connectTimeoutMs ?? 2_000 },
      headersTimeout: request,
      bodyTimeout: request,
      // Pushes to one agent are serialised by the push lock; 2 leaves room for a racing replica.
      connections: opts.connectionsPerAgent ?? 2,
      keepAliveTimeout: 30_000,
    });
  }

  /**
   * PUT {origin of url}/v1/config; resolves with the agent's ACK, throws AgentPushError otherwise.
   * Only the URL's origin is used and the path is always lbplane's own: even a row registered
   * before push targets were checked cannot aim a push (and its token) at another endpoint.
   */
  async pushConfig(url: string, pushToken: string, body: string | Buffer, signal?: AbortSignal): Promise<ConfigAck> {
    let target: URL;
    try {
      target = new URL(CONFIG_PATH, new URL(url).origin);
    } catch {
      throw new AgentPushError(`agent url '${url}' is not a valid URL`);
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: target.origin,
        path: CONFIG_PATH,
        method: "PUT",
        headers: { authorization: `Bearer ${pushToken}`, "content-type": "application/json" },
        body,
        signal,
      });
    } catch (err) {
      throw new AgentPushError(`push to ${target.origin} failed: ${(err as Error).message}`);
    }
    let text: string;
    try {
      text = await readLimited(res.body, MAX_ACK_BYTES);
    } catch (err) {
      throw new AgentPushError(`reading the ACK from ${target.origin} failed: ${(err as Error).message}`, res.statusCode);
    }
    if (res.statusCode !== 200) {
      throw new AgentPushError(`agent answered ${res.statusCode}: ${text.slice(0, 300)}`, res.statusCode, errorCodeOf(text));
    }
    return parseAck(text);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy?: () => void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy?.();
      throw new Error(`body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** `error.code` of an agent's error answer ({"error":{"code","message"}}), if it has one. */
function errorCodeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } })?.error?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

const ackEnvelope = Compile(ConfigAckEnvelopeSchema);
const outcomeShape = Compile(LoadBalancerOutcomeSchema);

/**
 * An ACK from an agent is untrusted input: check its shape (src/domain/agent-protocol.ts) before
 * anything reads it. A malformed envelope refuses the whole ACK; a malformed outcome is dropped on
 * its own, so one bad item cannot hide the agent's answer about the other load balancers.
 */
export function parseAck(text: string): ConfigAck {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AgentPushError("the ACK is not JSON", 200);
  }
  if (!ackEnvelope.Check(raw)) {
    throw new AgentPushError("the ACK needs an integer generation and a loadBalancers array", 200);
  }
  const outcomes: LoadBalancerOutcome[] = [];
  for (const item of raw.loadBalancers) {
    const outcome = readOutcome(item);
    if (outcome) outcomes.push(outcome);
  }
  return { generation: raw.generation, loadBalancers: outcomes };
}

/** The outcome in `item` with only the members lbplane stores, or undefined when it is malformed. */
function readOutcome(item: unknown): LoadBalancerOutcome | undefined {
  if (!item || typeof item !== "object") return undefined;
  const o = item as Record<string, unknown>;
  if (o.state === "Refused") {
    const candidate = { id: o.id, version: o.version, state: o.state, detail: cleanDetail(o.detail) };
    return outcomeShape.Check(candidate) ? candidate : undefined;
  }
  const candidate = { id: o.id, version: o.version, state: o.state };
  return outcomeShape.Check(candidate) ? candidate : undefined;
}

/** Control characters (NUL above all) cannot be stored in Postgres text; the detail is for humans. */
function cleanDetail(detail: unknown): string {
  if (typeof detail !== "string") return "refused without a detail";
  return detail.replace(/[\u0000-\u001f]/g, " ").slice(0, MAX_REFUSAL_DETAIL);
}
