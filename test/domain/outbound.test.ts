// Outbound rules and SNAT port blocks (src/domain/outbound.ts), and IPv6 dual stack in the domain:
// what a backend's outbound flows leave as, the port budget Azure enforces, and canonical IPv6.

import { describe, expect, it } from "vitest";
import { applyDefaults, compileLoadBalancer, defaultAllocatedPorts } from "../../src/domain/index.js";
import { addr, buildLb, check, codes, publicIps, type LbInput } from "../kit/specs.js";

const pips = publicIps({ out1: "203.0.113.1", out2: "203.0.113.2", web: "203.0.113.10", v6: "2001:db8:ff::1" });
const ctx = { address: addr(), publicIps: pips };
const compile = (input: LbInput) => compileLoadBalancer(applyDefaults(buildLb(input), addr()), ctx);

const egress = (dips: string[], ports?: number, fes = ["o1"]): LbInput => ({
  frontends: { o1: { pip: "out1" }, o2: { pip: "out2" }, w: { pip: "web" } },
  pools: { pool: dips },
  rules: [{ name: "web", fe: "w", pool: "pool", fp: 80, disableOutboundSnat: true }],
  outbound: [{ name: "egress", fes, pool: "pool", protocol: "All", ...(ports === undefined ? {} : { ports }) }],
});

describe("outbound rules compile to deterministic, non-overlapping port blocks", () => {
  it("each backend gets allocatedOutboundPorts contiguous ports on the rule's frontend address, in address order", () => {
    const [rule] = compile(egress(["10.0.0.6", "10.0.0.4", "10.0.0.5"], 10_000)).outboundRules!;
    expect(rule).toMatchObject({ kind: "OutboundRule", name: "egress", protocol: "All", frontendIPAddresses: ["203.0.113.1"], allocatedOutboundPorts: 10_000 });
    expect(rule.blocks).toEqual([
      { address: "10.0.0.4", frontendIPAddress: "203.0.113.1", portLow: 1024, portHigh: 11_023 },
      { address: "10.0.0.5", frontendIPAddress: "203.0.113.1", portLow: 11_024, portHigh: 21_023 },
      { address: "10.0.0.6", frontendIPAddress: "203.0.113.1", portLow: 21_024, portHigh: 31_023 },
    ]);
  });

  it("a second frontend address seats the backends that do not fit on the first", () => {
    const dips = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
    const blocks = compile(egress(dips, 24_000, ["o1", "o2"])).outboundRules![0].blocks;
    expect(blocks.map((b) => `${b.frontendIPAddress}:${b.portLow}-${b.portHigh}`)).toEqual([
      "203.0.113.1:1024-25023", "203.0.113.1:25024-49023", "203.0.113.2:1024-25023", "203.0.113.2:25024-49023",
    ]);
  });

  it("allocatedOutboundPorts 0 uses Azure's default table by pool size", () => {
    expect([1, 50, 51, 100, 101, 200, 400, 800, 1000].map(defaultAllocatedPorts)).toEqual([1024, 1024, 512, 512, 256, 256, 128, 64, 32]);
    const blocks = compile(egress(["10.0.0.4", "10.0.0.5"])).outboundRules![0].blocks;
    expect(blocks.map((b) => b.portHigh - b.portLow + 1)).toEqual([1024, 1024]);
  });

  it("the compiled version changes when a block would move", () => {
    expect(compile(egress(["10.0.0.4"], 1024)).version).not.toBe(compile(egress(["10.0.0.4"], 2048)).version);
  });
});

