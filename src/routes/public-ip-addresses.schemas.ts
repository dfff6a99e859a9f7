// Wire shapes of Microsoft.Network/publicIPAddresses and the mapping from a PUT body to the use case's input
// (rendering a row is public-ip-addresses.view.ts).
// One named schema serves requests and responses (read-only members typed and marked readOnly).
// Request bodies reject unknown members (a misspelled property must fail, not vanish); read-only
// members a client echoes back from a GET (etag, provisioningState, ipConfiguration...) are ignored.

import { Type, type Static } from "typebox";
import {
  LocationSchema, ProvisioningStateSchema, ReadOnly, ResourceGroupParams, StringEnum, SubResourceSchema, TagsSchema,
} from "./schemas/arm.schema.js";
import { EXAMPLE, PUBLIC_IP_EXAMPLE } from "./schemas/examples.js";
import { Errors } from "../errors.js";
import { normalizeLocation } from "../domain/ids.js";
import { canonicalIp, ipVersion } from "../domain/ip.js";
import type { PublicIpWrite } from "../services/public-ips.service.js";

const strict = { additionalProperties: false } as const;
const Ref = SubResourceSchema;
const opt = Type.Optional;

const DnsSettings = Type.Object(
  {
    domainNameLabel: opt(Type.String({ maxLength: 63 })),
    domainNameLabelScope: opt(StringEnum(["TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "NoReuse"], { title: "PublicIpAddressDnsSettingsDomainNameLabelScope" })),
    fqdn: opt(Type.String({ description: "Filled in from domainNameLabel when not given" })),
    reverseFqdn: opt(Type.String()),
  },
  { ...strict, title: "PublicIPAddressDnsSettings" },
);

const IpTag = Type.Object(
  { ipTagType: opt(Type.String()), tag: opt(Type.String()), firstPartyServiceTagId: opt(Type.String()) },
  { ...strict, title: "IpTag" },
);

const DdosSettings = Type.Object(
  {
    protectionMode: opt(StringEnum(["VirtualNetworkInherited", "Enabled", "Disabled"], { title: "DdosSettingsProtectionMode" })),
    ddosCustomPolicy: opt(Ref),
    ddosProtectionPlan: opt(Ref),
  },
  { ...strict, title: "DdosSettings", description: "Accepted and stored; lbplane does no DDoS protection" },
);

const PublicIpProperties = Type.Object(
  {
    publicIPAllocationMethod: opt(StringEnum(["Static", "Dynamic"], { title: "IPAllocationMethod", description: "Default: Static for Standard, Dynamic for Basic" })),
    publicIPAddressVersion: opt(StringEnum(["IPv4", "IPv6"], { title: "IPVersion" })),
    ipAddress: opt(Type.String({ maxLength: 45, description: "Bring your own address; omitted = allocated from the pool" })),
    idleTimeoutInMinutes: opt(Type.Integer({ minimum: 4, maximum: 30, default: 4 })),
    dnsSettings: opt(DnsSettings),
    ipTags: opt(Type.Array(IpTag)),
    ddosSettings: opt(DdosSettings),
    publicIPPrefix: opt(Ref),
    deleteOption: opt(StringEnum(["Delete", "Detach"], { title: "DeleteOptions" })),
    provisioningState: ReadOnly(ProvisioningStateSchema),
    resourceGuid: ReadOnly(Type.String()),
    ipConfiguration: ReadOnly(Ref, "The frontend IP configuration using this address (when the reader may see it)"),
  },
  { ...strict, title: "PublicIPAddressPropertiesFormat" },
);

const SkuSchema = Type.Object(
  {
    name: opt(StringEnum(["Standard", "Basic"], { title: "PublicIPAddressSkuName", default: "Standard" })),
    tier: opt(StringEnum(["Regional", "Global"], { title: "PublicIPAddressSkuTier", default: "Regional" })),
  },
  { ...strict, title: "PublicIPAddressSku" },
);

/** One schema for requests and responses; read-only members a client echoes back are ignored. */
export const PublicIpSchema = Type.Object(
  {
    id: opt(Type.String({ description: "ARM id (filled in by lbplane)" })),
    name: ReadOnly(Type.String()),
    type: ReadOnly(Type.String()),
    etag: ReadOnly(Type.String()),
    location: LocationSchema,
    tags: opt(TagsSchema),
    sku: opt(SkuSchema),
    zones: opt(Type.Array(Type.String({ maxLength: 8 }), { maxItems: 3 })),
    properties: opt(PublicIpProperties),
  },
  { ...strict, title: "PublicIPAddress", description: "Public IP address", examples: [PUBLIC_IP_EXAMPLE] },
);
export type PublicIpBody = Static<typeof PublicIpSchema>;
/**
 * What the view renders: the schema's envelope with the SKU and properties as stored (the schema
 * checked them on the way in, and the response schema serializes them).
 */
export type PublicIpResource = Omit<PublicIpBody, "sku" | "properties"> & {
  sku: { name: string; tier: string };
  properties: Record<string, unknown>;
};

export const PublicIpListSchema = Type.Object(
  { value: Type.Array(PublicIpSchema), nextLink: opt(Type.String({ description: "URL of the next page; absent on the last" })) },
  { title: "PublicIPAddressListResult" },
);

export const PublicIpParams = Type.Object({
  ...ResourceGroupParams.properties,
  publicIpAddressName: Type.String({ description: "The public IP address", examples: [EXAMPLE.publicIpAddressName] }),
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
