// Property-based checks of the uniqueness law against a brute-force model of flows. Small port and
// address domains make collisions common, so both acceptances and refusals get exercised.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDefaults, deriveClaims, expandDestinationClaims, type DomainIssue } from "../../src/domain/index.js";
import { addr, buildLb, check, type LbInput, type NatInput, type RuleInput } from "../kit/specs.js";

const FRONTENDS: Record<string, string> = { fe0: "10.9.0.1", fe1: "10.9.0.2", fe2: "10.9.0.3" };
const DIPS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
const ALL = -1; // every port

const ruleArb = fc.record({
  fe: fc.constantFrom("fe0", "fe1", "fe2"),
  pool: fc.constantFrom("p0", "p1", "p2"),
  protocol: fc.constantFrom("Tcp", "Udp", "All") as fc.Arbitrary<"Tcp" | "Udp" | "All">,
  ha: fc.boolean(),
  fp: fc.constantFrom(80, 81),
  bp: fc.constantFrom(80, 81),
  floating: fc.boolean(),
});
const natArb = fc.record({
  fe: fc.constantFrom("fe0", "fe1", "fe2"),
  protocol: fc.constantFrom("Tcp", "Udp") as fc.Arbitrary<"Tcp" | "Udp">,
  v2: fc.boolean(),
  fp: fc.constantFrom(80, 82, 2222),
  bp: fc.constantFrom(22, 80),
  ip: fc.constantFrom(...DIPS),
  pool: fc.constantFrom("p0", "p1", "p2"),
  floating: fc.boolean(),
});
const lbArb = fc.record({
  pools: fc.tuple(...[0, 1, 2].map(() => fc.subarray(DIPS, { minLength: 1 }))),
  rules: fc.array(ruleArb, { maxLength: 5 }),
  nat: fc.array(natArb, { maxLength: 2 }),
}).map(({ pools, rules, nat }): LbInput => ({
  frontends: FRONTENDS,
  pools: { p0: pools[0], p1: pools[1], p2: pools[2] },
  rules: rules.map((r, i): RuleInput => (r.ha
    ? { name: `r${i}`, fe: r.fe, pool: r.pool, protocol: "All", fp: 0, bp: 0, floating: r.floating }
    : { name: `r${i}`, fe: r.fe, pool: r.pool, protocol: r.protocol, fp: r.fp, bp: r.bp, floating: r.floating })),
  nat: nat.map((n, i): NatInput => (n.v2
    ? { name: `n${i}`, fe: n.fe, protocol: n.protocol, bp: n.bp, pool: n.pool, range: [80, 83], floating: n.floating }
    : { name: `n${i}`, fe: n.fe, protocol: n.protocol, fp: n.fp, bp: n.bp, ip: n.ip, floating: n.floating })),
}));

// ---- the brute-force model -------------------------------------------------------------------

interface ModelRule { name: string; ha: boolean; floating: boolean; fe: string[]; dest: string[] }

const protos = (p: string) => (p === "All" ? ["Tcp", "Udp"] : [p]);
const portsOverlap = (a: number, b: number) => a === ALL || b === ALL || a === b;

/** Every flow each rule produces, as "ip|proto|port" (port ALL = every port). */
function model(input: LbInput): ModelRule[] {
  const out: ModelRule[] = [];
  for (const r of input.rules ?? []) {
    const vip = FRONTENDS[r.fe];
    const ha = r.fp === 0;
    const fe = protos(r.protocol!).map((p) => `${vip}|${p}|${ha ? ALL : r.fp}`);
    const dest = input.pools![r.pool!].flatMap((dip) =>
      protos(r.protocol!).map((p) => `${dip}|${r.floating ? vip : dip}|${p}|${ha ? ALL : r.bp ?? r.fp}`));
    out.push({ name: r.name, ha, floating: !!r.floating, fe, dest });
  }
  for (const n of input.nat ?? []) {
    const vip = FRONTENDS[n.fe];
    const ports = n.range ? [80, 81, 82, 83] : [n.fp!];
    const fe = protos(n.protocol!).flatMap((p) => ports.map((port) => `${vip}|${p}|${port}`));
    const targets = n.range ? input.pools![n.pool!].slice(0, 4) : [n.ip!];
    const dest = targets.flatMap((dip) => protos(n.protocol!).map((p) => `${dip}|${n.floating ? vip : dip}|${p}|${n.bp}`));
    out.push({ name: n.name, ha: false, floating: !!n.floating, fe, dest });
  }
  return out;
}

function shares(a: string[], b: string[]): boolean {
  return a.some((x) => b.some((y) => {
    const xs = x.split("|"), ys = y.split("|");
    const n = xs.length - 1;
    return xs.slice(0, n).join("|") === ys.slice(0, n).join("|") && portsOverlap(Number(xs[n]), Number(ys[n]));
  }));
}

const excepted = (a: ModelRule, b: ModelRule) => a.ha !== b.ha && a.floating && b.floating;

