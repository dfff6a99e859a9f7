// Tenant isolation through references: a token scoped to subscription A tries to reach subscription
// B through ids in its request bodies (public IPs, subnets, virtual networks, another load
// balancer's frontend), and to learn about B from the errors it gets. Every attack must answer
// 403 LinkedAuthorizationFailed before any lookup, the same whether B's resource exists, is in use
// or was never created — and leave B exactly as it was. When an admin links across tenants on
// purpose, neither tenant's answers may name the other's resources.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN, SUB_A, SUB_B, lbBody, lbPath, pipBody, pipPath, rgPath, seedTenant, snapshot, startPlane, vnetPath, type Answer, type Plane,
} from "./tenants-kit.js";

const TOKEN_A = "tenant-a-token-0123456789";
const TOKEN_B = "tenant-b-token-0123456789";

describe("tenants cannot reach each other through references", () => {
  let plane: Plane;
  beforeAll(async () => {
    plane = await startPlane();
    plane.addToken(TOKEN_A, "tenant-a", [SUB_A]);
    plane.addToken(TOKEN_B, "tenant-b", [SUB_B]);
    await seedTenant(plane, SUB_A, "rga", ["ipa"]);
    await seedTenant(plane, SUB_B, "rgb", ["free", "busy"]);
    // B's own load balancer uses "busy".
    const lb = await plane.call(TOKEN_B, "PUT", lbPath(SUB_B, "rgb", "lbb"), lbBody([pipPath(SUB_B, "rgb", "busy")]));
    expect(lb.status).toBe(201);
  });
  afterAll(() => plane?.close());

  /** The refusal every foreign reference must get, with B's ids in its message only as A sent them. */
  function expectLinkedRefusal(res: Answer, ...sentIds: string[]) {
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("LinkedAuthorizationFailed");
    expect(res.json.error.message).toContain("The client 'tenant-a' has permission to perform action");
    for (const id of sentIds) expect(res.json.error.message).toContain(id);
  }

  it("a token scoped to subscription A cannot put B's unused public IP behind its load balancer", async () => {
    const before = await snapshot(plane, SUB_B);
    const freeIp = pipPath(SUB_B, "rgb", "free");
    const res = await plane.call(TOKEN_A, "PUT", lbPath(SUB_A, "rga", "thief"), lbBody([freeIp]));
    expectLinkedRefusal(res, freeIp);
    expect(res.json.error.message).toContain("'Microsoft.Network/publicIPAddresses/join/action'");
    expect(res.json.error.message).toContain(`'Microsoft.Network/loadBalancers/write' on scope '${lbPath(SUB_A, "rga", "thief")}'`);
    // Nothing written on A's side, nothing changed on B's.
    expect((await plane.call(TOKEN_A, "GET", lbPath(SUB_A, "rga", "thief"))).status).toBe(404);
    expect(await snapshot(plane, SUB_B)).toEqual(before);
    // B still owns its address: it can re-address the IP, then delete it.
    const readdressed = await plane.call(TOKEN_B, "PUT", pipPath(SUB_B, "rgb", "free"), pipBody("203.0.113.77"));
    expect(readdressed.status).toBe(200);
    expect(readdressed.json.properties.ipAddress).toBe("203.0.113.77");
    expect((await plane.call(TOKEN_B, "DELETE", pipPath(SUB_B, "rgb", "free"))).status).toBe(200);
    expect((await plane.call(TOKEN_B, "PUT", pipPath(SUB_B, "rgb", "free"), pipBody())).status).toBe(201);
  });

  it("A learns nothing from the answer: B's in-use IP, B's missing IP and an IP in a subscription that has nothing answer alike", async () => {
    const probe = async (id: string) => {
      const res = await plane.call(TOKEN_A, "PUT", lbPath(SUB_A, "rga", "prober"), lbBody([id]));
      expectLinkedRefusal(res, id);
      // Take the probed id out of the answer: what remains must be identical for every case.
      return { status: res.status, body: res.text.split(id).join("<id>") };
    };
    const before = await snapshot(plane, SUB_B);
    const busy = await probe(pipPath(SUB_B, "rgb", "busy"));
    const missing = await probe(pipPath(SUB_B, "rgb", "never-created"));
    const missingGroup = await probe(pipPath(SUB_B, "no-such-group", "x"));
    const emptySubscription = await probe(pipPath("dddddddd-0000-0000-0000-00000000000d", "rg", "x"));
    expect(missing).toEqual(busy);
    expect(missingGroup).toEqual(busy);
    expect(emptySubscription).toEqual(busy);
    // In particular, B's load balancer is never named.
    expect(busy.body).not.toContain("lbb");
    expect(await snapshot(plane, SUB_B)).toEqual(before);
  });

  it("a child PUT cannot smuggle a reference into B either (backend pool virtual network, NAT rule frontend)", async () => {
    const own = await plane.call(TOKEN_A, "PUT", lbPath(SUB_A, "rga", "lba"), lbBody([pipPath(SUB_A, "rga", "ipa")]));
    expect(own.status).toBe(201);
    const before = { a: await snapshot(plane, SUB_A), b: await snapshot(plane, SUB_B) };
    const vnet = vnetPath(SUB_B, "rgb", "vnet");
    const pool = await plane.call(TOKEN_A, "PUT", `${lbPath(SUB_A, "rga", "lba")}/backendAddressPools/stolen`, {
      properties: { virtualNetwork: { id: vnet } },
    });
    expectLinkedRefusal(pool, vnet);
    expect(pool.json.error.message).toContain("'Microsoft.Network/virtualNetworks/join/action'");
    const bFrontend = `${lbPath(SUB_B, "rgb", "lbb")}/frontendIPConfigurations/fe0`;
    const nat = await plane.call(TOKEN_A, "PUT", `${lbPath(SUB_A, "rga", "lba")}/inboundNatRules/ssh`, {
      properties: { frontendIPConfiguration: { id: bFrontend }, protocol: "Tcp", frontendPort: 2222, backendPort: 22, backendIPAddress: "10.0.0.4" },
    });
    expectLinkedRefusal(nat, bFrontend);
    expect(nat.json.error.message).toContain("'Microsoft.Network/loadBalancers/frontendIPConfigurations/join/action'");
    expect({ a: await snapshot(plane, SUB_A), b: await snapshot(plane, SUB_B) }).toEqual(before);
  });

  it("subnet and virtual network references into B are refused wherever they hide in a load balancer body", async () => {
    const before = await snapshot(plane, SUB_B);
    const subnet = `${vnetPath(SUB_B, "rgb", "vnet")}/subnets/default`;
    const internal = {
      location: "westeurope",
      sku: { name: "Standard" },
      properties: {
        frontendIPConfigurations: [{ name: "fe", properties: { privateIPAddress: "10.0.0.10", privateIPAllocationMethod: "Static", subnet: { id: subnet } } }],
        backendAddressPools: [{
          name: "pool",
          properties: { loadBalancerBackendAddresses: [{ name: "vm", properties: { ipAddress: "10.0.0.4", virtualNetwork: { id: vnetPath(SUB_B, "rgb", "vnet") } } }] },
        }],
      },
    };
    const res = await plane.call(TOKEN_A, "PUT", lbPath(SUB_A, "rga", "internal"), internal);
    expectLinkedRefusal(res, subnet, vnetPath(SUB_B, "rgb", "vnet"));
    expect(res.json.error.message).toContain("Microsoft.Network/virtualNetworks/subnets/join/action");
    expect((await plane.call(TOKEN_A, "GET", lbPath(SUB_A, "rga", "internal"))).status).toBe(404);
    expect(await snapshot(plane, SUB_B)).toEqual(before);
  });

  it("a public IP cannot be carved from B's public IP prefix or protected by B's DDoS plan", async () => {
    const before = { a: await snapshot(plane, SUB_A), b: await snapshot(plane, SUB_B) };
    const prefix = `${rgPath(SUB_B, "rgb")}/providers/Microsoft.Network/publicIPPrefixes/prefix`;
    const plan = `${rgPath(SUB_B, "rgb")}/providers/Microsoft.Network/ddosProtectionPlans/plan`;
    const body = pipBody();
    const res = await plane.call(TOKEN_A, "PUT", pipPath(SUB_A, "rga", "carved"), {
      ...body, properties: { ...body.properties, publicIPPrefix: { id: prefix }, ddosSettings: { protectionMode: "Enabled", ddosProtectionPlan: { id: plan } } },
    });
    expectLinkedRefusal(res, prefix, plan);
    expect(res.json.error.message).toContain("'Microsoft.Network/publicIPPrefixes/join/action'");
    expect({ a: await snapshot(plane, SUB_A), b: await snapshot(plane, SUB_B) }).toEqual(before);
  });

  it("an admin can still link across subscriptions, and then neither tenant's answers name the other's load balancer", async () => {
    await seedTenant(plane, SUB_B, "rgshared", ["shared"]);
    const shared = pipPath(SUB_B, "rgshared", "shared");
    const linked = await plane.call(ADMIN_TOKEN, "PUT", lbPath(SUB_A, "rga", "crosslinked"), lbBody([shared]));
    expect(linked.status).toBe(201);
    const aLb = "crosslinked";

    // B cannot delete its IP, re-address it, or delete its group; the refusals do not name A's load balancer.
    const del = await plane.call(TOKEN_B, "DELETE", shared);
    expect(del.status).toBe(400);
    expect(del.json.error.code).toBe("PublicIPAddressCannotBeDeleted");
    expect(del.json.error.message).toContain("a load balancer in another subscription");
    const readdress = await plane.call(TOKEN_B, "PUT", shared, pipBody("203.0.113.99"));
    expect(readdress.status).toBe(400);
    expect(readdress.json.error.code).toBe("PublicIPAddressInUseCannotChangeAddress");
    const group = await plane.call(TOKEN_B, "DELETE", rgPath(SUB_B, "rgshared"));
    expect(group.status).toBe(409);
    expect(group.json.error.code).toBe("ResourceGroupDeletionBlocked");
    // B's own load balancer cannot take it either: PublicIPAddressInUse, anonymised.
    const reuse = await plane.call(TOKEN_B, "PUT", lbPath(SUB_B, "rgb", "lbreuse"), lbBody([shared]));
    expect(reuse.status).toBe(400);
    expect(reuse.json.error.code).toBe("PublicIPAddressInUse");
    // B reading its IP (alone or in a list) sees no back-reference into A.
    const get = await plane.call(TOKEN_B, "GET", shared);
    expect(get.status).toBe(200);
    expect(get.json.properties.ipConfiguration).toBeUndefined();
    const list = await plane.call(TOKEN_B, "GET", `/subscriptions/${SUB_B}/providers/Microsoft.Network/publicIPAddresses`);
    for (const res of [del, readdress, group, reuse, get, list]) {
      expect(res.text).not.toContain(SUB_A);
      expect(res.text).not.toContain(aLb);
    }
    // The admin sees the link.
    const adminView = await plane.call(ADMIN_TOKEN, "GET", shared);
    expect(adminView.json.properties.ipConfiguration.id).toContain(lbPath(SUB_A, "rga", aLb));
    // A's tenant cannot re-send its own load balancer with B's IP in it: the link was the admin's to make.
    const resend = await plane.call(TOKEN_A, "PUT", lbPath(SUB_A, "rga", aLb), lbBody([shared]));
    expectLinkedRefusal(resend, shared);
  });
});
