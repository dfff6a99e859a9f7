// Public IP address use cases. The rules, in ARM's words: a public IP cannot move to another location;
// one used by a load balancer frontend can change neither its SKU nor its address, nor be deleted;
// an address belongs to one public IP at a time (bring-your-own taken → IpAddressAlreadyAllocated);
// without one, an IPv4 address comes from the configured pool and an IPv6 one must be given.
// Each write is one transaction: resource group → lock → read with usage → decide → write.

import type { Page, PageRequest } from "../store/paging.js";
import { Errors } from "../errors.js";
import { childId, loadBalancerId, publicIpId, PUBLIC_IP_TYPE } from "../domain/ids.js";
import { allocateFromPool } from "../store/ip-pool.js";
import { isUniqueViolation } from "../store/pg-errors.js";
import { inTransaction, type Tx } from "../store/prisma.js";
import {
  createPublicIpRow, deletePublicIpRow, findAddressHolder, findPublicIp, isAddressTakenViolation,
  isPublicIpInUseViolation, listPublicIpsOfGroup, listPublicIpsOfSubscription, lockPublicIp, replacePublicIpRow,
  updatePublicIpTagsRow, type PublicIpData, type PublicIpRow,
} from "../store/public-ips.store.js";
import { requireLinkedAccess, visibleId, type CallerScope } from "./caller-scope.js";
import type { ServiceDeps } from "./deps.js";
import { requireResourceGroup } from "./resource-groups.service.js";

export type { PublicIpRow };

export interface PublicIpKey {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
}

/** What a PUT asks for, already defaulted and checked for shape by the route (location normalised). */
export type PublicIpWrite = Omit<PublicIpData, "ipAddress"> & {
  /** Canonical bring-your-own address; undefined = keep the current one or allocate. */
  ipAddress?: string;
};

/** Checks If-Match/If-None-Match against the current etag (undefined = absent); throws 412. */
export type EtagCheck = (current: string | undefined, id: string) => void;

/** Attempts of a PUT whose pool allocation lost the address to a concurrent writer. */
const ALLOCATION_ATTEMPTS = 5;

/** ARM id of the load balancer frontend using this public IP, if any. */
export function frontendUsing(row: PublicIpRow): string | undefined {
  const fe = row.frontends[0];
  if (!fe) return undefined;
  const lb = fe.loadBalancer;
  const lbId = loadBalancerId({ subscriptionId: lb.subscriptionId, resourceGroup: lb.resourceGroup.name, name: lb.name });
  return childId(lbId, "frontendIPConfigurations", fe.name);
}

/**
 * The frontend using this public IP as the caller may see it: its id, or a phrase when the load
 * balancer is in a subscription the caller cannot read (an admin linked it across tenants).
 */
export function frontendVisibleTo(row: PublicIpRow, caller: CallerScope): string | undefined {
  const usedBy = frontendUsing(row);
  return usedBy === undefined ? undefined : visibleId(caller, usedBy);
}

/** The public IP, or 404 (its resource group's, or its own). */
export async function getPublicIp(deps: Pick<ServiceDeps, "db">, key: PublicIpKey): Promise<PublicIpRow> {
  return requirePublicIp(deps.db, key);
}

/** Public IPs of a resource group (404 when the group does not exist), or of the whole subscription when resourceGroupName is undefined. */
export async function listPublicIps(
  deps: Pick<ServiceDeps, "db">,
  page: PageRequest,
  subscriptionId: string,
  resourceGroupName?: string,
): Promise<Page<PublicIpRow>> {
  if (resourceGroupName === undefined) return listPublicIpsOfSubscription(deps.db, subscriptionId, page);
  const rg = await requireResourceGroup(deps.db, subscriptionId, resourceGroupName);
  return listPublicIpsOfGroup(deps.db, rg.id, page);
}

/** Creates or replaces a public IP; retried when a concurrent writer took the chosen address or the name. */
export async function putPublicIp(
  deps: Pick<ServiceDeps, "db" | "config">,
  key: PublicIpKey,
  write: PublicIpWrite,
  checkEtag: EtagCheck,
  caller: CallerScope,
): Promise<{ row: PublicIpRow; created: boolean }> {
  // Linked authorization (a prefix, a DDoS plan) before any lookup; read-only members were dropped by the route.
  requireLinkedAccess(caller, `${PUBLIC_IP_TYPE}/write`, publicIpId(key.subscriptionId, key.resourceGroupName, key.name), write.properties);
  for (let attempt = 0; ; attempt++) {
    try {
      return await inTransaction(deps.db, (tx) => putOnce(tx, key, write, deps.config.publicIpPool, checkEtag, caller));
    } catch (err) {
      if (isAddressTakenViolation(err)) {
        // A bring-your-own address lost the race: that is the caller's conflict. An allocation lost it: pick again.
        if (write.ipAddress !== undefined || attempt >= ALLOCATION_ATTEMPTS - 1) {
          throw Errors.ipAddressAlreadyAllocated(write.ipAddress ?? "chosen");
        }
        continue;
      }
      // Two creators of the same name: the second one becomes an update of the first.
      if (!isUniqueViolation(err) || attempt >= 1) throw err;
    }
  }
}

