// Renders a stored public IP in Azure's wire shape: its ARM id and type, the properties as sent plus
// the read-only ones (provisioningState, resourceGuid, the address, the frontend using it).

import { PUBLIC_IP_TYPE, publicIpId } from "../domain/ids.js";
import { frontendUsing, type PublicIpRow } from "../services/public-ips.service.js";
import type { PublicIpResource } from "./public-ip-addresses.schemas.js";

export function toPublicIpResource(row: PublicIpRow): PublicIpResource {
  const stored = (row.properties ?? {}) as Record<string, unknown>;
  const dns = stored.dnsSettings as { domainNameLabel?: string; fqdn?: string } | undefined;
  const usedBy = frontendUsing(row);
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
