// Microsoft.Network/loadBalancers and its children as Microsoft.Network 2026-01-01 defines them, one
// named schema per resource and sub-resource, used for requests and responses alike (as Azure's own
// specification does): read-only members are typed and marked readOnly. Requests reject unknown
// members (a misspelled rule property must fail, not vanish); read-only members a client echoes
// back from a GET (id, etag, type, provisioningState, back-references) are accepted and ignored,
// which is what the Azure SDK and `az` do when they PUT a modified GET result. A child's `name` is
// optional here as in Azure's schema: the domain reports a missing one with its target.

import { Type, type Static, type TSchema } from "typebox";
import type { ChildCollection, WritableChildCollection } from "../../domain/collections.js";
import {
  ProvisioningStateSchema, ReadOnly, StringEnum, SubResourceSchema, TagsSchema, TransportProtocolSchema,
} from "./arm.schema.js";
import { BACKEND_POOL_EXAMPLE, INBOUND_NAT_RULE_EXAMPLE, LOAD_BALANCER_EXAMPLE } from "./examples.js";

const Strict = { additionalProperties: false } as const;
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Name = Type.String({ minLength: 1, maxLength: 80, description: "Unique within its collection (case-insensitive)" });
const Sub = SubResourceSchema;
const SubList = Type.Array(Sub);
const Zones = Type.Array(Type.String({ maxLength: 8 }), { maxItems: 3 });
const Protocol = TransportProtocolSchema;
const IdleTimeout = Type.Integer({ description: "Minutes (the domain checks Azure's range)" });
const provisioningState = ReadOnly(ProvisioningStateSchema);
/** Read-only back-references: who references this child (filled on GET, ignored on PUT). */
const refsFrom = (who: string) => ReadOnly(SubList, `The ${who} that reference this (read-only)`);

/** The envelope of every child resource: name, id, and the read-only etag and type. */
function child<P extends TSchema, M extends Record<string, TSchema>>(title: string, description: string, properties: P, more?: M) {
  return Type.Object(
    {
      name: Type.Optional(Name),
      id: Type.Optional(Type.String({ description: "ARM id (filled in by lbplane)" })),
      etag: ReadOnly(Type.String()),
      type: ReadOnly(Type.String()),
      properties,
      ...(more as M),
    },
    { ...Strict, title, description },
  );
}

export const FrontendIPConfigurationSchema = child(
  "FrontendIPConfiguration", "A frontend: the VIP flows arrive at",
  Type.Object(
    {
      privateIPAddress: Type.Optional(Type.String({ maxLength: 64, description: "Internal load balancers: the VIP (static; lbplane has no subnets to allocate from)" })),
      privateIPAllocationMethod: Type.Optional(StringEnum(["Static", "Dynamic"], { title: "IPAllocationMethod" })),
      privateIPAddressVersion: Type.Optional(StringEnum(["IPv4", "IPv6"], { title: "IPVersion" })),
      subnet: Type.Optional(Sub),
      publicIPAddress: Type.Optional(Sub),
      publicIPPrefix: Type.Optional(Sub),
      gatewayLoadBalancer: Type.Optional(Sub),
      ddosSettings: Type.Optional(Type.Unknown({ description: "Accepted and stored; lbplane does no DDoS protection" })),
      enableConnectionTracking: Type.Optional(Type.Boolean()),
      loadBalancingRules: refsFrom("load-balancing rules"),
      inboundNatRules: refsFrom("inbound NAT rules"),
      inboundNatPools: refsFrom("inbound NAT pools"),
      outboundRules: refsFrom("outbound rules"),
      provisioningState,
    },
    { ...Strict, title: "FrontendIPConfigurationPropertiesFormat" },
  ),
  // Zones sit beside properties on a frontend, as Azure (and the SDK's serializer) put them.
  { zones: Type.Optional(Zones) },
);

export const NatRulePortMappingSchema = Type.Object(
  { inboundNatRuleName: Type.String(), frontendPort: Port, backendPort: Port },
  { title: "NatRulePortMapping", description: "The frontend port of a pool-based inbound NAT rule that reaches this address" },
);

export const BackendAddressSchema = Type.Object(
  {
    name: Name,
    properties: Type.Optional(
      Type.Object(
        {
          ipAddress: Type.Optional(Type.String({ maxLength: 64, description: "The DIP (required: lbplane has no NIC resources)" })),
          virtualNetwork: Type.Optional(Sub),
          subnet: Type.Optional(Sub),
          loadBalancerFrontendIPConfiguration: Type.Optional(Sub),
          adminState: Type.Optional(StringEnum(["None", "Up", "Down", "Drain"], { title: "LoadBalancerBackendAddressAdminState" })),
          networkInterfaceIPConfiguration: ReadOnly(Sub),
          inboundNatRulesPortMapping: ReadOnly(Type.Array(NatRulePortMappingSchema)),
        },
        { ...Strict, title: "LoadBalancerBackendAddressPropertiesFormat" },
      ),
    ),
  },
  { ...Strict, title: "LoadBalancerBackendAddress", description: "A backend (VM) by its DIP" },
);

