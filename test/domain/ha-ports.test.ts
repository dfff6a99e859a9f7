// HA ports: protocol All, frontendPort 0, backendPort 0 — every port of Tcp and Udp.

import { describe, expect, it } from "vitest";
import { applyDefaults, deriveClaims } from "../../src/domain/index.js";
import { addr, buildLb, check, codes, publicIps, type LbInput } from "../kit/specs.js";

const ilb = (rules: LbInput["rules"], extra: Partial<LbInput> = {}): LbInput => ({
  frontends: { fe1: "10.1.0.10", fe2: "10.1.0.11" },
  pools: { nva: ["10.1.1.4", "10.1.1.5"], other: ["10.1.2.4"] },
  rules,
  ...extra,
});
const ha = (name: string, fe: string, floating = false, pool = "nva") =>
  ({ name, fe, pool, protocol: "All" as const, fp: 0, bp: 0, floating });

describe("HA ports rules", () => {
  it("an internal Standard load balancer accepts one HA ports rule per frontend", () => {
    expect(check(ilb([ha("all", "fe1")]))).toEqual([]);
  });

  it("is refused on a public load balancer", () => {
    const issues = check({ frontends: { fe1: { pip: "vip1" } }, pools: { nva: ["10.1.1.4"] }, rules: [ha("all", "fe1")] },
      { publicIps: publicIps({ vip1: "65.52.0.1" }) });
    expect(codes(issues)).toEqual(["HaPortsRuleOnlySupportedOnInternalLoadBalancer"]);
  });

  it("is refused on a Basic load balancer", () => {
    expect(codes(check({ ...ilb([ha("all", "fe1")]), sku: "Basic" }))).toEqual(["HaPortsRuleRequiresStandardSku"]);
  });

  it("port 0 without protocol All (or with a non-zero other port) is not an HA ports rule", () => {
    expect(codes(check(ilb([{ name: "x", fe: "fe1", pool: "nva", protocol: "Tcp", fp: 0, bp: 0 }])))).toContain("InvalidHaPortsRule");
    expect(codes(check(ilb([{ name: "x", fe: "fe1", pool: "nva", protocol: "All", fp: 0, bp: 80 }])))).toContain("InvalidHaPortsRule");
  });

  it("two HA ports rules on one frontend are refused", () => {
    const issues = check(ilb([ha("a", "fe1", true), ha("b", "fe1", true, "other")]));
    expect(codes(issues)).toEqual(["RulesUseSameFrontendIPProtocolAndPort"]);
  });

  it("an HA ports rule and a specific rule share a frontend when both enable floating IP", () => {
    expect(check(ilb([ha("all", "fe1", true), { name: "web", fe: "fe1", pool: "nva", fp: 80, bp: 80, floating: true }]))).toEqual([]);
  });

  it("…and the database rows of that pair do not overlap (the specific rule is subsumed)", () => {
    const spec = applyDefaults(buildLb(ilb([ha("all", "fe1", true), { name: "web", fe: "fe1", pool: "nva", fp: 80, bp: 80, floating: true }])), addr());
    const claims = deriveClaims(spec, { address: addr(), publicIps: new Map() });
    expect(claims.frontend.map((c) => `${c.owner} ${c.protocol} ${c.portLow}-${c.portHigh}`)).toEqual(["all Tcp 0-65535", "all Udp 0-65535"]);
    expect(claims.destination.every((c) => c.owner === "all")).toBe(true);
  });

  it("an HA ports rule and a specific rule on one frontend are refused unless both float", () => {
    const issues = check(ilb([ha("all", "fe1", true), { name: "web", fe: "fe1", pool: "other", fp: 80, bp: 80 }]));
    expect(codes(issues)).toEqual(["RulesUseSameFrontendIPProtocolAndPort"]);
    expect(issues[0].message).toContain("HA ports rule shares its frontend only with rules that, like it, enable floating IP");
  });

  it("a non-floating HA ports rule claims every port of its DIPs", () => {
    const issues = check(ilb([ha("all", "fe1"), { name: "web", fe: "fe2", pool: "nva", fp: 80, bp: 80 }]));
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndPool"]);
    expect(issues[0].message).toContain("both deliver Tcp to 10.1.1.4:80");
  });

  it("HA ports rules of two frontends to one pool are accepted when all float", () => {
    expect(check(ilb([ha("a", "fe1", true), ha("b", "fe2", true)]))).toEqual([]);
  });

  it("HA ports rules of two frontends to one pool are refused when one does not float", () => {
    const issues = check(ilb([ha("a", "fe1", false), ha("b", "fe2", true)]));
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndPool"]);
    expect(issues[0].message).toContain("must all enable floating IP");
    expect(issues[0].target).toBe("properties.loadBalancingRules[0].properties.enableFloatingIP");
  });

  it("HA ports rules of two frontends to one pool are refused when neither floats", () => {
    expect(codes(check(ilb([ha("a", "fe1"), ha("b", "fe2")])))).toEqual(["RulesUseSameBackendPortProtocolAndPool"]);
  });
});
