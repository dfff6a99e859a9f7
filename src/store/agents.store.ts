// Agent rows as the control plane stores them: registration (upsert by name), the credential read,
// heartbeats, liveness, deregistration, listing. Every "is live" test is `agentIsLive` judged by the
// database clock (now()), so replicas with skewed clocks agree on who is live. Heartbeat and the
// credential read are the fleet's hot path: one plain statement each, no query builder.

import type pg from "pg";
import type { Agent } from "./generated/client.js";
import { Coalescer } from "./coalesce.js";
import { agentIsLive } from "./fragments.js";
import { poolOf, type Db } from "./prisma.js";

export type { Agent };

export async function locationGeneration(db: Db, location: string): Promise<bigint> {
  const row = await db.locationGeneration.findUnique({ where: { location } });
  return row?.generation ?? 0n;
}

export interface AgentRegistrationFields {
  name: string;
  location: string;
  url: string;
  capabilities: object;
  credentialHash: string;
  pushToken: string;
  ackedGeneration: bigint;
  desiredGeneration: bigint;
}

/** The registration that holds a name, as the decision to hand the name over needs it. */
export interface NameHolder {
  credentialHash: string;
  /** Heartbeated within the liveness window (database clock). */
  live: boolean;
}

const NAME_HOLDER_SQL = `
  SELECT a.credential_hash, ${agentIsLive("a", "$2")} AS live FROM agents a WHERE a.name = $1 FOR UPDATE`;

/**
 * Upsert by name, stamped with the database clock as registered and heartbeated — if `mayTake`
 * allows it given the name's current holder (undefined = nobody holds it); otherwise nothing is
 * written and the answer is undefined. Registrations of one name are serialised (a transaction
 * advisory lock on the name), so two racing registrations cannot both believe the name was free.
 * A new instance probes afresh (its health rows go); one that starts empty (acked < 0) also loses
 * the per-load-balancer outcomes of its predecessor.
 */
