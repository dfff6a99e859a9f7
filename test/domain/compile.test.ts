// What agents receive, the mapping table users see, and the back-references GET returns.

import { describe, expect, it } from "vitest";
import {
  applyDefaults, compileLoadBalancer, effectiveMappings, loadBalancerId, validateLoadBalancer, withBackReferences,
} from "../../src/domain/index.js";
import { bigLb } from "./big-lb.js";
import { addr, buildLb, noClaims, publicIps, type LbInput } from "../kit/specs.js";

const pips = publicIps({ vip1: "65.52.0.1", vip2: "65.52.0.2" });
const ctx = { address: addr(), publicIps: pips };
const floatingLb: LbInput = {
  frontends: { fe1: { pip: "vip1" }, fe2: { pip: "vip2" } },
  pools: { pool: ["10.0.0.5", "10.0.0.4"] },
  probes: [{ name: "p", port: 8080 }],
  rules: [
    { name: "rule1", fe: "fe1", pool: "pool", fp: 80, bp: 80, floating: true, probe: "p" },
    { name: "rule2", fe: "fe2", pool: "pool", fp: 80, bp: 80, floating: true, probe: "p" },
  ],
  nat: [{ name: "ssh", fe: "fe1", bp: 22, pool: "pool", range: [50000, 50009] }],
};
const spec = () => applyDefaults(buildLb(floatingLb), addr());

describe("compileLoadBalancer", () => {
  it("floating rules deliver to the VIP on each VM, probes go to the DIPs", () => {
    const c = compileLoadBalancer(spec(), ctx);
    expect(c.type).toBe("Public");
    expect(c.listeners.find((l) => l.name === "rule1")).toMatchObject({
      frontendIPAddress: "65.52.0.1", protocol: "Tcp", frontendPort: 80, backendPort: 80, enableFloatingIP: true, probe: "p",
      backends: [
        { address: "10.0.0.4", destinationIPAddress: "65.52.0.1", destinationPort: 80 },
        { address: "10.0.0.5", destinationIPAddress: "65.52.0.1", destinationPort: 80 },
      ],
    });
    expect(c.probes).toEqual([{ name: "p", protocol: "Tcp", port: 8080, intervalInSeconds: 15, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown", targets: ["10.0.0.4", "10.0.0.5"] }]);
  });

  it("a pool-based NAT rule maps frontendPortRangeStart + i to the i-th address of the pool", () => {
    const nat = compileLoadBalancer(spec(), ctx).listeners.filter((l) => l.kind === "InboundNatRule");
    expect(nat.map((l) => [l.frontendPort, l.backends[0].address, l.backends[0].destinationPort])).toEqual([
      [50000, "10.0.0.5", 22], [50001, "10.0.0.4", 22],
    ]);
  });

  it("the version is a content hash: stable, independent of rule order, changed by content", () => {
    const a = compileLoadBalancer(spec(), ctx).version;
    const reordered = spec();
    reordered.properties.loadBalancingRules!.reverse();
    expect(compileLoadBalancer(reordered, ctx).version).toBe(a);
    const changed = spec();
    changed.properties.loadBalancingRules![0].properties.backendPort = 81;
    expect(compileLoadBalancer(changed, ctx).version).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it("HA ports compile to protocol All, port 0, keeping the packet's port", () => {
    const s = applyDefaults(buildLb({ frontends: { fe: "10.1.0.10" }, pools: { nva: ["10.1.1.4"] }, rules: [{ name: "all", fe: "fe", pool: "nva", protocol: "All", fp: 0, bp: 0 }] }), addr());
    expect(compileLoadBalancer(s, { address: addr(), publicIps: new Map() }).listeners[0]).toMatchObject({
      protocol: "All", frontendPort: 0, backendPort: 0, backends: [{ address: "10.1.1.4", destinationIPAddress: "10.1.1.4", destinationPort: 0 }],
    });
  });
});

describe("effectiveMappings", () => {
  it("reports probe health per DIP, one row per NAT mapping", () => {
    const rows = effectiveMappings(spec(), ctx, (probe, dip) => (dip === "10.0.0.4" ? "Up" : "Down"));
    expect(rows.map((r) => `${r.rule} ${r.frontendIPAddress}:${r.frontendPort}`)).toEqual([
      "rule1 65.52.0.1:80", "rule2 65.52.0.2:80", "ssh 65.52.0.1:50000", "ssh 65.52.0.1:50001",
    ]);
    expect(rows[0].destinations).toEqual([
      { backendAddress: "10.0.0.5", destinationIPAddress: "65.52.0.1", destinationPort: 80, health: "Down" },
      { backendAddress: "10.0.0.4", destinationIPAddress: "65.52.0.1", destinationPort: 80, health: "Up" },
    ]);
    expect(rows[2].destinations[0].health).toBe("Unknown"); // NAT rules have no probe
  });
});

describe("withBackReferences", () => {
  it("fills the read-only references ARM returns", () => {
    const lbId = loadBalancerId(addr());
    const s = withBackReferences(spec());
    const fe1 = s.properties.frontendIPConfigurations![0].properties;
    expect(fe1.loadBalancingRules).toEqual([{ id: `${lbId}/loadBalancingRules/rule1` }]);
    expect(fe1.inboundNatRules).toEqual([{ id: `${lbId}/inboundNatRules/ssh` }]);
    expect(s.properties.frontendIPConfigurations![1].properties.inboundNatRules).toBeUndefined();
    expect(s.properties.probes![0].properties.loadBalancingRules).toHaveLength(2);
    expect(s.properties.backendAddressPools![0].properties.loadBalancingRules).toHaveLength(2);
    expect(s.properties.backendAddressPools![0].properties.inboundNatRules).toEqual([{ id: `${lbId}/inboundNatRules/ssh` }]);
    expect(s.properties.backendAddressPools![0].properties.loadBalancerBackendAddresses![1].properties.inboundNatRulesPortMapping)
      .toEqual([{ inboundNatRuleName: "ssh", frontendPort: 50001, backendPort: 22 }]);
  });
});

// Timing is measured in bench/uniqueness-scale.ts, not asserted here (shared, noisy machines).
describe("at Standard limits", () => {
  it("a load balancer with 600 frontends, 1,500 rules and 5,000 addresses validates clean and compiles every backend", () => {
    const big = buildLb(bigLb({ pools: 100, poolSize: 50 }));
    const d = applyDefaults(big, addr());
    const issues = validateLoadBalancer(d, { address: addr(), publicIps: new Map(), existingClaims: noClaims() });
    const c = compileLoadBalancer(d, { address: addr(), publicIps: new Map() });
    expect(issues).toEqual([]);
    expect(c.listeners).toHaveLength(1500);
    expect(c.listeners.reduce((n, l) => n + l.backends.length, 0)).toBe(75_000);
  });
});
