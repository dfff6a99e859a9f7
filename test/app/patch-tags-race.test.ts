// PATCH (tags) checks If-Match against the etag it replaces: a write that commits between the
// PATCH's read and its update must make the PATCH fail with 412, not be silently overwritten.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, lbPath, putLb, seedLoadBalancer } from "../helpers/seed.js";

describe("PATCH tags under a concurrent write", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip1", "65.52.0.1");
    const lb = seedLoadBalancer("rg1", "lb1", { frontends: { fe1: "vip1" }, dips: ["10.0.0.4"], rules: [{ name: "r1", frontend: "fe1", frontendPort: 80, backendPort: 80 }] });
    expect((await putLb(t.app, "rg1", "lb1", lb)).statusCode).toBe(201);
  });
  afterAll(() => t.close());

  it("If-Match with the etag a concurrent writer is replacing → 412, and that writer's etag stands", async () => {
    const { etag } = (await t.app.inject({ method: "GET", url: `${lbPath("rg1", "lb1")}?${NET}`, headers: AUTH })).json();
    const other = new pg.Client({ connectionString: t.database.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(`UPDATE load_balancers SET etag = 'W/"concurrent"' WHERE name_key = 'lb1'`);
      const patch = t.app.inject({
        method: "PATCH",
        url: `${lbPath("rg1", "lb1")}?${NET}`,
        headers: { ...AUTH, "if-match": etag },
        payload: { tags: { env: "prod" } },
      });
      await new Promise((r) => setTimeout(r, 300)); // the PATCH is now waiting on the row
      await other.query("COMMIT");
      const res = await patch;
      expect(res.statusCode, res.body).toBe(412);
      expect(res.json().error.code).toBe("PreconditionFailed");
    } finally {
      await other.end();
    }
    const after = (await t.app.inject({ method: "GET", url: `${lbPath("rg1", "lb1")}?${NET}`, headers: AUTH })).json();
    expect(after.etag).toBe('W/"concurrent"');
    expect(after.tags).toEqual({});
  });

  it("without a race, PATCH replaces the tags and answers with the new etag", async () => {
    const res = await t.app.inject({ method: "PATCH", url: `${lbPath("rg1", "lb1")}?${NET}`, headers: { ...AUTH, "if-match": 'W/"concurrent"' }, payload: { tags: { a: "b" } } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().tags).toEqual({ a: "b" });
    expect(res.headers.etag).toBe(res.json().etag);
    expect(res.json().etag).not.toBe('W/"concurrent"');
  });
});
