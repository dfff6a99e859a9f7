// Wire shapes of Microsoft.Network/publicIPAddresses and the mapping from a PUT body to the use case's input
// (rendering a row is public-ip-addresses.view.ts).
// Request bodies reject unknown members (a misspelled property must fail, not vanish); read-only
// members a client echoes back from a GET (etag, provisioningState, ipConfiguration...) are ignored.

import { Type, type Static } from "typebox";
import { LocationSchema, TagsSchema } from "./arm-common.js";
import { Errors } from "../errors.js";
import { normalizeLocation } from "../domain/ids.js";
import { canonicalIp, ipVersion } from "../domain/ip.js";
import type { PublicIpWrite } from "../services/public-ips.service.js";

const strict = { additionalProperties: false } as const;
const Ref = Type.Object({ id: Type.String() }, strict);
const opt = Type.Optional;

const DnsSettings = Type.Object(
  {
    domainNameLabel: opt(Type.String({ maxLength: 63 })),
    domainNameLabelScope: opt(Type.Enum(["TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "NoReuse"])),
    fqdn: opt(Type.String()),
    reverseFqdn: opt(Type.String()),
  },
  strict,
);

const PublicIpPropertiesBody = Type.Object(
  {
    publicIPAllocationMethod: opt(Type.Enum(["Static", "Dynamic"])),
    publicIPAddressVersion: opt(Type.Enum(["IPv4", "IPv6"])),
    ipAddress: opt(Type.String({ maxLength: 45, description: "Bring your own address; omitted = allocated from the pool" })),
    idleTimeoutInMinutes: opt(Type.Integer({ minimum: 4, maximum: 30 })),
    dnsSettings: opt(DnsSettings),
    ipTags: opt(
      Type.Array(
        Type.Object({ ipTagType: opt(Type.String()), tag: opt(Type.String()), firstPartyServiceTagId: opt(Type.String()) }, strict),
      ),
    ),
    ddosSettings: opt(
      Type.Object(
        {
          protectionMode: opt(Type.Enum(["VirtualNetworkInherited", "Enabled", "Disabled"])),
          ddosCustomPolicy: opt(Ref),
          ddosProtectionPlan: opt(Ref),
        },
        strict,
      ),
    ),
    publicIPPrefix: opt(Ref),
    deleteOption: opt(Type.Enum(["Delete", "Detach"])),
    // Read-only, accepted when echoed back.
    provisioningState: opt(Type.String()),
    resourceGuid: opt(Type.String()),
    ipConfiguration: opt(Type.Object({ id: opt(Type.String()) }, { additionalProperties: true })),
  },
  strict,
);

const SkuSchema = Type.Object(
  { name: opt(Type.Enum(["Standard", "Basic"])), tier: opt(Type.Enum(["Regional", "Global"])) },
  strict,
);

export const PublicIpBodySchema = Type.Object(
  {
    location: LocationSchema,
    tags: opt(TagsSchema),
    sku: opt(SkuSchema),
    zones: opt(Type.Array(Type.String({ maxLength: 8 }), { maxItems: 3 })),
    properties: opt(PublicIpPropertiesBody),
    id: opt(Type.String()),
    name: opt(Type.String()),
    type: opt(Type.String()),
    etag: opt(Type.String()),
  },
  { ...strict, description: "Public IP address to create or replace" },
);
export type PublicIpBody = Static<typeof PublicIpBodySchema>;

export const TagsBodySchema = Type.Object({ tags: opt(TagsSchema) }, { ...strict, description: "Tags (replace the whole set)" });

export const PublicIpSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    location: Type.String(),
    tags: TagsSchema,
    etag: Type.String(),
    sku: Type.Object({ name: Type.String(), tier: opt(Type.String()) }),
    zones: opt(Type.Array(Type.String())),
    properties: Type.Object(
      {
        provisioningState: Type.String(),
        resourceGuid: Type.String(),
        ipAddress: opt(Type.String()),
        publicIPAddressVersion: Type.String(),
        publicIPAllocationMethod: Type.String(),
        idleTimeoutInMinutes: Type.Integer(),
        ipConfiguration: opt(Type.Object({ id: Type.String() })),
      },
      { additionalProperties: true },
    ),
  },
  { description: "Public IP address" },
);
export type PublicIpResource = Static<typeof PublicIpSchema>;

export const PublicIpListSchema = Type.Object({ value: Type.Array(PublicIpSchema), nextLink: opt(Type.String()) });

export const PublicIpParams = Type.Object({
  subscriptionId: Type.String(),
  resourceGroupName: Type.String(),
  publicIpAddressName: Type.String(),
});

const READ_ONLY = ["provisioningState", "resourceGuid", "ipConfiguration", "ipAddress", "publicIPAllocationMethod", "publicIPAddressVersion"];

/** Applies Azure's defaults and checks the address; the use case decides allocation and conflicts. */
export function toPublicIpWrite(body: PublicIpBody): PublicIpWrite {
  const props = body.properties ?? {};
  const skuName = body.sku?.name ?? "Standard";
  const version = props.publicIPAddressVersion ?? "IPv4";
  let address: string | undefined;
  if (props.ipAddress !== undefined && props.ipAddress !== "") {
    address = canonicalIp(props.ipAddress);
    if (!address || ipVersion(address) !== version) {
      throw Errors.invalidIpAddress(props.ipAddress, version);
    }
  }
  const rest: Record<string, unknown> = { idleTimeoutInMinutes: 4 };
  for (const [k, v] of Object.entries(props)) if (!READ_ONLY.includes(k) && v !== undefined) rest[k] = v;
  return {
    location: normalizeLocation(body.location),
    tags: body.tags ?? {},
    skuName,
    skuTier: body.sku?.tier ?? "Regional",
    // Standard public IPs are always Static in Azure; Basic defaults to Dynamic.
    allocationMethod: props.publicIPAllocationMethod ?? (skuName === "Standard" ? "Static" : "Dynamic"),
    ipVersion: version,
    ipAddress: address,
    properties: rest,
    zones: body.zones,
  };
}
