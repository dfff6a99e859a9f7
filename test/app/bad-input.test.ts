// Bad input never writes anything and is never a 500: every refusal is an ARM error with a code
// (and a target naming the field when one is at fault).

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AUTH, NET, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { rowCounts } from "../helpers/fixtures.js";
import { BODY_LIMIT } from "../../src/app.js";

const rgUrl = (name: string, query = RGV) => `/subscriptions/${SUB}/resourcegroups/${name}?${query}`;
const pipUrl = (name: string, query = NET) =>
  `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/${name}?${query}`;
const OTHER_SUB = "00000000-0000-0000-0000-0000000000ff";
const SCOPED_TOKEN = "scoped-token-for-other-subscription";

describe("bad input", () => {
  let t: TestApp;
  let counts: Awaited<ReturnType<typeof rowCounts>>;
  beforeAll(async () => {
    t = await createTestApp();
    t.app.deps.tokens.add(SCOPED_TOKEN, { name: "scoped", subscriptions: [OTHER_SUB] });
    const rg = await t.app.inject({ method: "PUT", url: rgUrl("rg"), headers: AUTH, payload: { location: "westeurope" } });
    expect(rg.statusCode).toBe(201);
  });
  beforeEach(async () => {
    counts = await rowCounts(t.db);
  });
  afterAll(() => t.close());

  async function expectRefused(res: { statusCode: number; json: () => any }, status: number, code: string, target?: string) {
    expect(res.statusCode).toBe(status);
    const { error } = res.json();
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe("string");
    expect(Array.isArray(error.details)).toBe(true);
    if (target !== undefined) expect(error.target).toBe(target);
    expect(await rowCounts(t.db)).toEqual(counts);
  }

  const putPip = (payload: unknown, url = pipUrl("vip")) =>
    t.app.inject({ method: "PUT", url, headers: { ...AUTH, "content-type": "application/json" }, payload: typeof payload === "string" ? payload : JSON.stringify(payload) });

  describe("api-version", () => {
    it("missing → 400 MissingApiVersionParameter", async () => {
      await expectRefused(await t.app.inject({ method: "PUT", url: `/subscriptions/${SUB}/resourcegroups/x`, headers: AUTH, payload: { location: "a" } }), 400, "MissingApiVersionParameter");
      await expectRefused(await putPip({ location: "a" }, pipUrl("vip", "")), 400, "MissingApiVersionParameter");
    });
    it("unsupported → 400 InvalidApiVersionParameter listing the supported ones", async () => {
      const rg = await t.app.inject({ method: "PUT", url: rgUrl("x", "api-version=2026-01-01"), headers: AUTH, payload: { location: "a" } });
      await expectRefused(rg, 400, "InvalidApiVersionParameter");
      expect(rg.json().error.message).toContain("'2025-04-01,2025-03-01,");
      expect(rg.json().error.message).toContain(",2019-05-01'.");
      const pip = await putPip({ location: "a" }, pipUrl("vip", "api-version=2025-04-01"));
      await expectRefused(pip, 400, "InvalidApiVersionParameter");
      expect(pip.json().error.message).toContain("'2026-01-01,2025-07-01,");
      expect(pip.json().error.message).toContain("2022-07-01");
    });
  });

  describe("authentication and authorization", () => {
    it("no token → 401 AuthenticationFailed; an unknown token too", async () => {
      for (const headers of [{}, { authorization: "Bearer nope-nope-nope" }, { authorization: "Basic abc" }]) {
        await expectRefused(await t.app.inject({ method: "PUT", url: rgUrl("x"), headers, payload: { location: "a" } }), 401, "AuthenticationFailed");
        await expectRefused(await t.app.inject({ method: "GET", url: pipUrl("vip"), headers }), 401, "AuthenticationFailed");
      }
    });
    it("a token limited to other subscriptions → 403 AuthorizationFailed, on every route", async () => {
      const headers = { authorization: `Bearer ${SCOPED_TOKEN}` };
      const requests = [
        { method: "PUT" as const, url: rgUrl("x"), payload: { location: "a" } },
        { method: "GET" as const, url: rgUrl("rg") },
        { method: "DELETE" as const, url: rgUrl("rg") },
        { method: "GET" as const, url: `/subscriptions/${SUB}/resourcegroups?${RGV}` },
        { method: "PUT" as const, url: pipUrl("vip"), payload: { location: "a" } },
        { method: "GET" as const, url: `/subscriptions/${SUB}/providers/Microsoft.Network/publicIPAddresses?${NET}` },
      ];
      for (const r of requests) await expectRefused(await t.app.inject({ ...r, headers }), 403, "AuthorizationFailed");
      // ...but its own subscription is fine.
      const own = await t.app.inject({ method: "GET", url: `/subscriptions/${OTHER_SUB}/resourcegroups?${RGV}`, headers });
      expect(own.statusCode).toBe(200);
      expect(own.json()).toEqual({ value: [] });
    });
  });

  describe("bodies", () => {
    it("malformed JSON → 400 InvalidRequestFormat", async () => {
      await expectRefused(await putPip('{"location": "westeurope",'), 400, "InvalidRequestFormat");
      const rg = await t.app.inject({ method: "PUT", url: rgUrl("x"), headers: { ...AUTH, "content-type": "application/json" }, payload: "{nope" });
      await expectRefused(rg, 400, "InvalidRequestFormat");
    });

    it("an empty body where one is required → 400 InvalidRequestFormat", async () => {
      await expectRefused(await putPip(""), 400, "InvalidRequestFormat");
    });

    it("a missing required property names it", async () => {
      await expectRefused(await putPip({ tags: {} }), 400, "InvalidRequestFormat", "location");
      const rg = await t.app.inject({ method: "PUT", url: rgUrl("x"), headers: AUTH, payload: { tags: {} } });
      await expectRefused(rg, 400, "InvalidRequestFormat", "location");
    });

    it("wrong types are refused, not coerced, with the field as target", async () => {
      await expectRefused(await putPip({ location: 42 }), 400, "InvalidRequestFormat", "location");
      await expectRefused(await putPip({ location: "westeurope", properties: { idleTimeoutInMinutes: "4" } }), 400, "InvalidRequestFormat", "properties.idleTimeoutInMinutes");
      await expectRefused(await putPip({ location: "westeurope", properties: { idleTimeoutInMinutes: 3 } }), 400, "InvalidRequestFormat", "properties.idleTimeoutInMinutes");
      await expectRefused(await putPip({ location: "westeurope", tags: { a: 1 } }), 400, "InvalidRequestFormat", "tags.a");
      await expectRefused(await putPip({ location: "westeurope", zones: "1" }), 400, "InvalidRequestFormat", "zones");
      await expectRefused(await putPip({ location: "westeurope", properties: { publicIPAllocationMethod: "Sometimes" } }), 400, "InvalidRequestFormat", "properties.publicIPAllocationMethod");
      await expectRefused(await putPip({ location: "westeurope", sku: { name: "Premium" } }), 400, "InvalidRequestFormat", "sku.name");
      const rg = await t.app.inject({ method: "PUT", url: rgUrl("x"), headers: AUTH, payload: { location: "westeurope", tags: [] } });
      await expectRefused(rg, 400, "InvalidRequestFormat", "tags");
    });

    it("a misspelled (unknown) property is refused with its path, not dropped", async () => {
      const top = await putPip({ location: "westeurope", tag: {} });
      await expectRefused(top, 400, "InvalidRequestFormat", "tag");
      await expectRefused(await putPip({ location: "westeurope", properties: { ipAdress: "1.2.3.4" } }), 400, "InvalidRequestFormat", "properties.ipAdress");
      await expectRefused(await putPip({ location: "westeurope", properties: { dnsSettings: { domainNameLable: "x" } } }), 400, "InvalidRequestFormat", "properties.dnsSettings.domainNameLable");
      await expectRefused(await putPip({ location: "westeurope", sku: { name: "Standard", teir: "Global" } }), 400, "InvalidRequestFormat", "sku.teir");
      const patch = await t.app.inject({ method: "PATCH", url: pipUrl("vip"), headers: AUTH, payload: { tags: {}, location: "x" } });
      await expectRefused(patch, 400, "InvalidRequestFormat", "location");
      const rg = await t.app.inject({ method: "PUT", url: rgUrl("x"), headers: AUTH, payload: { location: "westeurope", propertes: {} } });
      await expectRefused(rg, 400, "InvalidRequestFormat", "propertes");
      const rgPatch = await t.app.inject({ method: "PATCH", url: rgUrl("rg"), headers: AUTH, payload: { location: "eastus" } });
      await expectRefused(rgPatch, 400, "InvalidRequestFormat", "location");
    });

    it("over-long or malformed names → 400 with the name as target", async () => {
      await expectRefused(await putPip({ location: "westeurope" }, pipUrl("p".repeat(81))), 400, "InvalidResourceName", "name");
      await expectRefused(await putPip({ location: "westeurope" }, pipUrl("-starts-badly")), 400, "InvalidResourceName", "name");
      await expectRefused(await putPip({ location: "westeurope" }, pipUrl("ends.")), 400, "InvalidResourceName", "name");
      const rg = await t.app.inject({ method: "PUT", url: rgUrl("r".repeat(91)), headers: AUTH, payload: { location: "westeurope" } });
      await expectRefused(rg, 400, "InvalidResourceGroup", "resourceGroupName");
      await expectRefused(await putPip({ location: "w".repeat(101) }), 400, "InvalidRequestFormat", "location");
    });

    it(`a body over ${BODY_LIMIT} bytes → 413`, async () => {
      const huge = JSON.stringify({ location: "westeurope", tags: { big: "x".repeat(BODY_LIMIT) } });
      await expectRefused(await putPip(huge), 413, "RequestEntityTooLarge");
    });

    it("a non-JSON content type → 415, not a 500", async () => {
      const res = await t.app.inject({ method: "PUT", url: pipUrl("vip"), headers: { ...AUTH, "content-type": "text/xml" }, payload: "<a/>" });
      await expectRefused(res, 415, "UnsupportedMediaType");
    });
  });

  it("an empty body sent as application/json is a missing body: 400 on a PUT, not a parse error", async () => {
    await expectRefused(await putPip(""), 400, "InvalidRequestFormat");
  });

  it("after all of that, nothing was written: only the one resource group exists", async () => {
    expect(await rowCounts(t.db)).toEqual({ resourceGroups: 1, publicIps: 0, loadBalancers: 0, operations: 0 });
  });
});
