// Structural, reference, frontend, outbound and limit checks (everything but the uniqueness law).

import { describe, expect, it } from "vitest";
import {
  applyDefaults, canonicalIp, childId, isValidResourceName, loadBalancerId, refName, validateLoadBalancer,
  type LoadBalancerSpec,
} from "../../src/domain/index.js";
import { addr, buildLb, check, codes, noClaims, pipId, publicIps, type LbInput } from "../kit/specs.js";

const base: LbInput = {
  frontends: { fe: "10.0.0.10" }, pools: { pool: ["10.0.0.4"] },
  probes: [{ name: "p", port: 80 }],
  rules: [{ name: "web", fe: "fe", pool: "pool", fp: 80, probe: "p" }],
};
const validate = (spec: LoadBalancerSpec, pips = new Map()) =>
  validateLoadBalancer(applyDefaults(spec, addr()), { address: addr(), publicIps: pips, existingClaims: noClaims() });
const edit = (mutate: (s: LoadBalancerSpec) => void, input: LbInput = base) => {
  const s = buildLb(input);
  mutate(s);
  return validate(s);
};

describe("ids and names", () => {
  const lbId = loadBalancerId(addr());
  it("builds ARM ids and reads references case-insensitively", () => {
    expect(lbId).toBe("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.Network/loadBalancers/lb1");
    expect(refName(lbId, "probes", { id: childId(lbId, "probes", "P1").toUpperCase() })).toBe("P1");
    expect(refName(lbId, "probes", { id: childId(lbId, "loadBalancingRules", "p1") })).toBeUndefined();
    expect(refName(lbId, "probes", undefined)).toBeUndefined();
  });
  it("follows Azure's naming rules", () => {
    expect(isValidResourceName("lb_1.a-b", "loadBalancer")).toBe(true);
    expect(isValidResourceName("lb_", "child")).toBe(true);
    expect(isValidResourceName("-lb", "child")).toBe(false);
    expect(isValidResourceName("lb.", "child")).toBe(false);
    expect(isValidResourceName("a".repeat(81), "child")).toBe(false);
    expect(isValidResourceName("rg(1)", "resourceGroup")).toBe(true);
    expect(isValidResourceName("rg.", "resourceGroup")).toBe(false);
  });
  it("canonicalises IP literals", () => {
    expect(canonicalIp("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
    expect(canonicalIp("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
    expect(canonicalIp("10.0.0.01")).toBeUndefined();
    expect(canonicalIp("10.0.0.256")).toBeUndefined();
  });
});

describe("defaults", () => {
  it("fills Azure's defaults and ids without mutating the input", () => {
    const spec = buildLb(base);
    const before = structuredClone(spec);
    const d = applyDefaults(spec, addr());
    expect(spec).toEqual(before);
    expect(d.sku).toEqual({ name: "Standard", tier: "Regional" });
    expect(d.properties.loadBalancingRules![0]).toMatchObject({
      id: `${loadBalancerId(addr())}/loadBalancingRules/web`,
      properties: { loadDistribution: "Default", idleTimeoutInMinutes: 4, enableFloatingIP: false, enableTcpReset: false, disableOutboundSnat: false, backendPort: 80 },
    });
    expect(d.properties.probes![0].properties).toMatchObject({ intervalInSeconds: 15, numberOfProbes: 2, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown" });
    expect(d.properties.frontendIPConfigurations![0].properties).toMatchObject({ privateIPAllocationMethod: "Static", privateIPAddressVersion: "IPv4" });
  });
});

describe("structure", () => {
  it("accepts the base load balancer", () => expect(check(base)).toEqual([]));

  it("duplicate child names (case-insensitive) are InvalidRequestFormat with a detail", () => {
    const issues = check({ ...base, probes: [{ name: "p", port: 80 }, { name: "P", port: 81 }] });
    expect(issues).toEqual([expect.objectContaining({
      code: "InvalidRequestFormat", target: "properties.probes[1].name",
      details: [expect.objectContaining({ code: "DuplicateResourceName" })],
    })]);
  });

  it("missing required properties are reported with their path", () => {
    const issues = edit((s) => { delete (s.properties.loadBalancingRules![0].properties as Record<string, unknown>).protocol; });
    expect(issues).toEqual([expect.objectContaining({
      code: "InvalidRequestFormat", target: "properties.loadBalancingRules[0].properties.protocol",
      details: [expect.objectContaining({ code: "MissingJsonProperty" })],
    })]);
  });

  it("ports, idle timeouts and probe settings are range-checked", () => {
    const issues = edit((s) => {
      s.properties.loadBalancingRules![0].properties.backendPort = 65536;
      s.properties.loadBalancingRules![0].properties.idleTimeoutInMinutes = 3;
      s.properties.probes![0].properties.intervalInSeconds = 0;
      s.properties.probes![0].properties.numberOfProbes = 0;
    });
    expect(issues.map((i) => i.target).sort()).toEqual([
      "properties.loadBalancingRules[0].properties.backendPort",
      "properties.loadBalancingRules[0].properties.idleTimeoutInMinutes",
      "properties.probes[0].properties.intervalInSeconds",
      "properties.probes[0].properties.numberOfProbes",
    ]);
  });

  it("lbplane accepts a 1-second probe interval (Azure's minimum is 5)", () => {
    expect(edit((s) => { s.properties.probes![0].properties.intervalInSeconds = 1; })).toEqual([]);
  });

  it("requestPath is required for Http and refused for Tcp", () => {
    expect(codes(check({ ...base, probes: [{ name: "p", port: 80, protocol: "Http" }] }))).toEqual(["ProbeRequestPathRequired"]);
    expect(check({ ...base, probes: [{ name: "p", port: 80, protocol: "Http", path: "/" }] })).toEqual([]);
    expect(codes(check({ ...base, probes: [{ name: "p", port: 80, path: "/" }] }))).toEqual(["ProbeRequestPathNotAllowed"]);
  });

  it("invalid enum values are refused", () => {
    expect(codes(edit((s) => { (s.properties.loadBalancingRules![0].properties as Record<string, unknown>).protocol = "Quic"; })))
      .toEqual(["InvalidRequestFormat"]);
  });

  it("duplicate addresses in one pool are refused", () => {
    const issues = check({ ...base, pools: { pool: ["10.0.0.4", "10.0.0.4"] } });
    expect(issues).toEqual([expect.objectContaining({
      code: "InvalidRequestFormat", details: [expect.objectContaining({ code: "DuplicateIpConfigurationReferenceOnBackendAddressPool" })],
    })]);
  });

  it("invalid IP strings are refused", () => {
    expect(codes(check({ ...base, pools: { pool: ["10.0.0.999"] } }))).toEqual(["InvalidIPAddress"]);
    expect(codes(check({ ...base, frontends: { fe: "not-an-ip" } }))).toEqual(["InvalidIPAddress"]);
  });

  it("dangling references to a pool or probe are InvalidResourceReference", () => {
    const issues = check({ ...base, rules: [{ name: "web", fe: "fe", pool: "gone", fp: 80, probe: "gone" }] });
    expect(issues.map((i) => i.target)).toEqual([
      "properties.loadBalancingRules[0].properties.backendAddressPool",
      "properties.loadBalancingRules[0].properties.probe",
    ]);
    expect(codes(issues)).toEqual(["InvalidResourceReference", "InvalidResourceReference"]);
  });
});

describe("frontends", () => {
  it("two frontends requesting one private IP are refused", () => {
    expect(codes(check({ ...base, frontends: { fe: "10.0.0.10", fe2: "10.0.0.10" } }))).toEqual(["MultipleIpConfigsRequestSamePrivateIpAddress"]);
  });

  it("a frontend with neither a public IP nor a private IP is refused (no subnets to allocate from)", () => {
    const issues = edit((s) => { s.properties.frontendIPConfigurations![0].properties = {}; });
    expect(codes(issues)).toEqual(["FrontendIPConfigHasNoSubnetOrPublicIP"]);
    expect(issues[0].message).toContain("lbplane has no subnets");
  });

  it("an unknown public IP is InvalidResourceReference", () => {
    const issues = check({ ...base, frontends: { fe: { pip: "missing" } } });
    expect(codes(issues)).toEqual(["InvalidResourceReference"]);
    expect(issues[0].message).toContain(`Resource ${pipId("missing")} referenced by resource`);
  });

  it("a public IP used by another frontend (here or elsewhere) is refused", () => {
    const pips = publicIps({ vip1: "65.52.0.1" }, { usedBy: { vip1: "/subscriptions/x/.../loadBalancers/other/frontendIPConfigurations/fe" } });
    expect(codes(check({ ...base, frontends: { fe: { pip: "vip1" } } }, { publicIps: pips }))).toEqual(["PublicIPAddressInUse"]);
    const mine = publicIps({ vip1: "65.52.0.1" }, { usedBy: { vip1: childId(loadBalancerId(addr()), "frontendIPConfigurations", "fe") } });
    expect(check({ ...base, frontends: { fe: { pip: "vip1" } } }, { publicIps: mine })).toEqual([]);
    expect(codes(check({ ...base, frontends: { fe: { pip: "vip1" }, fe2: { pip: "vip1" } } }, { publicIps: publicIps({ vip1: "65.52.0.1" }) })))
      .toEqual(["PublicIPAddressInUse"]);
  });

  it("public IP and load balancer SKUs must match", () => {
    expect(codes(check({ ...base, frontends: { fe: { pip: "vip1" } } }, { publicIps: publicIps({ vip1: "65.52.0.1" }, { sku: "Basic" }) })))
      .toEqual(["DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed"]);
  });

  it("public and internal frontends may not be mixed", () => {
    expect(codes(check({ ...base, frontends: { fe: "10.0.0.10", pub: { pip: "vip1" } } }, { publicIps: publicIps({ vip1: "65.52.0.1" }) })))
      .toEqual(["LoadBalancerMixesPublicAndInternalFrontends"]);
  });

  it("a load balancer without frontends cannot have child resources", () => {
    expect(codes(check({ pools: { pool: ["10.0.0.4"] } }))).toEqual(["LoadBalancerWithoutFrontendIPCantHaveChildResources"]);
    expect(check({})).toEqual([]);
  });
});

describe("inbound NAT rules", () => {
  it("a single-VM NAT rule and a pool-based (V2) NAT rule are accepted", () => {
    expect(check({ ...base, pools: { pool: ["10.0.0.4", "10.0.0.5"] },
      nat: [{ name: "ssh", fe: "fe", fp: 2222, bp: 22, ip: "10.0.0.9" }, { name: "rdp", fe: "fe", bp: 3389, pool: "pool", range: [50000, 50009] }] })).toEqual([]);
  });
  it("a V2 rule needs range and pool; a frontendPort rule refuses them", () => {
    expect(codes(check({ ...base, nat: [{ name: "n", fe: "fe", bp: 22 }] }))).toEqual(["MissedInboundNatRuleV2Properties"]);
    expect(codes(check({ ...base, nat: [{ name: "n", fe: "fe", fp: 22, bp: 22, pool: "pool" }] })))
      .toEqual(["UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified"]);
  });
  it("a V2 range smaller than its pool is refused", () => {
    expect(codes(check({ ...base, pools: { pool: ["10.0.0.4", "10.0.0.5", "10.0.0.6"] }, nat: [{ name: "n", fe: "fe", bp: 22, pool: "pool", range: [100, 101] }] })))
      .toEqual(["InboundNatRuleFrontendPortRangeTooSmall"]);
  });
  it("NAT ranges overlapping a rule's port share the frontend conflict code", () => {
    const issues = check({ ...base, pools: { pool: ["10.0.0.4"] }, nat: [{ name: "n", fe: "fe", bp: 22, pool: "pool", range: [70, 90] }] });
    expect(codes(issues)).toEqual(["RulesUseSameFrontendIPProtocolAndPort"]);
    expect(issues[0].target).toBe("properties.inboundNatRules[0].properties.frontendPortRangeStart");
  });
});

describe("outbound rules", () => {
  const pub: LbInput = {
    frontends: { fe: { pip: "vip1" } }, pools: { pool: ["10.0.0.4"] },
    rules: [{ name: "web", fe: "fe", pool: "pool", fp: 80 }],
    outbound: [{ name: "out", fes: ["fe"], pool: "pool" }],
  };
  const pips = publicIps({ vip1: "65.52.0.1" });
  it("a load-balancing rule on an outbound rule's frontend must disable outbound SNAT", () => {
    const issues = check(pub, { publicIps: pips });
    expect(issues).toEqual([expect.objectContaining({
      code: "LoadBalancingRuleMustDisableSNATSinceSameFrontendIPConfigurationIsReferencedByOutboundRule",
      message: "Load Balancing Rules web must have disableOutboundSNAT set to true when same FrontendIPConfiguration fe is referenced by Outbound Rules out.",
    })]);
    expect(check({ ...pub, rules: [{ ...pub.rules![0], disableOutboundSnat: true }] }, { publicIps: pips })).toEqual([]);
  });
  it("two outbound rules on one frontend and protocol are refused", () => {
    const issues = check({ ...pub, rules: [], outbound: [{ name: "a", fes: ["fe"], pool: "pool", protocol: "Tcp" }, { name: "b", fes: ["fe"], pool: "pool" }] }, { publicIps: pips });
    expect(codes(issues)).toEqual(["MoreThanOneOutboundRuleUsingSameFrontendIPConfigurationAndProtocolIsNotSupported"]);
  });
});

describe("limits", () => {
  it("a Standard pool holds 5000 addresses, not 5001", () => {
    const ips = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(check({ ...base, pools: { pool: ips(5000) } })).toEqual([]);
    expect(codes(check({ ...base, pools: { pool: ips(5001) } }))).toEqual(["LoadBalancerBackendPoolSizeLimitReached"]);
  });
  it("Basic load balancers allow 250 rules and no outbound rules", () => {
    const rules = Array.from({ length: 251 }, (_, i) => ({ name: `r${i}`, fe: "fe", fp: 1000 + i }));
    expect(codes(check({ frontends: { fe: "10.0.0.10" }, rules, sku: "Basic" }))).toEqual(["LoadBalancerRuleCountLimitReached"]);
  });
});
