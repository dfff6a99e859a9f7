// The document a write keeps of a large load balancer (src/store/written-documents.ts) must never
// stand in for a newer one: the database compares (id, etag) on every write. Checked with two
// lbplane replicas on one database — the other replica's write, a tags PATCH, a delete and
// re-create all make the copy stale — and the copy itself must read back as the database's document.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { composeLbplane, type Lbplane } from "../../src/lbplane.js";
import { findLoadBalancer, toStored, type Row } from "../../src/store/load-balancers.store.js";
import { poolOf } from "../../src/store/prisma.js";
import { TokenStore } from "../../src/store/tokens.js";
import { documentKey, KEEP_FROM_CHILD_ROWS, writtenDocumentsOf } from "../../src/store/written-documents.js";
import { ADMIN_TOKEN, AUTH, NET, startTestLbplane, type TestLbplane } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, lbPath, putLb } from "../helpers/seed.js";
import { armLoadBalancer, SUB } from "../kit/bodies.js";

const BACKENDS = KEEP_FROM_CHILD_ROWS + 200;

/** A public load balancer with enough backends for its document to be kept. */
function bigLb(rules: string[]) {
  const backends = Object.fromEntries(Array.from({ length: BACKENDS }, (_, i) => [`vm${i}`, `10.2.${i >> 8}.${i & 255}`]));
  return armLoadBalancer("rg", "big", {
    frontends: { fe: "vip" },
    backends,
    probes: { tcp: { port: 80 } },
    rules: rules.map((name, i) => ({ name, frontend: "fe", frontendPort: 80 + i, backendPort: 8080 + i, probe: "tcp" })),
  });
}

// Child writes go through inbound NAT rules (Azure has no PUT for a single load-balancing rule).
const natBody = (fp: number) => ({
  properties: {
    frontendIPConfiguration: { id: `${lbPath("rg", "big")}/frontendIPConfigurations/fe` },
    protocol: "Tcp", frontendPort: fp, backendPort: 22, backendIPAddress: `10.2.0.${fp - 2000}`,
  },
});

