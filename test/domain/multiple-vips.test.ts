// The seed, table by table ("Multiple VIPs for Azure Load Balancer").

import { describe, expect, it } from "vitest";
import { applyDefaults, effectiveMappings } from "../../src/domain/index.js";
import { addr, buildLb, check, codes, publicIps, type LbInput } from "../kit/specs.js";

const pips = publicIps({ vip1: "65.52.0.1", vip2: "65.52.0.2" });
const VIPS = { fe1: { pip: "vip1" }, fe2: { pip: "vip2" } } as const;
const DIPS = { pool: ["10.0.0.4", "10.0.0.5"] };

const mappingRows = (input: LbInput) =>
  effectiveMappings(applyDefaults(buildLb(input), addr()), { address: addr(), publicIps: pips }).map((m) => ({
    rule: m.rule, vip: m.frontendIPAddress, protocol: m.protocol, port: m.frontendPort,
    destinations: m.destinations.map((d) => `${d.destinationIPAddress}:${d.destinationPort}@${d.backendAddress}`),
  }));

describe("frontends: one IP carries many frontends, one port is reused across VIPs", () => {
  it("accepts VIP1-4 (65.52.0.1 Tcp 80, Tcp 8080, Udp 80; 65.52.0.2 Tcp 80)", () => {
    const input: LbInput = {
      frontends: VIPS, pools: DIPS,
      rules: [
        { name: "vip1", fe: "fe1", pool: "pool", fp: 80, bp: 80 },
        { name: "vip2", fe: "fe1", pool: "pool", fp: 8080, bp: 8080 },
        { name: "vip3", fe: "fe1", pool: "pool", protocol: "Udp", fp: 80, bp: 80 },
        { name: "vip4", fe: "fe2", pool: "pool", fp: 80, bp: 81 },
      ],
    };
    expect(check(input, { publicIps: pips })).toEqual([]);
  });

  it("refuses a second rule on 65.52.0.1 Tcp 80, naming both rules and the frontend", () => {
    const issues = check({
      frontends: VIPS, pools: DIPS,
      rules: [{ name: "web", fe: "fe1", pool: "pool", fp: 80, bp: 80 }, { name: "web2", fe: "fe1", pool: "pool", fp: 80, bp: 81 }],
    }, { publicIps: pips });
    expect(issues).toEqual([{
      code: "RulesUseSameFrontendIPProtocolAndPort",
      message: expect.stringMatching(/^Load balancing rules web and web2 .*Tcp 65\.52\.0\.1:80 of frontend IP configuration fe1/),
      target: "properties.loadBalancingRules[1].properties.frontendPort",
    }]);
  });

  it("refuses an inbound NAT rule on a port a load-balancing rule already holds", () => {
    const issues = check({
      frontends: VIPS, pools: DIPS,
      rules: [{ name: "web", fe: "fe1", pool: "pool", fp: 80, bp: 80 }],
      nat: [{ name: "ssh", fe: "fe1", fp: 80, bp: 22, ip: "10.0.0.4" }],
    }, { publicIps: pips });
    expect(codes(issues)).toEqual(["RulesUseSameFrontendIPProtocolAndPort"]);
    expect(issues[0].message).toContain("Load balancing rule web and inbound NAT rule ssh");
  });
});

describe("rule type #1: no backend port reuse", () => {
  const typeOne: LbInput = {
    frontends: VIPS, pools: DIPS,
    rules: [{ name: "rule1", fe: "fe1", pool: "pool", fp: 80, bp: 80 }, { name: "rule2", fe: "fe2", pool: "pool", fp: 80, bp: 81 }],
  };

  it("accepts VIP1:80 → DIP:80 and VIP2:80 → DIP:81", () => {
    expect(check(typeOne, { publicIps: pips })).toEqual([]);
  });

  it("maps exactly as the seed's complete mapping table", () => {
    expect(mappingRows(typeOne)).toEqual([
      { rule: "rule1", vip: "65.52.0.1", protocol: "Tcp", port: 80, destinations: ["10.0.0.4:80@10.0.0.4", "10.0.0.5:80@10.0.0.5"] },
      { rule: "rule2", vip: "65.52.0.2", protocol: "Tcp", port: 80, destinations: ["10.0.0.4:81@10.0.0.4", "10.0.0.5:81@10.0.0.5"] },
    ]);
  });

  it("VIP2:80 to DIP:80 is refused while VIP1:80 already delivers there", () => {
    const issues = check({ ...typeOne, rules: [typeOne.rules![0], { ...typeOne.rules![1], bp: 80 }] }, { publicIps: pips });
    expect(issues).toEqual([{
      code: "RulesUseSameBackendPortProtocolAndPool",
      message: expect.stringContaining("Load balancing rules rule1 and rule2 with floating IP disabled both deliver Tcp to 10.0.0.4:80 from backend address pool pool"),
      target: "properties.loadBalancingRules[1].properties.backendPort",
    }]);
  });

  it("different pools sharing a DIP give the IPConfig code", () => {
    const issues = check({
      frontends: VIPS, pools: { a: ["10.0.0.4"], b: ["10.0.0.9", "10.0.0.4"] },
      rules: [{ name: "rule1", fe: "fe1", pool: "a", fp: 80, bp: 80 }, { name: "rule2", fe: "fe2", pool: "b", fp: 80, bp: 80 }],
    }, { publicIps: pips });
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndIPConfig"]);
  });

  it("Tcp and Udp to the same DIP port are different flows", () => {
    expect(check({ ...typeOne, rules: [typeOne.rules![0], { ...typeOne.rules![1], bp: 80, protocol: "Udp" }] }, { publicIps: pips })).toEqual([]);
  });

  it("a NAT rule to DIP:22 collides with a default rule delivering to DIP:22", () => {
    const issues = check({
      frontends: VIPS, pools: DIPS,
      rules: [{ name: "ssh-lb", fe: "fe1", pool: "pool", fp: 22, bp: 22 }],
      nat: [{ name: "ssh-vm1", fe: "fe2", fp: 50001, bp: 22, ip: "10.0.0.4" }],
    }, { publicIps: pips });
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndIPConfig"]);
    expect(issues[0].message).toContain("Tcp to 10.0.0.4:22");
  });
});