// Optional: the SDK's serializer (and many templates) send a pool with no addresses as {"name":…}.
export const BackendAddressPoolSchema = child(
  "BackendAddressPool", "A pool of backend addresses",
  Type.Optional(Type.Object(
    {
      location: Type.Optional(Type.String()),
      loadBalancerBackendAddresses: Type.Optional(Type.Array(BackendAddressSchema)),
      virtualNetwork: Type.Optional(Sub),
      drainPeriodInSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
      tunnelInterfaces: Type.Optional(Type.Array(Type.Unknown(), { description: "Gateway load balancers only; stored, not used" })),
      syncMode: Type.Optional(StringEnum(["Automatic", "Manual"], { title: "SyncMode" })),
      backendIPConfigurations: ReadOnly(SubList, "Always empty: lbplane has no NIC resources"),
      loadBalancingRules: refsFrom("load-balancing rules"),
      inboundNatRules: refsFrom("inbound NAT rules"),
      outboundRule: ReadOnly(Sub),
      outboundRules: refsFrom("outbound rules"),
      provisioningState,
    },
    { ...Strict, title: "BackendAddressPoolPropertiesFormat" },
  )),
);

export const LoadBalancingRuleSchema = child(
  "LoadBalancingRule", "Frontend (VIP, protocol, port) → backend pool and port",
  Type.Object(
    {
      frontendIPConfiguration: Sub,
      backendAddressPool: Type.Optional(Sub),
      backendAddressPools: Type.Optional(SubList),
      probe: Type.Optional(Sub),
      protocol: Protocol,
      loadDistribution: Type.Optional(StringEnum(["Default", "SourceIP", "SourceIPProtocol"], { title: "LoadDistribution" })),
      frontendPort: Port,
      backendPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: "Default: frontendPort" })),
      idleTimeoutInMinutes: Type.Optional(IdleTimeout),
      enableFloatingIP: Type.Optional(Type.Boolean({ description: "Deliver to VIP:backendPort on the backend (direct server return)" })),
      enableTcpReset: Type.Optional(Type.Boolean()),
      disableOutboundSnat: Type.Optional(Type.Boolean()),
      enableConnectionTracking: Type.Optional(Type.Boolean()),
      provisioningState,
    },
    { ...Strict, title: "LoadBalancingRulePropertiesFormat" },
  ),
);

export const ProbeSchema = child(
  "Probe", "A health probe of the backends",
  Type.Object(
    {
      protocol: StringEnum(["Tcp", "Http", "Https"], { title: "ProbeProtocol" }),
      port: Port,
      intervalInSeconds: Type.Optional(Type.Integer({ description: "Default 15 (lbplane accepts ≥1, Azure ≥5)" })),
      numberOfProbes: Type.Optional(Type.Integer()),
      probeThreshold: Type.Optional(Type.Integer()),
      requestPath: Type.Optional(Type.String({ maxLength: 2048, description: "Http and Https probes: the path to GET" })),
      noHealthyBackendsBehavior: Type.Optional(StringEnum(["AllProbedDown", "AllProbedUp"], { title: "ProbeNoHealthyBackendsBehavior" })),
      loadBalancingRules: refsFrom("load-balancing rules"),
      provisioningState,
    },
    { ...Strict, title: "ProbePropertiesFormat" },
  ),
);

export const InboundNatRulePropertiesSchema = Type.Object(
  {
    frontendIPConfiguration: Sub,
    protocol: Protocol,
    frontendPort: Type.Optional(Port),
    backendPort: Port,
    frontendPortRangeStart: Type.Optional(Port),
    frontendPortRangeEnd: Type.Optional(Port),
    backendAddressPool: Type.Optional(Sub),
    backendIPAddress: Type.Optional(Type.String({ maxLength: 64, description: "lbplane extension: the DIP of a single-VM NAT rule (lbplane has no NIC resources)" })),
    idleTimeoutInMinutes: Type.Optional(IdleTimeout),
    enableFloatingIP: Type.Optional(Type.Boolean()),
    enableTcpReset: Type.Optional(Type.Boolean()),
    backendIPConfiguration: ReadOnly(Sub, "Never set: lbplane has no NIC resources"),
    provisioningState,
  },
  { ...Strict, title: "InboundNatRulePropertiesFormat" },
);
export const InboundNatRuleSchema = child("InboundNatRule", "Frontend port → one backend (or a port range → a pool)", InboundNatRulePropertiesSchema);

