// Request schemas for load balancers, as Microsoft.Network 2026-01-01 defines them. Every object
// rejects unknown members (a misspelled rule property must fail, not vanish). Read-only members that
// clients echo back from a GET (id, etag, type, provisioningState, back-references) are accepted and
// ignored; that is what the Azure SDK and `az` do when they PUT a modified GET result.

import { Type, type Static, type TSchema } from "typebox";
import type { ChildCollection, WritableChildCollection } from "../../domain/collections.js";

const Strict = { additionalProperties: false } as const;
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Name = Type.String({ minLength: 1, maxLength: 80 });
const Sub = Type.Object({ id: Type.String({ minLength: 1, maxLength: 1024 }) }, Strict);
const SubList = Type.Array(Sub);
const Ignored = Type.Unknown({ description: "read-only; accepted and ignored" });
const Zones = Type.Array(Type.String({ maxLength: 8 }), { maxItems: 3 });

/** Members every child resource may carry: name, plus read-only ones clients echo back, plus `more`. */
function child<P extends TSchema, M extends Record<string, TSchema>>(properties: P, more?: M) {
  return Type.Object(
    { name: Name, id: Type.Optional(Type.String()), etag: Type.Optional(Ignored), type: Type.Optional(Ignored), properties, ...(more as M) },
    Strict,
  );
}

const readOnly = {
  provisioningState: Type.Optional(Ignored),
  loadBalancingRules: Type.Optional(Ignored),
  inboundNatRules: Type.Optional(Ignored),
  inboundNatPools: Type.Optional(Ignored),
  outboundRules: Type.Optional(Ignored),
  backendIPConfigurations: Type.Optional(Ignored),
  backendIPConfiguration: Type.Optional(Ignored),
  loadBalancerFrontendIPConfigurations: Type.Optional(Ignored),
  outboundRule: Type.Optional(Ignored),
};

export const FrontendIPConfigurationSchema = child(
  Type.Object(
    {
      privateIPAddress: Type.Optional(Type.String({ maxLength: 64 })),
      privateIPAllocationMethod: Type.Optional(Type.Union([Type.Literal("Static"), Type.Literal("Dynamic")])),
      privateIPAddressVersion: Type.Optional(Type.Union([Type.Literal("IPv4"), Type.Literal("IPv6")])),
      subnet: Type.Optional(Sub),
      publicIPAddress: Type.Optional(Sub),
      publicIPPrefix: Type.Optional(Sub),
      gatewayLoadBalancer: Type.Optional(Sub),
      ddosSettings: Type.Optional(Type.Unknown()),
      enableConnectionTracking: Type.Optional(Type.Boolean()),
      ...readOnly,
    },
    Strict,
  ),
  // Zones sit beside properties on a frontend, as Azure (and the SDK's serializer) put them.
  { zones: Type.Optional(Zones) },
);

export const BackendAddressSchema = Type.Object(
  {
    name: Name,
    properties: Type.Optional(
      Type.Object(
        {
          ipAddress: Type.Optional(Type.String({ maxLength: 64 })),
          virtualNetwork: Type.Optional(Sub),
          subnet: Type.Optional(Sub),
          loadBalancerFrontendIPConfiguration: Type.Optional(Sub),
          adminState: Type.Optional(
            Type.Union([Type.Literal("None"), Type.Literal("Up"), Type.Literal("Down"), Type.Literal("Drain")]),
          ),
          networkInterfaceIPConfiguration: Type.Optional(Ignored),
          inboundNatRulesPortMapping: Type.Optional(Ignored),
        },
        Strict,
      ),
    ),
  },
  Strict,
);

// Optional: the SDK's serializer (and many templates) send a pool with no addresses as {"name":…}.
export const BackendAddressPoolSchema = child(
  Type.Optional(Type.Object(
    {
      location: Type.Optional(Type.String()),
      loadBalancerBackendAddresses: Type.Optional(Type.Array(BackendAddressSchema)),
      virtualNetwork: Type.Optional(Sub),
      drainPeriodInSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
      tunnelInterfaces: Type.Optional(Type.Array(Type.Unknown())),
      syncMode: Type.Optional(Type.Union([Type.Literal("Automatic"), Type.Literal("Manual")])),
      ...readOnly,
    },
    Strict,
  )),
);

const RuleProtocol = Type.Union([Type.Literal("Tcp"), Type.Literal("Udp"), Type.Literal("All")]);

export const LoadBalancingRuleSchema = child(
  Type.Object(
    {
      frontendIPConfiguration: Sub,
      backendAddressPool: Type.Optional(Sub),
      backendAddressPools: Type.Optional(SubList),
      probe: Type.Optional(Sub),
      protocol: RuleProtocol,
      loadDistribution: Type.Optional(
        Type.Union([Type.Literal("Default"), Type.Literal("SourceIP"), Type.Literal("SourceIPProtocol")]),
      ),
      frontendPort: Port,
      backendPort: Type.Optional(Port),
      idleTimeoutInMinutes: Type.Optional(Type.Integer()),
      enableFloatingIP: Type.Optional(Type.Boolean()),
      enableTcpReset: Type.Optional(Type.Boolean()),
      disableOutboundSnat: Type.Optional(Type.Boolean()),
      enableConnectionTracking: Type.Optional(Type.Boolean()),
      provisioningState: Type.Optional(Ignored),
    },
    Strict,
  ),
);