describe("rule type #2: backend port reuse with floating IP", () => {
  const typeTwo: LbInput = {
    frontends: VIPS, pools: DIPS,
    rules: [
      { name: "rule1", fe: "fe1", pool: "pool", fp: 80, bp: 80, floating: true },
      { name: "rule2", fe: "fe2", pool: "pool", fp: 80, bp: 80, floating: true },
    ],
  };

  it("accepts both VIPs delivering to :80 on VM1 and VM2", () => {
    expect(check(typeTwo, { publicIps: pips })).toEqual([]);
  });

  it("maps to the VIP itself (destination same as VIP) on each VM", () => {
    expect(mappingRows(typeTwo)).toEqual([
      { rule: "rule1", vip: "65.52.0.1", protocol: "Tcp", port: 80, destinations: ["65.52.0.1:80@10.0.0.4", "65.52.0.1:80@10.0.0.5"] },
      { rule: "rule2", vip: "65.52.0.2", protocol: "Tcp", port: 80, destinations: ["65.52.0.2:80@10.0.0.4", "65.52.0.2:80@10.0.0.5"] },
    ]);
  });

  it("a floating rule may still rewrite the backend port", () => {
    const rows = mappingRows({ ...typeTwo, rules: [{ ...typeTwo.rules![0], bp: 8080 }] });
    expect(rows[0].destinations).toEqual(["65.52.0.1:8080@10.0.0.4", "65.52.0.1:8080@10.0.0.5"]);
  });

  it("two floating rules on the same VIP delivering to the same VIP:80 on a VM are refused", () => {
    const issues = check({
      frontends: VIPS, pools: DIPS,
      rules: [
        { name: "a", fe: "fe1", pool: "pool", fp: 80, bp: 80, floating: true },
        { name: "b", fe: "fe1", pool: "pool", fp: 8080, bp: 80, floating: true },
      ],
    }, { publicIps: pips });
    expect(issues).toHaveLength(1);
    expect(issues[0].code).toBe("RulesUseSameBackendPortProtocolAndPool");
    expect(issues[0].message).toContain("with floating IP enabled both deliver Tcp to 65.52.0.1:80 on backend 10.0.0.4");
  });
});

describe("mixing both rule types on the same VMs", () => {
  it("a default rule to DIP:80 and floating rules to VIP1:80 and VIP2:80 coexist", () => {
    const pips3 = publicIps({ vip1: "65.52.0.1", vip2: "65.52.0.2", vip3: "65.52.0.3" });
    expect(check({
      frontends: { ...VIPS, fe3: { pip: "vip3" } }, pools: DIPS,
      rules: [
        { name: "default", fe: "fe3", pool: "pool", fp: 80, bp: 80 },
        { name: "float1", fe: "fe1", pool: "pool", fp: 80, bp: 80, floating: true },
        { name: "float2", fe: "fe2", pool: "pool", fp: 80, bp: 80, floating: true },
      ],
    }, { publicIps: pips3 })).toEqual([]);
  });
});

describe("every issue is returned, not only the first", () => {
  it("reports frontend, backend, reference and probe problems together", () => {
    const issues = check({
      frontends: VIPS, pools: DIPS,
      probes: [{ name: "http", port: 80, protocol: "Http" }],
      rules: [
        { name: "r1", fe: "fe1", pool: "pool", fp: 80, bp: 80, probe: "http" },
        { name: "r2", fe: "fe1", pool: "pool", fp: 80, bp: 80 },
        { name: "r3", fe: "nope", pool: "pool", fp: 90, bp: 90 },
        { name: "r4", fe: "fe2", pool: "pool", fp: 70000, bp: 90 },
      ],
    }, { publicIps: pips });
    expect(codes(issues)).toEqual([
      "InvalidResourceReference", "ProbeRequestPathRequired", "PropertyValueOutOfRange",
      "RulesUseSameBackendPortProtocolAndPool", "RulesUseSameFrontendIPProtocolAndPort",
    ]);
    expect(issues.find((i) => i.code === "InvalidResourceReference")!.message).toMatch(
      /^Resource \/subscriptions\/.*\/frontendIPConfigurations\/nope referenced by resource \/subscriptions\/.*\/loadBalancingRules\/r3 was not found\. Please make sure that the referenced resource exists, and that both resources are in the same region\.$/);
  });
});
