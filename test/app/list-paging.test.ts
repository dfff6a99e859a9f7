// Lists page in the database (keyset on name, then id): every resource that exists for the whole
// walk is listed exactly once, whatever is inserted or deleted between pages; a page never holds
// more than the cap; a garbled $skipToken is a 400, not a 500 or a silent restart.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armLoadBalancer, loadBalancerPath } from "../kit/bodies.js";
import { AUTH, NET, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";

const RG = "paging";
const pipBase = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/publicIPAddresses`;

describe("list paging", () => {
  let t: TestApp;
  const get = (url: string) => t.app.inject({ method: "GET", url, headers: AUTH });
  const putPip = (name: string) =>
    t.app.inject({ method: "PUT", url: `${pipBase}/${name}?${NET}`, headers: AUTH, payload: { location: "westeurope", sku: { name: "Standard" } } });
  const deletePip = (name: string) => t.app.inject({ method: "DELETE", url: `${pipBase}/${name}?${NET}`, headers: AUTH });

  /** Follows nextLink to the end; `between` runs after each page (the concurrent writers). */
  async function walk(firstUrl: string, between: (page: number) => Promise<void> = async () => {}) {
    const names: string[] = [];
    let url: string | undefined = firstUrl;
    for (let page = 0; url; page++) {
      const res = await get(url.replace(/^https?:\/\/[^/]+/, ""));
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { value: Array<{ name: string }>; nextLink?: string };
      names.push(...body.value.map((v) => v.name));
      url = body.nextLink;
      await between(page);
    }
    return names;
  }

  beforeAll(async () => {
    t = await createTestApp({}, { LBPLANE_PUBLIC_IP_POOL: "198.51.100.0/24" });
    expect((await t.app.inject({ method: "PUT", url: `/subscriptions/${SUB}/resourcegroups/${RG}?${RGV}`, headers: AUTH, payload: { location: "westeurope" } })).statusCode).toBe(201);
    for (let i = 0; i < 40; i++) expect((await putPip(`ip-${String(i).padStart(2, "0")}`)).statusCode).toBe(201);
  });
  afterAll(() => t.close());

  it("walks every public IP exactly once, in name order, $top at a time", async () => {
    const names = await walk(`${pipBase}?${NET}&$top=7`);
    expect(names).toEqual(Array.from({ length: 40 }, (_, i) => `ip-${String(i).padStart(2, "0")}`));
  });

  it("lists every survivor exactly once while others are inserted and deleted between pages", async () => {
    const survivors = new Set(Array.from({ length: 40 }, (_, i) => `ip-${String(i).padStart(2, "0")}`).filter((_, i) => i % 3 !== 0));
    const names = await walk(`${pipBase}?${NET}&$top=5`, async (page) => {
      // Inserts before and after the cursor, deletes of rows on both sides of it.
      await putPip(`ip-${String(page * 4).padStart(2, "0")}a`);
      await putPip(`a-new-${page}`);
      for (const i of [page * 3, 39 - page * 3]) if (i >= 0 && i < 40) await deletePip(`ip-${String(i).padStart(2, "0")}`);
    });
    expect(new Set(names).size).toBe(names.length); // nothing twice
    for (const name of survivors) expect(names, name).toContain(name);
  });

  it("pages load balancers in the database too, with a cap and an opaque token", async () => {
    for (const [i, name] of ["lb-b", "lb-a", "lb-c"].entries()) {
      await t.app.inject({ method: "PUT", url: `${pipBase}/vip-${name}?${NET}`, headers: AUTH, payload: { location: "westeurope", sku: { name: "Standard" } } });
      const body = armLoadBalancer(RG, name, {
        frontends: { fe: `vip-${name}` },
        backends: { vm: `10.0.0.${i + 4}` },
        probes: { probe: { port: 80 } },
        rules: [{ name: "rule", frontend: "fe", frontendPort: 80, backendPort: 80, probe: "probe" }],
      });
      expect((await t.app.inject({ method: "PUT", url: `${loadBalancerPath(RG, name)}?${NET}`, headers: AUTH, payload: body })).statusCode).toBe(201);
    }
    const first = (await get(`/subscriptions/${SUB}/providers/Microsoft.Network/loadBalancers?${NET}&$top=2`)).json();
    expect(first.value.map((l: { name: string }) => l.name)).toEqual(["lb-a", "lb-b"]);
    expect(first.nextLink).toMatch(/(\$|%24)skipToken=[A-Za-z0-9_-]+/);
    expect(await walk(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/loadBalancers?${NET}&$top=1`)).toEqual(["lb-a", "lb-b", "lb-c"]);
    // Over the cap: 100 at most per page.
    const capped = (await get(`${pipBase}?${NET}&$top=100000`)).json();
    expect(capped.value.length).toBeLessThanOrEqual(100);
  });

  it("refuses a garbled $skipToken or $top with a 400 ARM error", async () => {
    for (const query of ["$skipToken=not-a-token", "$skipToken=%7B%7D", `$skipToken=${Buffer.from("[1,2]").toString("base64url")}`, "$top=0", "$top=abc"]) {
      const res = await get(`${pipBase}?${NET}&${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe("InvalidParameter");
    }
  });
});
