// The uniqueness law through the API: the seed's tables, refusals that name both rules and the
// flow, the law across load balancers, and concurrent writers against real PostgreSQL.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, getJson, lbPath, putLb, seedLoadBalancer } from "../helpers/seed.js";

const DIPS = ["10.0.0.4", "10.0.0.5"];
type Row = [string, string, string, number, string[]];

async function mappingRows(t: TestApp, rg: string, lb: string): Promise<Row[]> {
  const res = await getJson(t.app, `${lbPath(rg, lb)}/effectiveMappings`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().value.map((m: any) => [
    m.rule, m.protocol, m.frontendIPAddress, m.frontendPort,
    m.destinations.map((d: any) => `${d.backendAddress}->${d.destinationIPAddress}:${d.destinationPort}`),
  ]);
}

function internalLb(rg: string, name: string, vip: string, rules: Array<{ name: string; fp: number; bp: number; floating?: boolean; protocol?: string }>) {
  const id = lbPath(rg, name);
  return {
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: [{ name: "fe", properties: { privateIPAddress: vip, privateIPAllocationMethod: "Static" } }],
      backendAddressPools: [{ name: "pool", properties: { loadBalancerBackendAddresses: DIPS.map((ip, i) => ({ name: `vm${i + 1}`, properties: { ipAddress: ip } })) } }],
      loadBalancingRules: rules.map((r) => ({
        name: r.name,
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` },
          backendAddressPool: { id: `${id}/backendAddressPools/pool` },
          protocol: r.protocol ?? "Tcp", frontendPort: r.fp, backendPort: r.bp, enableFloatingIP: r.floating ?? false,
        },
      })),
    },
  };
}

describe("the uniqueness law, through the API", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg");
    await createPublicIp(t.app, "rg", "vip1", "65.52.0.1");
    await createPublicIp(t.app, "rg", "vip2", "65.52.0.2");
    await createPublicIp(t.app, "rg", "vip3", "65.52.0.3");
    await createPublicIp(t.app, "rg", "vip4", "65.52.0.4");
  });
  afterAll(() => t.close());

  it("the seed's frontend table: one IP with three frontends, and the same port on a second IP", async () => {
    const body = seedLoadBalancer("rg", "frontends", {
      frontends: { fe1: "vip1", fe4: "vip2" },
      dips: DIPS,
      rules: [
        { name: "vip1", frontend: "fe1", frontendPort: 80, backendPort: 80 },
        { name: "vip2", frontend: "fe1", frontendPort: 8080, backendPort: 8080 },
        { name: "vip3", frontend: "fe1", frontendPort: 80, backendPort: 80, protocol: "Udp" },
        { name: "vip4", frontend: "fe4", frontendPort: 80, backendPort: 81 },
      ],
    });
    const res = await putLb(t.app, "rg", "frontends", body);
    expect(res.statusCode, res.body).toBe(201);
    const rows = await mappingRows(t, "rg", "frontends");
    expect(rows.map((r) => r.slice(0, 4))).toEqual([
      ["vip1", "Tcp", "65.52.0.1", 80],
      ["vip2", "Tcp", "65.52.0.1", 8080],
      ["vip3", "Udp", "65.52.0.1", 80],
      ["vip4", "Tcp", "65.52.0.2", 80],
    ]);
    await t.app.inject({ method: "DELETE", url: `${lbPath("rg", "frontends")}?api-version=2026-01-01`, headers: { authorization: "Bearer test-admin-token-0123456789" } });
  });

  it("two rules on one frontend IP, protocol and port are refused with lbplane's own code", async () => {
    const body = seedLoadBalancer("rg", "dupfe", {
      frontends: { fe1: "vip1" },
      dips: DIPS,
      rules: [
        { name: "a", frontend: "fe1", frontendPort: 80, backendPort: 80 },
        { name: "b", frontend: "fe1", frontendPort: 80, backendPort: 81 },
      ],
    });
    const res = await putLb(t.app, "rg", "dupfe", body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("RulesUseSameFrontendIPProtocolAndPort");
    expect(res.json().error.message).toMatch(/\ba\b.*\bb\b|\bb\b.*\ba\b/);
  });

  it("rule type #2: floating IP rules reuse backend port 80 on both VMs, destination stays the VIP", async () => {
    const body = seedLoadBalancer("rg", "floating", {
      frontends: { fe1: "vip1", fe2: "vip2" },
      dips: DIPS,
      rules: [
        { name: "rule1", frontend: "fe1", frontendPort: 80, backendPort: 80, floating: true },
        { name: "rule2", frontend: "fe2", frontendPort: 80, backendPort: 80, floating: true },
      ],
    });
    const res = await putLb(t.app, "rg", "floating", body);
    expect(res.statusCode, res.body).toBe(201);
    expect(await mappingRows(t, "rg", "floating")).toEqual([
      ["rule1", "Tcp", "65.52.0.1", 80, ["10.0.0.4->65.52.0.1:80", "10.0.0.5->65.52.0.1:80"]],
      ["rule2", "Tcp", "65.52.0.2", 80, ["10.0.0.4->65.52.0.2:80", "10.0.0.5->65.52.0.2:80"]],
    ]);
  });

  it("a default rule to DIP:80 mixes with the floating rules on the same VMs", async () => {
    const body = seedLoadBalancer("rg", "mixed", {
      frontends: { fe3: "vip3" },
      dips: DIPS,
      rules: [{ name: "default", frontend: "fe3", frontendPort: 80, backendPort: 80 }],
    });
    const res = await putLb(t.app, "rg", "mixed", body);
    expect(res.statusCode, res.body).toBe(201);
    expect(await mappingRows(t, "rg", "mixed")).toEqual([
      ["default", "Tcp", "65.52.0.3", 80, ["10.0.0.4->10.0.0.4:80", "10.0.0.5->10.0.0.5:80"]],
    ]);
  });

  it("another public load balancer may not also deliver Tcp to DIP:80 without floating IP", async () => {
    const body = seedLoadBalancer("rg", "second", {
      frontends: { fe: "vip4" },
      dips: ["10.0.0.5"],
      rules: [{ name: "web", frontend: "fe", frontendPort: 8080, backendPort: 80 }],
    });
    const res = await putLb(t.app, "rg", "second", body);
    expect(res.statusCode).toBe(400);
    const err = res.json().error;
    expect(err.code).toBe("RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig");
    expect(err.message).toContain("10.0.0.5");
    expect(err.message).toContain("mixed");
    expect((await getJson(t.app, lbPath("rg", "second"))).statusCode).toBe(404);
  });

  it("an internal load balancer may deliver to the same DIP:80 as a public one, as in Azure", async () => {
    const res = await putLb(t.app, "rg", "internal1", internalLb("rg", "internal1", "10.1.0.10", [{ name: "web", fp: 80, bp: 80 }]));
    expect(res.statusCode, res.body).toBe(201);
  });

  it("two internal load balancers conflict on DIP:80 like two public ones", async () => {
    const res = await putLb(t.app, "rg", "internal2", internalLb("rg", "internal2", "10.1.0.11", [{ name: "web", fp: 80, bp: 80 }]));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig");
  });

  it("HA ports are refused on a public load balancer", async () => {
    const body = seedLoadBalancer("rg", "haports", {
      frontends: { fe: "vip4" },
      dips: ["10.0.0.9"],
      rules: [{ name: "all", frontend: "fe", frontendPort: 0, backendPort: 0, protocol: "All" }],
    });
    const res = await putLb(t.app, "rg", "haports", body);
    expect(res.statusCode).toBe(400);
  });

  it("of two concurrent PUTs claiming the same flow exactly one wins; the other gets the domain's 400", async () => {
    for (let round = 0; round < 4; round++) {
      const a = internalLb("rg", `race-a${round}`, `10.2.${round}.1`, [{ name: "r", fp: 443, bp: 9443 + round }]);
      const b = internalLb("rg", `race-b${round}`, `10.2.${round}.2`, [{ name: "r", fp: 443, bp: 9443 + round }]);
      const [ra, rb] = await Promise.all([putLb(t.app, "rg", `race-a${round}`, a), putLb(t.app, "rg", `race-b${round}`, b)]);
      const codes = [ra.statusCode, rb.statusCode].sort();
      expect(codes, `${ra.body} ${rb.body}`).toEqual([201, 400]);
      const loser = ra.statusCode === 400 ? ra : rb;
      expect(loser.json().error.code).toBe("RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig");
    }
  });
});
