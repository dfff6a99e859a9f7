// The SQL of load balancer writes, as named steps the use case (src/services/load-balancers.service.ts)
// calls in order. Each step is one call (a round trip per statement); none decides anything: what to
// write, whether it is allowed and what to answer are the use case's and the domain's.
//
// PUT (the hot path) runs on the pg driver (sql-transaction.ts) with prepared statements and no
// query-builder work: lockLoadBalancerForWrite (lock and read, public IPs of the body) →
// [resolvePublicIps when the defaults changed the references] → readCompetingClaims (lock claim keys,
// read the claims they guard) → commitLoadBalancerWrite (head row, child diff, claim diff, then the
// location's generation and the operation, COMMIT). PATCH tags and DELETE are small and run on Prisma under the row lock.

import type { Claims, OwnedClaims } from "../domain/claims.js";
import type { LoadBalancerSpec, PublicIpView } from "../domain/model.js";
import { poolOf, type Db } from "./prisma.js";
import { agentIsLive, bumpGenerationSql } from "./fragments.js";
import { childWrites } from "./load-balancer-children.js";
import { specToRows, storedChildRows, type ChildRows } from "./load-balancer-rows.js";
import { findLoadBalancer, loadBalancerByNameStatement, toStored, type Row, type StoredLoadBalancer } from "./load-balancers.store.js";
import {
  childRowCount, documentKey, documentOfWrite, KEEP_FROM_CHILD_ROWS, writtenDocumentsOf, type LoadBalancerHead, type WrittenDocuments,
} from "./written-documents.js";
import {
  lockClaimKeysStatement, NO_STORED_CLAIMS, otherClaimsFrom, otherClaimsStatements, replaceClaimsStatements, storedClaimsFrom,
  storedClaimsStatement,
} from "./claims.store.js";
import { insertOperationSql, type Operation } from "./operations.store.js";
import { publicIpStatement, resolvedPublicIps, type PublicIpRef, type ResolvedPublicIps } from "./public-ip-resolver.js";
import type { Tx } from "./resource-groups.store.js";
import { inTransaction, type SqlTransaction, type Statement } from "./sql-transaction.js";

export type { SqlTransaction };

const MAX_WAIT_MS = 10_000;
const TIMEOUT_MS = 120_000;

/** The load balancer a write addresses (names as the client spelled them). */
export interface LoadBalancerKey {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** Runs `work` as one pg transaction for a load balancer PUT; rolls back when it throws. */
export function inLoadBalancerWrite<T>(db: Db, work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  return inTransaction(poolOf(db), { maxWaitMs: MAX_WAIT_MS, timeoutMs: TIMEOUT_MS }, work);
}

/** Runs `work` as one Prisma transaction (PATCH tags, DELETE), with the same limits as a PUT. */
export function inLoadBalancerTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(work, { maxWait: MAX_WAIT_MS, timeout: TIMEOUT_MS });
}

/** The resource group (locked FOR KEY SHARE) and, locked FOR UPDATE, the id of its load balancer `name` (null when absent). */
function lockStatement(key: LoadBalancerKey): Statement {
  return {
    text: `
      SELECT rg.id, rg.subscription_id, rg.name,
             (SELECT lb.id FROM load_balancers lb WHERE lb.resource_group_id = rg.id AND lb.name_key = $3 FOR UPDATE) AS lb_id
      FROM resource_groups rg WHERE rg.subscription_id = $1 AND rg.name_key = $2
      -- Held to the end: a resource group delete (which locks the row first) waits for this write, then sees it.
      FOR KEY SHARE OF rg`,
    values: [key.subscriptionId.toLowerCase(), key.resourceGroup.toLowerCase(), key.name.toLowerCase()],
  };
}

export interface LockedForWrite {
  /** Undefined when the resource group does not exist. */
  resourceGroup?: { id: string; subscriptionId: string; name: string };
  /** The load balancer as stored, locked until the transaction ends; undefined when absent. */
  current?: StoredLoadBalancer;
  /** Its stored row, for the child diff (opaque to callers). */
  currentRow?: Row;
  /** The public IPs of `refs`, looked up in the same round trip (undefined when none were asked for). */
  publicIps?: ResolvedPublicIps;
}

/**
 * Step 1: locks the resource group and the load balancer, reads the load balancer, and (when
 * `refs` are given, e.g. from a PUT body) looks up those public IPs — one round trip.
 */
