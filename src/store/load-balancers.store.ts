// Reading load balancers back into the domain's shape, for the API, the write use cases and agent
// compilation: one JSON document per load balancer (CHILDREN_JSON_SQL), parsed by toStored.

import { afterKey, KEYSET_ORDER, type Page, type PageRequest, pageOfRows, take } from "./paging.js";
import { applyDefaults } from "../domain/defaults.js";
import { loadBalancerId, childId } from "../domain/ids.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { CHILDREN_JSON_SQL, rowsToSpec, type LoadBalancerRow } from "./load-balancer-rows.js";
import { publicIpId } from "./public-ips.store.js";
import type pg from "pg";
import { Coalescer } from "./coalesce.js";
import { poolOf, type Db } from "./prisma.js";
import type { Tx } from "./resource-groups.store.js";
import type { Statement } from "./sql-transaction.js";

export interface StoredLoadBalancer {
  /** Database id (uuid). */
  uid: string;
  /** ARM id. */
  id: string;
  address: LoadBalancerAddress;
  /** Defaults applied, child ids filled. */
  spec: LoadBalancerSpec;
  /** Public IPs its frontends reference, keyed by the lower-cased reference id. */
  publicIps: Map<string, PublicIpView>;
  location: string;
  etag: string;
  provisioningState: string;
  generation: bigint;
  resourceGroupId: string;
}

/** The load balancer's own columns and its children, as read by LOAD_BALANCER_SQL. */
export type Row = LoadBalancerRow & {
  id: string;
  name: string;
  subscription_id: string;
  etag: string;
  provisioning_state: string;
  /** Text: a bigint does not survive JSON. */
  generation: string;
  resource_group_id: string;
  rg_name: string;
  frontendIPConfigurations: Array<
    LoadBalancerRow["frontendIPConfigurations"][number] & {
      public_ip: null | { name: string; subscription_id: string; ip_address: string | null; sku_name: string; rg_name: string };
    }
  >;
};

/** One load balancer `lb` (of group `rg`) with its children as one JSON text: a Row. */
const DOC_SQL = `(to_jsonb(lb) || jsonb_build_object('generation', lb.generation::text, 'rg_name', rg.name)
                 || jsonb_build_object(${CHILDREN_JSON_SQL}))::text`;
const SELECT_ROWS = `
  SELECT lb.id, ${DOC_SQL} AS doc
  FROM load_balancers lb JOIN resource_groups rg ON rg.id = lb.resource_group_id`;

async function queryRows(db: Tx, where: string, ...params: unknown[]): Promise<Row[]> {
  const docs = await db.$queryRawUnsafe<Array<{ doc: string }>>(`${SELECT_ROWS} WHERE ${where}`, ...params);
  return docs.map(({ doc }) => JSON.parse(doc) as Row);
}

/** Full rows of the load balancers `uids`, in that order (missing ones skipped). */
async function readRows(db: Tx, uids: string[]): Promise<Row[]> {
  if (!uids.length) return [];
  const byId = new Map((await queryRows(db, "lb.id = ANY($1::uuid[])", uids)).map((row) => [row.id, row]));
  return uids.flatMap((uid) => byId.get(uid) ?? []);
}

/**
 * A row as the domain sees a load balancer. Defaults are applied on read on purpose: the read model
 * promises "defaults applied, child ids filled" (ids are never stored, and a row written before a
 * default existed still reads complete). applyDefaults is pure and idempotent, so this is a
 * projection, not a decision; every write decides its defaults in the use case before storing.
 */
export function toStored(row: Row): StoredLoadBalancer {
  const address = { subscriptionId: row.subscription_id, resourceGroup: row.rg_name, name: row.name };
  const id = loadBalancerId(address);
  const spec = applyDefaults(rowsToSpec(row), address);
  const publicIps = new Map<string, PublicIpView>();
  for (const fe of row.frontendIPConfigurations) {
    const pip = fe.public_ip;
    const ref = (fe.properties as { publicIPAddress?: { id?: string } }).publicIPAddress?.id;
    if (!pip || !ref) continue;
    publicIps.set(ref.toLowerCase(), {
      id: publicIpId(pip.subscription_id, pip.rg_name, pip.name),
      ipAddress: pip.ip_address ?? undefined,
      skuName: pip.sku_name,
      usedBy: childId(id, "frontendIPConfigurations", fe.name),
    });
  }
  return {
    uid: row.id,
    id,
    address,
    spec,
    publicIps,
    location: row.location,
    etag: row.etag,
    provisioningState: row.provisioning_state,
    generation: BigInt(row.generation),
    resourceGroupId: row.resource_group_id,
  };
}

/**
 * The row of one load balancer addressed by its subscription, resource group name and name, for
 * the write path (lockLoadBalancerForWrite parses the `doc` column). Given the (uid, etag) of a copy
 * the caller holds, `doc` is NULL when the copy is current; the provisioning state and generation,
 * which change without a new etag, come beside it.
 */
export function loadBalancerByNameStatement(
  subscriptionId: string, resourceGroup: string, name: string, known?: { uid: string; etag: string },
): Statement {
  return {
    text: `
      SELECT lb.id, lb.provisioning_state, lb.generation::text AS generation,
             CASE WHEN lb.id = $4::uuid AND lb.etag = $5 THEN NULL ELSE ${DOC_SQL} END AS doc
      FROM load_balancers lb JOIN resource_groups rg ON rg.id = lb.resource_group_id
      WHERE rg.subscription_id = $1 AND rg.name_key = $2 AND lb.name_key = $3`,
    values: [subscriptionId.toLowerCase(), resourceGroup.toLowerCase(), name.toLowerCase(), known?.uid ?? null, known?.etag ?? null],
  };
}

