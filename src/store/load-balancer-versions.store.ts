// What changed in a location since a generation — the read behind every incremental push — and the
// pruning of the tombstones that make deletions answerable (tables and triggers: the migration
// 20261128061000_incremental_push). One statement, so one snapshot: the changed load balancers,
// the deletions and the generation they add up to are exactly what that generation committed.
//
// The caller keeps compiled load balancers by (uid, generation); it names the ones it already has
// (`known`) and gets documents only for the others, so a full read of a 10,000-LB location that the
// cache mostly holds moves a list of ids over the wire, not 10,000 documents.

import type pg from "pg";
import { loadBalancerId } from "../domain/ids.js";
import { agentIsLive } from "./fragments.js";
import { CHILDREN_JSON_SQL } from "./load-balancer-rows.js";
import { toStored, type Row, type StoredLoadBalancer } from "./load-balancers.store.js";

// $1 location key, $2 base generation (-1 = everything), $3/$4 the (uid, generation) pairs the
// caller has compiled. A deletion only matters to a delta (a full state lists what exists).
const CHANGES_SQL = `
  WITH known AS MATERIALIZED (SELECT * FROM unnest($3::uuid[], $4::bigint[]) AS k(id, gen)),
  changed AS MATERIALIZED (
    SELECT lb.id, lb.generation FROM load_balancers lb WHERE lb.location = $1 AND lb.generation > $2::bigint)
  SELECT (SELECT generation::text FROM location_generations WHERE location = $1) AS generation,
         (SELECT pruned_through::text FROM location_tombstone_horizons WHERE location = $1) AS horizon,
         (SELECT coalesce(json_agg(json_build_array(c.id, c.generation::text) ORDER BY c.id), '[]'::json)::text FROM changed c) AS members,
         (SELECT coalesce(json_agg(d.doc), '[]'::json)::text FROM (
            SELECT to_jsonb(lb) || jsonb_build_object('generation', lb.generation::text, 'rg_name', rg.name)
                               || jsonb_build_object(${CHILDREN_JSON_SQL}) AS doc
            FROM changed c JOIN load_balancers lb ON lb.id = c.id JOIN resource_groups rg ON rg.id = lb.resource_group_id
            WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.id = c.id AND k.gen = c.generation)) d) AS docs,
         (SELECT coalesce(json_agg(json_build_array(t.load_balancer_id, t.subscription_id, t.resource_group_name, t.name)), '[]'::json)::text
            FROM load_balancer_tombstones t
            WHERE $2::bigint >= 0 AND t.location = $1 AND t.generation > $2::bigint) AS removed`;

export interface LocationChanges {
  /** The location's generation in this snapshot. */
  generation: bigint;
  /** Tombstones at or below this generation are pruned: a base below it cannot get a delta. */
  horizon: bigint;
  /** Every load balancer written after the base, as (uid, generation). */
  changed: Array<{ uid: string; generation: bigint }>;
  /** Documents of the changed load balancers the caller did not name as known. */
  documents: StoredLoadBalancer[];
  /** Load balancers deleted after the base (empty for a full read). */
  removed: Array<{ uid: string; id: string }>;
  /** The uids of every deletion after the base, also those `removed` cannot name (their group went first). */
  removedUids: string[];
}

/** `since` -1 reads the whole location; `known` = (uid, generation) pairs the caller has compiled. */
export async function readLocationChanges(
  pool: pg.Pool,
  location: string,
  since: bigint,
  known: Array<{ uid: string; generation: bigint }>,
): Promise<LocationChanges> {
  const { rows } = await pool.query<{ generation: string | null; horizon: string | null; members: string; docs: string; removed: string }>({
    name: "lbplane-location-changes",
    text: CHANGES_SQL,
    values: [location, since.toString(), known.map((k) => k.uid), known.map((k) => k.generation.toString())],
  });
  const r = rows[0];
  const tombstones = JSON.parse(r.removed) as Array<[string, string, string | null, string]>;
  const removed = tombstones.flatMap(([uid, subscriptionId, resourceGroup, name]) =>
    // A tombstone without its group's name (the group row was gone first) cannot be named; a full
    // state after the next base mismatch still removes it.
    resourceGroup === null ? [] : [{ uid, id: loadBalancerId({ subscriptionId, resourceGroup, name }) }],
  );
  return {
    generation: BigInt(r.generation ?? 0),
    horizon: BigInt(r.horizon ?? 0),
    changed: (JSON.parse(r.members) as Array<[string, string]>).map(([uid, generation]) => ({ uid, generation: BigInt(generation) })),
    documents: (JSON.parse(r.docs) as Row[]).map(toStored),
    removed,
    removedUids: tombstones.map(([uid]) => uid),
  };
}

// Per location: the lowest generation its live agents acknowledged (a location without live agents
// keeps nothing: its generation), tombstones at or below it go and the horizon moves up to it. An
// agent that was not live and comes back from below the horizon gets the full state.
const PRUNE_SQL = `
  WITH floor AS MATERIALIZED (
    SELECT t.location,
           LEAST(COALESCE((SELECT min(a.acked_generation) FROM agents a WHERE a.location = t.location AND ${agentIsLive("a", "$1")}),
                          g.generation), g.generation) AS through
    FROM (SELECT DISTINCT location FROM load_balancer_tombstones WHERE generation IS NOT NULL) t
    JOIN location_generations g ON g.location = t.location
  ), gone AS (
    DELETE FROM load_balancer_tombstones t USING floor f
    WHERE t.location = f.location AND t.generation <= f.through
    RETURNING t.location
  ), horizon AS (
    INSERT INTO location_tombstone_horizons (location, pruned_through)
    SELECT f.location, f.through FROM floor f WHERE f.through > 0
    ON CONFLICT (location) DO UPDATE SET pruned_through = GREATEST(location_tombstone_horizons.pruned_through, EXCLUDED.pruned_through)
  )
  SELECT count(*)::int AS pruned FROM gone`;

/** Prunes every location's tombstones that all of its live agents have; returns how many went. */
export async function pruneTombstones(pool: pg.Pool, livenessMs: number): Promise<number> {
  const { rows } = await pool.query<{ pruned: number }>({ name: "lbplane-prune-tombstones", text: PRUNE_SQL, values: [livenessMs] });
  return rows[0]?.pruned ?? 0;
}
