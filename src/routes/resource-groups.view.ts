// Renders a stored resource group in ARM's wire shape (provisioningState is always Succeeded: every
// resource group write completes in its own request).

import { RESOURCE_GROUP_TYPE, resourceGroupId } from "../domain/ids.js";
import type { ResourceGroup } from "../store/resource-groups.store.js";
import type { ResourceGroupResource } from "./resource-groups.schemas.js";

export function toResourceGroupResource(rg: ResourceGroup): ResourceGroupResource {
  return {
    id: resourceGroupId(rg.subscriptionId, rg.name),
    name: rg.name,
    type: RESOURCE_GROUP_TYPE,
    location: rg.location,
    tags: (rg.tags ?? {}) as Record<string, string>,
    ...(rg.managedBy ? { managedBy: rg.managedBy } : {}),
    properties: { provisioningState: "Succeeded" },
  };
}
