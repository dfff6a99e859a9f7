// The law over backend sets (src/domain/backend-sets.ts): what a conflict is attributed to when
// pools overlap in part, how many reports a pile-up gives, a floating VIP that is also a DIP, and the
// members a subsumed rule keeps.

import { describe, expect, it } from "vitest";
import { applyDefaults, deriveClaims, expandDestinationClaims } from "../../src/domain/index.js";
import { addr, buildLb, check, codes, type RuleInput } from "../kit/specs.js";

const FE = { fe1: "10.9.0.1", fe2: "10.9.0.2" };

describe("the uniqueness law over backend sets", () => {
  it("rules on pools that share one VM conflict on that VM, and the message names it", () => {
    const issues = check({
      frontends: FE,
      pools: { a: ["10.0.0.1", "10.0.0.2", "10.0.0.3"], b: ["10.0.0.7", "10.0.0.3", "10.0.0.8"] },
      rules: [{ name: "ra", fe: "fe1", pool: "a", fp: 80, bp: 8080 }, { name: "rb", fe: "fe2", pool: "b", fp: 80, bp: 8080 }],
    });
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndIPConfig"]);
    expect(issues[0].message).toContain("Load balancing rules ra and rb");
    expect(issues[0].message).toContain("Tcp to 10.0.0.3:8080");
  });

  it("disjoint pools on the same backend port do not conflict, however many rules", () => {
    const pools = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, [`10.1.${i >> 8}.${i & 255}`]]));
    const rules: RuleInput[] = Array.from({ length: 200 }, (_, i) => ({ name: `r${i}`, fe: "fe1", pool: `p${i}`, fp: 1000 + i, bp: 80 }));
    expect(check({ frontends: FE, pools, rules })).toEqual([]);
  });

  it("thirty rules on one pool and port give one report per rule after the first, each naming the first", () => {
    const rules: RuleInput[] = Array.from({ length: 30 }, (_, i) => ({ name: `r${String(i).padStart(2, "0")}`, fe: "fe1", pool: "p", fp: 1000 + i, bp: 80 }));
    const issues = check({ frontends: FE, pools: { p: ["10.0.0.1", "10.0.0.2"] }, rules });
    expect(issues).toHaveLength(29);
    expect(issues.every((i) => i.code === "RulesUseSameBackendPortProtocolAndPool" && i.message.startsWith("Load balancing rules r00 and "))).toBe(true);
  });

  it("a VM reached by a second partner only is reported with that partner", () => {
    // rc overlaps ra on VM .1 and rb on VM .5 only: two reports, one per partner, each naming its VM.
    const issues = check({
      frontends: FE,
      pools: { a: ["10.0.0.1"], b: ["10.0.0.5"], c: ["10.0.0.1", "10.0.0.5"] },
      rules: [
        { name: "ra", fe: "fe1", pool: "a", fp: 80, bp: 80 },
        { name: "rb", fe: "fe1", pool: "b", fp: 81, bp: 80 },
        { name: "rc", fe: "fe2", pool: "c", fp: 80, bp: 80 },
      ],
    });
    const byPair = Object.fromEntries(issues.map((i) => [/rules (\S+) and (\S+)/.exec(i.message)!.slice(1).join("+"), i.message]));
    expect(Object.keys(byPair).sort()).toEqual(["ra+rc", "rb+rc"]);
    expect(byPair["ra+rc"]).toContain("10.0.0.1:80");
    expect(byPair["rb+rc"]).toContain("10.0.0.5:80");
  });

  it("a floating rule whose VIP is one of its DIPs delivers there as a default rule does", () => {
    // fe1's VIP 10.9.0.1 is also a backend: the floating rule's flow to it is VIP:80 on VM 10.9.0.1,
    // the same flow as the default rule's DIP:80 on that VM.
    const issues = check({
      frontends: FE,
      pools: { p: ["10.9.0.1", "10.0.0.2"], q: ["10.9.0.1"] },
      rules: [{ name: "fl", fe: "fe1", pool: "p", fp: 80, bp: 80, floating: true }, { name: "df", fe: "fe2", pool: "q", fp: 80, bp: 80 }],
    });
    expect(codes(issues)).toEqual(["RulesUseSameBackendPortProtocolAndIPConfig"]);
    expect(issues[0].message).toContain("10.9.0.1:80");
  });

  it("a floating rule under a floating HA-ports rule keeps the claims of the VMs the HA rule does not reach", () => {
    const input = {
      frontends: FE,
      pools: { all: ["10.0.0.1", "10.0.0.2"], web: ["10.0.0.2", "10.0.0.3"] },
      rules: [
        { name: "ha", fe: "fe1", pool: "all", protocol: "All" as const, fp: 0, bp: 0, floating: true },
        { name: "web", fe: "fe1", pool: "web", fp: 80, bp: 80, floating: true },
      ],
    };
    expect(check(input)).toEqual([]);
    const claims = deriveClaims(applyDefaults(buildLb(input), addr()), { address: addr(), publicIps: new Map() });
    const web = expandDestinationClaims(claims.destination).filter((c) => c.owner === "web");
    expect(web.map((c) => `${c.backendAddress} ${c.destinationIp} ${c.protocol} ${c.portLow}`)).toEqual(["10.0.0.3 10.9.0.1 Tcp 80"]);
  });

  it("rules on one pool share one member list, sorted by address", () => {
    const claims = deriveClaims(applyDefaults(buildLb({
      frontends: FE, pools: { p: ["10.0.0.9", "10.0.0.1", "10.0.0.5"] },
      rules: [{ name: "a", fe: "fe1", pool: "p", fp: 80, bp: 80 }, { name: "b", fe: "fe1", pool: "p", fp: 81, bp: 81 }],
    }), addr()), { address: addr(), publicIps: new Map() });
    const [a, b] = claims.destination;
    expect(a.members).toBe(b.members);
    expect(a.members.map((m) => m.backendAddress)).toEqual(["10.0.0.1", "10.0.0.5", "10.0.0.9"]);
  });
});
