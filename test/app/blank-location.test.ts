// Locations are stored without spaces, so a location of only spaces would be stored as "": a
// resource group or public IP with no location. It is refused like any other malformed field.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { rowCounts } from "../helpers/fixtures.js";
import { createResourceGroup } from "../helpers/seed.js";

describe("a location of only whitespace", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
  });
  afterAll(() => t.close());

  it("is refused for a resource group and a public IP, and nothing is written", async () => {
    const before = await rowCounts(t.db);
    for (const url of [
      `/subscriptions/${SUB}/resourcegroups/blank?${RGV}`,
      `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/blank?${NET}`,
    ]) {
      const res = await t.app.inject({ method: "PUT", url, headers: AUTH, payload: { location: " \t " } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error).toMatchObject({ code: "InvalidRequestFormat", target: "location" });
    }
    expect(await rowCounts(t.db)).toEqual(before);
  });
});
