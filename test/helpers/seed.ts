// The seed document's load balancers (multiple-vips.md) as ARM request bodies (built by
// test/kit/bodies.ts), and in-process requests that create them.

import { AUTH, NET, RGV, SUB } from "./app.js";
import type { App } from "../../src/app.js";
import { armLoadBalancer, loadBalancerPath, publicIpId } from "../kit/bodies.js";

// Lower-case "resourcegroups", as arm-resources sends it.
export const rgPath = (rg: string) => `/subscriptions/${SUB}/resourcegroups/${rg}`;
export const pipId = publicIpId;
export const lbPath = loadBalancerPath;

export async function createResourceGroup(app: App, rg: string, location = "westeurope") {
  const res = await app.inject({ method: "PUT", url: `${rgPath(rg)}?${RGV}`, headers: AUTH, payload: { location } });
  if (res.statusCode >= 300) throw new Error(`resource group: ${res.statusCode} ${res.body}`);
}

export async function createPublicIp(app: App, rg: string, name: string, ipAddress: string, location = "westeurope") {
  const res = await app.inject({
    method: "PUT",
    url: `${publicIpId(rg, name)}?${NET}`,
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
  return armLoadBalancer(rg, name, {
    location: opts.location,
    frontends: opts.frontends,
    backends: Object.fromEntries(opts.dips.map((ip, i) => [`vm${i + 1}`, ip])),
    probes: { probe: { port: 9000 } },
    rules: opts.rules.map((r) => ({
      name: r.name,
      frontend: r.frontend,
      frontendPort: r.frontendPort,
      backendPort: r.backendPort,
      probe: "probe",
      pool: r.pool,
      protocol: r.protocol,
      enableFloatingIP: r.floating,
    })),
  });
}
