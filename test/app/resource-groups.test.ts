import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { insertLoadBalancer, rowCounts } from "../helpers/fixtures.js";

const rgUrl = (name: string, query = RGV) => `/subscriptions/${SUB}/resourcegroups/${name}?${query}`;
const pipUrl = (rg: string, name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Network/publicIPAddresses/${name}?api-version=2026-01-01`;

describe("resource groups", () => {
  let t: TestApp;
  const notified: string[] = [];
  beforeAll(async () => {
    t = await createTestApp({ notifyChange: (location) => notified.push(location) });
  });
  afterAll(() => t.close());

  const put = (name: string, payload: object, headers = AUTH) =>
    t.app.inject({ method: "PUT", url: rgUrl(name), headers, payload });

  it("PUT creates (201) then updates (200) and answers in ARM's shape", async () => {
    const created = await put("rg-one", { location: "West Europe", tags: { env: "test" } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({
      id: `/subscriptions/${SUB}/resourceGroups/rg-one`,
      name: "rg-one",
      type: "Microsoft.Resources/resourceGroups",
      location: "westeurope",
      tags: { env: "test" },
      properties: { provisioningState: "Succeeded" },
    });
    const updated = await put("RG-ONE", { location: "westeurope", managedBy: "me", properties: {} });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ name: "rg-one", tags: {}, managedBy: "me" });
  });

  it("a resource group cannot move to another location", async () => {
    const res = await put("rg-one", { location: "eastus" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: "InvalidResourceGroupLocation", target: "location" });
  });

  it("GET matches names case-insensitively, on either spelling of the collection", async () => {
    const res = await t.app.inject({ method: "GET", url: `/subscriptions/${SUB}/resourceGroups/Rg-One?${RGV}`, headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json().name).toBe("rg-one");
    const missing = await t.app.inject({ method: "GET", url: rgUrl("nope"), headers: AUTH });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: "ResourceGroupNotFound", message: "Resource group 'nope' could not be found." });
  });

  it("HEAD answers 204 when the group exists and 404 when it does not, without a body", async () => {
    const yes = await t.app.inject({ method: "HEAD", url: rgUrl("rg-one"), headers: AUTH });
    expect(yes.statusCode).toBe(204);
    expect(yes.body).toBe("");
    const no = await t.app.inject({ method: "HEAD", url: rgUrl("absent"), headers: AUTH });
    expect(no.statusCode).toBe(404);
    expect(no.body).toBe("");
  });

  it("PATCH replaces the tag set and keeps the rest", async () => {
    const res = await t.app.inject({ method: "PATCH", url: rgUrl("rg-one"), headers: AUTH, payload: { tags: { a: "1" } } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ tags: { a: "1" }, managedBy: "me", location: "westeurope" });
    const missing = await t.app.inject({ method: "PATCH", url: rgUrl("absent"), headers: AUTH, payload: { tags: {} } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("ResourceGroupNotFound");
  });

  it("refuses names Azure refuses", async () => {
    for (const name of ["ends-with-dot.", "x".repeat(91), "bad*char"]) {
      const res = await put(encodeURIComponent(name), { location: "westeurope" });
      expect(res.statusCode, name).toBe(400);
      expect(res.json().error).toMatchObject({ code: "InvalidResourceGroup", target: "resourceGroupName" });
    }
    expect((await put("ok_(name).v1", { location: "westeurope" })).statusCode).toBe(201);
    expect((await put("x".repeat(90), { location: "westeurope" })).statusCode).toBe(201);
  });

  it("lists the subscription's groups with nextLink paging", async () => {
    for (const n of ["list-a", "list-b", "list-c"]) await put(n, { location: "westeurope" });
    const seen: string[] = [];
    let url: string | undefined = `/subscriptions/${SUB}/resourcegroups?${RGV}&$top=2`;
    while (url) {
      const res = await t.app.inject({ method: "GET", url, headers: AUTH });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { value: Array<{ name: string }>; nextLink?: string };
      expect(page.value.length).toBeLessThanOrEqual(2);
      seen.push(...page.value.map((g) => g.name));
      url = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : undefined;
    }
    expect(seen).toEqual(expect.arrayContaining(["list-a", "list-b", "list-c", "rg-one"]));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("DELETE answers 202 with a Location that reports the finished operation", async () => {
    await put("doomed", { location: "westeurope" });
    const res = await t.app.inject({ method: "DELETE", url: rgUrl("doomed"), headers: AUTH });
    expect(res.statusCode).toBe(202);
    const location = String(res.headers.location);
    expect(location).toMatch(new RegExp(`^http://[^/]+/subscriptions/${SUB}/operationresults/[0-9a-f-]{36}\\?api-version=2025-04-01$`));
    const poll = await t.app.inject({ method: "GET", url: location.replace(/^http:\/\/[^/]+/, ""), headers: AUTH });
    expect(poll.statusCode).toBe(200);
    expect((await t.app.inject({ method: "HEAD", url: rgUrl("doomed"), headers: AUTH })).statusCode).toBe(404);
    const again = await t.app.inject({ method: "DELETE", url: rgUrl("doomed"), headers: AUTH });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe("ResourceGroupNotFound");
  });

  it("operation results of unknown ids (or another subscription) are 404", async () => {
    const unknown = await t.app.inject({
      method: "GET",
      url: `/subscriptions/${SUB}/operationresults/00000000-0000-0000-0000-00000000abcd?${RGV}`,
      headers: AUTH,
    });
    expect(unknown.statusCode).toBe(404);
    const garbage = await t.app.inject({ method: "GET", url: `/subscriptions/${SUB}/operationresults/not-a-uuid?${RGV}`, headers: AUTH });
    expect(garbage.statusCode).toBe(404);
  });

  it("deleting a group deletes its public IPs and load balancers, bumps the generation and notifies", async () => {
    await put("full", { location: "westeurope" });
    const pip = await t.app.inject({
      method: "PUT",
      url: pipUrl("full", "vip1"),
      headers: AUTH,
      payload: { location: "westeurope", properties: { ipAddress: "203.0.113.10" } },
    });
    expect(pip.statusCode).toBe(201);
    const rg = await t.db.resourceGroup.findFirstOrThrow({ where: { nameKey: "full" } });
    const pipRow = await t.db.publicIpAddress.findFirstOrThrow({ where: { nameKey: "vip1" } });
    await insertLoadBalancer(t.db, rg, { name: "lb", location: "northeurope", frontends: [{ name: "fe", publicIpAddressId: pipRow.id }] });
    const before = (await t.db.locationGeneration.findUnique({ where: { location: "northeurope" } }))?.generation ?? 0n;
    notified.length = 0;

    const res = await t.app.inject({ method: "DELETE", url: rgUrl("full"), headers: AUTH });
    expect(res.statusCode).toBe(202);
    expect(await t.db.publicIpAddress.count({ where: { resourceGroupId: rg.id } })).toBe(0);
    expect(await t.db.loadBalancer.count({ where: { resourceGroupId: rg.id } })).toBe(0);
    expect(await t.db.frontendIpConfiguration.count({ where: { publicIpAddressId: pipRow.id } })).toBe(0);
    const after = (await t.db.locationGeneration.findUniqueOrThrow({ where: { location: "northeurope" } })).generation;
    expect(after).toBe(before + 1n);
    expect(notified).toEqual(["northeurope"]);
    // The address is free again.
    await put("full2", { location: "westeurope" });
    const reuse = await t.app.inject({
      method: "PUT",
      url: pipUrl("full2", "vip1"),
      headers: AUTH,
      payload: { location: "westeurope", properties: { ipAddress: "203.0.113.10" } },
    });
    expect(reuse.statusCode).toBe(201);
  });

  it("a group whose public IP serves a load balancer in another group cannot be deleted, and nothing is deleted", async () => {
    await put("owner", { location: "westeurope" });
    await put("user", { location: "westeurope" });
    const pip = await t.app.inject({ method: "PUT", url: pipUrl("owner", "shared"), headers: AUTH, payload: { location: "westeurope" } });
    expect(pip.statusCode).toBe(201);
    const pipRow = await t.db.publicIpAddress.findFirstOrThrow({ where: { nameKey: "shared" } });
    const userRg = await t.db.resourceGroup.findFirstOrThrow({ where: { nameKey: "user" } });
    await insertLoadBalancer(t.db, userRg, { name: "lb", location: "westeurope", frontends: [{ name: "fe", publicIpAddressId: pipRow.id }] });
    const counts = await rowCounts(t.db);

    const res = await t.app.inject({ method: "DELETE", url: rgUrl("owner"), headers: AUTH });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("ResourceGroupDeletionBlocked");
    expect(res.json().error.details[0]).toMatchObject({ code: "PublicIPAddressCannotBeDeleted" });
    expect(res.json().error.details[0].message).toContain("load balancer lb in resource group user");
    expect(await rowCounts(t.db)).toEqual(counts);

    // Deleting the user group first (its load balancer) unblocks the owner.
    expect((await t.app.inject({ method: "DELETE", url: rgUrl("user"), headers: AUTH })).statusCode).toBe(202);
    expect((await t.app.inject({ method: "DELETE", url: rgUrl("owner"), headers: AUTH })).statusCode).toBe(202);
  });

  it("two concurrent creators of one group both succeed: one creates, the other updates", async () => {
    const [a, b] = await Promise.all([put("racy", { location: "westeurope" }), put("RACY", { location: "westeurope" })]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 201]);
    expect(await t.db.resourceGroup.count({ where: { nameKey: "racy" } })).toBe(1);
  });
});
