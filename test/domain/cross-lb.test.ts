// The law across load balancers: same type and scope may not share a flow; public and internal may.

import { describe, expect, it } from "vitest";
import {
  applyDefaults, conflictIssues, deriveClaims, expandDestinationClaims, loadBalancerId, loadBalancerType,
  type ClaimOwner, type LoadBalancerAddress, type OwnedClaims,
} from "../../src/domain/index.js";
import { addr, buildLb, check, codes, publicIps, type LbInput } from "../kit/specs.js";

const OTHER_SUB = "99999999-0000-0000-0000-000000000009";
const pips = publicIps({ vip1: "65.52.0.1", vip2: "65.52.0.2" });
const pipsOther = publicIps({ vipx: "65.52.9.9" }, { sub: OTHER_SUB });

/** Claims of an already-stored load balancer, as the store would return them. */
function stored(input: LbInput, at: LoadBalancerAddress, ips = pips): OwnedClaims {
  const spec = applyDefaults(buildLb(input, at), at);
  const c = deriveClaims(spec, { address: at, publicIps: ips });
  const owner: ClaimOwner = { loadBalancerId: loadBalancerId(at), loadBalancerName: at.name, subscriptionId: at.subscriptionId };
  return { frontend: c.frontend.map((f) => ({ ...f, ...owner })), destination: expandDestinationClaims(c.destination).map((d) => ({ ...d, ...owner })) };
}

const publicWeb = (fe: { pip: string }, bp = 80): LbInput => ({
  frontends: { fe: fe }, pools: { pool: ["10.0.0.4", "10.0.0.5"] },
  rules: [{ name: "web", fe: "fe", pool: "pool", fp: 80, bp }],
});
const internalWeb = (ip: string, bp = 80): LbInput => ({
  frontends: { fe: ip }, pools: { pool: ["10.0.0.4", "10.0.0.5"] },
  rules: [{ name: "web", fe: "fe", pool: "pool", fp: 80, bp }],
});

describe("across load balancers", () => {
  const lbA = addr("lb-a");
  const lbB = addr("lb-b");

  it("two public load balancers may not both deliver Tcp to DIP:80 without floating IP", () => {
    const existing = stored(publicWeb({ pip: "vip1" }), lbA);
    const issues = check(publicWeb({ pip: "vip2" }), { at: lbB, publicIps: pips, existing });
    expect(issues).toEqual([{
      code: "RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig",
      message: expect.stringContaining("Load balancing rule web with floating IP disabled would deliver Tcp to 10.0.0.4:80, which load balancing rule web of load balancer lb-a already delivers to"),
      target: "properties.loadBalancingRules[0].properties.backendPort",
    }]);
  });

  it("…and accept it on another backend port", () => {
    const existing = stored(publicWeb({ pip: "vip1" }), lbA);
    expect(check(publicWeb({ pip: "vip2" }, 81), { at: lbB, publicIps: pips, existing })).toEqual([]);
  });

  it("a public and an internal load balancer may share a destination", () => {
    const existing = stored(publicWeb({ pip: "vip1" }), lbA);
    expect(check(internalWeb("10.9.0.10"), { at: lbB, existing })).toEqual([]);
  });

  it("two internal load balancers in the same location collide; in different locations they do not", () => {
    const existing = stored(internalWeb("10.9.0.10"), lbA);
    expect(codes(check(internalWeb("10.9.0.11"), { at: lbB, existing })))
      .toEqual(["RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig"]);
    expect(check({ ...internalWeb("10.9.0.11"), location: "westeurope" }, { at: lbB, existing })).toEqual([]);
  });

  it("a frontend IP already used by another load balancer is refused", () => {
    const existing = stored(internalWeb("10.9.0.10"), lbA);
    const issues = check(internalWeb("10.9.0.10", 81), { at: lbB, existing });
    expect(codes(issues)).toEqual(["FrontendIPAddressInUseByAnotherLoadBalancer"]);
    expect(issues[0].message).toContain("already used by load balancer lb-a");
  });

  it("another subscription's load balancer is never named", () => {
    const foreign = addr("secret-lb", OTHER_SUB);
    const existing = stored({ ...publicWeb({ pip: "vipx" }), rules: [{ name: "secret-rule", fe: "fe", pool: "pool", fp: 80, bp: 80 }] }, foreign, pipsOther);
    const issues = check(publicWeb({ pip: "vip2" }), { at: lbB, publicIps: pips, existing });
    expect(codes(issues)).toEqual(["RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig"]);
    expect(issues[0].message).toContain("is already delivered to by a load balancer in another subscription");
    expect(JSON.stringify(issues)).not.toMatch(/secret/);
  });

  it("a conflict the database detected maps to the same issue the domain gives", () => {
    const existing = stored(publicWeb({ pip: "vip1" }), lbA);
    const spec = applyDefaults(buildLb(publicWeb({ pip: "vip2" }), lbB), lbB);
    const mine = deriveClaims(spec, { address: lbB, publicIps: pips });
    const fromDb = conflictIssues(mine, existing, { address: lbB, lbType: loadBalancerType(spec), spec });
    expect(fromDb).toEqual(check(publicWeb({ pip: "vip2" }), { at: lbB, publicIps: pips, existing }));
  });

  it("the load balancer's own stored claims never conflict with its update", () => {
    const existing = stored(publicWeb({ pip: "vip1" }), lbA);
    expect(check(publicWeb({ pip: "vip1" }), { at: lbA, publicIps: pips, existing })).toEqual([]);
  });

  it("backend addresses naming different virtual networks are different machines", () => {
    const vnet = (n: string) => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${n}`;
    const a = applyDefaults(buildLb(internalWeb("10.9.0.10"), lbA), lbA);
    a.properties.backendAddressPools![0].properties.virtualNetwork = { id: vnet("a") };
    const c = deriveClaims(a, { address: lbA, publicIps: new Map() });
    expect(c.destination[0].members[0].scope).toBe(`eastus/${vnet("a").toLowerCase()}/internal`);
    const owner = { loadBalancerId: loadBalancerId(lbA), loadBalancerName: "lb-a", subscriptionId: lbA.subscriptionId };
    const existing: OwnedClaims = { frontend: [], destination: expandDestinationClaims(c.destination).map((d) => ({ ...d, ...owner })) };
    expect(check(internalWeb("10.9.0.11"), { at: lbB, existing })).toEqual([]);
  });
});
