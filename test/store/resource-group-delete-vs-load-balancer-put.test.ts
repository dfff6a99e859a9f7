// A resource group deleted while a load balancer is being created in it: neither request fails
// with a deadlock or a 500, and when the load balancer was created first, the group's delete
// removes it AND bumps its location's generation, so agents drop it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, RGV, createTestApp, type TestApp } from "../helpers/app.js";
import { createResourceGroup, putLb, rgPath } from "../helpers/seed.js";

const internalLb = (name: string, location: string, ip: string) => ({
  location,
  sku: { name: "Standard" },
  properties: {
    frontendIPConfigurations: [{ name: "fe", properties: { privateIPAddress: ip, privateIPAllocationMethod: "Static" } }],
  },
});

describe("resource group DELETE racing a load balancer PUT into it", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    // Widens the race: the creating write holds the location's generation row a while before its row is inserted.
    await t.db.$executeRawUnsafe(`
      CREATE FUNCTION slow_late() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.name LIKE 'late%' THEN PERFORM pg_sleep(0.6); END IF; RETURN NEW; END $$`);
    await t.db.$executeRawUnsafe(`CREATE TRIGGER slow_late BEFORE INSERT ON load_balancers FOR EACH ROW EXECUTE FUNCTION slow_late()`);
  });
  afterAll(() => t.close());

  for (const location of ["westeurope", "northeurope"]) {
    it(`the new load balancer in ${location} beside one in westeurope`, async () => {
      const rg = `race-${location}`;
      await createResourceGroup(t.app, rg);
      expect((await putLb(t.app, rg, "old", internalLb("old", "westeurope", "10.1.0.4"))).statusCode).toBe(201);
      const put = putLb(t.app, rg, "late1", internalLb("late1", location, "10.1.0.5"));
      await new Promise((r) => setTimeout(r, 250));
      const del = await t.app.inject({ method: "DELETE", url: `${rgPath(rg)}?${RGV}`, headers: AUTH });
      const created = await put;
      expect(del.statusCode, del.body).toBeLessThan(300);
      expect([201, 404], created.body).toContain(created.statusCode);
      expect(await t.db.loadBalancer.count({ where: { resourceGroup: { nameKey: rg } } })).toBe(0);
      expect(await t.db.loadBalancer.count({ where: { nameKey: "late1" } })).toBe(0);
      if (created.statusCode === 201) {
        const op = await t.db.operation.findFirst({ where: { resourceId: { contains: "/late1" } }, orderBy: { startTime: "desc" } });
        const gen = await t.db.locationGeneration.findUnique({ where: { location } });
        expect(gen!.generation).toBeGreaterThan(op!.generation);
      }
      await t.db.operation.deleteMany({ where: { resourceId: { contains: "/late1" } } });
    });
  }
});
