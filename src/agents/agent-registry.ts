// Agents as the control plane stores them: registration (upsert by name), credentials, heartbeats,
// liveness, listing. Liveness is always judged by the database clock (now()), so replicas with
// skewed clocks agree on who is live.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { RegisterRequest } from "../domain/agent-protocol.js";
import { loadBalancerId, normalizeLocation } from "../domain/ids.js";
import { Errors } from "../errors.js";
import type { Agent } from "../store/generated/client.js";
import type { Db } from "../store/prisma.js";

export type { Agent };

export const newSecret = (): string => randomBytes(32).toString("base64url");
export const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

export function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(sha256(presented), "hex");
  const b = Buffer.from(sha256(expected), "hex");
  return timingSafeEqual(a, b);
}

async function locationGeneration(db: Db, location: string): Promise<bigint> {
  const row = await db.locationGeneration.findUnique({ where: { location } });
  return row?.generation ?? 0n;
}

export interface Registration {
  agent: Agent;
  credential: string;
  pushToken: string;
}

/**
 * Upsert by name with fresh secrets. The acknowledged generation restarts at what the agent says it
 * has applied (-1 when empty), so an agent that restarts empty gets the full config at once; a
 * claim from the future (another database, or a lie) counts as empty.
 */
export async function registerAgent(db: Db, req: RegisterRequest): Promise<Registration> {
  const location = normalizeLocation(req.location);
  const current = await locationGeneration(db, location);
  const claimed = req.appliedGeneration ?? -1;
  const acked = claimed >= 0 && BigInt(claimed) <= current ? BigInt(claimed) : -1n;
  const credential = newSecret();
  const pushToken = newSecret();
  const fields = {
    location,
    url: req.url,
    capabilities: req.capabilities as unknown as object,
    credentialHash: sha256(credential),
    pushToken,
    ackedGeneration: acked,
    desiredGeneration: current,
    consecutiveFailures: 0,
    nextAttemptAt: null,
    lastError: null,
  };
  const agent = await db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<{ now: Date }>>`SELECT now() AS now`;
    const saved = await tx.agent.upsert({
      where: { name: req.name },
      create: { name: req.name, ...fields, registeredAt: row.now, lastHeartbeatAt: row.now },
      update: { ...fields, registeredAt: row.now, lastHeartbeatAt: row.now },
    });
    // A new instance has applied nothing we recorded and probes afresh.
    if (acked < 0n) await tx.agentLoadBalancerStatus.deleteMany({ where: { agentId: saved.id } });
    await tx.probeHealth.deleteMany({ where: { agentId: saved.id } });
    return saved;
  });
  return { agent, credential, pushToken };
}

const unauthorized = Errors.agentCredentialInvalid;

interface AgentSqlRow {
  id: string;
  name: string;
  location: string;
  url: string;
  capabilities: unknown;
  credential_hash: string;
  push_token: string;
  registered_at: Date;
  last_heartbeat_at: Date;
  desired_generation: bigint;
  acked_generation: bigint;
  last_push_at: Date | null;
  last_error: string | null;
  consecutive_failures: number;
  next_attempt_at: Date | null;
}

/**
 * The agent a credential belongs to, or 401 (unknown id and wrong credential look alike). Every
 * agent call (a fleet's heartbeats above all) passes here, so the row is read with one plain
 * statement rather than through the query builder, which costs several times more CPU.
 */
