// Pure tests of the incremental transaction (diff.ts): run everywhere (no root). They pin that a one-rule
// change to a 1,500-rule load balancer is a handful of statements, and — through a small interpreter that
// enforces the kernel's reference rules — that any diff, applied in order, turns the old table into the new.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { renderDiff } from "../../src/dataplane/nftables/diff.js";
import { listenerKey, mapsOf, renderState, type RenderContext, type TableState } from "../../src/dataplane/nftables/render.js";

const DIPS = ["198.51.100.2", "198.51.100.6", "198.51.100.10"];
const listener = (name: string, port: number, o: Partial<CompiledListener> = {}): CompiledListener => {
  const floating = o.enableFloatingIP ?? false;
  const backendPort = o.backendPort ?? 81;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: "203.0.113.1", protocol: "Tcp", frontendPort: port, backendPort,
    enableFloatingIP: floating, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false, probe: "p",
    backends: DIPS.slice(0, 2).map((a) => ({ address: a, destinationIPAddress: floating ? "203.0.113.1" : a, destinationPort: backendPort })),
    ...o,
  };
};
const lb = (listeners: CompiledListener[], id = "/lb/many"): CompiledLoadBalancer => ({ id, name: "many", version: "1", type: "Public", listeners, probes: [] });
const down = new Set<string>();
const ctx: RenderContext = { tableName: "lbplane", isUp: (_lb, _l, b) => !down.has(b.address), markOf: (dip) => 0x4c420001 + DIPS.indexOf(dip) };
const state = (...lbs: CompiledLoadBalancer[]): TableState => renderState(lbs, ctx);
const lines = (text: string): string[] => text.split("\n").filter(Boolean);
const many = (): CompiledListener[] => Array.from({ length: 1500 }, (_, i) => listener(`r${i}`, 10000 + i));

describe("renderDiff on a 1,500-rule load balancer", () => {
  const before = state(lb(many()));
  const k = listenerKey("/lb/many", "r7");

  it("sends nothing when nothing changed", () => {
    expect(renderDiff(before, state(lb(many())), "lbplane")).toBe("");
  });

  it("changes one rule's backend port with one map rewrite: 2 statements, nothing else touched", () => {
    const ls = many();
    ls[7] = listener("r7", 10007, { backendPort: 82 });
    expect(lines(renderDiff(before, state(lb(ls)), "lbplane"))).toEqual([
      `flush map ip lbplane b_${k}`,
      `add element ip lbplane b_${k} { ${Array.from({ length: 16 }, (_, s) => `${s} : ${DIPS[s % 2]} . 82`).join(", ")} }`,
    ]);
  });

  it("rebuilds one listener's chain with its map (nft 1.0.6 needs them together) when the hash changes", () => {
    const ls = many();
    ls[7] = listener("r7", 10007, { loadDistribution: "SourceIP" });
    expect(lines(renderDiff(before, state(lb(ls)), "lbplane"))).toEqual([
      `flush chain ip lbplane c_${k}`,
      `delete map ip lbplane b_${k}`,
      `add map ip lbplane b_${k} { typeof numgen inc mod 1 : ip daddr . th dport; }`,
      expect.stringMatching(new RegExp(`^add element ip lbplane b_${k} \\{ 0 : 198\\.51\\.100\\.2 \\. 81, `)),
      `add rule ip lbplane c_${k} meta l4proto tcp dnat ip addr . port to jhash ip saddr . ip daddr mod 16 seed 0x4c42 map @b_${k}`,
      `add rule ip lbplane c_${k} meta l4proto tcp reject with tcp reset`,
      `add rule ip lbplane c_${k} drop`,
    ]);
  });

  it("adds a rule with its own objects and one dispatch element; removes one in reference order", () => {
    const added = lines(renderDiff(before, state(lb([...many(), listener("new", 9000)])), "lbplane"));
    const n = listenerKey("/lb/many", "new");
    expect(added).toHaveLength(7); // map, elements, chain, dnat rule, reset rule, drop rule, dispatch
    expect(added[0]).toBe(`add map ip lbplane b_${n} { typeof numgen inc mod 1 : ip daddr . th dport; }`);
    expect(added.at(-1)).toBe(`create element ip lbplane nat_port { 203.0.113.1 . tcp . 9000 : goto c_${n} }`);
    const removed = lines(renderDiff(before, state(lb(many().filter((l) => l.name !== "r7"))), "lbplane"));
    expect(removed).toEqual([
      `delete element ip lbplane nat_port { 203.0.113.1 . tcp . 10007 }`,
      `delete chain ip lbplane c_${k}`,
      `delete map ip lbplane b_${k}`,
    ]);
  });

  it("moves a frontend between dispatch maps when a rule becomes floating", () => {
    const ls = many();
    ls[7] = listener("r7", 10007, { enableFloatingIP: true, backendPort: 10007 });
    const text = renderDiff(before, state(lb(ls)), "lbplane");
    expect(text).toContain(`delete element ip lbplane nat_port { 203.0.113.1 . tcp . 10007 }`);
    expect(text).toContain(`create element ip lbplane fip_port { 203.0.113.1 . tcp . 10007 : goto c_${k} }`);
    expect(lines(text).length).toBeLessThanOrEqual(9);
    expect(text).not.toMatch(/mangle|chain ip lbplane nat\b|table/);
  });

  it("keeps a load-balancing rule and an inbound NAT rule of one name apart (distinct keys, objects)", () => {
    const st = state(lb([listener("x", 80), { ...listener("x", 50001), kind: "InboundNatRule" }]));
    expect(st.size).toBe(2);
    expect(listenerKey("/lb/many", "x", "InboundNatRule")).not.toBe(listenerKey("/lb/many", "x"));
  });

  it("leaves a frontend claimed twice for nft to refuse (create, not add, of the second)", () => {
    const text = renderDiff(before, state(lb(many()), lb([listener("dup", 10001)], "/lb/other")), "lbplane");
    expect(text).toContain(`create element ip lbplane nat_port { 203.0.113.1 . tcp . 10001 : goto c_${listenerKey("/lb/other", "dup")} }`);
  });
});

