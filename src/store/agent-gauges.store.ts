// The per-agent figures /metrics exposes, read at scrape time so every replica reports the same,
// current picture: liveness and how many generations each agent is behind its location.

import { agentIsLive } from "./fragments.js";
import type { Db } from "./prisma.js";

export interface AgentGaugeRow {
  name: string;
  location: string;
  live: boolean;
  behind: bigint;
}

const GAUGES_SQL = `
  SELECT a.name, a.location, ${agentIsLive("a", "$1")} AS live,
         GREATEST(COALESCE(g.generation, 0) - a.acked_generation, 0) AS behind
  FROM agents a LEFT JOIN location_generations g ON g.location = a.location`;

export function readAgentGauges(db: Db, livenessMs: number): Promise<AgentGaugeRow[]> {
  return db.$queryRawUnsafe<AgentGaugeRow[]>(GAUGES_SQL, livenessMs);
}
