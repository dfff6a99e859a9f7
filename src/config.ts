// Configuration comes from the environment, parsed and checked once at start: a bad value stops
// the process with a message naming the variable, instead of failing later in a request.

import { resolve } from "node:path";
import { isIP } from "node:net";

export interface Config {
  host: string;
  port: number;
  /** External PostgreSQL; unset = embedded PostgreSQL inside dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /** Admin token from LBPLANE_TOKEN; tokens.json in dataDir may add more (see auth). */
  adminToken?: string;
  /** Public IP allocation pool (IPv4 CIDR). */
  publicIpPool: string;
  logLevel: string;
  /** Join token agents present at registration; unset = agent registration disabled. */
  joinToken?: string;
  /** An agent is live while heartbeats arrive within this window. */
  agentLivenessMs: number;
  /** Public base URL used in Azure-AsyncOperation / Location / nextLink headers; unset = the address a request arrived at (never its Host header). */
  publicUrl?: string;
  /** HTTP server limits; a slow or stuck client must not hold a socket forever. */
  timeouts: ServerTimeouts;
  /** Finished (Succeeded/Failed) operations are deleted this long after they ended. */
  operationRetentionHours: number;
  /**
   * LBPLANE_AGENT_NETWORKS: IPv4 networks an agent's push URL must point into; unset = any host.
   * lbplane pushes its push token and a location's configuration there, so an operator who knows
   * where agents live can keep registrations from aiming pushes anywhere else.
   */
  agentNetworks?: AgentNetwork[];
  // ---- f: database bounds (issue 11)
  /** How long a request waits on the database before it answers 503 (see DbTimeouts in store/prisma.ts). */
  db: { acquireMs: number; statementMs: number };
  // ---- d2: traffic metrics
  /** One-minute traffic metric buckets are deleted this many days after their minute (LBPLANE_TRAFFIC_METRICS_RETENTION_DAYS). */
  trafficMetricsRetentionDays: number;
  // ---- s3-h3: reads
  /** Room for kept GET answers of load balancers, in MB (LBPLANE_READ_CACHE_MB); 0 keeps none. */
  readCacheMb: number;
}

/** An IPv4 network as numbers: `base` is the address as an unsigned integer, `bits` its prefix length. */
export interface AgentNetwork {
  cidr: string;
  base: number;
  bits: number;
}

/** Milliseconds; 0 turns a limit off (Node's and fastify's meaning). */
export interface ServerTimeouts {
  /** Whole request, headers and body, from the first byte (Node's requestTimeout): a slow body is cut after this. */
  requestMs: number;
  /** Request headers must arrive within this (Node's headersTimeout); at most requestMs. */
  headersMs: number;
  /** An idle keep-alive connection is closed after this; above common proxies' 60 s idle timeout. */
  keepAliveMs: number;
  /** Socket inactivity limit (fastify's connectionTimeout); off by default, keep-alive bounds idling. */
  connectionMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

export function parseCidr(cidr: string): { base: number; bits: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || isIP(m[1]) !== 4) return undefined;
  const bits = Number(m[2]);
  if (bits < 8 || bits > 32) return undefined;
  const base = m[1].split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  return { base, bits };
}

const HOUR_MS = 3_600_000;

/** LBPLANE_AGENT_NETWORKS: comma-separated IPv4 CIDRs (any prefix length, 0..32); empty = unset. */
function loadAgentNetworks(env: NodeJS.ProcessEnv): AgentNetwork[] | undefined {
  const raw = env.LBPLANE_AGENT_NETWORKS;
  if (raw === undefined || raw.trim() === "") return undefined;
  return raw.split(",").map((part) => {
    const cidr = part.trim();
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
    const bits = m ? Number(m[2]) : NaN;
    if (!m || isIP(m[1]) !== 4 || bits > 32) {
      throw new ConfigError(`LBPLANE_AGENT_NETWORKS must be comma-separated IPv4 CIDRs such as 10.0.0.0/8, got "${cidr}"`);
    }
    const base = m[1].split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    return { cidr, base, bits };
  });
}

