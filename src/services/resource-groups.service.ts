// Resource group use cases. Every other resource lives in a group, so "the group must exist" is
// decided here once, for every use case that needs it.

import { Errors } from "../errors.js";
import { findResourceGroup, type ResourceGroup, type Tx } from "../store/resource-groups.store.js";

/** The resource group, or 404 ResourceGroupNotFound. */
export async function requireResourceGroup(db: Tx, subscriptionId: string, name: string): Promise<ResourceGroup> {
  const rg = await findResourceGroup(db, subscriptionId, name);
  if (!rg) throw Errors.resourceGroupNotFound(name);
  return rg;
}
