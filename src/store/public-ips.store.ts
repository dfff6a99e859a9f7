// Public IP address rows. One address belongs to one public IP resource at a time (unique index on
// ip_address); the frontend's FK to a public IP is ON DELETE RESTRICT, so a concurrent attach can
// never lose an address. Each function is one step of a use case (src/services/public-ips.service.ts)
// taking its transaction handle; the store reads and writes, the service decides.

import { afterKey, KEYSET_ORDER, type Page, type PageRequest, pageOfRows, take } from "./paging.js";
import { Prisma } from "./generated/client.js";
import type { PublicIpAddressGetPayload } from "./generated/models.js";
import type { Tx } from "./prisma.js";
import { newEtag } from "./etag.js";
import { isUniqueViolation, pgErrorCode } from "./pg-errors.js";

// Other store modules import the id from here; it lives with the other ARM ids in the domain.
export { publicIpId } from "../domain/ids.js";

const FOREIGN_KEY_VIOLATION = "23503";

/** Every row is read with who uses it: a frontend and its load balancer (in-use checks, ipConfiguration). */
const withUsage = {
  resourceGroup: true,
  frontends: { include: { loadBalancer: { include: { resourceGroup: true } } } },
} as const;

export type PublicIpRow = PublicIpAddressGetPayload<{ include: typeof withUsage }>;

/** The columns a PUT writes (the service has chosen the address). */
export interface PublicIpData {
  location: string;
  tags: Record<string, string>;
  skuName: string;
  skuTier: string;
  allocationMethod: string;
  ipVersion: "IPv4" | "IPv6";
  ipAddress: string;
  properties: Record<string, unknown>;
  /** undefined clears the zones: PUT replaces the resource. */
  zones?: string[];
}

/** The public IP row keyed by group and name, or null. */
export function findPublicIp(db: Tx, resourceGroupId: string, name: string): Promise<PublicIpRow | null> {
  return db.publicIpAddress.findUnique({
    where: { resourceGroupId_nameKey: { resourceGroupId, nameKey: name.toLowerCase() } },
    include: withUsage,
  });
}

/**
 * Locks the row (if any) before its usage is read: a load balancer write holding this address
 * (FOR KEY SHARE) commits first, and the in-use checks then see its frontend.
 */
export async function lockPublicIp(tx: Tx, resourceGroupId: string, name: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM public_ip_addresses WHERE resource_group_id = ${resourceGroupId}::uuid AND name_key = ${name.toLowerCase()} FOR UPDATE`;
}

/** Id of the public IP holding `address`, or null. */
export async function findAddressHolder(tx: Tx, address: string): Promise<string | null> {
  const holder = await tx.publicIpAddress.findUnique({ where: { ipAddress: address }, select: { id: true } });
  return holder?.id ?? null;
}

export function listPublicIpsOfGroup(db: Tx, resourceGroupId: string, page: PageRequest): Promise<Page<PublicIpRow>> {
  return listWhere(db, { resourceGroupId }, page);
}

export function listPublicIpsOfSubscription(db: Tx, subscriptionId: string, page: PageRequest): Promise<Page<PublicIpRow>> {
  return listWhere(db, { subscriptionId: subscriptionId.toLowerCase() }, page);
}

async function listWhere(
  db: Tx,
  where: { resourceGroupId: string } | { subscriptionId: string },
  page: PageRequest,
): Promise<Page<PublicIpRow>> {
  const rows = await db.publicIpAddress.findMany({
    where: { ...where, ...afterKey(page.after) },
    include: withUsage,
    orderBy: KEYSET_ORDER,
    take: take(page),
  });
  return pageOfRows(rows, page.limit);
}

function columnsOf(data: PublicIpData) {
  return {
    ...data,
    etag: newEtag(),
    properties: data.properties as object,
    zones: data.zones ?? Prisma.DbNull,
  };
}

export function createPublicIpRow(
  tx: Tx,
  group: { id: string; subscriptionId: string },
  name: string,
  data: PublicIpData,
): Promise<PublicIpRow> {
  return tx.publicIpAddress.create({
    data: { ...columnsOf(data), resourceGroupId: group.id, subscriptionId: group.subscriptionId, name, nameKey: name.toLowerCase() },
    include: withUsage,
  });
}

export function replacePublicIpRow(tx: Tx, id: string, data: PublicIpData): Promise<PublicIpRow> {
  return tx.publicIpAddress.update({ where: { id }, data: columnsOf(data), include: withUsage });
}

export function updatePublicIpTagsRow(tx: Tx, id: string, tags: Record<string, string>): Promise<PublicIpRow> {
  return tx.publicIpAddress.update({ where: { id }, data: { tags, etag: newEtag() }, include: withUsage });
}

export async function deletePublicIpRow(tx: Tx, id: string): Promise<void> {
  await tx.publicIpAddress.delete({ where: { id } });
}

/** The write lost a race for an address: another public IP committed it first (unique ip_address). */
export function isAddressTakenViolation(err: unknown): boolean {
  return isUniqueViolation(err) && String((err as Error).message).includes("ip_address");
}

/** Deleting a public IP (or its group) was refused by the FK of a frontend that attached it meanwhile. */
export function isPublicIpInUseViolation(err: unknown): boolean {
  return pgErrorCode(err) === FOREIGN_KEY_VIOLATION;
}