export const ProbeSchema = child(
  Type.Object(
    {
      protocol: Type.Union([Type.Literal("Tcp"), Type.Literal("Http"), Type.Literal("Https")]),
      port: Port,
      intervalInSeconds: Type.Optional(Type.Integer()),
      numberOfProbes: Type.Optional(Type.Integer()),
      probeThreshold: Type.Optional(Type.Integer()),
      requestPath: Type.Optional(Type.String({ maxLength: 2048 })),
      noHealthyBackendsBehavior: Type.Optional(Type.Union([Type.Literal("AllProbedDown"), Type.Literal("AllProbedUp")])),
      ...readOnly,
    },
    Strict,
  ),
);

export const InboundNatRulePropertiesSchema = Type.Object(
  {
    frontendIPConfiguration: Sub,
    protocol: RuleProtocol,
    frontendPort: Type.Optional(Port),
    backendPort: Port,
    frontendPortRangeStart: Type.Optional(Port),
    frontendPortRangeEnd: Type.Optional(Port),
    backendAddressPool: Type.Optional(Sub),
    backendIPAddress: Type.Optional(Type.String({ maxLength: 64, description: "lbplane extension: the DIP of a single-VM NAT rule (lbplane has no NIC resources)" })),
    idleTimeoutInMinutes: Type.Optional(Type.Integer()),
    enableFloatingIP: Type.Optional(Type.Boolean()),
    enableTcpReset: Type.Optional(Type.Boolean()),
    ...readOnly,
  },
  Strict,
);
export const InboundNatRuleSchema = child(InboundNatRulePropertiesSchema);

export const OutboundRuleSchema = child(
  Type.Object(
    {
      frontendIPConfigurations: SubList,
      backendAddressPool: Sub,
      protocol: RuleProtocol,
      allocatedOutboundPorts: Type.Optional(Type.Integer({ minimum: 0, maximum: 64000 })),
      idleTimeoutInMinutes: Type.Optional(Type.Integer()),
      enableTcpReset: Type.Optional(Type.Boolean()),
      ...readOnly,
    },
    Strict,
  ),
);

export const LoadBalancerBodySchema = Type.Object(
  {
    id: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    type: Type.Optional(Ignored),
    etag: Type.Optional(Ignored),
    location: Type.String({ minLength: 1, maxLength: 64 }),
    tags: Type.Optional(Type.Record(Type.String({ maxLength: 512 }), Type.String({ maxLength: 256 }))),
    sku: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.Union([Type.Literal("Standard"), Type.Literal("Basic"), Type.Literal("Gateway")])),
          tier: Type.Optional(Type.Union([Type.Literal("Regional"), Type.Literal("Global")])),
        },
        Strict,
      ),
    ),
    extendedLocation: Type.Optional(Type.Unknown()),
    properties: Type.Optional(
      Type.Object(
        {
          frontendIPConfigurations: Type.Optional(Type.Array(FrontendIPConfigurationSchema)),
          backendAddressPools: Type.Optional(Type.Array(BackendAddressPoolSchema)),
          loadBalancingRules: Type.Optional(Type.Array(LoadBalancingRuleSchema)),
          probes: Type.Optional(Type.Array(ProbeSchema)),
          inboundNatRules: Type.Optional(Type.Array(InboundNatRuleSchema)),
          inboundNatPools: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0, description: "not supported by lbplane" })),
          outboundRules: Type.Optional(Type.Array(OutboundRuleSchema)),
          scope: Type.Optional(Type.Union([Type.Literal("Public"), Type.Literal("Private")])),
          provisioningState: Type.Optional(Ignored),
          resourceGuid: Type.Optional(Ignored),
        },
        Strict,
      ),
    ),
  },
  Strict,
);
export type LoadBalancerBody = Static<typeof LoadBalancerBodySchema>;
export type BackendAddressPoolBody = Static<typeof BackendAddressPoolSchema>;
export type InboundNatRuleBody = Static<typeof InboundNatRuleSchema>;

/** Child PUT bodies: `name` comes from the path, so it is optional here. */
export const BackendAddressPoolPutSchema = Type.Object(
  { ...BackendAddressPoolSchema.properties, name: Type.Optional(Name) },
  Strict,
);
export const InboundNatRulePutSchema = Type.Object({ ...InboundNatRuleSchema.properties, name: Type.Optional(Name) }, Strict);

/** The PUT body of each writable collection of the collection table. */
export const CHILD_PUT_SCHEMAS: Record<WritableChildCollection, TSchema> = {
  backendAddressPools: BackendAddressPoolPutSchema,
  inboundNatRules: InboundNatRulePutSchema,
};

// Every collection of the table is a member of the load balancer body: a new collection that is
// missing there fails to compile here.
type MissingFromBody = Exclude<ChildCollection, keyof NonNullable<LoadBalancerBody["properties"]>>;
export const EVERY_COLLECTION_IN_BODY: [MissingFromBody] extends [never] ? true : MissingFromBody = true;

/** Responses: resources are rendered by lbplane itself, so the response schema stays open. */
export const ResourceSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    etag: Type.Optional(Type.String()),
    location: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    sku: Type.Optional(Type.Object({ name: Type.String(), tier: Type.Optional(Type.String()) })),
    properties: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true },
);
export const ResourceListSchema = Type.Object({
  value: Type.Array(ResourceSchema),
  nextLink: Type.Optional(Type.String()),
});
