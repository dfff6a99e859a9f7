// Public IP addresses. One address belongs to one public IP resource at a time (unique index on
// ip_address); a public IP used by a load balancer frontend can neither be deleted nor re-addressed
// (the frontend's FK is ON DELETE RESTRICT, so a concurrent attach still cannot lose the address).

import type { Db } from "./prisma.js";
import { Prisma } from "./generated/client.js";
import type { PublicIpAddressGetPayload } from "./generated/models.js";
import { Errors } from "../errors.js";
import { childId, loadBalancerId } from "../domain/ids.js";
import { allocateFromPool } from "./ip-pool.js";
import { isUniqueViolation, pgErrorCode } from "./pg-errors.js";
import type { Tx } from "./resource-groups.store.js";
import { requireResourceGroup } from "../services/resource-groups.service.js";
import { newEtag } from "./etag.js";

const FOREIGN_KEY_VIOLATION = "23503";

export const PUBLIC_IP_TYPE = "Microsoft.Network/publicIPAddresses";

const withUsage = {
  resourceGroup: true,
  frontends: { include: { loadBalancer: { include: { resourceGroup: true } } } },
} as const;

export type PublicIpRow = PublicIpAddressGetPayload<{ include: typeof withUsage }>;

/** What a PUT asks for, already defaulted and checked for shape by the route (location normalised). */
export interface PublicIpWrite {
  location: string;
  tags: Record<string, string>;
  skuName: string;
  skuTier: string;
  allocationMethod: string;
  ipVersion: "IPv4" | "IPv6";
  /** Canonical bring-your-own address; undefined = keep the current one or allocate. */
  ipAddress?: string;
  /** The remaining properties (idleTimeoutInMinutes, dnsSettings...), echoed back. */
  properties: Record<string, unknown>;
  zones?: string[];
}

export interface PublicIpKey {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
}

/** Checks If-Match/If-None-Match against the current etag (undefined = absent); throws 412. */
export type EtagCheck = (current: string | undefined, id: string) => void;

