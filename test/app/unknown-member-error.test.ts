// A misspelled member is refused once, in Azure's words ("Could not find member …"), not also as
// TypeBox's "schema is false" for the same member.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";

describe("an unknown member in a body", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("is one detail whose message names the member", async () => {
    const res = await t.app.inject({
      method: "PUT",
      url: `/subscriptions/${SUB}/resourcegroups/rg1?${RGV}`,
      headers: AUTH,
      payload: { location: "westeurope", locaiton: "x" },
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error).toMatchObject({ code: "InvalidRequestFormat", target: "locaiton" });
    expect(error.message).toContain("Could not find member 'locaiton'");
    expect(error.details).toHaveLength(1);
  });
});