async function putOnce(tx: Tx, key: PublicIpKey, write: PublicIpWrite, pool: string, checkEtag: EtagCheck, caller: CallerScope) {
  const rg = await requireResourceGroup(tx, key.subscriptionId, key.resourceGroupName);
  await lockPublicIp(tx, rg.id, key.name);
  const existing = await findPublicIp(tx, rg.id, key.name);
  const id = publicIpId(rg.subscriptionId, rg.name, existing?.name ?? key.name);
  checkEtag(existing?.etag, id);
  if (existing && existing.location !== write.location) {
    throw Errors.invalidResourceLocation(existing.name, existing.location, rg.name, write.location, "location");
  }
  const usedBy = existing ? frontendVisibleTo(existing, caller) : undefined;
  if (existing && usedBy && existing.skuName !== write.skuName) {
    throw Errors.publicIpInUseCannotChangeSku(id, usedBy, existing.skuName, write.skuName);
  }
  const address = await chooseAddress(tx, existing, write, pool);
  if (existing && usedBy && existing.ipAddress !== address) {
    throw Errors.publicIpInUseCannotChangeAddress(id, usedBy, String(existing.ipAddress));
  }
  const data = { ...write, ipAddress: address };
  if (existing) return { row: await replacePublicIpRow(tx, existing.id, data), created: false };
  return { row: await createPublicIpRow(tx, rg, key.name, data), created: true };
}

/** Bring-your-own if free, else the current address (same IP version), else one from the pool (IPv4 only). */
async function chooseAddress(tx: Tx, existing: PublicIpRow | null, write: PublicIpWrite, pool: string): Promise<string> {
  if (write.ipAddress !== undefined) {
    const holder = await findAddressHolder(tx, write.ipAddress);
    if (holder && holder !== existing?.id) throw Errors.ipAddressAlreadyAllocated(write.ipAddress);
    return write.ipAddress;
  }
  if (existing?.ipAddress && existing.ipVersion === write.ipVersion) return existing.ipAddress;
  if (write.ipVersion === "IPv6") throw Errors.publicIpv6RequiresIpAddress();
  const allocated = await allocateFromPool(tx, pool);
  if (!allocated) throw Errors.publicIpPoolExhausted(pool);
  return allocated;
}

/** Deletes a public IP; false when it did not exist (ARM answers 204). Refused while a frontend uses it. */
export async function deletePublicIp(
  deps: Pick<ServiceDeps, "db">,
  key: PublicIpKey,
  checkEtag: EtagCheck,
  caller: CallerScope,
): Promise<boolean> {
  let id = "";
  try {
    return await inTransaction(deps.db, async (tx) => {
      const rg = await requireResourceGroup(tx, key.subscriptionId, key.resourceGroupName);
      const existing = await findPublicIp(tx, rg.id, key.name);
      id = publicIpId(rg.subscriptionId, rg.name, existing?.name ?? key.name);
      if (!existing) return false;
      checkEtag(existing.etag, id);
      const usedBy = frontendVisibleTo(existing, caller);
      if (usedBy) throw Errors.publicIpCannotBeDeleted(id, usedBy);
      await deletePublicIpRow(tx, existing.id);
      return true;
    });
  } catch (err) {
    // A load balancer attached it between our check and the delete.
    if (isPublicIpInUseViolation(err)) throw Errors.publicIpCannotBeDeleted(id, "a load balancer frontend IP configuration");
    throw err;
  }
}

/** PATCH tags: replaces the whole tag set, as ARM does. */
export async function updatePublicIpTags(
  deps: Pick<ServiceDeps, "db">,
  key: PublicIpKey,
  tags: Record<string, string>,
  checkEtag: EtagCheck,
): Promise<PublicIpRow> {
  return inTransaction(deps.db, async (tx) => {
    const row = await requirePublicIp(tx, key);
    checkEtag(row.etag, publicIpId(row.subscriptionId, row.resourceGroup.name, row.name));
    return updatePublicIpTagsRow(tx, row.id, tags);
  });
}

async function requirePublicIp(db: Tx, key: PublicIpKey): Promise<PublicIpRow> {
  const rg = await requireResourceGroup(db, key.subscriptionId, key.resourceGroupName);
  const row = await findPublicIp(db, rg.id, key.name);
  if (!row) throw Errors.resourceNotFound(PUBLIC_IP_TYPE, key.name, key.resourceGroupName);
  return row;
}
