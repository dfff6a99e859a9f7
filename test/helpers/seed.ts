// The seed document's load balancers (multiple-vips.md) as ARM request bodies.

import { AUTH, NET, RGV, SUB } from "./app.js";
import type { App } from "../../src/app.js";

export const rgPath = (rg: string) => `/subscriptions/${SUB}/resourcegroups/${rg}`;
export const pipId = (rg: string, name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/publicIPAddresses/${name}`;
export const lbPath = (rg: string, name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/loadBalancers/${name}`;

export async function createResourceGroup(app: App, rg: string, location = "westeurope") {
  const res = await app.inject({ method: "PUT", url: `${rgPath(rg)}?${RGV}`, headers: AUTH, payload: { location } });
  if (res.statusCode >= 300) throw new Error(`resource group: ${res.statusCode} ${res.body}`);
}

export async function createPublicIp(app: App, rg: string, name: string, ipAddress: string, location = "westeurope") {
  const res = await app.inject({
    method: "PUT",
    url: `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/publicIPAddresses/${name}?${NET}`,
    headers: AUTH,
    payload: { location, sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress } },
  });
  if (res.statusCode >= 300) throw new Error(`public ip: ${res.statusCode} ${res.body}`);
  return res.json();
}

export function putLb(app: App, rg: string, name: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: "PUT", url: `${lbPath(rg, name)}?${NET}`, headers: { ...AUTH, ...headers }, payload: body as object });
}

export function getJson(app: App, url: string) {
  return app.inject({ method: "GET", url: url.includes("?") ? url : `${url}?${NET}`, headers: AUTH });
}

interface RuleSpec {
  name: string;
  frontend: string;
  frontendPort: number;
  backendPort: number;
  floating?: boolean;
  protocol?: "Tcp" | "Udp" | "All";
  pool?: string;
}

/** A load balancer with public frontends `fe -> public IP name`, one pool, a TCP probe, and rules. */
export function seedLoadBalancer(
  rg: string,
  name: string,
  opts: { frontends: Record<string, string>; dips: string[]; rules: RuleSpec[]; location?: string },
) {
  const id = lbPath(rg, name);
  return {
    location: opts.location ?? "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: Object.entries(opts.frontends).map(([fe, pip]) => ({
        name: fe,
        properties: { publicIPAddress: { id: pipId(rg, pip) } },
      })),
      backendAddressPools: [
        {
          name: "pool",
          properties: {
            loadBalancerBackendAddresses: opts.dips.map((ip, i) => ({ name: `vm${i + 1}`, properties: { ipAddress: ip } })),
          },
        },
      ],
      probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
      loadBalancingRules: opts.rules.map((r) => ({
        name: r.name,
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/${r.frontend}` },
          backendAddressPool: { id: `${id}/backendAddressPools/${r.pool ?? "pool"}` },
          probe: { id: `${id}/probes/probe` },
          protocol: r.protocol ?? "Tcp",
          frontendPort: r.frontendPort,
          backendPort: r.backendPort,
          enableFloatingIP: r.floating ?? false,
        },
      })),
    },
  };
}
