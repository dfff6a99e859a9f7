// Every write that changes what the agents of a location must serve bumps that location's
// generation inside the write's own transaction, so the generation and the change commit together.
// The bump itself is spelled once, in fragments.ts (the load balancer PUT embeds it in its head statement).

import { bumpGenerationSql } from "./fragments.js";
import type { Tx } from "./resource-groups.store.js";

const BUMP = bumpGenerationSql("$1");

/** Increments and returns the location's generation (creating it at 1). Call inside the write's transaction. */
export async function bumpGeneration(tx: Tx, location: string): Promise<bigint> {
  const rows = await tx.$queryRawUnsafe<Array<{ generation: bigint }>>(BUMP, location.toLowerCase());
  return rows[0].generation;
}
