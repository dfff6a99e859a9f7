// Writing a load balancer's children as a diff against what is stored: a row whose columns are all
// unchanged keeps its id and is not touched, so re-PUTting an unchanged 5,000-address load balancer
// writes no child rows, and changing one rule rewrites that rule's row only. Rows travel as one JSON
// parameter per statement (json_populate_recordset), which keeps per-value query building out of
// the path.

import { CHILD_ROW_KINDS, CHILD_TABLES, emptyChildRows, type AddressRow, type ChildRowKind, type ChildRows, type PoolRow } from "./load-balancer-rows.js";
import type { Statement } from "./sql-transaction.js";

type Kind = ChildRowKind;
type AnyRow = ChildRows[Kind][number];

/** JSON equality as jsonb sees it: object key order is irrelevant and undefined members are absent. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameJson(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    count++;
    if (!sameJson(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (bo[k] !== undefined) count--;
  return count === 0;
}

/** Every column of `next` (but its id) equals the stored row's. */
function sameRow(stored: object, next: object): boolean {
  const s = stored as Record<string, unknown>;
  for (const [k, v] of Object.entries(next)) {
    if (k !== "id" && !sameJson(s[k] ?? null, v ?? null)) return false;
  }
  return true;
}

interface Plan {
  deletes: Map<Kind, string[]>;
  inserts: Map<Kind, AnyRow[]>;
  poolUpdates: PoolRow[];
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * Pairs stored and new rows by `key`: an identical pair keeps the stored row (the new row takes its
 * id); otherwise the stored row is deleted and the new one inserted.
 */
function pair<T extends AnyRow>(plan: Plan, kind: Kind, before: readonly T[], after: readonly T[], key: (r: T) => string): void {
  const old = new Map(before.map((r) => [key(r), r]));
  for (const row of after) {
    const k = key(row);
    const prev = old.get(k);
    old.delete(k);
    if (prev && sameRow(prev, row)) {
      row.id = prev.id;
      continue;
    }
    if (prev) push(plan.deletes, kind, prev.id);
    push(plan.inserts, kind, row);
  }
  for (const prev of old.values()) push(plan.deletes, kind, prev.id);
}

/** What must change to turn `before` into `after`. Gives `after`'s kept rows the stored ids. */
function plan(before: ChildRows, after: ChildRows): Plan {
  const p: Plan = { deletes: new Map(), inserts: new Map(), poolUpdates: [] };
  const byName = (r: { name_key: string }) => r.name_key;
  for (const kind of CHILD_ROW_KINDS) {
    if (kind === "backendAddressPools" || kind === "backendAddresses") continue;
    pair<ChildRows[typeof kind][number]>(p, kind, before[kind], after[kind], byName);
  }
  // A pool keeps its id while its name does (its addresses hang off it): its own columns are
  // updated in place and its addresses are paired by position.
  const storedPools = new Map(before.backendAddressPools.map((r) => [r.name_key, r]));
  const storedAddresses = new Map<string, AddressRow[]>();
  for (const a of before.backendAddresses) push(storedAddresses, a.pool_id, a);
  const newAddresses = new Map<string, AddressRow[]>();
  for (const a of after.backendAddresses) push(newAddresses, a.pool_id, a);
  for (const pool of after.backendAddressPools) {
    const prev = storedPools.get(pool.name_key);
    storedPools.delete(pool.name_key);
    const addresses = newAddresses.get(pool.id) ?? [];
    if (!prev) {
      push(p.inserts, "backendAddressPools", pool);
      for (const a of addresses) push(p.inserts, "backendAddresses", a);
      continue;
    }
    pool.id = prev.id;
    for (const a of addresses) a.pool_id = prev.id;
    if (!sameRow(prev, pool)) p.poolUpdates.push(pool);
    pair(p, "backendAddresses", storedAddresses.get(prev.id) ?? [], addresses, (a) => String(a.ordinal));
  }
  for (const prev of storedPools.values()) push(p.deletes, "backendAddressPools", prev.id); // its addresses follow by cascade
  return p;
}

const quote = (column: string) => `"${column}"`;
const POOLS = CHILD_TABLES.backendAddressPools;

/**
 * The statements that bring the stored children from `before` (undefined: none) to `after`, and
 * how many rows they write. Deletes go first so a renamed or replaced row never meets its
 * predecessor in a unique index.
 */
export function childWrites(before: ChildRows | undefined, after: ChildRows): { statements: Statement[]; written: number } {
  const p = plan(before ?? emptyChildRows(), after);
  const statements: Statement[] = [];
  let written = 0;
  for (const [kind, ids] of p.deletes) {
    written += ids.length;
    // `= ANY (ARRAY(...))`, not `IN (SELECT ...)`: the planner guessed 100 ids from the JSON and
    // hashed them against a sequential scan of the whole table (every load balancer's rules: 3,000
    // rows at 3,000 load balancers, each PUT); the array is read first, then the primary key probed.
    statements.push({
      text: `DELETE FROM ${CHILD_TABLES[kind]} WHERE id = ANY (ARRAY(SELECT value::uuid FROM json_array_elements_text($1::json)))`,
      values: [JSON.stringify(ids)],
    });
  }
  if (p.poolUpdates.length) {
    written += p.poolUpdates.length;
    statements.push({
      text: `UPDATE ${POOLS} t SET name = x.name, name_key = x.name_key, ordinal = x.ordinal, properties = x.properties
             FROM json_populate_recordset(NULL::${POOLS}, $1::json) x
             WHERE t.id = x.id AND t.id = ANY (ARRAY(SELECT (e->>'id')::uuid FROM json_array_elements($1::json) e))`,
      values: [JSON.stringify(p.poolUpdates)],
    });
  }
  for (const kind of CHILD_ROW_KINDS) {
    const rows = p.inserts.get(kind);
    if (!rows?.length) continue;
    written += rows.length;
    const table = CHILD_TABLES[kind];
    const columns = Object.keys(rows[0]).map(quote).join(", ");
    statements.push({
      text: `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${table}, $1::json)`,
      values: [JSON.stringify(rows)],
    });
  }
  return { statements, written };
}
