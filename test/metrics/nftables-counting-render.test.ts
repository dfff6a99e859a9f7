// The traffic counters' share of the nftables ruleset, rendered without root: what the counting chain
// matches per kind of listener, how it is dispatched, and what a change adds and deletes.

import { describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { renderDiff } from "../../src/dataplane/nftables/diff.js";
import { listenerKey, renderState, renderTable, type RenderContext } from "../../src/dataplane/nftables/render.js";

const DIPS = ["198.51.100.2", "198.51.100.6"];
const listener = (o: Partial<CompiledListener>): CompiledListener => ({
  kind: "LoadBalancingRule", name: "r", frontendIPAddress: "203.0.113.1", protocol: "Tcp", frontendPort: 80, backendPort: 81,
  enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
  backends: DIPS.map((d) => ({ address: d, destinationIPAddress: d, destinationPort: 81 })),
  ...o,
});
const lb = (listeners: CompiledListener[]): CompiledLoadBalancer => ({ id: "/lb/x", name: "x", version: "1", type: "Public", listeners, probes: [] });
const ctx: RenderContext = { tableName: "lbplane", countTraffic: true, isUp: () => true, markOf: (dip) => (dip === DIPS[0] ? 0x4c420001 : 0x4c420002) };
const k = (name: string) => listenerKey("/lb/x", name);

describe("traffic counters in the nftables ruleset", () => {
  it("a DNAT rule: dispatched by its original VIP:port, each backend known by DIP:port, three counters each", () => {
    const text = renderTable([lb([listener({})])], ctx);
    expect(text).toContain("type filter hook forward priority filter; policy accept;");
    expect(text).toContain("meta l4proto tcp ct original ip daddr . ct original proto-dst vmap @cnt_tcp");
    expect(text).toMatch(new RegExp(`map cnt_tcp \\{[^}]*elements = \\{ 203\\.0\\.113\\.1 \\. 80 : goto t_${k("r")} \\}`));
    expect(text).toMatch(/ct direction original ip daddr 198\.51\.100\.2 th dport 81 ct status & confirmed == 0 counter name "x_\w+_n"/);
    expect(text).toMatch(/ct direction original ip daddr 198\.51\.100\.2 th dport 81 counter name "x_\w+_i" return/);
    expect(text).toMatch(/ct direction reply ip saddr 198\.51\.100\.6 th sport 81 counter name "x_\w+_o" return/);
    expect(text.match(/^ {2}counter x_/gm)).toHaveLength(6);
  });

  it("floating IP backends are known by their conntrack mark; HA ports by address; UDP and All by their own maps", () => {
    const fl = renderTable([lb([listener({ name: "fl", enableFloatingIP: true, backends: DIPS.map((d) => ({ address: d, destinationIPAddress: "203.0.113.1", destinationPort: 80 })) })])], ctx);
    expect(fl).toContain('ct direction original ct mark 0x4c420002 counter name');
    const ha = renderTable([lb([listener({ name: "ha", protocol: "All", frontendPort: 0, backendPort: 0, backends: DIPS.map((d) => ({ address: d, destinationIPAddress: d, destinationPort: 0 })) })])], ctx);
    expect(ha).toContain("ct direction reply ip saddr 198.51.100.6 counter name");
    expect(ha).toMatch(new RegExp(`elements = \\{ 203\\.0\\.113\\.1 \\. tcp : goto t_${k("ha")}, 203\\.0\\.113\\.1 \\. udp : goto t_${k("ha")} \\}`));
    const udp = renderTable([lb([listener({ name: "u", protocol: "Udp", frontendPort: 53 })])], ctx);
    expect(udp).toMatch(/map cnt_udp \{[^}]*elements = \{ 203\.0\.113\.1 \. 53 : goto/);
  });

  it("counting off renders no counting chain and no counters; the local path is there either way", () => {
    const text = renderTable([lb([listener({})])], { ...ctx, countTraffic: false });
    expect(text).not.toContain("chain traffic");
    expect(text).not.toMatch(/counter x_/);
    expect(text).toContain("type nat hook output priority -100; policy accept;");
    expect(text).toContain("type route hook output priority mangle; policy accept;");
  });

  it("a change adds only the new backend's counters and deletes none (the driver retires them later); an unchanged listener is untouched", () => {
    const before = renderState([lb([listener({}), listener({ name: "other", frontendPort: 443 })])], ctx);
    const next = listener({ backends: [DIPS[1], "198.51.100.10"].map((d) => ({ address: d, destinationIPAddress: d, destinationPort: 81 })) });
    const after = renderState([lb([next, listener({ name: "other", frontendPort: 443 })])], ctx, false, before);
    const diff = renderDiff(before, after, "lbplane");
    const names = (s: typeof before, ip: string) => s.get(k("r"))!.counters!.filter((c) => c.key.backendIPAddress === ip).map((c) => c.name).sort();
    expect(diff.match(/^add counter .*$/gm)?.map((l) => l.split(" ").at(-1)).sort()).toEqual(names(after, "198.51.100.10"));
    expect(diff).not.toContain("delete counter");
    expect(diff).not.toContain(names(before, DIPS[0])[0]); // the removed backend's counters are no longer referenced
    expect(diff).toContain(`flush chain ip lbplane t_${k("r")}`);
    expect(diff).not.toContain(k("other"));
  });
});