export const OutboundRuleSchema = child(
  "OutboundRule", "Outbound SNAT for a pool through the rule's frontend addresses (forwarded by the nftables driver; the userspace driver refuses it with a reason)",
  Type.Object(
    {
      frontendIPConfigurations: SubList,
      backendAddressPool: Sub,
      protocol: Protocol,
      allocatedOutboundPorts: Type.Optional(Type.Integer({ minimum: 0, maximum: 64000 })),
      idleTimeoutInMinutes: Type.Optional(IdleTimeout),
      enableTcpReset: Type.Optional(Type.Boolean()),
      provisioningState,
    },
    { ...Strict, title: "OutboundRulePropertiesFormat" },
  ),
);

export const LoadBalancerSkuSchema = Type.Object(
  {
    name: Type.Optional(StringEnum(["Standard", "Basic", "Gateway"], { title: "LoadBalancerSkuName", default: "Standard" })),
    tier: Type.Optional(StringEnum(["Regional", "Global"], { title: "LoadBalancerSkuTier", default: "Regional" })),
  },
  { ...Strict, title: "LoadBalancerSku" },
);

export const LoadBalancerSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ description: "ARM id (filled in by lbplane)" })),
    name: ReadOnly(Type.String()),
    type: ReadOnly(Type.String()),
    etag: ReadOnly(Type.String()),
    location: Type.String({ minLength: 1, maxLength: 64, description: "Azure location, e.g. westeurope: the data-plane domain" }),
    tags: Type.Optional(TagsSchema),
    sku: Type.Optional(LoadBalancerSkuSchema),
    extendedLocation: Type.Optional(Type.Unknown({ description: "Accepted and ignored" })),
    properties: Type.Optional(
      Type.Object(
        {
          frontendIPConfigurations: Type.Optional(Type.Array(FrontendIPConfigurationSchema)),
          backendAddressPools: Type.Optional(Type.Array(BackendAddressPoolSchema)),
          loadBalancingRules: Type.Optional(Type.Array(LoadBalancingRuleSchema)),
          probes: Type.Optional(Type.Array(ProbeSchema)),
          inboundNatRules: Type.Optional(Type.Array(InboundNatRuleSchema)),
          inboundNatPools: Type.Optional(Type.Array(Type.Object({}), { maxItems: 0, description: "Not supported by lbplane: always empty" })),
          outboundRules: Type.Optional(Type.Array(OutboundRuleSchema)),
          scope: Type.Optional(StringEnum(["Public", "Private"], { title: "LoadBalancerScope" })),
          provisioningState,
          resourceGuid: ReadOnly(Type.String()),
        },
        { ...Strict, title: "LoadBalancerPropertiesFormat" },
      ),
    ),
  },
  { ...Strict, title: "LoadBalancer", description: "A load balancer", examples: [LOAD_BALANCER_EXAMPLE] },
);
export type LoadBalancerBody = Static<typeof LoadBalancerSchema>;
export type BackendAddressPoolBody = Static<typeof BackendAddressPoolSchema>;
export type InboundNatRuleBody = Static<typeof InboundNatRuleSchema>;

/** Each collection's item schema, for the child routes' answers. */
export const CHILD_SCHEMAS: Record<ChildCollection, TSchema> = {
  frontendIPConfigurations: FrontendIPConfigurationSchema,
  backendAddressPools: BackendAddressPoolSchema,
  loadBalancingRules: LoadBalancingRuleSchema,
  probes: ProbeSchema,
  inboundNatRules: InboundNatRuleSchema,
  outboundRules: OutboundRuleSchema,
};

/** The PUT body of each writable collection of the collection table: the child, with an example. */
export const CHILD_PUT_SCHEMAS: Record<WritableChildCollection, TSchema> = {
  backendAddressPools: { ...BackendAddressPoolSchema, examples: [BACKEND_POOL_EXAMPLE] },
  inboundNatRules: { ...InboundNatRuleSchema, examples: [INBOUND_NAT_RULE_EXAMPLE] },
};

/** A page of a list, named as Azure names it (e.g. LoadBalancerListResult). */
export function listResult<T extends TSchema>(title: string, item: T) {
  return Type.Object(
    { value: Type.Array(item), nextLink: Type.Optional(Type.String({ description: "URL of the next page; absent on the last" })) },
    { title },
  );
}

export const LoadBalancerListSchema = listResult("LoadBalancerListResult", LoadBalancerSchema);

// Every collection of the table is a member of the load balancer body: a new collection that is
// missing there fails to compile here.
type MissingFromBody = Exclude<ChildCollection, keyof NonNullable<LoadBalancerBody["properties"]>>;
export const EVERY_COLLECTION_IN_BODY: [MissingFromBody] extends [never] ? true : MissingFromBody = true;
