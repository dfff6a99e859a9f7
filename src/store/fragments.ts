// SQL fragments that state one rule each and must read the same wherever they appear: when an agent
// is live, how a location's generation moves. Each is written once here and spliced into the
// statements that need it (the hot paths embed them in larger CTEs). How an operation row is born is
// the same kind of fragment, kept with its table: insertOperationSql in operations.store.ts.

/**
 * True when the agents row `alias` heartbeated within the liveness window; `windowMs` is the SQL
 * expression (usually a parameter such as `$2`) holding the window in milliseconds. Judged by the
 * database clock, so replicas with skewed clocks agree on who is live.
 */
export function agentIsLive(alias: string, windowMs: string): string {
  return `${alias}.last_heartbeat_at > now() - (${windowMs}::int * interval '1 millisecond')`;
}

/** Increments the generation of location `location` (an SQL expression), creating it at 1; RETURNING generation. */
export function bumpGenerationSql(location: string): string {
  return `INSERT INTO location_generations (location, generation, updated_at) VALUES (${location}, 1, now())
    ON CONFLICT (location) DO UPDATE SET generation = location_generations.generation + 1, updated_at = now()
    RETURNING generation`;
}
