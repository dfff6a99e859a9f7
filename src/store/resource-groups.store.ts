// Resource groups: the container every other resource lives in.

import type { Db } from "./prisma.js";
import type { ResourceGroup } from "./generated/client.js";
import { resourceGroupNotFound } from "../errors.js";

export type { ResourceGroup };
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0] | Db;

export function findResourceGroup(db: Tx, subscriptionId: string, name: string): Promise<ResourceGroup | null> {
  return db.resourceGroup.findUnique({
    where: { subscriptionId_nameKey: { subscriptionId: subscriptionId.toLowerCase(), nameKey: name.toLowerCase() } },
  });
}

/** The resource group, or 404 ResourceGroupNotFound. */
export async function requireResourceGroup(db: Tx, subscriptionId: string, name: string): Promise<ResourceGroup> {
  const rg = await findResourceGroup(db, subscriptionId, name);
  if (!rg) throw resourceGroupNotFound(name);
  return rg;
}
