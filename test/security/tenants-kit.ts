// Two (or more) tenants on one lbplane listening on loopback, as an attacker meets it: each tenant
// holds a token scoped to its own subscription and speaks real HTTP. The admin token sets the scene
// and reads the victim's state before and after an attack.

import { ADMIN_TOKEN, NET, RGV, startTestLbplane, type TestLbplane } from "../helpers/app.js";

export const SUB_A = "aaaaaaaa-0000-0000-0000-00000000000a";
export const SUB_B = "bbbbbbbb-0000-0000-0000-00000000000b";
export const SUB_C = "cccccccc-0000-0000-0000-00000000000c";
export const LOCATION = "westeurope";

export interface Answer {
  status: number;
  text: string;
  json: any;
}

export interface Plane {
  t: TestLbplane;
  url: string;
  /** One request with `token` as bearer; a body is sent as JSON. */
  call: (token: string, method: string, path: string, body?: unknown) => Promise<Answer>;
  /** Adds a token limited to `subscriptions` (undefined = admin). */
  addToken: (token: string, name: string, subscriptions?: string[]) => void;
  close: () => Promise<void>;
}

export async function startPlane(): Promise<Plane> {
  const t = await startTestLbplane({});
  const url = await t.app.listen({ host: "127.0.0.1", port: 0 });
  const call = async (token: string, method: string, path: string, body?: unknown): Promise<Answer> => {
    const sep = path.includes("?") ? "&" : "?";
    const version = path.includes("/providers/Microsoft.Network/") ? NET : RGV;
    const res = await fetch(`${url}${path}${sep}${version}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  };
  return {
    t,
    url,
    call,
    addToken: (token, name, subscriptions) => t.app.deps.tokens.add(token, { name, subscriptions }),
    close: () => t.close(),
  };
}

export const rgPath = (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`;
export const pipPath = (sub: string, rg: string, name: string) => `${rgPath(sub, rg)}/providers/Microsoft.Network/publicIPAddresses/${name}`;
export const lbPath = (sub: string, rg: string, name: string) => `${rgPath(sub, rg)}/providers/Microsoft.Network/loadBalancers/${name}`;
export const vnetPath = (sub: string, rg: string, name: string) => `${rgPath(sub, rg)}/providers/Microsoft.Network/virtualNetworks/${name}`;

/** A Standard public load balancer with one frontend per public IP id (no rules: the smallest valid one). */
export function lbBody(publicIpIds: string[]) {
  return {
    location: LOCATION,
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: publicIpIds.map((id, i) => ({ name: `fe${i}`, properties: { publicIPAddress: { id } } })),
      backendAddressPools: [{ name: "pool", properties: {} }],
    },
  };
}

export const pipBody = (ipAddress?: string) => ({
  location: LOCATION,
  sku: { name: "Standard" },
  properties: { publicIPAllocationMethod: "Static", ...(ipAddress ? { ipAddress } : {}) },
});

/** Creates (as admin) a resource group, and public IPs in it. */
export async function seedTenant(plane: Plane, sub: string, rg: string, pips: string[]): Promise<void> {
  const g = await plane.call(ADMIN_TOKEN, "PUT", rgPath(sub, rg), { location: LOCATION });
  if (g.status >= 300) throw new Error(`resource group: ${g.status} ${g.text}`);
  for (const name of pips) {
    const p = await plane.call(ADMIN_TOKEN, "PUT", pipPath(sub, rg, name), pipBody());
    if (p.status >= 300) throw new Error(`public IP ${name}: ${p.status} ${p.text}`);
  }
}

/** Everything of a subscription as the admin reads it: its resource groups, public IPs and load balancers. */
export async function snapshot(plane: Plane, sub: string): Promise<unknown> {
  const groups = await plane.call(ADMIN_TOKEN, "GET", `/subscriptions/${sub}/resourcegroups`);
  const pips = await plane.call(ADMIN_TOKEN, "GET", `/subscriptions/${sub}/providers/Microsoft.Network/publicIPAddresses`);
  const lbs = await plane.call(ADMIN_TOKEN, "GET", `/subscriptions/${sub}/providers/Microsoft.Network/loadBalancers`);
  return { groups: groups.json, pips: pips.json, lbs: lbs.json };
}

export { ADMIN_TOKEN };
