// Agent use cases behind lbplane's agent API: register (join token), authenticate (credential),
// heartbeat, report health (live agents only), deregister, list. The store keeps the rows; the
// decisions — who may register, which generation a new instance is believed to have, when a
// heartbeat means "push now", which report items count — are made here.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  commonProtocolVersion,
  pushTargetHost,
  pushTargetProblem,
  SUPPORTED_PROTOCOL_VERSIONS,
  type HealthReport,
  type RegisterRequest,
} from "../domain/agent-protocol.js";
import type { AgentNetwork } from "../config.js";
import { loadBalancerId, normalizeLocation } from "../domain/ids.js";
import { Errors } from "../errors.js";
import {
  deleteAgent,
  findAgent,
  isAgentLive,
  listAgentRows,
  locationGeneration,
  recordCheckedHeartbeat,
  upsertAgentRegistration,
  type Agent,
} from "../store/agents.store.js";
import { saveHealthRows, type HealthRow } from "../store/probe-health.store.js";
import { probeTargetsOf, sentTarget, type LocationTargets } from "./probe-targets.js";
import type { ServiceDeps } from "./deps.js";

export type { Agent };

type Deps = Pick<ServiceDeps, "db" | "config" | "notifyChange">;

const newSecret = (): string => randomBytes(32).toString("base64url");
const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

function sameSecret(presented: string, expected: string): boolean {
  return sameDigest(sha256(presented), sha256(expected));
}

/** Two sha256 hex digests, compared in constant time. */
function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Registration {
  agent: Agent;
  credential: string;
  pushToken: string;
  /** The push protocol version lbplane uses with this agent. */
  protocolVersion: number;
}

/**
 * The join token check, on its own so the route can run it before the body is even read: an
 * anonymous caller must not make lbplane parse and validate a large body.
 */
export function checkJoinToken(deps: Pick<ServiceDeps, "config">, joinToken: string | undefined): void {
  if (!deps.config.joinToken) throw Errors.agentRegistrationDisabled();
  if (!joinToken || !sameSecret(joinToken, deps.config.joinToken)) throw Errors.joinTokenInvalid();
}

/**
 * The push target must be `http(s)://host[:port]` (lbplane appends /v1/config), and when
 * LBPLANE_AGENT_NETWORKS is set its host must be an IPv4 address inside one of them: a hostname
 * could resolve anywhere later, so it is refused outright.
 */
function checkPushTarget(url: string, networks: AgentNetwork[] | undefined): void {
  const problem = pushTargetProblem(url);
  if (problem) throw Errors.invalidAgentUrl(url, problem);
  if (!networks) return;
  const host = pushTargetHost(url);
  if (!networks.some((n) => ipv4Inside(host, n))) throw Errors.agentUrlNotAllowed(host, networks.map((n) => n.cidr).join(", "));
}

function ipv4Inside(host: string, net: AgentNetwork): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return false;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return false;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - net.bits);
  return Math.floor(ip / size) === Math.floor(net.base / size);
}

/**
 * Register (or re-register) an agent by name with fresh secrets, after the join token check.
 *
 * A name is held by the live agent that registered it: another registration of a live name is
 * refused (409 AgentNameInUse) unless it presents the holder's current credential — the same agent
 * coming back after a 401 or a control-plane restart. Once the holder stops heartbeating, the name
 * is free again after the liveness window, so a restarted agent (which lost its credential) gets
 * its name back within that window at worst.
 *
 * Health is reset on every registration: the agent sends a full summary right after registering,
 * and rows of an earlier instance could describe targets it no longer probes.
 *
 * The acknowledged generation restarts at what the agent says it has applied (-1 when empty), so an
 * agent that restarts empty gets the full config at once; a claim from the future (another
 * database, or a lie) counts as empty.
 *
 * An agent that shares no push protocol version with lbplane is refused (400, naming both sets)
 * before anything is written: a silent mismatch would look like an agent that never converges.
 */
export async function registerAgent(deps: Deps, joinToken: string | undefined, req: RegisterRequest): Promise<Registration> {
  checkJoinToken(deps, joinToken);
  checkPushTarget(req.url, deps.config.agentNetworks);
  const protocolVersion = commonProtocolVersion(req.protocolVersions);
  if (protocolVersion === undefined) {
    throw Errors.agentProtocolVersionUnsupported((req.protocolVersions ?? []).join(", "), SUPPORTED_PROTOCOL_VERSIONS.join(", "));
  }
  const location = normalizeLocation(req.location);
  const current = await locationGeneration(deps.db, location);
  const claimed = req.appliedGeneration ?? -1;
  const acked = claimed >= 0 && BigInt(claimed) <= current ? BigInt(claimed) : -1n;
  const credential = newSecret();
  const pushToken = newSecret();
  const presented = req.credential;
  const agent = await upsertAgentRegistration(
    deps.db,
    {
      name: req.name,
      location,
      url: req.url,
      capabilities: req.capabilities as unknown as object,
      credentialHash: sha256(credential),
      pushToken,
      ackedGeneration: acked,
      desiredGeneration: current,
    },
    deps.config.agentLivenessMs,
    (holder) => !holder?.live || (presented !== undefined && sameDigest(sha256(presented), holder.credentialHash)),
  );
  if (!agent) throw Errors.agentNameInUse(req.name, deps.config.agentLivenessMs);
  deps.notifyChange?.(agent.location);
  return { agent, credential, pushToken, protocolVersion };
}

/**
 * The agent a credential belongs to (`agentId` a lower-cased uuid), or 401: an unknown id and a
 * wrong credential look alike, and cost the same work so timing does not reveal which ids exist.
 */