describe("the port budget, as Azure computes it", () => {
  it("7 backends × 10,000 ports on one frontend address is refused: 64,000 / 7 leaves 9,136 per backend", () => {
    const issues = check(egress(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"], 10_000), { publicIps: pips });
    expect(issues).toEqual([expect.objectContaining({
      code: "SpecifiedAllocatedOutboundPortsForOutboundRuleExceedsTotalNumberOfAvailablePorts",
      message: expect.stringContaining("available ports per backend instance of 9136"),
      target: "properties.outboundRules[0].properties.allocatedOutboundPorts",
    })]);
  });

  it("6 backends × 10,000 ports fit one address; adding the second frontend seats 12", () => {
    const six = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"];
    expect(check(egress(six, 10_000), { publicIps: pips })).toEqual([]);
    const twelve = Array.from({ length: 12 }, (_, i) => `10.0.1.${i + 1}`);
    expect(check(egress(twelve, 10_000, ["o1", "o2"]), { publicIps: pips })).toEqual([]);
    expect(codes(check(egress([...twelve, "10.0.1.99"], 10_000, ["o1", "o2"]), { publicIps: pips }))).toEqual([
      "SpecifiedAllocatedOutboundPortsForOutboundRuleExceedsTotalNumberOfAvailablePorts",
    ]);
  });

  it("a block never spans two addresses: 5 × 24,000 passes Azure's sum (128,000) but only 4 blocks fit, and the message says so", () => {
    const issues = check(egress(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"], 24_000, ["o1", "o2"]), { publicIps: pips });
    expect(issues).toEqual([expect.objectContaining({
      code: "SpecifiedAllocatedOutboundPortsForOutboundRuleExceedsTotalNumberOfAvailablePorts",
      message: expect.stringContaining("so 4 backends fit"),
    })]);
  });

  it("allocatedOutboundPorts must be a multiple of 8", () => {
    expect(codes(check(egress(["10.0.0.4"], 1000 + 4), { publicIps: pips }))).toEqual([
      "SpecifiedAllocatedOutboundPortsForOutboundRuleIsNotAMultipleOfEight",
    ]);
  });
});

describe("which backends get outbound connectivity", () => {
  it("a public load-balancing rule without disableOutboundSnat gives its backends default SNAT through its frontend", () => {
    const lb = compile({ frontends: { w: { pip: "web" } }, pools: { pool: ["10.0.0.4"] }, rules: [{ name: "web", fe: "w", pool: "pool", fp: 80 }] });
    expect(lb.sku).toBe("Standard");
    expect(lb.outboundRules).toEqual([{
      kind: "LoadBalancingRule", name: "web", protocol: "Tcp", frontendIPAddresses: ["203.0.113.10"], allocatedOutboundPorts: 0,
      idleTimeoutInMinutes: 4, enableTcpReset: false,
      blocks: [{ address: "10.0.0.4", frontendIPAddress: "203.0.113.10", portLow: 1024, portHigh: 2047 }],
    }]);
  });

  it("disableOutboundSnat is honoured, and an internal load balancer gives none", () => {
    const off = compile({ frontends: { w: { pip: "web" } }, pools: { pool: ["10.0.0.4"] }, rules: [{ name: "web", fe: "w", pool: "pool", fp: 80, disableOutboundSnat: true }] });
    expect(off.outboundRules).toEqual([]);
    const internal = compile({ frontends: { fe: "10.1.0.10" }, pools: { pool: ["10.1.0.4"] }, rules: [{ name: "web", fe: "fe", pool: "pool", fp: 80 }] });
    expect(internal.outboundRules).toEqual([]);
  });

  it("a backend in an outbound rule leaves only through it, even when a load-balancing rule would SNAT it too", () => {
    const lb = compile({
      frontends: { o1: { pip: "out1" }, w: { pip: "web" } },
      pools: { pool: ["10.0.0.4"], other: ["10.0.0.4", "10.0.0.9"] },
      rules: [{ name: "web", fe: "w", pool: "other", fp: 80 }],
      outbound: [{ name: "egress", fes: ["o1"], pool: "pool", ports: 512 }],
    });
    expect(lb.outboundRules!.map((o) => [o.name, o.blocks.map((b) => `${b.address}@${b.frontendIPAddress}`)])).toEqual([
      ["egress", ["10.0.0.4@203.0.113.1"]],
      ["web", ["10.0.0.9@203.0.113.10"]],
    ]);
  });
});

describe("IPv6 dual stack in the domain", () => {
  const dual: LbInput = {
    frontends: { v4: "10.2.0.10", v6: "2001:db8:2::10" },
    pools: { pool: ["10.2.0.4", "2001:db8:2::4", "2001:0DB8:2:0::5"] },
    rules: [
      { name: "web4", fe: "v4", pool: "pool", fp: 80 },
      { name: "web6", fe: "v6", pool: "pool", fp: 80 },
    ],
  };

  it("an IPv6 rule and an IPv4 rule on the same port coexist, each reaching its own family of the pool", () => {
    expect(check(dual)).toEqual([]);
    const lb = compileLoadBalancer(applyDefaults(buildLb(dual), addr()), { address: addr(), publicIps: new Map() });
    const by = Object.fromEntries(lb.listeners.map((l) => [l.name, [l.frontendIPAddress, ...l.backends.map((b) => b.address)]]));
    expect(by).toEqual({ web4: ["10.2.0.10", "10.2.0.4"], web6: ["2001:db8:2::10", "2001:db8:2::4", "2001:db8:2::5"] });
  });

  it("2001:db8::1 and 2001:0db8:0:0::1 are one frontend address", () => {
    const issues = check({ frontends: { a: "2001:db8::1", b: "2001:0db8:0:0::1" } });
    expect(codes(issues)).toEqual(["MultipleIpConfigsRequestSamePrivateIpAddress"]);
  });

  it("two spellings of one IPv6 DIP in two pools are one destination: two rules delivering there conflict", () => {
    const issues = check({
      frontends: { a: "2001:db8:3::10", b: "2001:db8:3::11" },
      pools: { p1: ["2001:db8:3::4"], p2: ["2001:DB8:3:0:0:0:0:4"] },
      rules: [{ name: "r1", fe: "a", pool: "p1", fp: 80 }, { name: "r2", fe: "b", pool: "p2", fp: 81, bp: 80 }],
    });
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndIPConfig"]);
  });

  it("an IPv6 outbound rule SNATs IPv6 backends through its IPv6 address, IPv4 ones through IPv4", () => {
    const lb = compile({
      frontends: { o1: { pip: "out1" }, o6: { pip: "v6" } },
      pools: { pool: ["10.0.0.4", "2001:db8:1::4"] },
      outbound: [{ name: "egress", fes: ["o1", "o6"], pool: "pool", ports: 1024 }],
    });
    expect(lb.outboundRules![0].blocks).toEqual([
      { address: "10.0.0.4", frontendIPAddress: "203.0.113.1", portLow: 1024, portHigh: 2047 },
      { address: "2001:db8:1::4", frontendIPAddress: "2001:db8:ff::1", portLow: 1024, portHigh: 2047 },
    ]);
  });
});