export async function upsertAgentRegistration(
  db: Db,
  reg: AgentRegistrationFields,
  livenessMs: number,
  mayTake: (holder: NameHolder | undefined) => boolean,
): Promise<Agent | undefined> {
  const { name, ...rest } = reg;
  const fields = { ...rest, consecutiveFailures: 0, nextAttemptAt: null, lastError: null };
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('lbplane-agent-name:' || ${name}, 0))`;
    const [holder] = await tx.$queryRawUnsafe<Array<{ credential_hash: string; live: boolean }>>(NAME_HOLDER_SQL, name, livenessMs);
    if (!mayTake(holder && { credentialHash: holder.credential_hash, live: holder.live })) return undefined;
    const [row] = await tx.$queryRaw<Array<{ now: Date }>>`SELECT now() AS now`;
    const saved = await tx.agent.upsert({
      where: { name },
      create: { name, ...fields, registeredAt: row.now, lastHeartbeatAt: row.now },
      update: { ...fields, registeredAt: row.now, lastHeartbeatAt: row.now },
    });
    if (reg.ackedGeneration < 0n) await tx.agentLoadBalancerStatus.deleteMany({ where: { agentId: saved.id } });
    await tx.probeHealth.deleteMany({ where: { agentId: saved.id } });
    return saved;
  });
}

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

/** The agent row of `agentId` (a uuid), or undefined. */
export async function findAgent(db: Db, agentId: string): Promise<Agent | undefined> {
  const [row] = await db.$queryRaw<AgentSqlRow[]>`
    SELECT id::text AS id, name, location, url, capabilities, credential_hash, push_token, registered_at,
           last_heartbeat_at, desired_generation, acked_generation, last_push_at, last_error,
           consecutive_failures, next_attempt_at
    FROM agents WHERE id = ${agentId}::uuid`;
  return (
    row && {
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
    }
  );
}

export interface HeartbeatRecord {
  desiredGeneration: bigint;
  /** The agent was not live before this heartbeat. */
  wasStale: boolean;
  /** The acknowledged generation went down (the agent reported less than recorded). */
  lowered: boolean;
}

// ---- heartbeats, coalesced: one statement per turn of the event loop for every agent that beat --------

/** One heartbeat as it arrives: the agent's id, the digest of the credential it presented, what it has. */
export interface Beat {
  agentId: string;
  credentialHash: string;
  appliedGeneration: bigint;
}

/** What a beat did; undefined when no agent has that id AND credential (→ 401, whichever it was). */
export interface BeatResult extends HeartbeatRecord {
  location: string;
}

// The credential check is part of the write (a row matches only with the right digest), so a beat
// costs one share of one statement: no separate read of the agent. Rows are locked in id order, so
// two replicas writing overlapping batches cannot deadlock.
const BEATS_SQL = `
  WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS i(id, hash, applied)),
  prev AS MATERIALIZED (
    SELECT a.id, a.last_heartbeat_at, a.acked_generation, i.applied, i.hash FROM agents a JOIN input i ON i.id = a.id AND a.credential_hash = i.hash
    ORDER BY a.id FOR UPDATE OF a),
  upd AS (
    -- A beat reporting less than was acknowledged lowers the record (the agent lost state), unless a
    -- push was acknowledged within half a liveness window: that beat may have left before the push.
    UPDATE agents a SET last_heartbeat_at = now(), acked_generation = CASE
        WHEN prev.applied < a.acked_generation AND (a.last_push_at IS NULL OR a.last_push_at < now() - $4::int * interval '0.5 millisecond')
        THEN prev.applied ELSE a.acked_generation END
    FROM prev WHERE a.id = prev.id
    RETURNING a.id::text AS id, prev.hash, a.location, NOT (${agentIsLive("prev", "$4")}) AS was_stale, a.acked_generation < prev.acked_generation AS lowered)
  SELECT upd.*, (SELECT generation FROM location_generations g WHERE g.location = upd.location)::text AS desired FROM upd`;

type BeatRow = { id: string; hash: string; location: string; was_stale: boolean; lowered: boolean; desired: string | null };

/** Writes one batch of beats (src/store/coalesce.ts): at 1,000 agents a handful of statements per second, not hundreds. */
async function writeBeats(pool: pg.Pool, livenessMs: number, batch: Beat[]): Promise<Array<BeatResult | undefined>> {
  // One row per agent per statement (an agent beating twice in a batch gets one answer for both).
  const latest = new Map<string, Beat>();
  for (const b of batch) latest.set(`${b.agentId}\u0000${b.credentialHash}`, b);
  const beats = [...latest.values()];
  const { rows } = await pool.query<BeatRow>({
    name: "lbplane-heartbeats",
    text: BEATS_SQL,
    values: [beats.map((b) => b.agentId), beats.map((b) => b.credentialHash), beats.map((b) => b.appliedGeneration.toString()), livenessMs],
  });
  // A row answers only the beats whose digest matched it (a wrong credential in the same batch gets nothing).
  const byKey = new Map(rows.map((r) => [`${r.id}\u0000${r.hash}`, r]));
  return batch.map((b) => {
    const matched = byKey.get(`${b.agentId}\u0000${b.credentialHash}`);
    return matched && { location: matched.location, wasStale: matched.was_stale, lowered: matched.lowered, desiredGeneration: BigInt(matched.desired ?? 0) };
  });
}

// One batch out at a time: beats lock their rows in id order, and a second batch would only wait on
// the first. A fleet's beats arrive spread out (1,000 agents: one every 1.25 ms), so a batch waits
// up to BEAT_LINGER_MS for company: ~20 beats per statement at that size instead of one or two, for
// an answer 20 ms later in a liveness window of seconds.
const BEAT_LINGER_MS = 20;
const batchers = new WeakMap<pg.Pool, Coalescer<Beat, BeatResult | undefined>>();

/**
 * Records a heartbeat (with its credential check) in the next coalesced statement: marks the agent
 * live and lowers its acknowledged generation to what it reports if that is less (never raises it).
 * Undefined when no agent has this id and credential.
 */
export function recordCheckedHeartbeat(db: Db, beat: Beat, livenessMs: number): Promise<BeatResult | undefined> {
  const pool = poolOf(db);
  let batcher = batchers.get(pool);
  if (!batcher) {
    batcher = new Coalescer((beats) => writeBeats(pool, livenessMs, beats), { maxBatch: 2000, maxInFlight: 1, lingerMs: BEAT_LINGER_MS });
    batchers.set(pool, batcher);
  }
  return batcher.add(beat);
}

const IS_LIVE_SQL = `SELECT ${agentIsLive("a", "$2")} AS live FROM agents a WHERE a.id = $1::uuid`;

export async function isAgentLive(db: Db, agentId: string, livenessMs: number): Promise<boolean> {
  const rows = await db.$queryRawUnsafe<Array<{ live: boolean }>>(IS_LIVE_SQL, agentId, livenessMs);
  return rows[0]?.live ?? false;
}

export async function deleteAgent(db: Db, agentId: string): Promise<void> {
  await db.agent.deleteMany({ where: { id: agentId } });
}

const LIVE_IDS_SQL = `SELECT a.id::text AS id FROM agents a WHERE ${agentIsLive("a", "$1")}`;

/** Every agent with its per-load-balancer outcomes, the location generations, and who is live. */
export async function listAgentRows(db: Db, livenessMs: number) {
  const [live, agents, generations] = await Promise.all([
    db.$queryRawUnsafe<Array<{ id: string }>>(LIVE_IDS_SQL, livenessMs),
    db.agent.findMany({
      orderBy: [{ location: "asc" }, { name: "asc" }],
      include: { statuses: { include: { loadBalancer: { include: { resourceGroup: true } } } } },
    }),
    db.locationGeneration.findMany(),
  ]);
  return {
    agents,
    live: new Set(live.map((r) => r.id)),
    generations: new Map(generations.map((g) => [g.location, g.generation])),
  };
}