/**
 * What tells one rendering of a load balancer from another: its row, its etag (every write draws a
 * new one) and its provisioning state (operation settlement changes it without a new etag).
 */
export interface LoadBalancerVersion {
  uid: string;
  etag: string;
  provisioningState: string;
}

export function versionOf(lb: StoredLoadBalancer): LoadBalancerVersion {
  return { uid: lb.uid, etag: lb.etag, provisioningState: lb.provisioningState };
}

/** A read by name: whether the group exists, and the load balancer, or `unchanged` when it is still `known`. */
export interface LoadBalancerByName {
  resourceGroupExists: boolean;
  loadBalancer?: StoredLoadBalancer;
  /** The load balancer is still exactly the `known` version: its document was not built nor sent. */
  unchanged?: true;
}

/** One read by name, as it waits for its batch. */
interface ReadByName {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  known?: LoadBalancerVersion;
}

// Every read of a batch in one statement: per key, whether the group exists and the load balancer's
// document — NULL when the reader already holds that version (the CASE keeps the document, the
// costly part, from being built at all).
const READS_BY_NAME_SQL = `
  SELECT k.i::int AS i, EXISTS (SELECT 1 FROM resource_groups g WHERE g.subscription_id = k.sub AND g.name_key = k.rg_key) AS rg, d.id, d.doc
  FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[]) WITH ORDINALITY AS k(sub, rg_key, lb_key, uid, etag, state, i)
  LEFT JOIN LATERAL (
    SELECT lb.id, CASE WHEN lb.id = k.uid AND lb.etag = k.etag AND lb.provisioning_state = k.state THEN NULL ELSE ${DOC_SQL} END AS doc
    FROM load_balancers lb JOIN resource_groups rg ON rg.id = lb.resource_group_id
    WHERE rg.subscription_id = k.sub AND rg.name_key = k.rg_key AND lb.name_key = k.lb_key
  ) d ON true`;

async function readBatchByName(pool: pg.Pool, reads: ReadByName[]): Promise<LoadBalancerByName[]> {
  const { rows } = await pool.query<{ i: number; rg: boolean; id: string | null; doc: string | null }>({
    name: "lbplane-lb-reads-by-name",
    text: READS_BY_NAME_SQL,
    values: [
      reads.map((r) => r.subscriptionId.toLowerCase()),
      reads.map((r) => r.resourceGroup.toLowerCase()),
      reads.map((r) => r.name.toLowerCase()),
      reads.map((r) => r.known?.uid ?? null),
      reads.map((r) => r.known?.etag ?? null),
      reads.map((r) => r.known?.provisioningState ?? null),
    ],
  });
  const answers: LoadBalancerByName[] = [];
  for (const { i, rg, id, doc } of rows) {
    answers[i - 1] = id === null ? { resourceGroupExists: rg } : doc === null ? { resourceGroupExists: rg, unchanged: true } : { resourceGroupExists: rg, loadBalancer: toStored(JSON.parse(doc) as Row) };
  }
  return answers;
}

// Several batches out at once: one large document (a Standard-limits load balancer) being built
// must not hold back every other read of the process.
const readers = new WeakMap<pg.Pool, Coalescer<ReadByName, LoadBalancerByName>>();

/**
 * A read of one load balancer by name (no ORM): whether its resource group exists, and the load
 * balancer when it does. Given the version the caller already holds, the database compares it
 * first and builds the JSON document (children, public IPs) only when it differs: a repeated GET of
 * an unchanged load balancer costs an index lookup, not the document. Reads arriving together
 * share one statement (src/store/coalesce.ts).
 */
export function findLoadBalancerByName(
  db: Db,
  subscriptionId: string,
  resourceGroup: string,
  name: string,
  known?: LoadBalancerVersion,
): Promise<LoadBalancerByName> {
  const pool = poolOf(db);
  let reader = readers.get(pool);
  if (!reader) {
    reader = new Coalescer((reads) => readBatchByName(pool, reads), { maxBatch: 500, maxInFlight: 4 });
    readers.set(pool, reader);
  }
  return reader.add({ subscriptionId, resourceGroup, name, known });
}

/** The row of one load balancer, or undefined. */
export async function findLoadBalancerRow(db: Tx, resourceGroupId: string, name: string): Promise<Row | undefined> {
  const rows = await queryRows(db, "lb.resource_group_id = $1::uuid AND lb.name_key = $2", resourceGroupId, name.toLowerCase());
  return rows[0];
}

export async function findLoadBalancer(db: Tx, resourceGroupId: string, name: string): Promise<StoredLoadBalancer | undefined> {
  const row = await findLoadBalancerRow(db, resourceGroupId, name);
  return row ? toStored(row) : undefined;
}

/** One page of a subscription's or group's load balancers, in keyset order (src/store/paging.ts). */
export async function listLoadBalancers(
  db: Tx,
  where: { subscriptionId: string; resourceGroupId?: string },
  page: PageRequest,
): Promise<Page<StoredLoadBalancer>> {
  const keys = await db.loadBalancer.findMany({
    where: {
      subscriptionId: where.subscriptionId.toLowerCase(),
      ...(where.resourceGroupId ? { resourceGroupId: where.resourceGroupId } : {}),
      ...afterKey(page.after),
    },
    select: { id: true, nameKey: true },
    orderBy: KEYSET_ORDER,
    take: take(page),
  });
  const { items, next } = pageOfRows(keys, page.limit);
  return { items: (await readRows(db, items.map((r) => r.id))).map(toStored), next };
}