export function publicIpId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/publicIPAddresses/${name}`;
}

/** ARM id of the load balancer frontend using this public IP, if any. */
export function frontendUsing(row: PublicIpRow): string | undefined {
  const fe = row.frontends[0];
  if (!fe) return undefined;
  const lb = fe.loadBalancer;
  const lbId = loadBalancerId({ subscriptionId: lb.subscriptionId, resourceGroup: lb.resourceGroup.name, name: lb.name });
  return childId(lbId, "frontendIPConfigurations", fe.name);
}

export function findPublicIp(db: Tx, rgId: string, name: string): Promise<PublicIpRow | null> {
  return db.publicIpAddress.findUnique({
    where: { resourceGroupId_nameKey: { resourceGroupId: rgId, nameKey: name.toLowerCase() } },
    include: withUsage,
  });
}

export async function getPublicIp(db: Tx, key: PublicIpKey): Promise<PublicIpRow> {
  const rg = await requireResourceGroup(db, key.subscriptionId, key.resourceGroupName);
  const row = await findPublicIp(db, rg.id, key.name);
  if (!row) throw Errors.resourceNotFound(PUBLIC_IP_TYPE, key.name, key.resourceGroupName);
  return row;
}

/** Public IPs of a resource group, or of the whole subscription when resourceGroupName is undefined. */
export async function listPublicIps(db: Tx, subscriptionId: string, resourceGroupName?: string): Promise<PublicIpRow[]> {
  const where = resourceGroupName
    ? { resourceGroupId: (await requireResourceGroup(db, subscriptionId, resourceGroupName)).id }
    : { subscriptionId: subscriptionId.toLowerCase() };
  return db.publicIpAddress.findMany({
    where,
    include: withUsage,
    orderBy: [{ resourceGroup: { nameKey: "asc" } }, { nameKey: "asc" }],
  });
}

const addressTaken = Errors.ipAddressAlreadyAllocated;

/** Creates or replaces a public IP in one transaction; retried when a concurrent writer took the chosen address. */
export async function putPublicIp(
  db: Db,
  key: PublicIpKey,
  write: PublicIpWrite,
  pool: string,
  checkEtag: EtagCheck,
): Promise<{ row: PublicIpRow; created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.$transaction((tx) => putOnce(tx, key, write, pool, checkEtag));
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      if (String((err as Error).message).includes("ip_address")) {
        // A bring-your-own address lost the race: that is the caller's conflict. An allocation lost it: pick again.
        if (write.ipAddress !== undefined || attempt >= 4) throw addressTaken(write.ipAddress ?? "chosen");
        continue;
      }
      // Two creators of the same name: the second one becomes an update of the first.
      if (attempt >= 1) throw err;
    }
  }
}

async function putOnce(tx: Tx, key: PublicIpKey, write: PublicIpWrite, pool: string, checkEtag: EtagCheck) {
  const rg = await requireResourceGroup(tx, key.subscriptionId, key.resourceGroupName);
  // Lock before reading who uses it: a load balancer write holding this address (FOR KEY SHARE)
  // commits first, and the in-use checks below then see its frontend.
  await tx.$queryRaw`SELECT 1 FROM public_ip_addresses WHERE resource_group_id = ${rg.id}::uuid AND name_key = ${key.name.toLowerCase()} FOR UPDATE`;
  const existing = await findPublicIp(tx, rg.id, key.name);
  const id = publicIpId(rg.subscriptionId, rg.name, existing?.name ?? key.name);
  checkEtag(existing?.etag, id);
  if (existing && existing.location !== write.location) {
    throw Errors.invalidResourceLocation(existing.name, existing.location, rg.name, write.location, "location");
  }
  const usedBy = existing ? frontendUsing(existing) : undefined;
  if (existing && usedBy && existing.skuName !== write.skuName) {
    throw Errors.publicIpInUseCannotChangeSku(id, usedBy, existing.skuName, write.skuName);
  }
  const address = await chooseAddress(tx, existing, write, pool);
  if (existing && usedBy && existing.ipAddress !== address) {
    throw Errors.publicIpInUseCannotChangeAddress(id, usedBy, String(existing.ipAddress));
  }
  const data = {
    location: write.location,
    tags: write.tags,
    etag: newEtag(),
    skuName: write.skuName,
    skuTier: write.skuTier,
    allocationMethod: write.allocationMethod,
    ipVersion: write.ipVersion,
    ipAddress: address,
    properties: write.properties as object,
    // PUT replaces the resource: zones left out of the body are cleared.
    zones: write.zones ?? Prisma.DbNull,
  };
  if (existing) {
    const row = await tx.publicIpAddress.update({ where: { id: existing.id }, data, include: withUsage });
    return { row, created: false };
  }
  const row = await tx.publicIpAddress.create({
    data: { ...data, resourceGroupId: rg.id, subscriptionId: rg.subscriptionId, name: key.name, nameKey: key.name.toLowerCase() },
    include: withUsage,
  });
  return { row, created: true };
}

async function chooseAddress(tx: Tx, existing: PublicIpRow | null, write: PublicIpWrite, pool: string): Promise<string> {
  if (write.ipAddress !== undefined) {
    const owner = await tx.publicIpAddress.findUnique({ where: { ipAddress: write.ipAddress }, select: { id: true } });
    if (owner && owner.id !== existing?.id) throw addressTaken(write.ipAddress);
    return write.ipAddress;
  }
  if (existing?.ipAddress && existing.ipVersion === write.ipVersion) return existing.ipAddress;
  if (write.ipVersion === "IPv6") {
    throw Errors.publicIpv6RequiresIpAddress();
  }
  const allocated = await allocateFromPool(tx, pool);
  if (!allocated) {
    throw Errors.publicIpPoolExhausted(pool);
  }
  return allocated;
}

const cannotDelete = Errors.publicIpCannotBeDeleted;

/** Deletes a public IP; false when it did not exist (ARM answers 204). */
export async function deletePublicIp(db: Db, key: PublicIpKey, checkEtag: EtagCheck): Promise<boolean> {
  let id = "";
  try {
    return await db.$transaction(async (tx) => {
      const rg = await requireResourceGroup(tx, key.subscriptionId, key.resourceGroupName);
      const existing = await findPublicIp(tx, rg.id, key.name);
      id = publicIpId(rg.subscriptionId, rg.name, existing?.name ?? key.name);
      if (!existing) return false;
      checkEtag(existing.etag, id);
      const usedBy = frontendUsing(existing);
      if (usedBy) throw cannotDelete(id, usedBy);
      await tx.publicIpAddress.delete({ where: { id: existing.id } });
      return true;
    });
  } catch (err) {
    // A load balancer attached it between our check and the delete.
    if (pgErrorCode(err) === FOREIGN_KEY_VIOLATION) throw cannotDelete(id, "a load balancer frontend IP configuration");
    throw err;
  }
}

/** PATCH tags: replaces the whole tag set, as ARM does. */
export async function updatePublicIpTags(
  db: Db,
  key: PublicIpKey,
  tags: Record<string, string>,
  checkEtag: EtagCheck,
): Promise<PublicIpRow> {
  return db.$transaction(async (tx) => {
    const row = await getPublicIp(tx, key);
    checkEtag(row.etag, publicIpId(row.subscriptionId, row.resourceGroup.name, row.name));
    return tx.publicIpAddress.update({ where: { id: row.id }, data: { tags, etag: newEtag() }, include: withUsage });
  });
}
