// The load balancer write path sends its statements in pipelined steps. Whatever fails mid-step,
// the write is still one transaction; two creators of one name still end as one create and one update.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, getJson, lbPath, pipId, putLb } from "../helpers/seed.js";

const body = (name: string, pip: string, port: number) => {
  const id = lbPath("rg", name);
  return {
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: [{ name: "fe", properties: { publicIPAddress: { id: pipId("rg", pip) } } }],
      backendAddressPools: [{ name: "pool", properties: { loadBalancerBackendAddresses: [{ name: "vm1", properties: { ipAddress: "10.9.0.4" } }] } }],
      loadBalancingRules: [{
        name: "r",
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` }, backendAddressPool: { id: `${id}/backendAddressPools/pool` },
          protocol: "Tcp", frontendPort: port, backendPort: port,
        },
      }],
    },
  };
};

describe("the pipelined load balancer write", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg");
    await createPublicIp(t.app, "rg", "vip1", "65.52.7.1");
  });
  afterAll(() => t.close());

  it("two concurrent creators of one load balancer: one creates (201), the other updates (200), one row", async () => {
    for (let round = 0; round < 3; round++) {
      const name = `twin${round}`;
      const [a, b] = await Promise.all([putLb(t.app, "rg", name, body(name, "vip1", 1000 + round)), putLb(t.app, "rg", name, body(name, "vip1", 1000 + round))]);
      expect([a.statusCode, b.statusCode].sort(), `${a.body} ${b.body}`).toEqual([200, 201]);
      const rows = await t.db.loadBalancer.count({ where: { nameKey: name } });
      expect(rows).toBe(1);
      expect(await t.db.frontendClaim.count({ where: { loadBalancer: { nameKey: name } } })).toBe(1);
      const del = await t.app.inject({ method: "DELETE", url: `${lbPath("rg", name)}?${NET}`, headers: AUTH });
      expect(del.statusCode).toBe(200);
    }
  });

  it("a statement failing in the last step rolls the whole write back, and the connection serves the next write", async () => {
    await t.db.$executeRawUnsafe(`
      CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$`);
    await t.db.$executeRawUnsafe(`CREATE TRIGGER refuse_boom BEFORE INSERT ON load_balancing_rules FOR EACH ROW EXECUTE FUNCTION refuse_boom()`);
    const generation = await t.db.locationGeneration.findUnique({ where: { location: "westeurope" } });
    const operations = await t.db.operation.count();
    const boom = body("boomer", "vip1", 2000);
    boom.properties.loadBalancingRules[0].name = "boom";
    for (let i = 0; i < 12; i++) expect((await putLb(t.app, "rg", "boomer", boom)).statusCode).toBe(500);
    expect((await getJson(t.app, lbPath("rg", "boomer"))).statusCode).toBe(404);
    expect(await t.db.locationGeneration.findUnique({ where: { location: "westeurope" } })).toEqual(generation);
    expect(await t.db.operation.count()).toBe(operations);
    expect(await t.db.frontendClaim.count({ where: { loadBalancer: { nameKey: "boomer" } } })).toBe(0);
    // Every pooled connection went through a failed write; each must be clean for the next one.
    for (let i = 0; i < 6; i++) expect((await putLb(t.app, "rg", "fine", body("fine", "vip1", 2001 + i))).statusCode).toBe(i ? 200 : 201);
  });

  it("a PUT into a missing resource group is ResourceGroupNotFound and writes nothing", async () => {
    const res = await t.app.inject({
      method: "PUT", url: `${lbPath("nope", "lb")}?${NET}`, headers: AUTH, payload: body("lb", "vip1", 3000),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("ResourceGroupNotFound");
  });
});