export async function lockLoadBalancerForWrite(tx: SqlTransaction, key: LoadBalancerKey, refs?: PublicIpRef[]): Promise<LockedForWrite> {
  const lookup = refs && publicIpStatement(refs);
  const kept = writtenDocumentsOf(tx.pool).get(documentKey(key.subscriptionId, key.resourceGroup, key.name));
  const [locked, read, pips] = await tx.step([
    lockStatement(key),
    loadBalancerByNameStatement(key.subscriptionId, key.resourceGroup, key.name, kept),
    lookup,
  ]);
  const rg = locked.rows[0] as { id: string; subscription_id: string; name: string; lb_id: string | null } | undefined;
  if (!rg) return {};
  // Read after the lock (its own snapshot); a row created meanwhile by another writer is not
  // ours to update — inserting then fails on the unique name and the retry sees it locked.
  const row = rowRead(read.rows[0], kept?.uid === read.rows[0]?.id ? kept?.text : undefined);
  const currentRow = rg.lb_id && row?.id === rg.lb_id ? row : undefined;
  return {
    resourceGroup: { id: rg.id, subscriptionId: rg.subscription_id, name: rg.name },
    current: currentRow && toStored(currentRow),
    currentRow,
    publicIps: refs && resolvedPublicIps(refs, pips),
  };
}

/** The row read, its document from the copy kept when the database found the copy current. */
function rowRead(read: { id: string; provisioning_state: string; generation: string; doc: string | null } | undefined, keptText?: string): Row | undefined {
  if (!read) return undefined;
  const text = read.doc ?? keptText;
  if (text === undefined) return undefined;
  return { ...(JSON.parse(text) as Row), provisioning_state: read.provisioning_state, generation: read.generation };
}

/** Looks up the public IPs of `refs` (no round trip when there are none). */
export async function resolvePublicIps(tx: SqlTransaction, refs: PublicIpRef[]): Promise<ResolvedPublicIps> {
  const lookup = publicIpStatement(refs);
  return resolvedPublicIps(refs, lookup && (await tx.step([lookup]))[0]);
}

/**
 * Step 2: takes the advisory locks of every lookup key of `claims`, then reads the claims of other
 * load balancers (not `ownUid`) under those keys — read after the locks are held, so no writer of
 * the same keys commits in between. One round trip.
 */
export async function readCompetingClaims(tx: SqlTransaction, claims: Claims, ownUid: string | undefined): Promise<OwnedClaims> {
  const reads = otherClaimsStatements(claims, ownUid);
  const [, frontend, destination] = await tx.step([lockClaimKeysStatement(claims), reads.frontend, reads.destination]);
  return otherClaimsFrom(frontend, destination);
}

/** The child rows to write, diffed against what is stored; `written` counts the rows touched. */
export interface ChildWritePlan {
  statements: Statement[];
  written: number;
  /** Every child row as the write leaves them (kept rows with their stored ids). */
  rows: ChildRows;
}

/**
 * The child writes that turn `currentRow`'s children (none when undefined) into `spec`'s; rows left
 * unchanged keep their ids and are not written. `publicIpUids` maps a frontend name (lower-cased)
 * to its public IP row.
 */
export function planChildWrites(currentRow: Row | undefined, spec: LoadBalancerSpec, uid: string, publicIpUids: Map<string, string>): ChildWritePlan {
  const rows = specToRows(spec, uid, publicIpUids);
  return { ...childWrites(currentRow && storedChildRows(currentRow), rows), rows };
}

/** The load balancer's own row as the write leaves it. */
export interface HeadWrite extends LoadBalancerHead {
  /** INSERT (true) or UPDATE of row `uid`. */
  create: boolean;
  /** ARM id (the operation's resource id). */
  resourceId: string;
  operationId: string;
  /** A live agent (heartbeat within this window) makes the write wait for acknowledgement. */
  livenessMs: number;
}

/**
 * The load balancer's own row (INSERT when `create`), without its generation: that comes last
 * (generationStatement), so the location's generation row is locked for one statement and the
 * COMMIT, not for every child and claim statement in between. Every write of a location bumps that
 * one row, so the time it is held is the time writes of a location wait for each other: held across
 * ten round trips, eight concurrent PUTs on a busy host queued past the 5 s statement timeout.
 */
function rowStatement(v: HeadWrite): Statement {
  return v.create
    ? {
        text: `
          INSERT INTO load_balancers (id, resource_group_id, subscription_id, name, name_key, location, tags, etag, sku_name, sku_tier,
                                      provisioning_state, generation, created_at, updated_at)
          VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, 'Updating', 0, now(), now())`,
        values: [v.uid, v.resourceGroupId, v.subscriptionId, v.name, v.name.toLowerCase(), v.location.toLowerCase(), JSON.stringify(v.tags), v.etag, v.skuName, v.skuTier],
      }
    : {
        text: `
          UPDATE load_balancers SET location = $2, tags = $3::jsonb, etag = $4, sku_name = $5, sku_tier = $6, updated_at = now()
          WHERE id = $1::uuid`,
        values: [v.uid, v.location.toLowerCase(), JSON.stringify(v.tags), v.etag, v.skuName, v.skuTier],
      };
}

/**
 * The last statement before COMMIT: bumps the location's generation, stamps the load balancer with
 * it, sees whether a live agent must confirm (provisioningState) and records the operation.
 */
