// Input PostgreSQL cannot store or parse — NUL characters and unpaired surrogates (legal as JSON
// escapes and as %00 in a path), ids shaped like a UUID that are not one — is bad input: a 400 or
// a 404 with an ARM error body, never a 500, and nothing is written.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { rowCounts } from "../helpers/fixtures.js";
import { createPublicIp, createResourceGroup, lbPath, seedLoadBalancer } from "../helpers/seed.js";

const DASHES = "-".repeat(36);

describe("text and ids the database cannot take", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip1", "65.52.0.1");
  });
  afterAll(() => t.close());

  const lb = () => seedLoadBalancer("rg1", "lb1", { frontends: { fe1: "vip1" }, dips: ["10.0.0.4"], rules: [{ name: "r1", frontend: "fe1", frontendPort: 80, backendPort: 80 }] });
  const send = (method: "PUT" | "PATCH" | "GET", url: string, rawJson?: string) =>
    t.app.inject({ method, url, headers: { ...AUTH, "content-type": "application/json" }, payload: rawJson });

  it("a NUL or an unpaired surrogate anywhere in a body is a 400 naming the field", async () => {
    const before = await rowCounts(t.db);
    const cases: Array<[string, string, string]> = [
      [`${lbPath("rg1", "lb1")}?${NET}`, JSON.stringify({ ...lb(), tags: { a: "x\u0000y" } }), "tags.a"],
      [`${lbPath("rg1", "lb1")}?${NET}`, JSON.stringify({ ...lb(), tags: { ["k\u0000"]: "v" } }), "tags.k\u0000"],
      [`${lbPath("rg1", "lb1")}?${NET}`, '{"location":"westeurope","tags":{"a":"\\ud800"}}', "tags.a"],
      [`${lbPath("rg1", "lb1")}?${NET}`, JSON.stringify({ ...lb(), properties: { ...lb().properties, frontendIPConfigurations: [{ name: "fe1", properties: { publicIPAddress: { id: "/subscriptions/\u0000" } } }] } }), "properties.frontendIPConfigurations[0].properties.publicIPAddress.id"],
      [`/subscriptions/${SUB}/resourcegroups/rg2?${RGV}`, JSON.stringify({ location: "west\u0000europe" }), "location"],
      [`/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/p1?${NET}`, JSON.stringify({ location: "westeurope", properties: { dnsSettings: { domainNameLabel: "a\u0000" } } }), "properties.dnsSettings.domainNameLabel"],
    ];
    for (const [url, body, target] of cases) {
      const res = await send("PUT", url, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: "InvalidRequestFormat", target, details: [] });
    }
    const patch = await send("PATCH", `${lbPath("rg1", "lb1")}?${NET}`, JSON.stringify({ tags: { a: "\u0000" } }));
    expect(patch.statusCode).toBe(400);
    expect(await rowCounts(t.db)).toEqual(before);
  });

  it("a legal surrogate pair (an emoji in a tag) is stored and echoed", async () => {
    const res = await send("PUT", `${lbPath("rg1", "lb1")}?${NET}`, JSON.stringify({ ...lb(), tags: { a: "\ud83d\ude00" } }));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().tags).toEqual({ a: "😀" });
  });

  it("%00 in a resource name is a 400, not a database error", async () => {
    for (const url of [
      `${lbPath("rg1", "a%00b")}?${NET}`,
      `/subscriptions/${SUB}/resourcegroups/a%00b?${RGV}`,
      `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/a%00?${NET}`,
      `/subscriptions/%00/providers/Microsoft.Network/loadBalancers?${NET}`,
    ]) {
      const res = await send("GET", url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe("InvalidParameter");
    }
  });

  it("operation ids of 36 characters that are not UUIDs are unknown operations (404)", async () => {
    for (const url of [
      `/subscriptions/${SUB}/providers/Microsoft.Network/locations/westeurope/operations/${DASHES}?${NET}`,
      `/subscriptions/${SUB}/providers/Microsoft.Network/locations/westeurope/operationResults/${DASHES}?${NET}`,
      `/subscriptions/${SUB}/operationresults/${DASHES}?${RGV}`,
    ]) {
      const res = await send("GET", url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.details).toEqual([]);
    }
  });

  it("an agent id of 36 dashes is an authentication failure, not a database error", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: `/dataplane/v1/agents/${DASHES}/heartbeat`,
      headers: { authorization: "Bearer whatever-credential", "content-type": "application/json" },
      payload: { appliedGeneration: 1 },
    });
    expect(res.statusCode).toBe(401);
  });
});
