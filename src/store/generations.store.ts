// Every write that changes what the agents of a location must serve bumps that location's
// generation inside the write's own transaction, so the generation and the change commit together.

import type { Tx } from "./resource-groups.store.js";

/** Increments and returns the location's generation (creating it at 1). Call inside the write's transaction. */
export async function bumpGeneration(tx: Tx, location: string): Promise<bigint> {
  const key = location.toLowerCase();
  const rows = await tx.$queryRaw<Array<{ generation: bigint }>>`
    INSERT INTO location_generations (location, generation, updated_at) VALUES (${key}, 1, now())
    ON CONFLICT (location) DO UPDATE SET generation = location_generations.generation + 1, updated_at = now()
    RETURNING generation`;
  return rows[0].generation;
}