// ---- an interpreter of the diff's statements with the kernel's reference rules ------------------------
interface Kernel { maps: Map<string, { type: string; els: string }>; chains: Map<string, string[]>; dispatch: Map<string, string> }

function load(s: TableState): Kernel {
  const k: Kernel = { maps: new Map(), chains: new Map(), dispatch: new Map() };
  for (const o of s.values()) {
    for (const m of mapsOf(o)) k.maps.set(m.name, { type: m.type, els: m.elements });
    for (const c of o.chains) k.chains.set(c.name, [...c.rules]);
    for (const d of o.dispatch) k.dispatch.set(`${d.map} { ${d.key}`, d.chain);
  }
  return k;
}

function execute(k: Kernel, text: string): void {
  const refs = (map: string) => [...k.chains.values()].some((rs) => rs.some((r) => r.includes(`@${map} `) || r.endsWith(`@${map}`)));
  const fail = (why: string, line: string): never => { throw new Error(`${why}: ${line}`); };
  const declared = new Set<string>(); // nft 1.0.6 refuses a rule using a slot map not declared in the same file
  for (const line of lines(text)) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^delete element ip lbplane (\w+) \{ (.*) \}$/))) {
      if (!k.dispatch.delete(`${m[1]} { ${m[2]}`)) fail("no such element", line);
    } else if ((m = line.match(/^create element ip lbplane (\w+) \{ (.*) : goto (\w+) \}$/))) {
      const id = `${m[1]} { ${m[2]}`;
      if (k.dispatch.has(id)) fail("File exists", line);
      if (!k.chains.has(m[3])) fail("no such chain", line);
      k.dispatch.set(id, m[3]);
    } else if ((m = line.match(/^delete chain ip lbplane (\w+)$/))) {
      if ([...k.dispatch.values()].includes(m[1])) fail("chain in use", line);
      if (!k.chains.delete(m[1])) fail("no such chain", line);
    } else if ((m = line.match(/^flush chain ip lbplane (\w+)$/))) k.chains.set(m[1], []);
    else if ((m = line.match(/^add chain ip lbplane (\w+)$/))) k.chains.set(m[1], k.chains.get(m[1]) ?? []);
    else if ((m = line.match(/^add rule ip lbplane (\w+) (.*)$/))) {
      const used = m[2].match(/@(\w+)/)?.[1];
      if (used && !k.maps.has(used)) fail("no such map", line);
      if (used && !declared.has(used)) fail("conflicting protocols (map read back from the kernel)", line);
      k.chains.get(m[1])?.push(m[2]) ?? fail("no such chain", line);
    } else if ((m = line.match(/^delete map ip lbplane (\w+)$/))) {
      if (refs(m[1])) fail("map in use", line);
      if (!k.maps.delete(m[1])) fail("no such map", line);
    } else if ((m = line.match(/^add map ip lbplane (\w+) \{ (.*); \}$/))) {
      k.maps.set(m[1], { type: m[2], els: "" });
      declared.add(m[1]);
    }
    else if ((m = line.match(/^flush map ip lbplane (\w+)$/))) (k.maps.get(m[1]) ?? fail("no such map", line)).els = "";
    else if ((m = line.match(/^add element ip lbplane (\w+) \{ (.*) \}$/))) {
      const map = k.maps.get(m[1]) ?? fail("no such map", line);
      map.els = map.els ? `${map.els}, ${m[2]}` : m[2];
    } else fail("unknown statement", line);
  }
}

describe("renderDiff applied in order", () => {
  const arbListener = (i: number) =>
    fc.record({
      on: fc.boolean(),
      floating: fc.boolean(),
      port: fc.constantFrom(80, 81, 8080, 0),
      nBackends: fc.integer({ min: 1, max: 3 }),
      down: fc.boolean(),
      dist: fc.constantFrom("Default" as const, "SourceIP" as const),
    }).map((r) => ({ i, ...r }));
  const arbTable = fc.tuple(...Array.from({ length: 6 }, (_, i) => arbListener(i)));
  type Spec = Array<{ i: number; on: boolean; floating: boolean; port: number; nBackends: number; down: boolean; dist: "Default" | "SourceIP" }>;
  const build = (spec: Spec): TableState => {
    const ls = spec.filter((s) => s.on).map((s) =>
      listener(`l${s.i}`, s.port === 0 ? 0 : 20000 + s.i, {
        protocol: s.port === 0 ? "All" : "Tcp", backendPort: s.port, enableFloatingIP: s.floating, loadDistribution: s.dist,
        backends: DIPS.slice(0, s.nBackends).map((a) => ({ address: a, destinationIPAddress: s.floating ? "203.0.113.1" : a, destinationPort: s.port })),
        frontendIPAddress: s.port === 0 ? `203.0.113.${10 + s.i}` : "203.0.113.1",
      }),
    );
    down.clear();
    if (spec.some((s) => s.down)) down.add(DIPS[0]);
    return renderState([lb(ls)], ctx);
  };

  it("turns any table into any other without breaking a reference, and the result is the new table", () => {
    fc.assert(
      fc.property(arbTable, arbTable, (a, b) => {
        const prev = build(a);
        const next = build(b);
        const k = load(prev);
        execute(k, renderDiff(prev, next, "lbplane"));
        expect(k).toEqual(load(next));
      }),
      { numRuns: 300 },
    );
  });
});
