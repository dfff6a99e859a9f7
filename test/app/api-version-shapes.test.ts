// Every stable api-version real clients pin is accepted, and each answers in its own shape: a
// property its specification does not know is left out of responses and ignored in requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NETWORK_API_VERSIONS, RESOURCES_API_VERSIONS } from "../../src/routes/api-versions.js";
import { armLoadBalancer, loadBalancerPath, publicIpId } from "../kit/bodies.js";
import { AUTH, NET, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";

const RG = "shapes";
const lbUrl = (name: string, version: string, child = "") => `${loadBalancerPath(RG, name)}${child}?api-version=${version}`;
const pipUrl = (name: string, version: string) => `${publicIpId(RG, name)}?api-version=${version}`;

/** The seed's load balancer with members of several generations: 2020-07-01 … 2024-03-01. */
function modernBody() {
  const body = armLoadBalancer(RG, "lb", {
    frontends: { fe: "vip" },
    backends: { vm1: "198.51.100.10" },
    probes: { tcp: { port: 80, probeThreshold: 2 } },
    rules: [{ name: "web", frontend: "fe", frontendPort: 80, backendPort: 80, probe: "tcp" }],
  });
  const probe = body.properties.probes[0] as { properties: Record<string, unknown> };
  probe.properties.noHealthyBackendsBehavior = "AllProbedUp";
  const address = body.properties.backendAddressPools[0]?.properties.loadBalancerBackendAddresses[0] as { properties: Record<string, unknown> };
  address.properties.adminState = "Up";
  return body;
}

describe("api-versions real clients send", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { LBPLANE_PUBLIC_IP_POOL: "192.0.2.0/29" });
    const rg = await t.app.inject({ method: "PUT", url: `/subscriptions/${SUB}/resourcegroups/${RG}?${RGV}`, headers: AUTH, payload: { location: "westeurope" } });
    expect(rg.statusCode).toBe(201);
    const pip = await t.app.inject({
      method: "PUT", url: pipUrl("vip", "2026-01-01"), headers: AUTH,
      payload: { location: "westeurope", sku: { name: "Standard" }, properties: { ddosSettings: { protectionMode: "VirtualNetworkInherited" } } },
    });
    expect(pip.statusCode).toBe(201);
    const lb = await t.app.inject({ method: "PUT", url: lbUrl("lb", "2026-01-01"), headers: AUTH, payload: modernBody() });
    expect(lb.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ method: "GET", url, headers: AUTH });

  it("every listed network version reads the load balancer and the public IP; every resources version reads the group", async () => {
    expect(NETWORK_API_VERSIONS).toContain("2022-07-01"); // azure-mgmt-network 23 (Debian)
    expect(RESOURCES_API_VERSIONS).toContain("2022-09-01"); // azure-mgmt-resource 22 (Debian)
    for (const v of NETWORK_API_VERSIONS) {
      expect((await get(lbUrl("lb", v))).statusCode, v).toBe(200);
      expect((await get(pipUrl("vip", v))).statusCode, v).toBe(200);
    }
    for (const v of RESOURCES_API_VERSIONS) {
      expect((await get(`/subscriptions/${SUB}/resourcegroups/${RG}?api-version=${v}`)).statusCode, v).toBe(200);
    }
  });

  it("a version outside the window is refused, and the message lists every supported one", async () => {
    const res = await get(lbUrl("lb", "2020-05-01"));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("InvalidApiVersionParameter");
    expect(res.json().error.message).toContain(`'${NETWORK_API_VERSIONS.join(",")}'`);
  });

  it("2020-06-01 answers without what came later: no SKU tier, probe threshold, no-healthy-backends behaviour or admin state", async () => {
    const lb = (await get(lbUrl("lb", "2020-06-01"))).json();
    expect(lb.sku).toEqual({ name: "Standard" });
    expect(lb.properties.probes[0].properties).not.toHaveProperty("probeThreshold");
    expect(lb.properties.probes[0].properties).not.toHaveProperty("noHealthyBackendsBehavior");
    const address = lb.properties.backendAddressPools[0].properties.loadBalancerBackendAddresses[0];
    expect(address.properties).toEqual(expect.objectContaining({ ipAddress: "198.51.100.10" }));
    expect(address.properties).not.toHaveProperty("adminState");
    expect(lb.properties.loadBalancingRules[0].properties.frontendPort).toBe(80);
  });

  it("2022-07-01 (Debian's Python SDK) shows probeThreshold and adminState but not noHealthyBackendsBehavior, on the resource, a child and a child list", async () => {
    const lb = (await get(lbUrl("lb", "2022-07-01"))).json();
    expect(lb.sku).toEqual({ name: "Standard", tier: "Regional" });
    expect(lb.properties.probes[0].properties).toMatchObject({ probeThreshold: 2 });
    expect(lb.properties.probes[0].properties).not.toHaveProperty("noHealthyBackendsBehavior");
    expect(lb.properties.backendAddressPools[0].properties.loadBalancerBackendAddresses[0].properties.adminState).toBe("Up");
    const probe = (await get(lbUrl("lb", "2022-07-01", "/probes/tcp"))).json();
    expect(probe.properties).toMatchObject({ probeThreshold: 2, port: 80 });
    expect(probe.properties).not.toHaveProperty("noHealthyBackendsBehavior");
    const probes = (await get(lbUrl("lb", "2022-07-01", "/probes"))).json();
    expect(probes.value[0].properties).not.toHaveProperty("noHealthyBackendsBehavior");
  });

  it("an old version's answer does not change what newer versions read (shaping works on a copy)", async () => {
    await get(lbUrl("lb", "2020-06-01"));
    const lb = (await get(lbUrl("lb", "2026-01-01"))).json();
    expect(lb.properties.probes[0].properties).toMatchObject({ probeThreshold: 2, noHealthyBackendsBehavior: "AllProbedUp" });
    expect(lb.properties.backendAddressPools[0].properties.loadBalancerBackendAddresses[0].properties.adminState).toBe("Up");
  });

  it("a PUT at 2022-07-01 ignores noHealthyBackendsBehavior, as that version's model has no such member", async () => {
    const res = await t.app.inject({ method: "PUT", url: lbUrl("lb", "2022-07-01"), headers: AUTH, payload: modernBody() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().properties.probes[0].properties).not.toHaveProperty("noHealthyBackendsBehavior");
    const stored = (await get(`${loadBalancerPath(RG, "lb")}?${NET}`)).json();
    expect(stored.properties.probes[0].properties.noHealthyBackendsBehavior).not.toBe("AllProbedUp");
    expect(stored.properties.probes[0].properties.probeThreshold).toBe(2);
  });

  it("public IPs: the DDoS protection mode (2022-01-01) and the SKU tier (2020-07-01) are left out where unknown", async () => {
    const modern = (await get(pipUrl("vip", "2026-01-01"))).json();
    expect(modern.properties.ddosSettings).toEqual({ protectionMode: "VirtualNetworkInherited" });
    const v2021 = (await get(pipUrl("vip", "2021-02-01"))).json();
    expect(v2021.properties.ddosSettings ?? {}).not.toHaveProperty("protectionMode");
    expect(v2021.sku.tier).toBe("Regional");
    expect((await get(pipUrl("vip", "2020-06-01"))).json().sku).toEqual({ name: "Standard" });
  });

  it("the newest version still drops the DDoS members Azure removed after 2021-08-01, from a request and its answer", async () => {
    const put = await t.app.inject({
      method: "PUT", url: pipUrl("legacy-ddos", "2026-01-01"), headers: AUTH,
      payload: { location: "westeurope", sku: { name: "Standard" }, properties: { ddosSettings: { protectionMode: "Disabled", protectedIP: true, ddosCustomPolicy: { id: "/x" } } } },
    });
    expect(put.statusCode, put.body).toBe(201);
    expect(put.json().properties.ddosSettings).toEqual({ protectionMode: "Disabled" });
    expect((await get(pipUrl("legacy-ddos", "2026-01-01"))).json().properties.ddosSettings).toEqual({ protectionMode: "Disabled" });
  });
});
