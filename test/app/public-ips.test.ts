import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { insertLoadBalancer, rowCounts } from "../helpers/fixtures.js";

const base = (rg: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/publicIPAddresses`;
const pipUrl = (rg: string, name: string, query = NET) => `${base(rg)}/${name}?${query}`;
const armId = (rg: string, name: string) => `${base(rg)}/${name}`;

describe("public IP addresses", () => {
  let t: TestApp;
  // A /29 leaves six usable addresses: 192.0.2.1 - 192.0.2.6.
  beforeAll(async () => {
    t = await createTestApp({}, { LBPLANE_PUBLIC_IP_POOL: "192.0.2.0/29" });
    for (const rg of ["rg", "other"]) {
      const res = await t.app.inject({ method: "PUT", url: `/subscriptions/${SUB}/resourcegroups/${rg}?${RGV}`, headers: AUTH, payload: { location: "westeurope" } });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(() => t.close());

  const put = (rg: string, name: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: "PUT", url: pipUrl(rg, name), headers: { ...AUTH, ...headers }, payload });
  const get = (rg: string, name: string, query = NET) => t.app.inject({ method: "GET", url: pipUrl(rg, name, query), headers: AUTH });
  const del = (rg: string, name: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: "DELETE", url: pipUrl(rg, name), headers: { ...AUTH, ...headers } });

  it("PUT allocates the first free pool address, with Azure's defaults, and completes synchronously", async () => {
    const res = await put("rg", "vip1", { location: "West Europe", sku: { name: "Standard" } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      id: armId("rg", "vip1"),
      name: "vip1",
      type: "Microsoft.Network/publicIPAddresses",
      location: "westeurope",
      tags: {},
      sku: { name: "Standard", tier: "Regional" },
      properties: {
        provisioningState: "Succeeded",
        ipAddress: "192.0.2.1",
        publicIPAddressVersion: "IPv4",
        publicIPAllocationMethod: "Static",
        idleTimeoutInMinutes: 4,
      },
    });
    expect(body.etag).toMatch(/^W\/"[0-9a-f-]{36}"$/);
    expect(res.headers.etag).toBe(body.etag);
    expect(body.properties.resourceGuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.properties.ipConfiguration).toBeUndefined();
  });

  it("PUT again keeps the address, answers 200 and a new etag; echoing a GET body is accepted", async () => {
    const first = (await get("rg", "VIP1")).json();
    const res = await put("rg", "vip1", { ...first, tags: { team: "net" } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: "vip1", tags: { team: "net" }, properties: { ipAddress: "192.0.2.1" } });
    expect(res.json().etag).not.toBe(first.etag);
  });

  it("brings its own address, refuses one another public IP owns, and refuses malformed addresses", async () => {
    const own = await put("rg", "byo", { location: "westeurope", properties: { publicIPAllocationMethod: "Static", ipAddress: "198.51.100.7" } });
    expect(own.statusCode).toBe(201);
    expect(own.json().properties.ipAddress).toBe("198.51.100.7");
    const counts = await rowCounts(t.db);
    const taken = await put("other", "thief", { location: "westeurope", properties: { ipAddress: "198.51.100.7" } });
    expect(taken.statusCode).toBe(400);
    expect(taken.json().error).toMatchObject({ code: "IpAddressAlreadyAllocated", target: "properties.ipAddress" });
    for (const ipAddress of ["300.1.1.1", "198.51.100.07", "2001:db8::1"]) {
      const bad = await put("rg", "bad", { location: "westeurope", properties: { ipAddress } });
      expect(bad.statusCode, ipAddress).toBe(400);
      expect(bad.json().error).toMatchObject({ code: "InvalidIPAddress", target: "properties.ipAddress" });
    }
    expect(await rowCounts(t.db)).toEqual(counts);
  });

  it("IPv6 needs its own address (the pool is IPv4) and is stored canonically", async () => {
    const none = await put("rg", "v6", { location: "westeurope", properties: { publicIPAddressVersion: "IPv6" } });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.code).toBe("PublicIPv6AddressRequiresIpAddress");
    const own = await put("rg", "v6", { location: "westeurope", properties: { publicIPAddressVersion: "IPv6", ipAddress: "2001:DB8:0::0:5" } });
    expect(own.statusCode).toBe(201);
    expect(own.json().properties).toMatchObject({ ipAddress: "2001:db8::5", publicIPAddressVersion: "IPv6" });
  });

  it("concurrent PUTs never share an address, and an exhausted pool is a clear 400", async () => {
    const results = await Promise.all(
      ["c1", "c2", "c3", "c4", "c5", "c6"].map((n) => put("other", n, { location: "westeurope" })),
    );
    const ok = results.filter((r) => r.statusCode === 201).map((r) => r.json().properties.ipAddress);
    const refused = results.filter((r) => r.statusCode !== 201);
    // 192.0.2.1 is vip1's; five addresses remain for six requests.
    expect(ok).toHaveLength(5);
    expect(new Set(ok).size).toBe(5);
    expect(refused).toHaveLength(1);
    expect(refused[0].statusCode).toBe(400);
    expect(refused[0].json().error.code).toBe("PublicIPAddressPoolExhausted");
    for (const n of ["c1", "c2", "c3", "c4", "c5", "c6"]) await del("other", n);
  });

  it("shows the frontend that uses it, refuses deleting it and changing its address or SKU", async () => {
    const rg = await t.db.resourceGroup.findFirstOrThrow({ where: { nameKey: "rg" } });
    const row = await t.db.publicIpAddress.findFirstOrThrow({ where: { nameKey: "vip1" } });
    await insertLoadBalancer(t.db, rg, { name: "MyLb", location: "westeurope", frontends: [{ name: "fe1", publicIpAddressId: row.id }] });
    const feId = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/MyLb/frontendIPConfigurations/fe1`;
    expect((await get("rg", "vip1")).json().properties.ipConfiguration).toEqual({ id: feId });

    const counts = await rowCounts(t.db);
    const delRes = await del("rg", "vip1");
    expect(delRes.statusCode).toBe(400);
    expect(delRes.json().error.code).toBe("PublicIPAddressCannotBeDeleted");
    expect(delRes.json().error.message).toContain(`since it is still allocated to resource ${feId}`);
    const move = await put("rg", "vip1", { location: "westeurope", properties: { ipAddress: "192.0.2.200" } });
    expect(move.statusCode).toBe(400);
    expect(move.json().error).toMatchObject({ code: "PublicIPAddressInUseCannotChangeAddress", target: "properties.ipAddress" });
    const sku = await put("rg", "vip1", { location: "westeurope", sku: { name: "Basic" } });
    expect(sku.statusCode).toBe(400);
    expect(sku.json().error.code).toBe("PublicIPAddressInUseCannotChangeSku");
    expect(await rowCounts(t.db)).toEqual(counts);
    expect((await get("rg", "vip1")).json().properties.ipAddress).toBe("192.0.2.1");
    await t.db.loadBalancer.deleteMany({ where: { nameKey: "mylb" } });
  });

  it("a public IP cannot move to another location", async () => {
    const res = await put("rg", "vip1", { location: "eastus" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("InvalidResourceLocation");
  });

  it("GET tolerates $expand; missing group and missing resource are ARM's 404s", async () => {
    expect((await get("rg", "vip1", `${NET}&$expand=ipConfiguration`)).statusCode).toBe(200);
    const noRg = await get("nowhere", "vip1");
    expect(noRg.statusCode).toBe(404);
    expect(noRg.json().error.code).toBe("ResourceGroupNotFound");
    const noPip = await get("rg", "ghost");
    expect(noPip.statusCode).toBe(404);
    expect(noPip.json().error).toMatchObject({
      code: "ResourceNotFound",
      message: expect.stringContaining("The Resource 'Microsoft.Network/publicIPAddresses/ghost' under resource group 'rg' was not found."),
    });
    const putNoRg = await put("nowhere", "x", { location: "westeurope" });
    expect(putNoRg.statusCode).toBe(404);
    expect(putNoRg.json().error.code).toBe("ResourceGroupNotFound");
  });

  it("PATCH replaces the tags and changes the etag; absent → 404", async () => {
    const before = (await get("rg", "vip1")).json();
    const res = await t.app.inject({ method: "PATCH", url: pipUrl("rg", "vip1"), headers: AUTH, payload: { tags: { x: "y" } } });
    expect(res.statusCode).toBe(200);
    expect(res.json().tags).toEqual({ x: "y" });
    expect(res.json().etag).not.toBe(before.etag);
    expect(res.json().properties.ipAddress).toBe(before.properties.ipAddress);
    const missing = await t.app.inject({ method: "PATCH", url: pipUrl("rg", "ghost"), headers: AUTH, payload: { tags: {} } });
    expect(missing.statusCode).toBe(404);
  });

  it("ETags: If-Match mismatch → 412, If-None-Match * on an existing one → 412, If-Match on an absent one → 412", async () => {
    const current = (await get("rg", "vip1")).json().etag as string;
    const counts = await rowCounts(t.db);
    const stale = 'W/"00000000-0000-0000-0000-000000000000"';
    const cases = [
      await put("rg", "vip1", { location: "westeurope" }, { "if-match": stale }),
      await put("rg", "vip1", { location: "westeurope" }, { "if-none-match": "*" }),
      await put("rg", "brand-new", { location: "westeurope" }, { "if-match": "*" }),
      await t.app.inject({ method: "PATCH", url: pipUrl("rg", "vip1"), headers: { ...AUTH, "if-match": stale }, payload: { tags: {} } }),
      await del("rg", "vip1", { "if-match": stale }),
    ];
    for (const res of cases) {
      expect(res.statusCode).toBe(412);
      expect(res.json().error.code).toBe("PreconditionFailed");
    }
    expect(await rowCounts(t.db)).toEqual(counts);
    expect((await get("rg", "vip1")).json().etag).toBe(current);
    const ok = await put("rg", "vip1", { location: "westeurope" }, { "if-match": current });
    expect(ok.statusCode).toBe(200);
    const created = await put("rg", "fresh", { location: "westeurope" }, { "if-none-match": "*" });
    expect(created.statusCode).toBe(201);
  });

  it("lists by resource group and by subscription with nextLink paging", async () => {
    const collect = async (first: string) => {
      const names: string[] = [];
      let url: string | undefined = first;
      while (url) {
        const res = await t.app.inject({ method: "GET", url, headers: AUTH });
        expect(res.statusCode).toBe(200);
        const page = res.json() as { value: Array<{ name: string; id: string }>; nextLink?: string };
        expect(page.value.length).toBeLessThanOrEqual(1);
        names.push(...page.value.map((p) => p.id));
        url = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : undefined;
      }
      return names;
    };
    await put("other", "in-other", { location: "westeurope" });
    const inRg = await collect(`${base("rg")}?${NET}&$top=1`);
    expect(inRg).toEqual(expect.arrayContaining([armId("rg", "vip1"), armId("rg", "byo")]));
    expect(inRg.every((id) => id.includes("/resourceGroups/rg/"))).toBe(true);
    const all = await collect(`/subscriptions/${SUB}/providers/Microsoft.Network/publicIPAddresses?${NET}&$top=1`);
    expect(all).toEqual(expect.arrayContaining([...inRg, armId("other", "in-other")]));
    expect(all).toHaveLength(inRg.length + 1);
    const noRg = await t.app.inject({ method: "GET", url: `${base("nowhere")}?${NET}`, headers: AUTH });
    expect(noRg.statusCode).toBe(404);
  });

  it("DELETE answers 200, then 204 once it is gone, and frees the address", async () => {
    const address = (await get("rg", "byo")).json().properties.ipAddress;
    expect((await del("rg", "BYO")).statusCode).toBe(200);
    expect((await del("rg", "byo")).statusCode).toBe(204);
    expect((await get("rg", "byo")).statusCode).toBe(404);
    const reuse = await put("other", "byo2", { location: "westeurope", properties: { ipAddress: address } });
    expect(reuse.statusCode).toBe(201);
  });

  it("zones round-trip, and a PUT without them clears them (PUT replaces the resource)", async () => {
    const zoned = await put("other", "zoned", { location: "westeurope", zones: ["1", "2"], properties: { idleTimeoutInMinutes: 10 } });
    expect(zoned.statusCode).toBe(201);
    expect(zoned.json()).toMatchObject({ zones: ["1", "2"], properties: { idleTimeoutInMinutes: 10 } });
    const replaced = await put("other", "zoned", { location: "westeurope" });
    expect(replaced.json().zones).toBeUndefined();
    expect(replaced.json().properties.idleTimeoutInMinutes).toBe(4);
  });

  it("two concurrent creators of one name: one creates, the other updates, one row", async () => {
    const [a, b] = await Promise.all([put("other", "twin", { location: "westeurope" }), put("other", "TWIN", { location: "westeurope" })]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 201]);
    expect(await t.db.publicIpAddress.count({ where: { nameKey: "twin" } })).toBe(1);
    expect(a.json().properties.ipAddress).toBe(b.json().properties.ipAddress);
  });

  it("the older api-version 2024-05-01 works too", async () => {
    const res = await get("rg", "vip1", "api-version=2024-05-01");
    expect(res.statusCode).toBe(200);
  });
});
