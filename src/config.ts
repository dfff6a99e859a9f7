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
  /** Public base URL used in Azure-AsyncOperation / Location / nextLink headers. */
  publicUrl?: string;
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
    joinToken: env.LBPLANE_JOIN_TOKEN || undefined,
    agentLivenessMs: intVar(env, "LBPLANE_AGENT_LIVENESS_MS", 5000, 500, 600_000),
    publicUrl,
  };
}
