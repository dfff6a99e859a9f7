// Reading load balancers back into the domain's shape, for the API, the write use cases and agent
// compilation: one JSON document per load balancer (CHILDREN_JSON_SQL), parsed by toStored.

import { afterKey, KEYSET_ORDER, type Page, type PageRequest, pageOfRows, take } from "./paging.js";
import { applyDefaults } from "../domain/defaults.js";
import { loadBalancerId, childId } from "../domain/ids.js";
import type { LoadBalancerAddress, LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { CHILDREN_JSON_SQL, rowsToSpec, type LoadBalancerRow } from "./load-balancer-rows.js";
import { publicIpId } from "./public-ips.store.js";
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

const SELECT_ROWS = `
  SELECT lb.id, (to_jsonb(lb) || jsonb_build_object('generation', lb.generation::text, 'rg_name', rg.name)
                 || jsonb_build_object(${CHILDREN_JSON_SQL}))::text AS doc
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
 * the write path (the caller parses the single `doc` column with rowOf).
 */
export function loadBalancerByNameStatement(subscriptionId: string, resourceGroup: string, name: string): Statement {
  return {
    text: `${SELECT_ROWS} WHERE rg.subscription_id = $1 AND rg.name_key = $2 AND lb.name_key = $3`,
    values: [subscriptionId.toLowerCase(), resourceGroup.toLowerCase(), name.toLowerCase()],
  };
}

/**
 * A read of one load balancer by name in one statement (no ORM): whether its resource group
 * exists, and the load balancer when it does.
 */
export async function findLoadBalancerByName(
  db: Db,
  subscriptionId: string,
  resourceGroup: string,
  name: string,
): Promise<{ resourceGroupExists: boolean; loadBalancer?: StoredLoadBalancer }> {
  const byName = loadBalancerByNameStatement(subscriptionId, resourceGroup, name);
  const { rows } = await poolOf(db).query<{ rg: boolean; doc: string | null }>({
    name: "lbplane-lb-by-name",
    text: `SELECT e.rg, d.doc FROM (SELECT EXISTS (SELECT 1 FROM resource_groups WHERE subscription_id = $1 AND name_key = $2) AS rg) e
           LEFT JOIN (${byName.text}) d ON true`,
    values: byName.values,
  });
  const row = rows[0].doc === null ? undefined : (JSON.parse(rows[0].doc) as Row);
  return { resourceGroupExists: rows[0].rg, loadBalancer: row && toStored(row) };
}

export function rowOf(result: { rows: Array<{ doc: string }> }): Row | undefined {
  const doc = result.rows[0]?.doc;
  return doc === undefined ? undefined : (JSON.parse(doc) as Row);
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

