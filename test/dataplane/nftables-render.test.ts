// Pure tests of the nftables renderer: run everywhere (no root), pin the ruleset's shape and the slot
// arithmetic that health updates rely on.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import {
  SLOTS_PER_BACKEND, assignSlots, listenerKey, renderHealthUpdate, renderTable, type RenderContext,
} from "../../src/dataplane/nftables/render.js";

const listener = (o: Partial<CompiledListener>): CompiledListener => ({
  kind: "LoadBalancingRule", name: "r", frontendIPAddress: "203.0.113.1", protocol: "Tcp", frontendPort: 80, backendPort: 80,
  enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
  backends: [
    { address: "198.51.100.2", destinationIPAddress: "198.51.100.2", destinationPort: 80 },
    { address: "198.51.100.6", destinationIPAddress: "198.51.100.6", destinationPort: 80 },
  ],
  ...o,
});
const lb = (listeners: CompiledListener[]): CompiledLoadBalancer => ({
  id: "/lb/x", name: "x", version: "1", type: "Public", listeners, probes: [],
});
const down = new Set<string>();
const ctx: RenderContext = {
  tableName: "lbplane",
  isUp: (_lb, _l, b) => !down.has(b.address),
  markOf: (dip) => (dip === "198.51.100.2" ? 0x4c420001 : 0x4c420002),
};

describe("assignSlots", () => {
  it("gives every backend the same number of slots when all are up", () => {
    expect(assignSlots([true, true])).toEqual(Array.from({ length: 2 * SLOTS_PER_BACKEND }, (_, i) => i % 2));
  });
  it("moves only a down backend's slots, spread over the up ones; nothing when all are down", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), (up) => {
        const slots = assignSlots(up);
        if (!up.some(Boolean)) {
          expect(slots).toEqual([]);
          return;
        }
        const all = assignSlots(up.map(() => true));
        slots.forEach((b, s) => {
          expect(up[b]).toBe(true);
          if (up[all[s]]) expect(b).toBe(all[s]); // flows hashed to a healthy backend stay there
        });
        const counts = up.map((_, i) => slots.filter((b) => b === i).length).filter((_, i) => up[i]);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe("renderTable", () => {
  it("replaces the table in one transaction and dispatches through verdict maps", () => {
    const text = renderTable([lb([listener({ backendPort: 81 })])], ctx);
    expect(text.startsWith("table ip lbplane {}\ndelete table ip lbplane\ntable ip lbplane {\n")).toBe(true);
    const k = listenerKey("/lb/x", "r");
    expect(text).toContain(`203.0.113.1 . tcp . 80 : goto c_${k}`);
    expect(text).toContain(`dnat ip addr . port to jhash ip saddr . th sport . ip daddr . th dport . meta l4proto mod 16 seed 0x4c42 map @b_${k}`);
    expect(text).toContain("0 : 198.51.100.2 . 80, 1 : 198.51.100.6 . 80");
  });

  it("renders floating IP as a mark (no address rewrite), port-only DNAT when the port changes", () => {
    const fl = listener({
      enableFloatingIP: true, frontendPort: 8080, backendPort: 80, loadDistribution: "SourceIP",
      backends: ["198.51.100.2", "198.51.100.6"].map((a) => ({ address: a, destinationIPAddress: "203.0.113.1", destinationPort: 80 })),
    });
    const text = renderTable([lb([fl])], ctx);
    const k = listenerKey("/lb/x", "r");
    expect(text).toContain(`meta mark set jhash ip saddr . ip daddr mod 16 seed 0x4c42 map @b_${k} ct mark set meta mark accept`);
    expect(text).toContain("0 : 0x4c420001, 1 : 0x4c420002");
    expect(text).toContain(`dnat ip to 203.0.113.1:80`);
    expect(text).not.toMatch(/dnat ip addr \. port/);
  });

  it("matches every port of tcp and udp for HA ports and keeps the port", () => {
    const text = renderTable([lb([listener({ protocol: "All", frontendPort: 0, backendPort: 0, loadDistribution: "SourceIPProtocol" })])], ctx);
    expect(text).toMatch(/203\.0\.113\.1 \. tcp : goto c_\w+, 203\.0\.113\.1 \. udp : goto c_\w+/);
    expect(text).toContain("dnat ip to jhash ip saddr . ip daddr . meta l4proto mod 16");
    expect(text).toContain("0 : 198.51.100.2, 1 : 198.51.100.6");
  });

  it("drains by emptying every slot map (no new flows) while keeping the chains", () => {
    const text = renderTable([lb([listener({})])], ctx, true);
    expect(text).not.toContain("elements = { 0 :");
    expect(text).toContain("ct direction original ct mark and 0xffff0000 == 0x4c420000 meta mark set ct mark accept");
  });
});

describe("renderHealthUpdate", () => {
  it("rewrites only the listener's map", () => {
    down.add("198.51.100.2");
    const l = listener({});
    const text = renderHealthUpdate([{ lb: lb([l]), listener: l }], ctx);
    down.clear();
    const k = listenerKey("/lb/x", "r");
    expect(text.split("\n")[0]).toBe(`flush map ip lbplane b_${k}`);
    expect(text).toContain("0 : 198.51.100.6 . 80, 1 : 198.51.100.6 . 80");
    expect(text).not.toMatch(/table|chain/);
  });
});
