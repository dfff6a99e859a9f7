// A GET of a load balancer may answer from the serialised copy this process keeps, but only after
// the database said that copy is still the stored version: a write on another replica, a settled
// operation (new provisioningState, same etag), a delete and a re-create are all seen by the very
// next read. Reads arriving together share one statement, and each still gets its own answer.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { composeLbplane, type Lbplane } from "../../src/lbplane.js";
import { RenderedLoadBalancers } from "../../src/routes/load-balancer.view.js";
import { poolOf } from "../../src/store/prisma.js";
import { TokenStore } from "../../src/store/tokens.js";
import { ADMIN_TOKEN, AUTH, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, getJson, lbPath, putLb, seedLoadBalancer } from "../helpers/seed.js";

const body = (dips: string[]) =>
  seedLoadBalancer("rg1", "lb1", { frontends: { fe1: "vip1" }, dips, rules: [{ name: "web", frontend: "fe1", frontendPort: 80, backendPort: 80 }] });

describe("reads of a load balancer are never staler than the database", () => {
  let t: TestApp;
  let other: Lbplane;
  beforeAll(async () => {
    t = await createTestApp();
    // A second replica on the same database: its writes never pass through the first one's process.
    const tokens = new TokenStore();
    tokens.add(ADMIN_TOKEN, { name: "admin" });
    other = await composeLbplane({
      config: loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-test-unused" }),
      databaseUrl: t.database.url,
      tokens,
      logger: false,
      poolSize: 2,
      controlLoops: false,
    });
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip1", "65.52.0.1");
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  type Answer = { properties: { backendAddressPools: Array<{ properties: { loadBalancerBackendAddresses: Array<{ properties: { ipAddress: string } }> } }> } };
  const dipsOf = (res: { json: () => Answer }) =>
    res.json().properties.backendAddressPools[0].properties.loadBalancerBackendAddresses.map((a) => a.properties.ipAddress);

  it("a write on another replica is in this replica's next GET, with its new etag", async () => {
    expect((await putLb(t.app, "rg1", "lb1", body(["10.0.0.4"]))).statusCode).toBe(201);
    const first = await getJson(t.app, lbPath("rg1", "lb1"));
    const again = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(again.body).toBe(first.body);
    expect(again.headers.etag).toBe(first.headers.etag);

    const put = await putLb(other.app, "rg1", "lb1", body(["10.0.0.4", "10.0.0.5"]));
    expect(put.statusCode).toBe(200);
    const after = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(dipsOf(after)).toEqual(["10.0.0.4", "10.0.0.5"]);
    expect(after.headers.etag).toBe(put.headers.etag);
    expect(after.json().etag).toBe(put.headers.etag);
  });

  it("a provisioningState changed without a new etag (an operation settling) is in the next GET", async () => {
    const before = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(before.json().properties.provisioningState).toBe("Succeeded");
    await poolOf(t.db).query("UPDATE load_balancers SET provisioning_state = 'Failed' WHERE name = 'lb1'");
    const after = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(after.json().properties.provisioningState).toBe("Failed");
    expect(after.json().properties.loadBalancingRules[0].properties.provisioningState).toBe("Failed");
    expect(after.headers.etag).toBe(before.headers.etag);
    await poolOf(t.db).query("UPDATE load_balancers SET provisioning_state = 'Succeeded' WHERE name = 'lb1'");
  });

  it("a delete elsewhere is a 404 here at once, and a re-create answers the new load balancer", async () => {
    expect((await getJson(t.app, lbPath("rg1", "lb1"))).statusCode).toBe(200);
    const del = await other.app.inject({ method: "DELETE", url: `${lbPath("rg1", "lb1")}?api-version=2026-01-01`, headers: AUTH });
    expect(del.statusCode).toBe(200);
    const gone = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe("ResourceNotFound");
    expect((await putLb(other.app, "rg1", "lb1", body(["10.0.0.9"]))).statusCode).toBe(201);
    const back = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(dipsOf(back)).toEqual(["10.0.0.9"]);
  });

  it("concurrent GETs of several load balancers, a missing one and a missing group each get their own answer", async () => {
    for (const [i, name] of ["a1", "a2", "a3"].entries()) {
      await createPublicIp(t.app, "rg1", `vip-${name}`, `65.52.1.${i + 1}`);
      const rules = [{ name: "web", frontend: "fe1", frontendPort: 80, backendPort: 80 }];
      const lb = seedLoadBalancer("rg1", name, { frontends: { fe1: `vip-${name}` }, dips: [`10.1.0.${i + 1}`], rules });
      expect((await putLb(t.app, "rg1", name, lb)).statusCode).toBe(201);
    }
    const urls = [
      ...["a1", "a2", "a3", "a1", "a2", "a3", "lb1"].map((n) => lbPath("rg1", n)),
      lbPath("rg1", "nope"),
      lbPath("nogroup", "a1"),
    ];
    const answers = await Promise.all(urls.map((u) => getJson(t.app, u)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200, 200, 404, 404]);
    expect(answers.slice(0, 7).map((a) => a.json().name)).toEqual(["a1", "a2", "a3", "a1", "a2", "a3", "lb1"]);
    expect(answers.slice(0, 6).map((a) => dipsOf(a)[0])).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    expect(answers[7].json().error.code).toBe("ResourceNotFound");
    expect(answers[8].json().error.code).toBe("ResourceGroupNotFound");
  });

  it("an older api-version still gets its own shape from the kept answer", async () => {
    const newest = await getJson(t.app, lbPath("rg1", "lb1"));
    expect(newest.json().sku.tier).toBe("Regional");
    const old = await getJson(t.app, `${lbPath("rg1", "lb1")}?api-version=2020-06-01`);
    expect(old.statusCode).toBe(200);
    expect(old.json().sku.tier).toBeUndefined();
    expect((await getJson(t.app, lbPath("rg1", "lb1"))).body).toBe(newest.body);
  });
});

describe("the kept answers are bounded by size", () => {
  const version = (n: number) => ({ uid: `u${n}`, etag: `e${n}`, provisioningState: "Succeeded" });

  it("evicts the least recently read first and never holds more than its budget", () => {
    const kept = new RenderedLoadBalancers(100);
    for (const [i, key] of ["a", "b", "c", "d"].entries()) kept.put(key, version(i), "x".repeat(25));
    kept.get("a");
    kept.put("e", version(5), "x".repeat(25));
    expect(kept.bytes).toBe(100);
    expect(kept.get("b")).toBeUndefined();
    expect(["a", "c", "d", "e"].map((k) => kept.get(k)?.body.length)).toEqual([25, 25, 25, 25]);
    kept.put("a", version(6), "x".repeat(10));
    expect(kept.bytes).toBe(85);
    expect(kept.get("a")?.version.uid).toBe("u6");
  });

  it("does not keep an answer bigger than a quarter of its budget, but still returns it", () => {
    const kept = new RenderedLoadBalancers(100);
    const entry = kept.put("big", version(1), "x".repeat(26));
    expect(entry.body.length).toBe(26);
    expect(kept.get("big")).toBeUndefined();
    expect(kept.bytes).toBe(0);
  });

  it("with no room (LBPLANE_READ_CACHE_MB=0) keeps nothing", () => {
    const kept = new RenderedLoadBalancers(0);
    expect(kept.put("a", version(1), "{}").body).toBe("{}");
    expect(kept.get("a")).toBeUndefined();
  });
});