function loadTimeouts(env: NodeJS.ProcessEnv): ServerTimeouts {
  const timeouts = {
    requestMs: intVar(env, "LBPLANE_REQUEST_TIMEOUT_MS", 10_000, 1_000, HOUR_MS),
    headersMs: intVar(env, "LBPLANE_HEADERS_TIMEOUT_MS", 5_000, 1_000, HOUR_MS),
    keepAliveMs: intVar(env, "LBPLANE_KEEP_ALIVE_TIMEOUT_MS", 72_000, 1_000, HOUR_MS),
    connectionMs: intVar(env, "LBPLANE_CONNECTION_TIMEOUT_MS", 0, 0, HOUR_MS),
  };
  // Node refuses a headers limit above the request limit (the request limit would never fire first).
  if (timeouts.headersMs > timeouts.requestMs) {
    throw new ConfigError(
      `LBPLANE_HEADERS_TIMEOUT_MS must not exceed LBPLANE_REQUEST_TIMEOUT_MS (${timeouts.requestMs}), got "${timeouts.headersMs}"`,
    );
  }
  return timeouts;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a postgresql:// URL`);
  }
  const publicIpPool = env.LBPLANE_PUBLIC_IP_POOL ?? "198.18.0.0/15";
  if (!parseCidr(publicIpPool)) {
    throw new ConfigError(`LBPLANE_PUBLIC_IP_POOL must be an IPv4 CIDR such as 198.18.0.0/15, got "${publicIpPool}"`);
  }
  const host = env.HOST ?? "127.0.0.1";
  if (host !== "localhost" && !isIP(host)) throw new ConfigError(`HOST must be an IP address, got "${host}"`);
  const token = env.LBPLANE_TOKEN || undefined;
  if (token !== undefined && token.length < 16) throw new ConfigError("LBPLANE_TOKEN must be at least 16 characters");
  // The join token lets anyone register an agent and receive a location's configuration: as strong
  // as the admin token.
  const joinToken = env.LBPLANE_JOIN_TOKEN || undefined;
  if (joinToken !== undefined && joinToken.length < 16) throw new ConfigError("LBPLANE_JOIN_TOKEN must be at least 16 characters");
  const publicUrl = env.LBPLANE_PUBLIC_URL || undefined;
  if (publicUrl && !/^https?:\/\/[^/]+$/.test(publicUrl)) {
    throw new ConfigError(`LBPLANE_PUBLIC_URL must be a scheme://host[:port] without a path, got "${publicUrl}"`);
  }
  return {
    host,
    port: intVar(env, "PORT", 8080, 0, 65535),
    databaseUrl,
    dataDir: resolve(env.LBPLANE_DATA_DIR ?? ".lbplane"),
    adminToken: token,
    publicIpPool,
    logLevel,
    joinToken,
    agentLivenessMs: intVar(env, "LBPLANE_AGENT_LIVENESS_MS", 5000, 500, 600_000),
    publicUrl,
    timeouts: loadTimeouts(env),
    // Clients poll an operation until it is done, within minutes; a day leaves room for one that comes
    // back later (a re-run pipeline, an operator reading a failure) while the table holds at most a
    // day of writes. Azure, too, keeps an operation's status only for a limited time.
    operationRetentionHours: intVar(env, "LBPLANE_OPERATION_RETENTION_HOURS", 24, 1, 8_760),
    agentNetworks: loadAgentNetworks(env),
    // ---- f: database bounds (issue 11): a request meets a gone or hung database within about
    // acquire + statement time, then answers 503 instead of hanging.
    db: {
      acquireMs: intVar(env, "LBPLANE_DB_ACQUIRE_TIMEOUT_MS", 3_000, 100, 600_000),
      statementMs: intVar(env, "LBPLANE_DB_STATEMENT_TIMEOUT_MS", 5_000, 100, 600_000),
    },
    // ---- d2: traffic metrics. Azure Monitor keeps platform metrics 93 days; 30 bounds the table (README: Traffic metrics).
    trafficMetricsRetentionDays: intVar(env, "LBPLANE_TRAFFIC_METRICS_RETENTION_DAYS", 30, 1, 93),
    // ---- s3-h3: reads. Every kept answer is checked against the database before it is sent, so
    // the room only trades memory for CPU; 32 MB holds ~6,000 small load balancers.
    readCacheMb: intVar(env, "LBPLANE_READ_CACHE_MB", 32, 0, 4_096),
  };
}