function generationStatement(v: HeadWrite): Statement {
  const state = "CASE WHEN a.wait THEN 'Updating' ELSE 'Succeeded' END";
  const operation = insertOperationSql({
    id: "$3::uuid", subscriptionId: "$4", location: "$1", resourceId: "$5", loadBalancerId: "$6::uuid", kind: "'Put'",
    generation: "g.generation", done: "NOT a.wait",
  }, "g, a");
  return {
    text: `
      WITH g AS (${bumpGenerationSql("$1")}),
      a AS (SELECT EXISTS (SELECT 1 FROM agents ag WHERE ag.location = $1 AND ${agentIsLive("ag", "$2")}) AS wait),
      lb AS (UPDATE load_balancers SET provisioning_state = ${state}, generation = g.generation FROM g, a WHERE id = $6::uuid),
      op AS (${operation}
        RETURNING status, start_time, end_time)
      SELECT g.generation::text AS generation, op.status, op.start_time, op.end_time FROM g, op`,
    values: [v.location.toLowerCase(), v.livenessMs, v.operationId, v.subscriptionId, v.resourceId, v.uid],
  };
}

/** What the document a write leaves needs beyond the head and the child rows. */
export interface DocumentContext {
  resourceGroupName: string;
  /** The public IPs the frontends reference, keyed by the lower-cased reference id. */
  publicIps: Map<string, PublicIpView>;
}

/**
 * Step 3: writes the head row, the planned child rows and — when `claims` is given — the diff from
 * the stored claims to `claims`, then the generation and the operation, then COMMITs. Answers the
 * operation recorded. A large load balancer's document is kept for its next write (written-documents.ts).
 */
export async function commitLoadBalancerWrite(
  tx: SqlTransaction,
  write: { head: HeadWrite; children: ChildWritePlan; claims?: Claims; document: DocumentContext },
): Promise<Operation> {
  const { head, children, claims } = write;
  let claimWrites: Statement[] = [];
  if (claims) {
    const before = head.create ? NO_STORED_CLAIMS : storedClaimsFrom((await tx.step([storedClaimsStatement(head.uid)]))[0]);
    claimWrites = replaceClaimsStatements(head.uid, head.subscriptionId, before, claims);
  }
  const written = await tx.commit([rowStatement(head), ...children.statements, ...claimWrites, generationStatement(head)]);
  const h = written[written.length - 1].rows[0] as { generation: string; status: string; start_time: Date; end_time: Date | null };
  keepDocument(writtenDocumentsOf(tx.pool), head, children.rows, write.document, BigInt(h.generation));
  return {
    id: head.operationId, subscriptionId: head.subscriptionId, location: head.location.toLowerCase(), resourceId: head.resourceId,
    loadBalancerId: head.uid, kind: "Put", status: h.status, generation: BigInt(h.generation), error: null,
    startTime: h.start_time, endTime: h.end_time,
  };
}

/** After COMMIT: keeps the document of a large load balancer, forgets any older copy of a small one. */
function keepDocument(docs: WrittenDocuments, head: HeadWrite, rows: ChildRows, ctx: DocumentContext, generation: bigint): void {
  const key = documentKey(head.subscriptionId, ctx.resourceGroupName, head.name);
  if (childRowCount(rows) < KEEP_FROM_CHILD_ROWS) {
    docs.delete(key);
    return;
  }
  const text = documentOfWrite({
    ...head, resourceGroupName: ctx.resourceGroupName,
    // Both come fresh from the row with every read of the copy.
    provisioningState: "Updating", generation,
    children: rows, publicIps: ctx.publicIps,
  });
  docs.set(key, { uid: head.uid, etag: head.etag, text });
}

/**
 * Locks load balancer `name` of resource group `resourceGroupId` FOR UPDATE and reads it; undefined
 * when absent. Prisma transactions (PATCH tags, DELETE).
 */
export async function lockLoadBalancer(tx: Tx, resourceGroupId: string, name: string): Promise<StoredLoadBalancer | undefined> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM load_balancers WHERE resource_group_id = ${resourceGroupId}::uuid AND name_key = ${name.toLowerCase()} FOR UPDATE`;
  if (!rows[0]) return undefined;
  return findLoadBalancer(tx, resourceGroupId, name);
}

/** Replaces the tags and etag of load balancer `uid` (tags reach no agent: no generation). */
export async function replaceLoadBalancerTags(tx: Tx, uid: string, tags: Record<string, string>, etag: string): Promise<void> {
  await tx.loadBalancer.update({ where: { id: uid }, data: { tags, etag } });
}

/** Deletes load balancer `uid`; its children and claims follow by cascade. */
export async function deleteLoadBalancerRow(tx: Tx, uid: string): Promise<void> {
  await tx.loadBalancer.delete({ where: { id: uid } });
}
