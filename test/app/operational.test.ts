import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";

describe("operational endpoints", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("healthz answers without authentication", async () => {
    const res = await t.app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-ms-request-id"]).toBeTruthy();
  });

  it("readyz reports the database reachable and migrated", async () => {
    const res = await t.app.inject({ method: "GET", url: "/readyz" });
    expect(res.json()).toEqual({ status: "ready" });
  });

  it("unknown routes answer with an ARM error body", async () => {
    const res = await t.app.inject({ method: "GET", url: "/nope" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("NotFound");
  });
});
