// A load balancer's child collections, in one table: the one spelling (the ARM property and path
// segment), what a person calls one of them, its ARM resource type, the Azure SDK's operation
// group, and whether it has its own PUT/DELETE. Validation, defaults, the view, the routes, the
// store and the OpenAPI document all iterate this table; layers that keep per-collection data
// (e.g. the store's table names) key it by `ChildCollection` in an exhaustive Record, so adding a
// collection here makes the compiler point at every place that must learn about it.

export const CHILD_COLLECTIONS = [
  {
    name: "frontendIPConfigurations",
    singular: "frontend IP configuration",
    sdkGroup: "LoadBalancerFrontendIPConfigurations",
    writable: false,
  },
  {
    name: "backendAddressPools",
    singular: "backend address pool",
    sdkGroup: "LoadBalancerBackendAddressPools",
    writable: true,
  },
  {
    name: "loadBalancingRules",
    singular: "load balancing rule",
    sdkGroup: "LoadBalancerLoadBalancingRules",
    writable: false,
  },
  {
    name: "probes",
    singular: "probe",
    sdkGroup: "LoadBalancerProbes",
    writable: false,
  },
  {
    name: "inboundNatRules",
    singular: "inbound NAT rule",
    sdkGroup: "InboundNatRules",
    writable: true,
  },
  {
    name: "outboundRules",
    singular: "outbound rule",
    sdkGroup: "LoadBalancerOutboundRules",
    writable: false,
  },
] as const;

export type ChildCollectionInfo = (typeof CHILD_COLLECTIONS)[number];
export type ChildCollection = ChildCollectionInfo["name"];
export type WritableChildCollection = Extract<ChildCollectionInfo, { writable: true }>["name"];

export const CHILD_COLLECTION_NAMES: readonly ChildCollection[] = CHILD_COLLECTIONS.map((c) => c.name);

/** ARM resource type of a child, e.g. Microsoft.Network/loadBalancers/probes. */
export function childResourceType(collection: ChildCollection): string {
  return `Microsoft.Network/loadBalancers/${collection}`;
}

export function collectionInfo(collection: ChildCollection): ChildCollectionInfo {
  return CHILD_COLLECTIONS.find((c) => c.name === collection)!;
}

export const WRITABLE_CHILD_COLLECTIONS = CHILD_COLLECTIONS.filter(
  (c): c is Extract<ChildCollectionInfo, { writable: true }> => c.writable,
).map((c) => c.name);
