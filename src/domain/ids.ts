// ARM ids and names. Azure compares names case-insensitively but echoes them as written, so ids are
// built with the caller's spelling and compared lower-cased.

import type { ChildCollection } from "./collections.js";
import type { LoadBalancerAddress, SubResource } from "./model.js";

export type { ChildCollection };

export function loadBalancerId(a: LoadBalancerAddress): string {
  return (
    `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}` +
    `/providers/Microsoft.Network/loadBalancers/${a.name}`
  );
}

export function childId(lbId: string, collection: ChildCollection, name: string): string {
  return `${lbId}/${collection}/${name}`;
}

/** Name of the child a reference points at if it is a child of lbId in that collection (case-insensitive), else undefined. */
export function refName(lbId: string, collection: ChildCollection, ref: SubResource | undefined): string | undefined {
  if (!ref || typeof ref.id !== "string") return undefined;
  const prefix = `${lbId}/${collection}/`.toLowerCase();
  const id = ref.id.replace(/\/+$/, "");
  if (!id.toLowerCase().startsWith(prefix)) return undefined;
  const name = id.slice(prefix.length);
  return name.length > 0 && !name.includes("/") ? name : undefined;
}

// Azure's naming rules (resource-name-rules.md): 1-80 chars of alphanumerics, '_', '.', '-', starting
// with an alphanumeric and ending with an alphanumeric or '_'. Resource groups: 1-90 chars that may
// also include '(' and ')', not ending in '.'. Public IPs follow the 80-char rule.
const NAME_80 = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;

export function isValidResourceName(
  name: string,
  kind: "loadBalancer" | "child" | "publicIPAddress" | "resourceGroup",
): boolean {
  if (typeof name !== "string") return false;
  if (kind === "resourceGroup") return RESOURCE_GROUP.test(name) && /^[\x00-\x7f]*$/.test(name);
  return NAME_80.test(name);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` is a UUID PostgreSQL's uuid type accepts (ids in URLs are checked before any query). */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** ARM location names are compared without case or spaces ("East US" = "eastus"). */
export function normalizeLocation(location: string): string {
  return String(location ?? "").toLowerCase().replace(/\s+/g, "");
}

// ---- resource groups and public IPs (ARM types and ids; the store, the use cases and the views share them)
export const RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups";
export const PUBLIC_IP_TYPE = "Microsoft.Network/publicIPAddresses";

export function resourceGroupId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
}

export function publicIpId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Network/publicIPAddresses/${name}`;
}
