import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, getJson, lbPath, putLb, seedLoadBalancer } from "../helpers/seed.js";

const DIPS = ["10.0.0.4", "10.0.0.5"];

describe("load balancers through the ARM API (seed rule type #1)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip1", "65.52.0.1");
    await createPublicIp(t.app, "rg1", "vip2", "65.52.0.2");
  });
  afterAll(() => t.close());

  const ruleType1 = seedLoadBalancer("rg1", "lb1", {
    frontends: { fe1: "vip1", fe2: "vip2" },
    dips: DIPS,
    rules: [
      { name: "rule1", frontend: "fe1", frontendPort: 80, backendPort: 80 },
      { name: "rule2", frontend: "fe2", frontendPort: 80, backendPort: 81 },
    ],
  });

  it("creates the load balancer with 201, an etag and an Azure-AsyncOperation header", async () => {
    const res = await putLb(t.app, "rg1", "lb1", ruleType1);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.id).toBe(lbPath("rg1", "lb1"));
    expect(body.type).toBe("Microsoft.Network/loadBalancers");
    expect(body.etag).toMatch(/^W\/"[0-9a-f-]{36}"$/);
    expect(res.headers["azure-asyncoperation"]).toMatch(/^http:\/\/.*\/operations\/[0-9a-f-]{36}\?api-version=2026-01-01$/);
    expect(body.properties.provisioningState).toBe("Succeeded");
    const rule1 = body.properties.loadBalancingRules[0];
    expect(rule1.id).toBe(`${lbPath("rg1", "lb1")}/loadBalancingRules/rule1`);
    expect(rule1.properties).toMatchObject({ loadDistribution: "Default", idleTimeoutInMinutes: 4, enableFloatingIP: false });
    expect(body.properties.probes[0].properties.intervalInSeconds).toBe(15);
    expect(body.properties.frontendIPConfigurations[0].properties.loadBalancingRules).toEqual([{ id: rule1.id }]);
  });

  it("the operation status resource says Succeeded when no agent serves the location", async () => {
    const res = await putLb(t.app, "rg1", "lb1", ruleType1);
    expect(res.statusCode).toBe(200);
    const url = new URL(res.headers["azure-asyncoperation"] as string);
    const op = await t.app.inject({ method: "GET", url: url.pathname + url.search, headers: AUTH });
    expect(op.statusCode).toBe(200);
    expect(op.json().status).toBe("Succeeded");
  });

  it("effective mappings reproduce the seed's complete mapping table row by row", async () => {
    const res = await getJson(t.app, `${lbPath("rg1", "lb1")}/effectiveMappings`);
    expect(res.statusCode, res.body).toBe(200);
    const rows = res.json().value.map((m: any) => [m.rule, m.protocol, m.frontendIPAddress, m.frontendPort, m.destinations.map((d: any) => `${d.destinationIPAddress}:${d.destinationPort}`)]);
    expect(rows).toEqual([
      ["rule1", "Tcp", "65.52.0.1", 80, ["10.0.0.4:80", "10.0.0.5:80"]],
      ["rule2", "Tcp", "65.52.0.2", 80, ["10.0.0.4:81", "10.0.0.5:81"]],
    ]);
    expect(res.json().value[0].destinations[0].health).toBe("Unknown");
  });

  it("VIP2:80 to DIP:80 is refused while VIP1:80 already delivers there, and nothing changes", async () => {
    const before = (await getJson(t.app, lbPath("rg1", "lb1"))).json();
    const clash = structuredClone(ruleType1);
    clash.properties.loadBalancingRules[1].properties.backendPort = 80;
    const res = await putLb(t.app, "rg1", "lb1", clash);
    expect(res.statusCode).toBe(400);
    const err = res.json().error;
    expect(err.code).toBe("RulesUseSameBackendPortProtocolAndPool");
    expect(err.message).toContain("rule1");
    expect(err.message).toContain("rule2");
    const after = (await getJson(t.app, lbPath("rg1", "lb1"))).json();
    expect(after).toEqual(before);
  });

  it("the rule-health action accepts curl's habit of Content-Type: application/json with no body", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: `${lbPath("rg1", "lb1")}/loadBalancingRules/rule1/health?${NET}`,
      headers: { ...AUTH, "content-type": "application/json" },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers.location).toBeTruthy();
  });

  it("child resources are served under the load balancer", async () => {
    for (const c of ["frontendIPConfigurations", "backendAddressPools", "loadBalancingRules", "probes", "inboundNatRules", "outboundRules"]) {
      const res = await getJson(t.app, `${lbPath("rg1", "lb1")}/${c}`);
      expect(res.statusCode, c).toBe(200);
      expect(Array.isArray(res.json().value)).toBe(true);
    }
    const rule = await getJson(t.app, `${lbPath("rg1", "lb1")}/loadBalancingRules/RULE2`);
    expect(rule.json().properties.backendPort).toBe(81);
    const missing = await getJson(t.app, `${lbPath("rg1", "lb1")}/probes/nope`);
    expect(missing.statusCode).toBe(404);
  });

  it("a backend pool PUT goes through the same validation", async () => {
    const url = `${lbPath("rg1", "lb1")}/backendAddressPools/pool?${NET}`;
    const ok = await t.app.inject({
      method: "PUT", url, headers: AUTH,
      payload: { properties: { loadBalancerBackendAddresses: [{ name: "vm1", properties: { ipAddress: "10.0.0.4" } }, { name: "vm3", properties: { ipAddress: "10.0.0.6" } }] } },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const bad = await t.app.inject({
      method: "PUT", url, headers: AUTH,
      payload: { properties: { loadBalancerBackendAddresses: [{ name: "vm1", properties: { ipAddress: "not-an-ip" } }] } },
    });
    expect(bad.statusCode).toBe(400);
  });

  it("If-Match with a stale etag gets 412 PreconditionFailed", async () => {
    const res = await putLb(t.app, "rg1", "lb1", ruleType1, { "if-match": 'W/"00000000-0000-0000-0000-000000000000"' });
    expect(res.statusCode).toBe(412);
    expect(res.json().error.code).toBe("PreconditionFailed");
  });

  it("a misspelled rule property is rejected with a target, not dropped", async () => {
    const typo = structuredClone(ruleType1) as any;
    typo.properties.loadBalancingRules[0].properties.backendPrt = 80;
    const res = await putLb(t.app, "rg1", "lb2", typo);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("InvalidRequestFormat");
    expect(res.json().error.target).toContain("backendPrt");
    expect((await getJson(t.app, lbPath("rg1", "lb2"))).statusCode).toBe(404);
  });

  it("tags are replaced by PATCH, and lists page with nextLink", async () => {
    const patched = await t.app.inject({ method: "PATCH", url: `${lbPath("rg1", "lb1")}?${NET}`, headers: AUTH, payload: { tags: { env: "test" } } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().tags).toEqual({ env: "test" });
    const page = await getJson(t.app, `/subscriptions/${lbPath("rg1", "x").split("/")[2]}/providers/Microsoft.Network/loadBalancers?${NET}&$top=1`);
    expect(page.statusCode).toBe(200);
    expect(page.json().value).toHaveLength(1);
  });

  it("DELETE answers 200, then 204 when it is gone", async () => {
    const del = await t.app.inject({ method: "DELETE", url: `${lbPath("rg1", "lb1")}?${NET}`, headers: AUTH });
    expect(del.statusCode).toBe(200);
    const again = await t.app.inject({ method: "DELETE", url: `${lbPath("rg1", "lb1")}?${NET}`, headers: AUTH });
    expect(again.statusCode).toBe(204);
  });
});
