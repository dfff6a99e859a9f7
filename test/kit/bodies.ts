// ARM request bodies and resource paths for tests that speak the API (in-process, over HTTP, or to
// real processes): one builder of a public load balancer, from which the seed's shorthand
// (helpers/seed.ts), the e2e cluster's (e2e/cluster.ts) and the agents harness's simpleLb derive.
// Pure domain tests build LoadBalancerSpecs with kit/specs.ts instead (private frontends,
// terse rules, no HTTP).

export const SUB = "00000000-0000-0000-0000-000000000001";

export const resourceGroupId = (rg: string) => `/subscriptions/${SUB}/resourceGroups/${rg}`;
export const publicIpId = (rg: string, name: string) => `${resourceGroupId(rg)}/providers/Microsoft.Network/publicIPAddresses/${name}`;
export const loadBalancerPath = (rg: string, name: string) => `${resourceGroupId(rg)}/providers/Microsoft.Network/loadBalancers/${name}`;

export interface ArmRule {
  name: string;
  frontend: string;
  frontendPort: number;
  backendPort: number;
  probe: string;
  /** Default "pool", the one pool the body has (naming another makes a dangling reference). */
  pool?: string;
  protocol?: "Tcp" | "Udp" | "All";
  enableFloatingIP?: boolean;
  /** Omitted from the body when unset (Azure's default applies). */
  loadDistribution?: "Default" | "SourceIP" | "SourceIPProtocol";
}

export interface ArmLoadBalancer {
  location?: string;
  /** frontend name → public IP name (in the same resource group) */
  frontends: Record<string, string>;
  /** backend address name → IP, all in the pool named "pool" */
  backends: Record<string, string>;
  /** probe name → TCP port (and optional timing) */
  probes: Record<string, { port: number; intervalInSeconds?: number; probeThreshold?: number }>;
  rules: ArmRule[];
}

/** A Standard public load balancer as an ARM PUT body. */
export function armLoadBalancer(rg: string, name: string, spec: ArmLoadBalancer) {
  const id = loadBalancerPath(rg, name);
  return {
    location: spec.location ?? "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: Object.entries(spec.frontends).map(([fe, pip]) => ({
        name: fe,
        properties: { publicIPAddress: { id: publicIpId(rg, pip) } },
      })),
      backendAddressPools: [
        {
          name: "pool",
          properties: {
            loadBalancerBackendAddresses: Object.entries(spec.backends).map(([vm, ip]) => ({ name: vm, properties: { ipAddress: ip } })),
          },
        },
      ],
      probes: Object.entries(spec.probes).map(([probe, p]) => ({ name: probe, properties: { protocol: "Tcp", ...p } })),
      loadBalancingRules: spec.rules.map((r) => ({
        name: r.name,
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/${r.frontend}` },
          backendAddressPool: { id: `${id}/backendAddressPools/${r.pool ?? "pool"}` },
          probe: { id: `${id}/probes/${r.probe}` },
          protocol: r.protocol ?? "Tcp",
          frontendPort: r.frontendPort,
          backendPort: r.backendPort,
          enableFloatingIP: r.enableFloatingIP ?? false,
          ...(r.loadDistribution ? { loadDistribution: r.loadDistribution } : {}),
        },
      })),
    },
  };
}
