// Renders a stored public IP in Azure's wire shape: its ARM id and type, the properties as sent plus
// the read-only ones (provisioningState, resourceGuid, the address, the frontend using it).

import { PUBLIC_IP_TYPE, publicIpId } from "../domain/ids.js";
import { canReach, subscriptionOf, type CallerScope } from "../services/caller-scope.js";
import { frontendUsing, type PublicIpRow } from "../services/public-ips.service.js";
import type { PublicIpResource } from "./public-ip-addresses.schemas.js";

/**
 * `reader` decides the back-reference: a frontend of a load balancer in a subscription the reader
 * cannot read is left out (its id would name another tenant's resource).
 */
export function toPublicIpResource(row: PublicIpRow, reader: CallerScope): PublicIpResource {
  const stored = (row.properties ?? {}) as Record<string, unknown>;
  const dns = stored.dnsSettings as { domainNameLabel?: string; fqdn?: string } | undefined;
  const user = frontendUsing(row);
  const usedBy = user !== undefined && canReach(reader, subscriptionOf(user) ?? "") ? user : undefined;
  return {
    id: publicIpId(row.subscriptionId, row.resourceGroup.name, row.name),
    name: row.name,
    type: PUBLIC_IP_TYPE,
    location: row.location,
    tags: (row.tags ?? {}) as Record<string, string>,
    etag: row.etag,
    sku: { name: row.skuName, tier: row.skuTier },
    ...(Array.isArray(row.zones) ? { zones: row.zones as string[] } : {}),
    properties: {
      ...stored,
      ...(dns?.domainNameLabel && !dns.fqdn
        ? { dnsSettings: { ...dns, fqdn: `${dns.domainNameLabel}.${row.location}.cloudapp.azure.com` } }
        : {}),
      provisioningState: "Succeeded",
      // The row id is a random UUID that never changes: exactly what resourceGuid promises.
      resourceGuid: row.id,
      ...(row.ipAddress ? { ipAddress: row.ipAddress } : {}),
      publicIPAddressVersion: row.ipVersion,
      publicIPAllocationMethod: row.allocationMethod,
      idleTimeoutInMinutes: typeof stored.idleTimeoutInMinutes === "number" ? stored.idleTimeoutInMinutes : 4,
      ...(usedBy ? { ipConfiguration: { id: usedBy } } : {}),
    },
  };
}