export async function authenticateAgent(db: Db, agentId: string, credential: string | undefined): Promise<Agent> {
  if (!credential) throw unauthorized();
  const [row] = await db.$queryRaw<AgentSqlRow[]>`
    SELECT id::text AS id, name, location, url, capabilities, credential_hash, push_token, registered_at,
           last_heartbeat_at, desired_generation, acked_generation, last_push_at, last_error,
           consecutive_failures, next_attempt_at
    FROM agents WHERE id = ${agentId}::uuid`;
  const agent: Agent | undefined = row && {
    id: row.id,
    name: row.name,
    location: row.location,
    url: row.url,
    capabilities: row.capabilities as Agent["capabilities"],
    credentialHash: row.credential_hash,
    pushToken: row.push_token,
    registeredAt: row.registered_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    desiredGeneration: row.desired_generation,
    ackedGeneration: row.acked_generation,
    lastPushAt: row.last_push_at,
    lastError: row.last_error,
    consecutiveFailures: row.consecutive_failures,
    nextAttemptAt: row.next_attempt_at,
  };
  if (!agent) {
    sha256(credential); // same work as a known agent, so timing does not reveal which ids exist
    throw unauthorized();
  }
  const ok = timingSafeEqual(Buffer.from(sha256(credential), "hex"), Buffer.from(agent.credentialHash, "hex"));
  if (!ok) throw unauthorized();
  return agent;
}

export interface HeartbeatResult {
  desiredGeneration: bigint;
  /** The agent was stale (or said it lost state): it needs a push now. */
  needsPush: boolean;
}

/**
 * Marks the agent live. An agent reporting less than lbplane believes it acknowledged has lost state
 * (restart without re-registering): believing the lower number only costs an idempotent push, while
 * a higher number is never believed — only an ACK of a push raises it.
 */
export async function recordHeartbeat(db: Db, agent: Agent, appliedGeneration: number, livenessMs: number): Promise<HeartbeatResult> {
  const rows = await db.$queryRaw<Array<{ was_stale: boolean; lowered: boolean; desired: bigint | null }>>`
    WITH prev AS (SELECT last_heartbeat_at, acked_generation FROM agents WHERE id = ${agent.id}::uuid FOR UPDATE)
    UPDATE agents a SET last_heartbeat_at = now(),
      acked_generation = LEAST(a.acked_generation, ${BigInt(appliedGeneration)}::bigint)
    FROM prev WHERE a.id = ${agent.id}::uuid
    RETURNING prev.last_heartbeat_at <= now() - (${livenessMs}::int * interval '1 millisecond') AS was_stale,
              a.acked_generation < prev.acked_generation AS lowered,
              (SELECT generation FROM location_generations g WHERE g.location = a.location) AS desired`;
  if (rows.length === 0) throw unauthorized(); // deregistered meanwhile
  return { desiredGeneration: rows[0].desired ?? 0n, needsPush: rows[0].was_stale || rows[0].lowered };
}

export async function isLive(db: Db, agentId: string, livenessMs: number): Promise<boolean> {
  const rows = await db.$queryRaw<Array<{ live: boolean }>>`
    SELECT last_heartbeat_at > now() - (${livenessMs}::int * interval '1 millisecond') AS live FROM agents WHERE id = ${agentId}::uuid`;
  return rows[0]?.live ?? false;
}

export async function deregisterAgent(db: Db, agentId: string): Promise<void> {
  await db.agent.deleteMany({ where: { id: agentId } });
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

export async function listAgents(db: Db, livenessMs: number): Promise<AgentView[]> {
  const [{ now }] = await db.$queryRaw<Array<{ now: Date }>>`SELECT now() AS now`;
  const [agents, generations] = await Promise.all([
    db.agent.findMany({
      orderBy: [{ location: "asc" }, { name: "asc" }],
      include: { statuses: { include: { loadBalancer: { include: { resourceGroup: true } } } } },
    }),
    db.locationGeneration.findMany(),
  ]);
  const genOf = new Map(generations.map((g) => [g.location, g.generation]));
  return agents.map((a) => ({
    id: a.id,
    name: a.name,
    location: a.location,
    url: a.url,
    capabilities: a.capabilities as Record<string, unknown>,
    state: now.getTime() - a.lastHeartbeatAt.getTime() < livenessMs ? "live" : "stale",
    desiredGeneration: Number(genOf.get(a.location) ?? 0n),
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
