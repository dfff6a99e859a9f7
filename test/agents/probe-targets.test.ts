// Health intake's view of what a location's agents were sent (src/services/probe-targets.ts) is kept
// up to date by deltas: after a write only the written load balancer is compiled again, a deletion
// (also one with its resource group) drops it, and a load balancer created again under the same
// name is the new one.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeTargetsOf } from "../../src/services/probe-targets.js";
import { AUTH, NET, RGV, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, lbPath, rgPath } from "../helpers/seed.js";
import { until } from "../kit/wait.js";
import { prepareNetwork, simpleLb, writeLb } from "./harness.js";

const dipsOf = async (t: TestApp, rg: string, name: string) => {
  const lb = (await probeTargetsOf(t.db, "westeurope")).get(lbPath(rg, name).toLowerCase());
  return lb && { uid: lb.uid, dips: [...(lb.probes.get("probe") ?? [])].sort() };
};

describe("probe targets of a location follow its writes incrementally", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    await prepareNetwork(t);
  });
  afterAll(() => t.close());

  it("a write recompiles only the written load balancer; the others keep their compiled targets", async () => {
    const web = await writeLb(t, "rg1", "web", simpleLb("rg1", "web", 80));
    await writeLb(t, "rg1", "api", simpleLb("rg1", "api", 81, "vip2"));
    expect(await dipsOf(t, "rg1", "web")).toEqual({ uid: web.uid, dips: ["10.0.0.4", "10.0.0.5"] });
    const before = await probeTargetsOf(t.db, "westeurope");
    const apiBefore = before.get(lbPath("rg1", "api").toLowerCase());

    await writeLb(t, "rg1", "web", simpleLb("rg1", "web", 80, "vip1", ["10.0.0.6"]));
    expect(await dipsOf(t, "rg1", "web")).toEqual({ uid: web.uid, dips: ["10.0.0.6"] });
    // The same object: "api" was not compiled again for a write to "web".
    expect((await probeTargetsOf(t.db, "westeurope")).get(lbPath("rg1", "api").toLowerCase())).toBe(apiBefore);
  });

  it("a deleted load balancer is dropped, and one created again under its name is the new one", async () => {
    const api = await dipsOf(t, "rg1", "api");
    expect(api).toBeDefined();
    expect((await t.app.inject({ method: "DELETE", url: `${lbPath("rg1", "api")}?${NET}`, headers: AUTH })).statusCode).toBeLessThan(300);
    expect(await dipsOf(t, "rg1", "api")).toBeUndefined();

    const again = await writeLb(t, "rg1", "api", simpleLb("rg1", "api", 81, "vip2", ["10.0.0.9"]));
    expect(again.uid).not.toBe(api?.uid);
    expect(await dipsOf(t, "rg1", "api")).toEqual({ uid: again.uid, dips: ["10.0.0.9"] });
  });

  it("load balancers deleted with their resource group are dropped too", async () => {
    await createResourceGroup(t.app, "rg2");
    await createPublicIp(t.app, "rg2", "vip1", "65.52.0.21");
    await writeLb(t, "rg2", "gone", simpleLb("rg2", "gone", 82, "vip1", ["10.0.0.7"]));
    expect(await dipsOf(t, "rg2", "gone")).toBeDefined();
    const res = await t.app.inject({ method: "DELETE", url: `${rgPath("rg2")}?${RGV}`, headers: AUTH });
    expect(res.statusCode, res.body).toBeLessThan(300);
    await until("the resource group's load balancers to go", async () => (await t.db.loadBalancer.count({ where: { nameKey: "gone" } })) === 0, 10_000);
    expect(await dipsOf(t, "rg2", "gone")).toBeUndefined();
    expect((await dipsOf(t, "rg1", "web"))?.dips).toEqual(["10.0.0.6"]);
  });
});
