// The unmodified official Azure SDKs against a listening lbplane over HTTPS (self-signed
// certificate): only the endpoint, the token scope and the TLS trust anchor change. Builds the
// seed's "Rule type #1" load balancer: VIP1:80 → DIP:80 and VIP2:80 → DIP:81.

import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceManagementClient } from "@azure/arm-resources";
import { NetworkManagementClient } from "@azure/arm-network";
import { ADMIN_TOKEN, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { makeTestCertificate, type TestCertificate } from "./tls.js";

const RG = "sdk-rg";
const LB = "lb-rule-type-1";
const lbId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/loadBalancers/${LB}`;
const pipId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/publicIPAddresses/${name}`;
const credential = { getToken: async () => ({ token: ADMIN_TOKEN, expiresOnTimestamp: Date.now() + 3600e3 }) };
const fast = { updateIntervalInMs: 10 };

async function all<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

describe("official Azure SDKs against lbplane over HTTPS", () => {
  let t: TestApp;
  let tls: TestCertificate;
  let resources: ResourceManagementClient;
  let network: NetworkManagementClient;

  beforeAll(async () => {
    tls = makeTestCertificate();
    const { cert } = tls;
    t = await createTestApp({ https: { key: tls.key, cert } });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = t.app.server.address() as { port: number };
    const options = {
      endpoint: `https://127.0.0.1:${port}`,
      credentials: { scopes: ["https://127.0.0.1/.default"] },
      retryOptions: { maxRetries: 0 },
      agent: new https.Agent({ ca: cert }),
    };
    resources = new ResourceManagementClient(credential, SUB, options);
    network = new NetworkManagementClient(credential, SUB, options);
  });
  afterAll(async () => {
    await t?.close();
    tls?.remove();
  });

  it("arm-resources: creates, checks, reads, updates and lists a resource group", async () => {
    const rg = await resources.resourceGroups.createOrUpdate(RG, { location: "westeurope", tags: { seed: "multiple-vips" } });
    expect(rg).toMatchObject({ name: RG, location: "westeurope", properties: { provisioningState: "Succeeded" } });
    expect((await resources.resourceGroups.checkExistence(RG)).body).toBe(true);
    expect((await resources.resourceGroups.checkExistence("no-such-group")).body).toBe(false);
    expect((await resources.resourceGroups.get(RG.toUpperCase())).id).toBe(`/subscriptions/${SUB}/resourceGroups/${RG}`);
    const updated = await resources.resourceGroups.update(RG, { tags: { seed: "multiple-vips", step: "2" } });
    expect(updated.tags).toEqual({ seed: "multiple-vips", step: "2" });
    const listed = await all(resources.resourceGroups.list());
    expect(listed.map((g) => g.name)).toContain(RG);
    await expect(resources.resourceGroups.get("no-such-group")).rejects.toMatchObject({ statusCode: 404, code: "ResourceGroupNotFound" });
  });

  it("arm-network: creates two Static Standard public IPs (VIP1, VIP2) and reads them back", async () => {
    for (const [name, ipAddress] of [["vip1", "65.52.0.1"], ["vip2", "65.52.0.2"]]) {
      const pip = await network.publicIPAddresses.createOrUpdate(
        RG,
        name,
        { location: "westeurope", sku: { name: "Standard" }, publicIPAllocationMethod: "Static", ipAddress },
        fast,
      );
      expect(pip).toMatchObject({ name, ipAddress, provisioningState: "Succeeded", publicIPAllocationMethod: "Static", sku: { name: "Standard" } });
    }
    const allocated = await network.publicIPAddresses.createOrUpdate(RG, "spare", { location: "westeurope", sku: { name: "Standard" } }, fast);
    expect(allocated.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await network.publicIPAddresses.get(RG, "vip1", { expand: "ipConfiguration" })).etag).toMatch(/^W\/"/);
    const tagged = await network.publicIPAddresses.updateTags(RG, "spare", { tags: { role: "spare" } });
    expect(tagged.tags).toEqual({ role: "spare" });
    expect((await all(network.publicIPAddresses.list(RG))).map((p) => p.name).sort()).toEqual(["spare", "vip1", "vip2"]);
    expect((await all(network.publicIPAddresses.listAll())).length).toBeGreaterThanOrEqual(3);
    await network.publicIPAddresses.delete(RG, "spare", fast);
    await expect(network.publicIPAddresses.get(RG, "spare")).rejects.toMatchObject({ statusCode: 404, code: "ResourceNotFound" });
  });

  it("arm-network: creates the seed's Rule type #1 load balancer and reads it and its children back", async () => {
    const lb = await network.loadBalancers.createOrUpdate(
      RG,
      LB,
      {
        location: "westeurope",
        sku: { name: "Standard" },
        frontendIPConfigurations: [
          { name: "frontend1", publicIPAddress: { id: pipId("vip1") } },
          { name: "frontend2", publicIPAddress: { id: pipId("vip2") } },
        ],
        backendAddressPools: [
          {
            name: "pool",
            loadBalancerBackendAddresses: [
              { name: "dip1", ipAddress: "10.0.0.4" },
              { name: "dip2", ipAddress: "10.0.0.5" },
            ],
          },
        ],
        probes: [{ name: "probe", protocol: "Tcp", port: 80, intervalInSeconds: 5 }],
        loadBalancingRules: [
          {
            name: "rule1",
            frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/frontend1` },
            backendAddressPool: { id: `${lbId}/backendAddressPools/pool` },
            probe: { id: `${lbId}/probes/probe` },
            protocol: "Tcp",
            frontendPort: 80,
            backendPort: 80,
          },
          {
            name: "rule2",
            frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/frontend2` },
            backendAddressPool: { id: `${lbId}/backendAddressPools/pool` },
            probe: { id: `${lbId}/probes/probe` },
            protocol: "Tcp",
            frontendPort: 80,
            backendPort: 81,
          },
        ],
      },
      fast,
    );
    expect(lb).toMatchObject({ id: lbId, name: LB, provisioningState: "Succeeded", sku: { name: "Standard" } });
    expect(lb.etag).toMatch(/^W\/"/);

    const got = await network.loadBalancers.get(RG, LB, { expand: "frontendIPConfigurations" });
    expect(got.loadBalancingRules?.map((r) => [r.name, r.frontendPort, r.backendPort, r.enableFloatingIP])).toEqual([
      ["rule1", 80, 80, false],
      ["rule2", 80, 81, false],
    ]);

    const frontends = await all(network.loadBalancerFrontendIPConfigurations.list(RG, LB));
    expect(frontends.map((f) => f.name)).toEqual(["frontend1", "frontend2"]);
    const fe1 = await network.loadBalancerFrontendIPConfigurations.get(RG, LB, "frontend1");
    expect(fe1.publicIPAddress?.id?.toLowerCase()).toBe(pipId("vip1").toLowerCase());
    expect(fe1.loadBalancingRules?.map((r) => r.id)).toEqual([`${lbId}/loadBalancingRules/rule1`]);

    const pools = await all(network.loadBalancerBackendAddressPools.list(RG, LB));
    expect(pools.map((p) => p.name)).toEqual(["pool"]);
    const pool = await network.loadBalancerBackendAddressPools.get(RG, LB, "pool");
    expect(pool.loadBalancerBackendAddresses?.map((a) => a.ipAddress)).toEqual(["10.0.0.4", "10.0.0.5"]);

    const rules = await all(network.loadBalancerLoadBalancingRules.list(RG, LB));
    expect(rules.map((r) => r.name)).toEqual(["rule1", "rule2"]);
    const rule2 = await network.loadBalancerLoadBalancingRules.get(RG, LB, "rule2");
    expect(rule2).toMatchObject({ protocol: "Tcp", frontendPort: 80, backendPort: 81, loadDistribution: "Default", idleTimeoutInMinutes: 4 });

    const probes = await all(network.loadBalancerProbes.list(RG, LB));
    expect(probes.map((p) => p.name)).toEqual(["probe"]);
    const probe = await network.loadBalancerProbes.get(RG, LB, "probe");
    expect(probe).toMatchObject({ protocol: "Tcp", port: 80 });
    expect(probe.loadBalancingRules?.map((r) => r.id).sort()).toEqual([`${lbId}/loadBalancingRules/rule1`, `${lbId}/loadBalancingRules/rule2`]);

    // The public IPs now name the frontends that use them.
    const vip2 = await network.publicIPAddresses.get(RG, "vip2");
    expect(vip2.ipConfiguration?.id).toBe(`${lbId}/frontendIPConfigurations/frontend2`);
    await expect(network.publicIPAddresses.delete(RG, "vip2", fast)).rejects.toMatchObject({ statusCode: 400, code: "PublicIPAddressCannotBeDeleted" });
  });

  it("arm-network: updates tags and lists load balancers", async () => {
    const tagged = await network.loadBalancers.updateTags(RG, LB, { tags: { seed: "rule-type-1" } });
    expect(tagged.tags).toEqual({ seed: "rule-type-1" });
    expect((await all(network.loadBalancers.list(RG))).map((l) => l.name)).toEqual([LB]);
    expect((await all(network.loadBalancers.listAll())).map((l) => l.name)).toContain(LB);
  });

  it("deletes the load balancer, then the public IPs, then the resource group", async () => {
    await network.loadBalancers.delete(RG, LB, fast);
    await expect(network.loadBalancers.get(RG, LB)).rejects.toMatchObject({ statusCode: 404 });
    expect((await network.publicIPAddresses.get(RG, "vip1")).ipConfiguration).toBeUndefined();
    await network.publicIPAddresses.delete(RG, "vip1", fast);
    await network.publicIPAddresses.delete(RG, "vip2", fast);
    expect(await all(network.publicIPAddresses.list(RG))).toEqual([]);
    await resources.resourceGroups.delete(RG, fast);
    expect((await resources.resourceGroups.checkExistence(RG)).body).toBe(false);
  });
});
