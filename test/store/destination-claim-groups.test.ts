// Destination claims stored as one group per rule over a backend set (migration
// destination_claim_sets): the expanded view holds exactly the per-VM claims the domain derives, a
// change rewrites only the rules it touched, a set nobody uses goes, the law across load balancers
// still finds a collision through a shared pool member, and claims stored before the migration come
// out of it unchanged; and the database's own check refuses a double claim the domain did not see.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveClaims, expandDestinationClaims } from "../../src/domain/claims.js";
import { applyDefaults } from "../../src/domain/defaults.js";
import { migrate } from "../../src/store/migrator.js";
import { AUTH, NET } from "../helpers/app.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { createResourceGroup, lbPath, putLb } from "../helpers/seed.js";
import { SUB } from "../kit/bodies.js";

interface Pool {
  name: string;
  ips: string[];
}
interface Rule {
  name: string;
  pool: string;
  fp: number;
  bp: number;
  floating?: boolean;
  protocol?: "Tcp" | "Udp" | "All";
}

/** An internal Standard load balancer with named pools, rules, and a pool-based NAT rule when asked. */
function internalLb(name: string, vip: string, pools: Pool[], rules: Rule[], nat?: { pool: string; start: number; bp: number }) {
  const id = lbPath("rg", name);
  return {
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: [{ name: "fe", properties: { privateIPAddress: vip, privateIPAllocationMethod: "Static" } }],
      backendAddressPools: pools.map((p) => ({
        name: p.name,
        properties: { loadBalancerBackendAddresses: p.ips.map((ip, i) => ({ name: `${p.name}-vm${i}`, properties: { ipAddress: ip } })) },
      })),
      loadBalancingRules: rules.map((r) => ({
        name: r.name,
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` },
          backendAddressPool: { id: `${id}/backendAddressPools/${r.pool}` },
          protocol: r.protocol ?? "Tcp", frontendPort: r.fp, backendPort: r.bp, enableFloatingIP: r.floating ?? false,
        },
      })),
      inboundNatRules: nat
        ? [{
            name: "ssh",
            properties: {
              frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` },
              backendAddressPool: { id: `${id}/backendAddressPools/${nat.pool}` },
              protocol: "Tcp", frontendPortRangeStart: nat.start, frontendPortRangeEnd: nat.start + 99, backendPort: nat.bp,
            },
          }]
        : [],
    },
  };
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}.${i + 1}`);

type ClaimRow = { backend_address: string; destination_ip: string; protocol: string; port_low: number; port_high: number; owner: string };
const key = (r: ClaimRow) => `${r.owner}|${r.backend_address}|${r.destination_ip}|${r.protocol}|${r.port_low}-${r.port_high}`;

describe("destination claims as groups over backend sets", () => {
  let t: TestApp;
  const big = internalLb(
    "big", "10.9.0.1",
    [{ name: "web", ips: range("10.1.0", 40) }, { name: "db", ips: range("10.1.1", 10) }, { name: "both", ips: [...range("10.1.0", 5), ...range("10.1.1", 5)] }],
    [
      { name: "http", pool: "web", fp: 80, bp: 8080 },
      { name: "https", pool: "web", fp: 443, bp: 8443 },
      { name: "float", pool: "web", fp: 81, bp: 8080, floating: true },
      { name: "sql", pool: "db", fp: 1433, bp: 1433, protocol: "All" },
      { name: "mixed", pool: "both", fp: 90, bp: 9090 },
    ],
    { pool: "web", start: 50000, bp: 22 },
  );

  async function rows(sql: string, values: unknown[] = []) {
    const c = new pg.Client({ connectionString: t.database.url });
    await c.connect();
    try {
      return (await c.query(sql, values)).rows;
    } finally {
      await c.end();
    }
  }
  const viewOf = async (name: string) =>
    ((await rows(`SELECT c.* FROM destination_claims c JOIN load_balancers lb ON lb.id = c.load_balancer_id WHERE lb.name = $1`, [name])) as ClaimRow[])
      .map(key).sort();

  beforeAll(async () => {
    t = await createTestApp();
    await createResourceGroup(t.app, "rg");
  });
  afterAll(() => t.close());

  it("stores one group per rule and destination and each backend set once; the view expands to the domain's claims", async () => {
    const res = await putLb(t.app, "rg", "big", big);
    expect(res.statusCode, res.body).toBe(201);
    const address = { subscriptionId: SUB, resourceGroup: "rg", name: "big" };
    const derived = expandDestinationClaims(deriveClaims(applyDefaults(big as never, address), { address, publicIps: new Map() }).destination);
    expect(await viewOf("big")).toEqual(derived.map((d) => key({
      owner: d.owner, backend_address: d.backendAddress, destination_ip: d.destinationIp, protocol: d.protocol, port_low: d.portLow, port_high: d.portHigh,
    })).sort());
    // http, https, float, ssh (pool web); sql Tcp + Udp (db); mixed (both) = 7 groups over 3 sets.
    const [{ groups, sets, members }] = await rows(`
      SELECT (SELECT count(*) FROM destination_claim_groups)::int AS groups,
             (SELECT count(DISTINCT set_key) FROM destination_claim_members)::int AS sets,
             (SELECT count(*) FROM destination_claim_members)::int AS members`);
    expect({ groups, sets, members }).toEqual({ groups: 7, sets: 3, members: 40 + 10 + 10 });
  });

  it("a one-rule change rewrites that rule's group only; a set no rule uses any more is deleted", async () => {
    const before = await rows(`SELECT id, owner FROM destination_claim_groups ORDER BY id`);
    const changed = structuredClone(big);
    changed.properties.loadBalancingRules[0].properties.backendPort = 8081; // http
    changed.properties.loadBalancingRules.pop(); // mixed: the only user of set "both"
    const res = await putLb(t.app, "rg", "big", changed);
    expect(res.statusCode, res.body).toBe(200);
    const after = await rows(`SELECT id, owner FROM destination_claim_groups ORDER BY id`);
    const untouched = before.filter((r) => r.owner !== "http" && r.owner !== "mixed");
    expect(after.filter((r) => r.owner !== "http")).toEqual(untouched);
    expect(after.filter((r) => r.owner === "mixed")).toEqual([]);
    expect((await rows(`SELECT count(DISTINCT set_key)::int AS n FROM destination_claim_members`))[0].n).toBe(2);
    expect((await viewOf("big")).filter((k) => k.startsWith("http|"))).toEqual(range("10.1.0", 40).map((ip) => `http|${ip}|${ip}|Tcp|8081-8081`).sort());
  });

  it("another load balancer delivering to one member of a 40-address set collides through the set", async () => {
    const other = internalLb("small", "10.9.0.2", [{ name: "p", ips: ["10.1.0.17"] }], [{ name: "web", pool: "p", fp: 80, bp: 8443 }]);
    const res = await putLb(t.app, "rg", "small", other);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe("RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig");
    expect(res.json().error.message).toContain("https of load balancer big");
    // Port 8080 is free on that VM since http moved to 8081; floating rule "float" claims VIP:8080, not DIP:8080.
    other.properties.loadBalancingRules[0].properties.backendPort = 8080;
    const ok = await putLb(t.app, "rg", "small", other);
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it("the database itself refuses a double claim the domain did not see (a writer holding the locks, checking last)", async () => {
    const c = new pg.Client({ connectionString: t.database.url });
    await c.connect();
    try {
      await c.query("BEGIN");
      const [{ id }] = (await c.query(`SELECT id FROM load_balancers WHERE name = 'small'`)).rows;
      // "small" claims DIP:8443 on 10.1.0.17, which rule https of "big" already delivers to.
      await c.query(`INSERT INTO destination_claim_members VALUES ($1, 'forged', (SELECT scope FROM destination_claim_members WHERE backend_address = '10.1.0.17' LIMIT 1), '10.1.0.17')`, [id]);
      await c.query(`INSERT INTO destination_claim_groups (load_balancer_id, subscription_id, set_key, destination_ip, protocol, port_low, port_high, enable_floating_ip, owner, owner_kind)
                     VALUES ($1, $2, 'forged', NULL, 'Tcp', 8443, 8443, false, 'forged', 'LoadBalancingRule')`, [id, SUB]);
      const err = await c.query("SELECT lbplane_check_destination_claims($1::uuid)", [id]).then(() => undefined, (e: { code?: string; message: string }) => e);
      expect(err?.code, err?.message).toBe("23P01");
      expect(err?.message).toContain("forged");
    } finally {
      await c.query("ROLLBACK").catch(() => {});
      await c.end();
    }
    // Its own claims alone pass.
    const [{ id }] = await rows(`SELECT id FROM load_balancers WHERE name = 'small'`);
    await expect(rows("SELECT lbplane_check_destination_claims($1::uuid)", [id])).resolves.toBeDefined();
  });

  it("adding to a pool an address another load balancer already delivers to on that port is refused", async () => {
    const grown = structuredClone(big);
    grown.properties.loadBalancingRules[0].properties.backendPort = 8080; // http back to DIP:8080, which "small" holds on 10.1.0.17
    const res = await putLb(t.app, "rg", "big", grown);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.message).toContain("load balancer small");
  });

  it("deleting a load balancer takes its groups and sets along", async () => {
    const del = await t.app.inject({ method: "DELETE", url: `${lbPath("rg", "big")}?${NET}`, headers: AUTH });
    expect(del.statusCode).toBeLessThan(300);
    const left = await rows(`SELECT count(*)::int AS n FROM destination_claim_members m JOIN load_balancers lb ON lb.id = m.load_balancer_id WHERE lb.name = 'big'`);
    expect(left[0].n).toBe(0);
    expect(await viewOf("big")).toEqual([]);
  });

  it("claims stored one row per (rule, backend) before the migration come out of it as the same claims", async () => {
    const again = structuredClone(big);
    again.properties.loadBalancingRules[0].properties.backendPort = 8081; // beside "small", which holds DIP:8080 on one VM
    expect((await putLb(t.app, "rg", "big", again)).statusCode).toBe(201);
    const want = { big: await viewOf("big"), small: await viewOf("small") };
    // Put the database back in its pre-migration shape, holding these claims as rows, and migrate again.
    await rows(`
      CREATE TABLE old_claims AS SELECT * FROM destination_claims;
      DROP VIEW destination_claims;
      DROP TABLE destination_claim_groups;
      DROP TABLE destination_claim_members;
      CREATE TABLE destination_claims (
        id BIGSERIAL PRIMARY KEY, load_balancer_id UUID NOT NULL REFERENCES load_balancers(id) ON DELETE CASCADE,
        subscription_id TEXT NOT NULL, scope TEXT NOT NULL, backend_address TEXT NOT NULL, destination_ip TEXT NOT NULL,
        protocol TEXT NOT NULL, port_low INTEGER NOT NULL, port_high INTEGER NOT NULL, enable_floating_ip BOOLEAN NOT NULL,
        owner TEXT NOT NULL, owner_kind TEXT NOT NULL);
      INSERT INTO destination_claims (load_balancer_id, subscription_id, scope, backend_address, destination_ip, protocol, port_low,
                                      port_high, enable_floating_ip, owner, owner_kind)
        SELECT load_balancer_id, subscription_id, scope, backend_address, destination_ip, protocol, port_low, port_high,
               enable_floating_ip, owner, owner_kind FROM old_claims;
      DROP TABLE old_claims;
      DELETE FROM _prisma_migrations WHERE migration_name = '20261128092000_destination_claim_sets';`);
    expect(await migrate(t.database.url)).toEqual(["20261128092000_destination_claim_sets"]);
    expect({ big: await viewOf("big"), small: await viewOf("small") }).toEqual(want);
    // And the migrated groups diff like any others: a change after the migration leaves no stale set.
    const changed = structuredClone(again);
    changed.properties.loadBalancingRules.pop();
    expect((await putLb(t.app, "rg", "big", changed)).statusCode).toBe(200);
    expect((await viewOf("big")).some((k) => k.startsWith("mixed|"))).toBe(false);
    const orphans = await rows(`
      SELECT count(*)::int AS n FROM destination_claim_members m
      WHERE NOT EXISTS (SELECT 1 FROM destination_claim_groups g WHERE g.load_balancer_id = m.load_balancer_id AND g.set_key = m.set_key)`);
    expect(orphans[0].n).toBe(0);
  });
});
