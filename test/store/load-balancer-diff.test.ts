// An update writes only the child rows and claims that changed. Whatever it skips, the result must
// be exactly what creating the load balancer from scratch with the same body stores.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, createTestApp, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, getJson, lbPath, pipId, putLb } from "../helpers/seed.js";

const ID = lbPath("rg1", "lb");
const ref = (collection: string, name: string) => ({ id: `${ID}/${collection}/${name}` });
const pool = (name: string, ips: string[]) => ({
  name,
  properties: { loadBalancerBackendAddresses: ips.map((ip, i) => ({ name: `${name}-vm${i}`, properties: { ipAddress: ip } })) },
});
const rule = (name: string, fe: string, p: string, frontendPort: number, backendPort: number, floating = false) => ({
  name,
  properties: {
    frontendIPConfiguration: ref("frontendIPConfigurations", fe), backendAddressPool: ref("backendAddressPools", p),
    probe: ref("probes", "probe"), protocol: "Tcp", frontendPort, backendPort, enableFloatingIP: floating,
  },
});
const lb = (frontends: Array<[string, string]>, pools: unknown[], rules: unknown[]) => ({
  location: "westeurope",
  sku: { name: "Standard" },
  properties: {
    frontendIPConfigurations: frontends.map(([name, pip]) => ({ name, properties: { publicIPAddress: { id: pipId("rg1", pip) } } })),
    backendAddressPools: pools,
    probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
    loadBalancingRules: rules,
  },
});

const STEPS = [
  lb([["fe1", "vip1"], ["fe2", "vip2"]], [pool("p1", ["10.0.0.4", "10.0.0.5"]), pool("p2", ["10.0.1.4"])],
    [rule("r1", "fe1", "p1", 80, 80), rule("r2", "fe2", "p2", 80, 81)]),
  // A frontend moves to another public IP.
  lb([["fe1", "vip1"], ["fe2", "vip3"]], [pool("p1", ["10.0.0.4", "10.0.0.5"]), pool("p2", ["10.0.1.4"])],
    [rule("r1", "fe1", "p1", 80, 80), rule("r2", "fe2", "p2", 80, 81)]),
  // One address changes, one is added, one rule's backend port moves.
  lb([["fe1", "vip1"], ["fe2", "vip3"]], [pool("p1", ["10.0.0.4", "10.0.0.6"]), pool("p2", ["10.0.1.4", "10.0.1.5"])],
    [rule("r1", "fe1", "p1", 80, 80), rule("r2", "fe2", "p2", 80, 82)]),
  // A pool and its rule go away; a rule is renamed in case only; frontends are reordered.
  lb([["fe2", "vip3"], ["fe1", "vip1"]], [pool("p1", ["10.0.0.4", "10.0.0.6"])], [rule("R1", "fe1", "p1", 80, 80)]),
  // Pools reordered and a new one with a floating rule; an address shrinks away.
  lb([["fe2", "vip3"], ["fe1", "vip1"]], [pool("p3", ["10.0.2.4", "10.0.2.5"]), pool("p1", ["10.0.0.4"])],
    [rule("R1", "fe1", "p1", 80, 80), rule("r3", "fe2", "p3", 443, 443, true), rule("r4", "fe1", "p3", 8080, 443, true)]),
];

describe("updating a load balancer writes only what changed", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip1", "65.52.0.1");
    await createPublicIp(t.app, "rg1", "vip2", "65.52.0.2");
    await createPublicIp(t.app, "rg1", "vip3", "65.52.0.3");
  });
  afterAll(() => t.close());

  /** What the API and the claim tables hold for the load balancer, without per-write ids. */
  async function snapshot() {
    const res = await getJson(t.app, ID);
    expect(res.statusCode, res.body).toBe(200);
    const { etag: _etag, properties, ...rest } = res.json();
    const { resourceGuid: _guid, ...props } = properties;
    const strip = (rows: Array<Record<string, unknown>>) =>
      rows.map(({ id: _id, load_balancer_id: _lb, ...r }) => JSON.stringify(r)).sort();
    const dest = await t.db.$queryRawUnsafe<Array<Record<string, unknown>>>("SELECT * FROM destination_claims");
    const fe = await t.db.$queryRawUnsafe<Array<Record<string, unknown>>>("SELECT * FROM frontend_claims");
    const addresses = await t.db.backendAddress.count();
    return { rest, props: JSON.parse(JSON.stringify(props, (k, v) => (k === "etag" ? undefined : v))), dest: strip(dest), fe: strip(fe), addresses };
  }

  it("each step equals a fresh create of the same body", async () => {
    const first = await putLb(t.app, "rg1", "lb", STEPS[0]);
    expect(first.statusCode, first.body).toBe(201);
    for (const step of STEPS.slice(1)) {
      const res = await putLb(t.app, "rg1", "lb", step);
      expect(res.statusCode, res.body).toBe(200);
      const updated = await snapshot();
      const del = await t.app.inject({ method: "DELETE", url: `${ID}?${NET}`, headers: AUTH });
      expect(del.statusCode).toBeLessThan(300);
      const created = await putLb(t.app, "rg1", "lb", step);
      expect(created.statusCode, created.body).toBe(201);
      expect(updated).toEqual(await snapshot());
    }
  });

  it("an identical PUT keeps every child row and claim and still answers 200 with a new etag", async () => {
    const rowIds = async () => ({
      children: (await t.db.$queryRawUnsafe<Array<{ id: string }>>(
        "SELECT id FROM frontend_ip_configurations UNION ALL SELECT id FROM backend_addresses UNION ALL SELECT id FROM load_balancing_rules ORDER BY 1")).map((r) => r.id),
      claims: (await t.db.$queryRawUnsafe<Array<{ id: bigint }>>("SELECT id FROM destination_claims ORDER BY 1")).map((r) => String(r.id)),
    });
    const step = STEPS[STEPS.length - 1];
    const before = await rowIds();
    const etag = (await getJson(t.app, ID)).json().etag;
    const res = await putLb(t.app, "rg1", "lb", step);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().etag).not.toBe(etag);
    expect(await rowIds()).toEqual(before);
  });
});
