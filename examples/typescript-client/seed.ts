// The seed through a TypeScript client generated from lbplane's committed OpenAPI document with
// @hey-api/openapi-ts (`npm run sdk:generate` writes it to ./client, which git ignores). It creates
// the resource group and the seed's load balancer (rule type #1), reads its rules and probes back
// with their generated types, and reads the uniqueness law's refusal as a typed ErrorResponse —
// no casts anywhere. test/contract/generated-client.test.ts type-checks and runs this very file.
//
//   LBPLANE_URL=http://127.0.0.1:8080 TOKEN=lbp_… npx tsx examples/typescript-client/seed.ts

import { client } from "./client/client.gen.js";
import {
  loadBalancerLoadBalancingRulesList, loadBalancerProbesGet, loadBalancersCreateOrUpdate, resourceGroupsCreateOrUpdate,
} from "./client/sdk.gen.js";
import type { LoadBalancersGetData, LoadBalancerWritable, LoadBalancingRule, TransportProtocol } from "./client/types.gen.js";

const subscriptionId = "00000000-0000-0000-0000-000000000001";
const resourceGroupName = "sdk-seed";
const net: LoadBalancersGetData["query"] = { "api-version": "2026-01-01" };
client.setConfig({ baseUrl: process.env.LBPLANE_URL ?? "http://127.0.0.1:8080", auth: () => process.env.TOKEN });

const lbId = (name: string) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Network/loadBalancers/${name}`;

/** A load balancer delivering each rule (name, frontend IP, protocol, frontend port → backend port) to one pool. */
function loadBalancer(name: string, frontends: Record<string, string>, rules: Array<[string, string, TransportProtocol, number, number]>): LoadBalancerWritable {
  const ref = (collection: string, child: string) => ({ id: `${lbId(name)}/${collection}/${child}` });
  return {
    location: "northeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: Object.entries(frontends).map(([fe, ip]) => ({ name: fe, properties: { privateIPAddress: ip } })),
      backendAddressPools: [{
        name: "pool",
        properties: { loadBalancerBackendAddresses: [{ name: "vm1", properties: { ipAddress: "10.0.0.4" } }, { name: "vm2", properties: { ipAddress: "10.0.0.5" } }] },
      }],
      probes: [{ name: "tcp", properties: { protocol: "Tcp", port: 80, intervalInSeconds: 5 } }],
      loadBalancingRules: rules.map(([rule, fe, protocol, frontendPort, backendPort]) => ({
        name: rule,
        properties: {
          frontendIPConfiguration: ref("frontendIPConfigurations", fe),
          backendAddressPool: ref("backendAddressPools", "pool"),
          probe: ref("probes", "tcp"),
          protocol, frontendPort, backendPort,
        },
      })),
    },
  };
}

const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const group = await resourceGroupsCreateOrUpdate({
  path: { subscriptionId, resourceGroupName },
  query: { "api-version": "2025-04-01" },
  body: { location: "northeurope" },
});
print({ step: "resourceGroup", status: group.response.status, provisioningState: group.data?.properties?.provisioningState });

// The seed's rule type #1: VIP1:80, VIP2:8080, VIP3:80/Udp on ip1; VIP4:80 on ip2 delivers to DIP:81.
const created = await loadBalancersCreateOrUpdate({
  path: { subscriptionId, resourceGroupName, loadBalancerName: "lb1" },
  query: net,
  body: loadBalancer("lb1", { ip1: "10.1.0.1", ip2: "10.1.0.2" }, [
    ["vip1", "ip1", "Tcp", 80, 80], ["vip2", "ip1", "Tcp", 8080, 8080], ["vip3", "ip1", "Udp", 80, 80], ["vip4", "ip2", "Tcp", 80, 81],
  ]),
});
print({ step: "loadBalancer", status: created.response.status, etag: created.data?.etag, asyncOperation: created.response.headers.get("azure-asyncoperation") });

// Typed read-back: a rule's properties are LoadBalancingRulePropertiesFormat, not "any key, unknown value".
const rules = await loadBalancerLoadBalancingRulesList({ path: { subscriptionId, resourceGroupName, loadBalancerName: "lb1" }, query: net });
const describe = (r: LoadBalancingRule) => `${r.name}: ${r.properties.protocol} ${r.properties.frontendPort} -> ${r.properties.backendPort}`;
print({ step: "rules", status: rules.response.status, rules: (rules.data?.value ?? []).map(describe) });

const probe = await loadBalancerProbesGet({ path: { subscriptionId, resourceGroupName, loadBalancerName: "lb1", probeName: "tcp" }, query: net });
const port: number | undefined = probe.data?.properties.port;
// @ts-expect-error the generated type knows a probe's protocol is one of Tcp, Http, Https
const notAProtocol: "Udp" | undefined = probe.data?.properties.protocol;
print({ step: "probe", status: probe.response.status, port, protocol: probe.data?.properties.protocol, notAProtocol });

// The uniqueness law: another load balancer's rule 10.1.0.3:80 → DIP:80/Tcp, which lb1's vip1 already delivers to.
const refused = await loadBalancersCreateOrUpdate({
  path: { subscriptionId, resourceGroupName, loadBalancerName: "lb2" },
  query: net,
  body: loadBalancer("lb2", { ip1: "10.1.0.3" }, [["web", "ip1", "Tcp", 80, 80]]),
});
print({
  step: "conflict",
  status: refused.response.status,
  code: refused.error?.error.code,
  details: refused.error?.error.details.map((d) => `${d.code} ${d.target ?? ""}`),
});
