// A frontend may only use a public IP of its own location, as in Azure: the agents of westeurope
// must never be told to bind an address that belongs to northeurope.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, pipId, putLb, seedLoadBalancer } from "../helpers/seed.js";

describe("public IP location", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "north", "65.52.0.9", "northeurope");
    await createPublicIp(t.app, "rg1", "west", "65.52.0.1", "West Europe");
  });
  afterAll(() => t.close());

  const lbUsing = (pip: string) =>
    seedLoadBalancer("rg1", "lb1", { frontends: { fe1: pip }, dips: ["10.0.0.4"], rules: [{ name: "r1", frontend: "fe1", frontendPort: 80, backendPort: 80 }] });

  it("a westeurope load balancer cannot use a northeurope public IP (InvalidResourceReference)", async () => {
    const res = await putLb(t.app, "rg1", "lb1", lbUsing("north"));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: "InvalidResourceReference",
      target: "properties.frontendIPConfigurations[0].properties.publicIPAddress",
    });
    expect(res.json().error.message).toContain(pipId("rg1", "north"));
  });

  it("a public IP of the same location, however it was spelled, is accepted", async () => {
    const res = await putLb(t.app, "rg1", "lb1", { ...lbUsing("west"), location: "westeurope" });
    expect(res.statusCode, res.body).toBe(201);
  });
});