function collisions(rules: ModelRule[]): Array<[string, string, "fe" | "dest"]> {
  const out: Array<[string, string, "fe" | "dest"]> = [];
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const [a, b] = [rules[i], rules[j]];
      if (excepted(a, b)) continue;
      if (shares(a.fe, b.fe)) out.push([a.name, b.name, "fe"]);
      if (shares(a.dest, b.dest)) out.push([a.name, b.name, "dest"]);
    }
  }
  return out;
}

/** The two rule names an issue's message starts with ("Load balancing rules a and b", "… rule a and inbound NAT rule b"). */
function namedPair(i: DomainIssue): [string, string] {
  const m = /^(?:Load balancing|Inbound NAT) rules? (\S+) and (?:(?:load balancing|inbound NAT) rule )?(\S+)/.exec(i.message);
  if (!m) throw new Error(`message names no rule pair: ${i.message}`);
  return [m[1], m[2]];
}

const LAW = new Set([
  "RulesUseSameFrontendIPProtocolAndPort", "RulesUseSameBackendPortProtocolAndPool", "RulesUseSameBackendPortProtocolAndIPConfig",
]);

function shuffled<T>(items: T[], seed: number): T[] {
  const a = [...items];
  let s = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const RUNS = { numRuns: 400 };

describe("the uniqueness law, property-based", () => {
  it("the generator produces both accepted and refused load balancers (the properties are not vacuous)", () => {
    const samples = fc.sample(lbArb, { numRuns: 400, seed: 42 });
    const accepted = samples.filter((s) => check(s).length === 0).length;
    const withRules = samples.filter((s) => check(s).length === 0 && (s.rules?.length ?? 0) + (s.nat?.length ?? 0) >= 2).length;
    const refused = samples.filter((s) => check(s).some((i) => LAW.has(i.code))).length;
    expect(withRules).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(400);
  });

  it("an accepted load balancer never has two rules producing the same flow", () => {
    fc.assert(fc.property(lbArb, (input) => {
      if (check(input).length > 0) return;
      expect(collisions(model(input))).toEqual([]);
    }), RUNS);
  });

  it("a load balancer whose rules collide is refused", () => {
    fc.assert(fc.property(lbArb, (input) => {
      if (collisions(model(input)).length === 0) return;
      expect(check(input).some((i) => LAW.has(i.code))).toBe(true);
    }), RUNS);
  });

  it("every refusal under the law names two rules that really conflict", () => {
    fc.assert(fc.property(lbArb, (input) => {
      const rules = new Map(model(input).map((r) => [r.name, r]));
      for (const i of check(input).filter((x) => LAW.has(x.code))) {
        const [a, b] = namedPair(i).map((n) => rules.get(n)!);
        if (i.message.includes("are HA ports rules of different frontends")) {
          expect(a.ha && b.ha && a.floating !== b.floating).toBe(true);
          expect(a.dest.some((x) => b.dest.some((y) => x.split("|")[0] === y.split("|")[0]))).toBe(true);
          continue;
        }
        expect(excepted(a, b)).toBe(false);
        const kind = i.code === "RulesUseSameFrontendIPProtocolAndPort" ? "fe" : "dest";
        expect(shares(a[kind], b[kind])).toBe(true);
      }
    }), RUNS);
  });

  it("the issues do not depend on the order of rules, NAT rules or pools", () => {
    fc.assert(fc.property(lbArb, fc.integer(), (input, seed) => {
      const permuted: LbInput = {
        ...input,
        rules: shuffled(input.rules ?? [], seed),
        nat: shuffled(input.nat ?? [], seed + 1),
        pools: Object.fromEntries(shuffled(Object.entries(input.pools ?? {}), seed + 2)),
      };
      const summary = (issues: DomainIssue[]) => issues.map((i) => `${i.code}: ${i.message}`).sort();
      expect(summary(check(permuted))).toEqual(summary(check(input)));
    }), RUNS);
  });

  it("the claims of an accepted load balancer never overlap (the database can hold them)", () => {
    fc.assert(fc.property(lbArb, (input) => {
      if (check(input).length > 0) return;
      const c = deriveClaims(applyDefaults(buildLb(input), addr()), { address: addr(), publicIps: new Map() });
      const rows = [
        ...c.frontend.map((f) => ({ key: `F|${f.scope}|${f.ipAddress}|${f.protocol}`, lo: f.portLow, hi: f.portHigh })),
        ...expandDestinationClaims(c.destination).map((d) => ({ key: `D|${d.scope}|${d.backendAddress}|${d.destinationIp}|${d.protocol}`, lo: d.portLow, hi: d.portHigh })),
      ];
      for (let i = 0; i < rows.length; i++) {
        for (let j = i + 1; j < rows.length; j++) {
          const [a, b] = [rows[i], rows[j]];
          expect(a.key === b.key && a.lo <= b.hi && b.lo <= a.hi, `${a.key} ${a.lo}-${a.hi} vs ${b.lo}-${b.hi}`).toBe(false);
        }
      }
    }), RUNS);
  });
});
