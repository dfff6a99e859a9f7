// A public IP whose address changes while a load balancer takes it: whichever commits first, the
// load balancer's frontend claims name the address the public IP really has.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, putLb, seedLoadBalancer } from "../helpers/seed.js";

describe("public IP address change racing a load balancer PUT", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg");
  });
  afterAll(() => t.close());

  it("never leaves claims on an address the public IP no longer has", async () => {
    for (let round = 0; round < 6; round++) {
      const pip = `vip${round}`;
      await createPublicIp(t.app, "rg", pip, `192.0.2.${round + 1}`);
      const lb = seedLoadBalancer("rg", `lb${round}`, {
        frontends: { fe: pip },
        dips: [`10.9.${round}.4`],
        rules: [{ name: "web", frontend: "fe", frontendPort: 80, backendPort: 80 }],
      });
      const [lbRes, pipRes] = await Promise.all([
        putLb(t.app, "rg", `lb${round}`, lb),
        t.app.inject({
          method: "PUT",
          url: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/${pip}?${NET}`,
          headers: AUTH,
          payload: { location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress: `198.51.100.${round + 1}` } },
        }),
      ]);
      expect(lbRes.statusCode, lbRes.body).toBe(201);
      expect([200, 400], pipRes.body).toContain(pipRes.statusCode);
      if (pipRes.statusCode === 400) expect(pipRes.json().error.code).toBe("PublicIPAddressInUseCannotChangeAddress");
      const stored = await t.db.publicIpAddress.findFirst({ where: { nameKey: pip } });
      const claims = await t.db.frontendClaim.findMany({ where: { loadBalancer: { nameKey: `lb${round}` } } });
      expect(claims.map((c) => c.ipAddress)).toEqual([stored!.ipAddress]);
    }
  });
});