describe("the document a write keeps of a large load balancer", () => {
  let a: TestLbplane;
  let b: Lbplane;

  beforeAll(async () => {
    a = await startTestLbplane({});
    const tokens = new TokenStore();
    tokens.add(ADMIN_TOKEN, { name: "admin" });
    b = await composeLbplane({
      config: loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-test-unused" }), databaseUrl: a.database.url, tokens, logger: false,
      poolSize: 3, controlLoops: false,
    });
    await createResourceGroup(a.app, "rg");
    await createPublicIp(a.app, "rg", "vip", "203.0.113.40");
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const kept = (l: { db: TestLbplane["db"] }) => writtenDocumentsOf(poolOf(l.db)).get(documentKey(SUB, "rg", "big"));
  const ruleNames = async (app: TestLbplane["app"]) => {
    const res = await app.inject({ method: "GET", url: `${lbPath("rg", "big")}?${NET}`, headers: AUTH });
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json().properties as { loadBalancingRules: Array<{ name: string }>; inboundNatRules: Array<{ name: string }> };
    return [...p.loadBalancingRules, ...p.inboundNatRules].map((r) => r.name).sort();
  };
  const putRule = (app: TestLbplane["app"], name: string, fp: number) =>
    app.inject({ method: "PUT", url: `${lbPath("rg", "big")}/inboundNatRules/${name}?${NET}`, headers: AUTH, payload: natBody(2000 + fp) });

  it("reads back as the database's own document", async () => {
    const res = await putLb(a.app, "rg", "big", bigLb(["web"]));
    expect(res.statusCode, res.body).toBe(201);
    const copy = kept(a);
    expect(copy?.etag).toBe(res.json().etag);
    const rg = (await a.db.resourceGroup.findFirstOrThrow({ where: { name: "rg" } })).id;
    const fromDb = await findLoadBalancer(a.db, rg, "big");
    const fromCopy = toStored({ ...(JSON.parse(copy!.text) as Row), provisioning_state: fromDb!.provisioningState, generation: String(fromDb!.generation) });
    expect(fromCopy).toEqual(fromDb);
  });

  it("a write from the copy keeps what another replica wrote meanwhile", async () => {
    const before = kept(a)!.etag;
    const fromB = await putRule(b.app as never, "from-b", 90);
    expect(fromB.statusCode, fromB.body).toBeLessThan(300);
    // Replica A still holds its copy, now stale: its next write must start from B's document.
    expect(kept(a)?.etag).toBe(before);
    const res = await putRule(a.app, "from-a", 91);
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect(await ruleNames(a.app)).toEqual(["from-a", "from-b", "web"]);
    expect(kept(a)?.etag).not.toBe(before);
    // And a whole-body PUT from a stale copy would not delete what only the database has.
    expect((await putRule(b.app as never, "from-b2", 89)).statusCode).toBeLessThan(300);
    const whole = await a.app.inject({ method: "GET", url: `${lbPath("rg", "big")}?${NET}`, headers: AUTH });
    const body = whole.json();
    body.properties.inboundNatRules = body.properties.inboundNatRules.filter((n: { name: string }) => n.name !== "from-b2");
    expect((await putRule(b.app as never, "from-b3", 88)).statusCode).toBeLessThan(300);
    const put = await putLb(a.app, "rg", "big", body);
    expect(put.statusCode, put.body).toBe(200);
    expect(await ruleNames(a.app)).toEqual(["from-a", "from-b", "web"]);
  });

  it("a tags PATCH (a new etag) makes the copy stale too", async () => {
    const patched = await a.app.inject({ method: "PATCH", url: `${lbPath("rg", "big")}?${NET}`, headers: AUTH, payload: { tags: { env: "test" } } });
    expect(patched.statusCode, patched.body).toBe(200);
    const res = await putRule(a.app, "after-patch", 92);
    expect(res.statusCode, res.body).toBeLessThan(300);
    const got = await a.app.inject({ method: "GET", url: `${lbPath("rg", "big")}?${NET}`, headers: AUTH });
    expect(got.json().tags).toEqual({ env: "test" });
    expect(await ruleNames(a.app)).toEqual(["after-patch", "from-a", "from-b", "web"]);
  });

  it("consecutive writes from the copy change exactly what they say", async () => {
    for (const [name, fp] of [["c1", 93], ["c2", 94]] as const) expect((await putRule(a.app, name, fp)).statusCode).toBeLessThan(300);
    const del = await a.app.inject({ method: "DELETE", url: `${lbPath("rg", "big")}/inboundNatRules/c1?${NET}`, headers: AUTH });
    expect(del.statusCode).toBeLessThan(300);
    expect(await ruleNames(a.app)).toEqual(["after-patch", "c2", "from-a", "from-b", "web"]);
    expect(await ruleNames(b.app as never)).toEqual(["after-patch", "c2", "from-a", "from-b", "web"]);
  });

  it("a deleted and re-created load balancer is not mistaken for the copy", async () => {
    const del = await b.app.inject({ method: "DELETE", url: `${lbPath("rg", "big")}?${NET}`, headers: AUTH });
    expect(del.statusCode).toBeLessThan(300);
    expect((await putLb(b.app as never, "rg", "big", bigLb(["fresh"]))).statusCode).toBe(201);
    const res = await putRule(a.app, "next", 95);
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect(await ruleNames(a.app)).toEqual(["fresh", "next"]);
  });

  it("a small load balancer is not kept", async () => {
    const res = await putLb(a.app, "rg", "small", armLoadBalancer("rg", "small", {
      frontends: { fe: "vip2" }, backends: { vm: "10.3.0.1" }, probes: { tcp: { port: 80 } }, rules: [],
    }));
    expect(res.statusCode).toBeLessThan(500);
    expect(writtenDocumentsOf(poolOf(a.db)).get(documentKey(SUB, "rg", "small"))).toBeUndefined();
  });
});
