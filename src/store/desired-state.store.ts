// The read behind every push: a location's generation and all of its load balancers, in ONE
// statement — one snapshot, one round trip, no transaction — so the content is exactly what that
// generation committed and an ACK of generation g proves the agent has every write stamped <= g.
// Prepared (named) once per connection: planning it costs more than running it.

import type pg from "pg";
import { poolOf, type Db } from "./prisma.js";
import { CHILDREN_JSON_SQL } from "./load-balancer-rows.js";
import { toStored, type Row, type StoredLoadBalancer } from "./load-balancers.store.js";

const DESIRED_SQL = `
  SELECT (SELECT generation::text FROM location_generations WHERE location = $1) AS generation,
         (SELECT coalesce(json_agg(d.doc ORDER BY d.id), '[]'::json)::text FROM (
            SELECT lb.id, to_jsonb(lb) || jsonb_build_object('generation', lb.generation::text, 'rg_name', rg.name)
                          || jsonb_build_object(${CHILDREN_JSON_SQL}) AS doc
            FROM load_balancers lb JOIN resource_groups rg ON rg.id = lb.resource_group_id
            WHERE lb.location = $1) d) AS docs`;

export interface DesiredSnapshot {
  generation: bigint;
  /** Every load balancer of the location, ordered by uid. */
  loadBalancers: StoredLoadBalancer[];
}

/** `location` is the normalised location key. */
export async function readDesiredSnapshot(pool: pg.Pool, location: string): Promise<DesiredSnapshot> {
  const { rows } = await pool.query<{ generation: string | null; docs: string }>({ name: "lbplane-desired-state", text: DESIRED_SQL, values: [location] });
  return {
    generation: BigInt(rows[0].generation ?? 0),
    loadBalancers: (JSON.parse(rows[0].docs) as Row[]).map(toStored),
  };
}

/**
 * The same snapshot through the request path's database (its pg pool), for use cases that must
 * know what the location's agents were sent (health intake checks a report against it).
 */
export function readDesiredSnapshotFrom(db: Db, location: string): Promise<DesiredSnapshot> {
  return readDesiredSnapshot(poolOf(db), location);
}
