// The examples the OpenAPI document carries, chosen to work together on a fresh lbplane: Swagger UI
// pre-fills parameters and bodies from them, so "Try it out → Execute" on the resource-group PUT and
// then on the load-balancer PUT creates the seed's load balancer (rule type #1 of multiple-vips.md:
// VIP1:80, VIP2:8080 and VIP3:80/Udp on one frontend, VIP4:80 on a second one delivering to DIP:81,
// which is the seed's answer to the uniqueness law). Its frontends are private addresses so nothing
// else must exist first, and it lives in northeurope, a location no agent of a fresh instance
// serves: an agent probes every DIP it is given. test/contract/swagger-ui.test.ts executes them.

export const EXAMPLE = {
  subscriptionId: "00000000-0000-0000-0000-000000000001",
  resourceGroupName: "seed",
  loadBalancerName: "lb1",
  publicIpAddressName: "vip1",
  location: "northeurope",
  /** Path parameter example per child collection (the children of the load balancer example). */
  children: {
    frontendIPConfigurations: "ip1",
    backendAddressPools: "pool",
    loadBalancingRules: "vip1",
    probes: "tcp",
    inboundNatRules: "ssh-vm1",
    outboundRules: "outbound",
  },
} as const;

const LB_ID =
  `/subscriptions/${EXAMPLE.subscriptionId}/resourceGroups/${EXAMPLE.resourceGroupName}` +
  `/providers/Microsoft.Network/loadBalancers/${EXAMPLE.loadBalancerName}`;
const ref = (collection: string, name: string) => ({ id: `${LB_ID}/${collection}/${name}` });

function rule(name: string, frontend: string, protocol: "Tcp" | "Udp", frontendPort: number, backendPort: number) {
  return {
    name,
    properties: {
      frontendIPConfiguration: ref("frontendIPConfigurations", frontend),
      backendAddressPool: ref("backendAddressPools", "pool"),
      probe: ref("probes", "tcp"),
      protocol,
      frontendPort,
      backendPort,
    },
  };
}

const backends = [
  { name: "vm1", properties: { ipAddress: "10.0.0.4" } },
  { name: "vm2", properties: { ipAddress: "10.0.0.5" } },
];

export const RESOURCE_GROUP_EXAMPLE = { location: EXAMPLE.location, tags: { purpose: "seed" } };

export const PUBLIC_IP_EXAMPLE = {
  location: EXAMPLE.location,
  sku: { name: "Standard" },
  properties: { publicIPAllocationMethod: "Static", ipAddress: "65.52.0.1" },
};

export const LOAD_BALANCER_EXAMPLE = {
  location: EXAMPLE.location,
  sku: { name: "Standard" },
  properties: {
    frontendIPConfigurations: [
      { name: "ip1", properties: { privateIPAddress: "10.1.0.1", privateIPAllocationMethod: "Static" } },
      { name: "ip2", properties: { privateIPAddress: "10.1.0.2", privateIPAllocationMethod: "Static" } },
    ],
    backendAddressPools: [{ name: "pool", properties: { loadBalancerBackendAddresses: backends } }],
    probes: [{ name: "tcp", properties: { protocol: "Tcp", port: 80, intervalInSeconds: 5, probeThreshold: 2 } }],
    loadBalancingRules: [
      rule("vip1", "ip1", "Tcp", 80, 80),
      rule("vip2", "ip1", "Tcp", 8080, 8080),
      rule("vip3", "ip1", "Udp", 80, 80),
      rule("vip4", "ip2", "Tcp", 80, 81),
    ],
  },
};

export const BACKEND_POOL_EXAMPLE = {
  properties: { loadBalancerBackendAddresses: [...backends, { name: "vm3", properties: { ipAddress: "10.0.0.6" } }] },
};

export const INBOUND_NAT_RULE_EXAMPLE = {
  properties: {
    frontendIPConfiguration: ref("frontendIPConfigurations", "ip2"),
    protocol: "Tcp",
    frontendPort: 50001,
    backendPort: 22,
    backendIPAddress: "10.0.0.4",
  },
};

export const TAGS_EXAMPLE = { tags: { purpose: "seed", owner: "network-team" } };
