// Bodies exactly as @azure/arm-network 39's serializers (and ARM templates) write them: a backend
// pool with no addresses carries no `properties` at all, and a zone-redundant frontend carries
// `zones` beside its properties and may set enableConnectionTracking.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, getJson, lbPath, putLb, seedLoadBalancer } from "../helpers/seed.js";

describe("load balancer bodies as the Azure SDK serializes them", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip1", "65.52.0.1");
  });
  afterAll(() => t.close());

  const lb = () => seedLoadBalancer("rg1", "lb1", { frontends: { fe1: "vip1" }, dips: ["10.0.0.4"], rules: [{ name: "r1", frontend: "fe1", frontendPort: 80, backendPort: 80 }] });

  it("a pool without properties is an empty pool", async () => {
    const body = lb();
    (body.properties.backendAddressPools as unknown[]).push({ name: "later" });
    const res = await putLb(t.app, "rg1", "lb1", body);
    expect(res.statusCode, res.body).toBe(201);
    const pool = res.json().properties.backendAddressPools.find((p: { name: string }) => p.name === "later");
    expect(pool.properties.loadBalancerBackendAddresses).toEqual([]);
  });

  it("PUT of a pool child with an empty body creates an empty pool", async () => {
    const res = await t.app.inject({ method: "PUT", url: `${lbPath("rg1", "lb1")}/backendAddressPools/empty?${NET}`, headers: AUTH, payload: {} });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ name: "empty", properties: { loadBalancerBackendAddresses: [] } });
  });

  it("frontend zones and enableConnectionTracking are accepted and round-trip", async () => {
    const body = lb();
    body.properties.frontendIPConfigurations[0] = {
      ...body.properties.frontendIPConfigurations[0],
      zones: ["1", "2", "3"],
      properties: { ...body.properties.frontendIPConfigurations[0].properties, enableConnectionTracking: true },
    } as (typeof body.properties.frontendIPConfigurations)[0];
    const res = await putLb(t.app, "rg1", "lb1", body);
    expect(res.statusCode, res.body).toBe(200);
    const fe = (await getJson(t.app, `${lbPath("rg1", "lb1")}/frontendIPConfigurations/fe1`)).json();
    expect(fe.zones).toEqual(["1", "2", "3"]);
    expect(fe.properties.enableConnectionTracking).toBe(true);
  });

  it("a misspelled frontend member is still refused, naming it", async () => {
    const body = lb();
    (body.properties.frontendIPConfigurations[0] as Record<string, unknown>).zone = ["1"];
    const res = await putLb(t.app, "rg1", "lb1", body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("InvalidRequestFormat");
    expect(JSON.stringify(res.json().error)).toContain("zone");
  });
});
