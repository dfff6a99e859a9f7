// End-to-end tests of the nftables driver in network namespaces (root only; see test/helpers/netns.ts).
// The driver is driven directly with hand-built compiled load balancers, as lbplane-agent would.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { DriverRefusal } from "../../src/dataplane/driver.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { RULE_PRIORITY } from "../../src/dataplane/nftables/routing.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[nftables driver tests] SKIPPED: ${skipReason}`);

const VMS = [
  { name: "vm1", dip: ADDR.vm1 },
  { name: "vm2", dip: ADDR.vm2 },
];
const VIP3 = "203.0.113.3"; // default-rule-only frontend (not on the VMs' loopback)

function rule(name: string, vip: string, o: Partial<CompiledListener> = {}): CompiledListener {
  const floating = o.enableFloatingIP ?? false;
  const backendPort = o.backendPort ?? 80;
  const backends: CompiledBackend[] = VMS.map((v) => ({
    address: v.dip,
    destinationIPAddress: floating ? vip : v.dip,
    destinationPort: backendPort,
  }));
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: 80, backendPort,
    enableFloatingIP: floating, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    probe: "probe80", backends, ...o,
  };
}

function lb(name: string, listeners: CompiledListener[], version = "v1"): CompiledLoadBalancer {
  const probe = { name: "probe80", protocol: "Tcp" as const, port: 80, intervalInSeconds: 5, probeThreshold: 1,
    noHealthyBackendsBehavior: "AllProbedDown" as const, targets: VMS.map((v) => v.dip) };
  return { id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/${name}`, name, version,
    type: "Public", listeners, probes: [probe] };
}

const vmsOf = (bodies: string[]): Set<string> => new Set(bodies.map((b) => b.split(" ")[0]));
const destsOf = (bodies: string[]): Set<string> => new Set(bodies.map((b) => b.split(" ")[1]));

describe.skipIf(skipReason !== undefined)("nftables driver in network namespaces", () => {
  const lab = new Lab("lbn");
  let drv: NftablesDriver | undefined;
  const newDriver = (tableName = "lbplane_t"): NftablesDriver =>
    (drv = createNftablesDriver({ netns: lab.ns.lb, tableName }));

  beforeAll(async () => {
    await lab.create();
    for (const v of VMS) {
      const ns = v.name === "vm1" ? lab.ns.vm1 : lab.ns.vm2;
      // Same ports on both VIPs (floating: backend port reuse), DIP:81 for default rules, 9000/9001 for HA ports.
      await lab.backend(ns, v.name, [`${ADDR.vip1}:80`, `${ADDR.vip2}:80`, `${ADDR.vip2}:9000`, `${v.dip}:81`, `${v.dip}:9001`]);
    }
  }, 30_000);
  afterEach(async () => {
    await drv?.close(0);
    drv = undefined;
  });
  afterAll(() => lab.destroy());

  it("serves the seed's rule type #2: two floating IP rules on port 80, VIP kept as destination, spread over VMs", async () => {
    const d = newDriver();
    await d.apply(lb("seed2", [rule("rule1", ADDR.vip1, { enableFloatingIP: true }), rule("rule2", ADDR.vip2, { enableFloatingIP: true })]));
    for (const vip of [ADDR.vip1, ADDR.vip2]) {
      const bodies = await lab.get(vip, 80, 24);
      expect(bodies.every((b) => !b.startsWith("ERR"))).toBe(true);
      expect(destsOf(bodies)).toEqual(new Set([`${vip}:80`])); // arrived with destination VIP:80, not the DIP
      expect(vmsOf(bodies)).toEqual(new Set(["vm1", "vm2"])); // spread across VMs
    }
  });

  it("mixes a default rule (DNAT to DIP:81) and floating IP rules, including a port-changing one, on the same VMs", async () => {
    const d = newDriver();
    await d.apply(lb("mix", [
      rule("default1", ADDR.vip1, { backendPort: 81 }),
      rule("floating2", ADDR.vip2, { enableFloatingIP: true }),
      rule("floating2alt", ADDR.vip2, { enableFloatingIP: true, frontendPort: 8080, backendPort: 80 }),
    ]));
    const viaDefault = await lab.get(ADDR.vip1, 80, 16);
    for (const b of viaDefault) expect(b).toMatch(/^vm1 198\.51\.100\.2:81$|^vm2 198\.51\.100\.6:81$/);
    expect(vmsOf(viaDefault).size).toBe(2);
    const viaFloating = await lab.get(ADDR.vip2, 80, 16);
    expect(destsOf(viaFloating)).toEqual(new Set([`${ADDR.vip2}:80`]));
    const viaRewrite = await lab.get(ADDR.vip2, 8080, 8); // only the port is rewritten
    expect(destsOf(viaRewrite)).toEqual(new Set([`${ADDR.vip2}:80`]));
  });

  it("sends no new flows to a backend whose probe is down, by updating maps only", async () => {
    const d = newDriver();
    const l = lb("health", [rule("fl", ADDR.vip1, { enableFloatingIP: true }), rule("dn", VIP3, { backendPort: 81 })]);
    await d.apply(l);
    const handleBefore = await lab.exec(lab.ns.lb, "nft", ["-a", "list", "table", "ip", "lbplane_t"]);
    d.setHealth(l.id, "probe80", ADDR.vm1, false);
    await d.settled();
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 16))).toEqual(new Set(["vm2"]));
    expect(vmsOf(await lab.get(VIP3, 80, 16))).toEqual(new Set(["vm2"]));
    expect(d.status().find((s) => s.listener === "fl")!.backends.map((b) => b.up)).toEqual([false, true]);
    // Same table object: the chains kept their handles, only map elements changed.
    const handleAfter = await lab.exec(lab.ns.lb, "nft", ["-a", "list", "table", "ip", "lbplane_t"]);
    const chainHandles = (s: string) => s.split("\n").filter((x) => /^\s*(table|chain) /.test(x)).join("\n");
    expect(chainHandles(handleAfter)).toBe(chainHandles(handleBefore));

    d.setHealth(l.id, "probe80", ADDR.vm2, false); // all down (AllProbedDown): no new flows at all
    await d.settled();
    expect(await lab.get(ADDR.vip1, 80, 1)).toEqual([expect.stringMatching(/^ERR/)]);
    d.setHealth(l.id, "probe80", ADDR.vm1, true);
    d.setHealth(l.id, "probe80", ADDR.vm2, true);
    await d.settled();
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 16))).toEqual(new Set(["vm1", "vm2"]));
  });

  it("keeps established flows on their backend across re-apply and probe-down", async () => {
    const d = newDriver();
    const v1 = lb("sticky", [rule("fl", ADDR.vip1, { enableFloatingIP: true }), rule("dn", VIP3, { backendPort: 81 })]);
    await d.apply(v1);
    const conns = [lab.hold(ADDR.vip1, 80), lab.hold(VIP3, 80)];
    const first = await Promise.all(conns.map((c) => c.ask()));
    for (const f of first) expect(f).toMatch(/^vm[12] /);
    // New version: backend order reversed (every slot map changes) and an extra rule.
    const rev = (x: CompiledListener): CompiledListener => ({ ...x, backends: [...x.backends].reverse() });
    await d.apply({ ...v1, version: "v2", listeners: [...v1.listeners.map(rev), rule("extra", ADDR.vip2, { enableFloatingIP: true })] });
    expect(await Promise.all(conns.map((c) => c.ask()))).toEqual(first);
    // Probe down on the backend of the floating flow: established TCP flows continue (as in Azure Standard).
    d.setHealth(v1.id, "probe80", first[0].startsWith("vm1") ? ADDR.vm1 : ADDR.vm2, false);
    await d.settled();
    expect(await conns[0].ask()).toBe(first[0]);
    for (const c of conns) c.close();
  });

  it("forwards HA ports (All/0) with and without floating IP, and an inbound NAT rule, for TCP and UDP", async () => {
    const d = newDriver();
    await d.apply(lb("ha", [
      rule("haFloating", ADDR.vip2, { enableFloatingIP: true, protocol: "All", frontendPort: 0, backendPort: 0 }),
      rule("haDefault", VIP3, { protocol: "All", frontendPort: 0, backendPort: 0 }),
      { ...rule("nat1", ADDR.vip1, { frontendPort: 50001, backendPort: 81 }), kind: "InboundNatRule", probe: undefined,
        backends: [{ address: ADDR.vm2, destinationIPAddress: ADDR.vm2, destinationPort: 81 }] },
    ]));
    expect(destsOf(await lab.get(ADDR.vip2, 9000, 8))).toEqual(new Set([`${ADDR.vip2}:9000`]));
    expect(destsOf(await lab.udp(ADDR.vip2, 9000, 8))).toEqual(new Set([`${ADDR.vip2}:9000`]));
    const haTcp = await lab.get(VIP3, 9001, 12);
    for (const b of haTcp) expect(b).toMatch(/^vm1 198\.51\.100\.2:9001$|^vm2 198\.51\.100\.6:9001$/);
    expect(vmsOf(await lab.udp(VIP3, 9001, 12)).size).toBeGreaterThan(0);
    expect(await lab.get(ADDR.vip1, 50001, 3)).toEqual(Array(3).fill(`vm2 ${ADDR.vm2}:81`));
  });

  it("refuses what nft refuses with nft's message and keeps the previous rules forwarding", async () => {
    const d = newDriver();
    const good = lb("good", [rule("fl", ADDR.vip1, { enableFloatingIP: true })]);
    await d.apply(good);
    // Passes the TypeScript types, but nft refuses the port; the whole transaction is rolled back.
    const bad = lb("bad", [rule("r", ADDR.vip2, { frontendPort: 70000, backendPort: 81 })]);
    const err = await d.apply(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverRefusal);
    expect((err as Error).message).toMatch(/^nft refused the configuration: .*70000/s);
    // A second load balancer claiming the same frontend: nft refuses the duplicate map key.
    const dup = await d.apply(lb("dup", [rule("again", ADDR.vip1, { enableFloatingIP: true })])).catch((e: unknown) => e);
    expect((dup as Error).message).toMatch(/nft refused the configuration: .*File exists/s);
    expect(d.status().map((s) => s.listener)).toEqual(["fl"]);
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 12))).toEqual(new Set(["vm1", "vm2"]));
    // A version of the good one with a bad address is refused by check() (no DNS lookup by nft), and so
    // is a rule mixing IP families (an IPv6 frontend with IPv4 backends).
    expect(await d.check(lb("v6", [rule("r", "2001:db8::1")]))).toMatch(/not of the frontend 2001:db8::1's IP family/);
    await expect(d.apply({ ...good, version: "v2", listeners: [rule("fl", "203.0.113.999")] })).rejects.toThrow(/not an IP address/);
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 6)).size).toBeGreaterThan(0);
  });

  it("close() removes its table and policy routes; start removes a stale table and stale rules", async () => {
    const ourRules = async () =>
      (JSON.parse(await lab.exec(lab.ns.lb, "ip", ["-j", "rule", "show"])) as Array<{ priority: number }>).filter((r) => r.priority === RULE_PRIORITY);
    // Leftovers of a killed agent: a table with a junk chain, a rule and a route table in lbplane's range.
    await lab.exec(lab.ns.lb, "nft", ["-f", "-"], "table ip lbplane_s {\n chain junk {\n  type filter hook prerouting priority 0; policy drop;\n }\n}\n");
    await lab.exec(lab.ns.lb, "ip", ["-batch", "-"], `route add default via ${ADDR.vm1} table ${0x4c42fff0}\nrule add priority ${RULE_PRIORITY} fwmark 0x4c42fff0 table ${0x4c42fff0}\n`);
    const d = newDriver("lbplane_s");
    await d.apply(lb("fresh", [rule("fl", ADDR.vip1, { enableFloatingIP: true })]));
    const listing = await lab.exec(lab.ns.lb, "nft", ["list", "table", "ip", "lbplane_s"]);
    expect(listing).not.toContain("junk");
    expect((await ourRules()).map((r) => (r as { fwmark?: string }).fwmark)).toEqual(["0x4c420001", "0x4c420002"]);
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 8)).size).toBeGreaterThan(0);

    await d.close(0);
    expect(await lab.exec(lab.ns.lb, "nft", ["list", "tables"])).not.toContain("lbplane_s");
    expect(await ourRules()).toEqual([]);
    expect(await lab.exec(lab.ns.lb, "ip", ["route", "show", "table", String(0x4c420001)]).catch(() => "")).toBe("");
    expect(await lab.get(ADDR.vip1, 80, 1)).toEqual([expect.stringMatching(/^ERR/)]);
  });
});
