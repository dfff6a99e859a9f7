// The load balancer as the domain sees it: Azure's wire shape (name + properties), with references
// kept as ARM ids. Routes parse into these types, the domain validates/defaults/compiles them, the
// store persists them. Plain data only: no framework or database types may appear here.

export type Protocol = "Tcp" | "Udp" | "All";
export type ProbeProtocol = "Tcp" | "Http" | "Https";
export type LoadDistribution = "Default" | "SourceIP" | "SourceIPProtocol";
export type SkuName = "Standard" | "Basic" | "Gateway";
export type ProvisioningState = "Succeeded" | "Updating" | "Deleting" | "Failed";

export interface SubResource {
  id: string;
}

export interface FrontendIPConfiguration {
  name: string;
  id?: string;
  zones?: string[];
  properties: {
    privateIPAddress?: string;
    privateIPAllocationMethod?: "Static" | "Dynamic";
    privateIPAddressVersion?: "IPv4" | "IPv6";
    publicIPAddress?: SubResource;
    subnet?: SubResource;
    [extra: string]: unknown;
  };
}

export interface BackendAddress {
  name: string;
  properties: {
    ipAddress?: string;
    virtualNetwork?: SubResource;
    subnet?: SubResource;
    adminState?: "None" | "Up" | "Down" | "Drain";
    [extra: string]: unknown;
  };
}

export interface BackendAddressPool {
  name: string;
  id?: string;
  properties: {
    loadBalancerBackendAddresses?: BackendAddress[];
    virtualNetwork?: SubResource;
    [extra: string]: unknown;
  };
}

export interface LoadBalancingRule {
  name: string;
  id?: string;
  properties: {
    frontendIPConfiguration: SubResource;
    backendAddressPool?: SubResource;
    backendAddressPools?: SubResource[];
    probe?: SubResource;
    protocol: Protocol;
    frontendPort: number;
    backendPort?: number;
    enableFloatingIP?: boolean;
    idleTimeoutInMinutes?: number;
    loadDistribution?: LoadDistribution;
    enableTcpReset?: boolean;
    disableOutboundSnat?: boolean;
    [extra: string]: unknown;
  };
}

export interface Probe {
  name: string;
  id?: string;
  properties: {
    protocol: ProbeProtocol;
    port: number;
    requestPath?: string;
    intervalInSeconds?: number;
    numberOfProbes?: number;
    probeThreshold?: number;
    noHealthyBackendsBehavior?: "AllProbedDown" | "AllProbedUp";
    [extra: string]: unknown;
  };
}

export interface InboundNatRule {
  name: string;
  id?: string;
  properties: {
    frontendIPConfiguration: SubResource;
    protocol: Protocol;
    frontendPort?: number;
    backendPort: number;
    frontendPortRangeStart?: number;
    frontendPortRangeEnd?: number;
    backendAddressPool?: SubResource;
    // Single-VM NAT rule target. lbplane has no NIC resources, so a NAT rule names its DIP directly
    // with this lbplane extension, or uses a backend pool (Azure's V2 NAT rules).
    backendIPAddress?: string;
    enableFloatingIP?: boolean;
    idleTimeoutInMinutes?: number;
    enableTcpReset?: boolean;
    [extra: string]: unknown;
  };
}

export interface OutboundRule {
  name: string;
  id?: string;
  properties: {
    frontendIPConfigurations: SubResource[];
    backendAddressPool: SubResource;
    protocol: Protocol;
    allocatedOutboundPorts?: number;
    idleTimeoutInMinutes?: number;
    enableTcpReset?: boolean;
    [extra: string]: unknown;
  };
}

export interface LoadBalancerProperties {
  frontendIPConfigurations?: FrontendIPConfiguration[];
  backendAddressPools?: BackendAddressPool[];
  loadBalancingRules?: LoadBalancingRule[];
  probes?: Probe[];
  inboundNatRules?: InboundNatRule[];
  outboundRules?: OutboundRule[];
  inboundNatPools?: unknown[];
  [extra: string]: unknown;
}

/** The user's desired load balancer, as sent in a PUT body (after schema validation). */
export interface LoadBalancerSpec {
  location: string;
  tags?: Record<string, string>;
  sku?: { name?: SkuName; tier?: "Regional" | "Global" };
  properties: LoadBalancerProperties;
}

/** Where a load balancer lives; ids are built from this. */
export interface LoadBalancerAddress {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** Resolution of public IP references, supplied by the store (the domain never looks them up). */
export interface PublicIpView {
  id: string;
  ipAddress?: string;
  skuName: string;
  /** Normalised location; set when the store resolved it for a write (a frontend must be in the same one). */
  location?: string;
  /** ARM id of the frontend IP configuration using it, if any (another LB's, or this one's). */
  usedBy?: string;
}

export interface DomainIssue {
  code: string;
  message: string;
  target?: string;
  /** ARM error `details[]` (e.g. InvalidRequestFormat carries the specific problem here). */
  details?: Array<{ code: string; message: string; target?: string }>;
}