export async function authenticateAgent(deps: Pick<ServiceDeps, "db">, agentId: string, credential: string | undefined): Promise<Agent> {
  if (!credential) throw Errors.agentCredentialInvalid();
  const agent = await findAgent(deps.db, agentId);
  if (!agent) {
    sha256(credential);
    throw Errors.agentCredentialInvalid();
  }
  if (!sameDigest(sha256(credential), agent.credentialHash)) throw Errors.agentCredentialInvalid();
  return agent;
}

/**
 * Marks the agent live and answers the generation it should have. An agent reporting less than
 * lbplane believes it acknowledged has lost state (restart without re-registering): believing the
 * lower number only costs an idempotent push (the full state, when its base does not match), while
 * a higher number is never believed — only an ACK of a push raises it. A stale agent, or one that
 * lost state, needs a push now.
 *
 * The fleet's hot path: the credential is checked by the write itself (the row must carry the
 * digest), and the writes of all beats arriving within 20 ms are one statement (agents.store.ts), so
 * a beat costs a sha256 and a share of a statement (bench/heartbeat-cpu.ts: 0.22 ms of CPU per beat
 * at 1,000 agents). A wrong credential and an unknown id are the same 401 at the same cost.
 */
export async function heartbeat(deps: Deps, agentId: string, credential: string | undefined, appliedGeneration: number): Promise<{ desiredGeneration: bigint }> {
  if (!credential) throw Errors.agentCredentialInvalid();
  const beat = await recordCheckedHeartbeat(
    deps.db,
    { agentId, credentialHash: sha256(credential), appliedGeneration: BigInt(appliedGeneration) },
    deps.config.agentLivenessMs,
  );
  if (!beat) throw Errors.agentCredentialInvalid(); // unknown, deregistered, or a wrong credential
  if (beat.wasStale || beat.lowered) deps.notifyChange?.(beat.location);
  return { desiredGeneration: beat.desiredGeneration };
}

export interface IntakeResult {
  accepted: number;
  ignored: number;
}

/**
 * Stores a live agent's report (409 AgentNotLive otherwise). An item counts only for a (load
 * balancer, probe, DIP) the agent was sent — a load balancer of its own location whose compiled
 * probe targets that DIP (src/services/probe-targets.ts); every other item is dropped and counted
 * as ignored, so an agent only ever writes its own rows, about what exists. A full report also
 * forgets targets no longer probed.
 */
export async function reportHealth(deps: Deps, agent: Agent, report: HealthReport): Promise<IntakeResult> {
  if (!(await isAgentLive(deps.db, agent.id, deps.config.agentLivenessMs))) throw Errors.agentNotLive(agent.name);
  const sent = await probeTargetsOf(deps.db, agent.location);
  const { items, ignored } = healthRowsOf(report, sent, Date.now());
  await saveHealthRows(deps.db, agent.id, items, report.full);
  return { accepted: items.length, ignored };
}

function healthRowsOf(report: HealthReport, sent: LocationTargets, now: number): { items: HealthRow[]; ignored: number } {
  const latest = new Map<string, HealthRow>();
  let ignored = 0;
  for (const r of report.reports) {
    const target = sentTarget(sent, r.loadBalancerId, r.probe, r.backendAddress);
    if (!target) {
      ignored++;
      continue;
    }
    const parsed = Date.parse(r.since);
    // A transition time from the future (clock skew) is clamped to now.
    const since = new Date(Number.isFinite(parsed) ? Math.min(parsed, now) : now);
    // Duplicates in one report: the last one wins, as if sent in order.
    latest.set(`${target.uid}\u0000${r.probe.toLowerCase()}\u0000${target.dip}`, {
      lb: target.uid,
      probe: r.probe.toLowerCase(),
      backend: target.dip,
      state: r.state,
      reason: r.reason?.replace(/[\u0000-\u001f]/g, " ") ?? null,
      since,
    });
  }
  return { items: [...latest.values()], ignored };
}

export async function deregisterAgent(deps: Deps, agent: Agent): Promise<void> {
  await deleteAgent(deps.db, agent.id);
  deps.notifyChange?.(agent.location);
}

export interface AgentView {
  id: string;
  name: string;
  location: string;
  url: string;
  capabilities: Record<string, unknown>;
  state: "live" | "stale";
  desiredGeneration: number;
  ackedGeneration: number;
  lastError?: string;
  lastHeartbeatAt: string;
  lastPushAt?: string;
  registeredAt: string;
  consecutiveFailures: number;
  loadBalancers: Array<{ id: string; state: string; generation: number; detail?: string }>;
}

export async function listAgents(deps: Pick<ServiceDeps, "db" | "config">): Promise<AgentView[]> {
  const { agents, live, generations } = await listAgentRows(deps.db, deps.config.agentLivenessMs);
  return agents.map((a) => ({
    id: a.id,
    name: a.name,
    location: a.location,
    url: a.url,
    capabilities: a.capabilities as Record<string, unknown>,
    state: live.has(a.id) ? "live" : "stale",
    desiredGeneration: Number(generations.get(a.location) ?? 0n),
    ackedGeneration: Number(a.ackedGeneration),
    ...(a.lastError ? { lastError: a.lastError } : {}),
    lastHeartbeatAt: a.lastHeartbeatAt.toISOString(),
    ...(a.lastPushAt ? { lastPushAt: a.lastPushAt.toISOString() } : {}),
    registeredAt: a.registeredAt.toISOString(),
    consecutiveFailures: a.consecutiveFailures,
    loadBalancers: a.statuses.map((s) => ({
      id: loadBalancerId({
        subscriptionId: s.loadBalancer.subscriptionId,
        resourceGroup: s.loadBalancer.resourceGroup.name,
        name: s.loadBalancer.name,
      }),
      state: s.state,
      generation: Number(s.generation),
      ...(s.detail ? { detail: s.detail } : {}),
    })),
  }));
}
