// Pure tests of what the nftables driver renders for outbound rules, IPv6 listeners and resets: the
// shape the netns tests then exercise with real traffic (nftables-outbound.test.ts, ipv6-netns.test.ts).

import { describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer, CompiledOutboundRule } from "../../src/domain/agent-protocol.js";
import { renderDiff } from "../../src/dataplane/nftables/diff.js";
import { outboundKey } from "../../src/dataplane/nftables/render-outbound.js";
import { listenerKey, renderHealthUpdate, renderState, renderTable, type RenderContext } from "../../src/dataplane/nftables/render.js";
import { loadBalancerProblem } from "../../src/dataplane/nftables/validate.js";
import { checkUserspaceSupport } from "../../src/dataplane/userspace/support.js";

const listener = (o: Partial<CompiledListener>): CompiledListener => ({
  kind: "LoadBalancingRule", name: "web", frontendIPAddress: "203.0.113.10", protocol: "Tcp", frontendPort: 80, backendPort: 80,
  enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
  backends: [{ address: "198.51.100.4", destinationIPAddress: "198.51.100.4", destinationPort: 80 }],
  ...o,
});
const egress: CompiledOutboundRule = {
  kind: "OutboundRule", name: "egress", protocol: "All", frontendIPAddresses: ["203.0.113.1"], allocatedOutboundPorts: 8,
  idleTimeoutInMinutes: 4, enableTcpReset: false,
  blocks: [
    { address: "198.51.100.4", frontendIPAddress: "203.0.113.1", portLow: 1024, portHigh: 1031 },
    { address: "198.51.100.5", frontendIPAddress: "203.0.113.1", portLow: 1032, portHigh: 1039 },
  ],
};
const lb = (o: Partial<CompiledLoadBalancer>): CompiledLoadBalancer => ({
  id: "/lb/x", name: "x", version: "1", type: "Public", listeners: [listener({})], probes: [], sku: "Standard", outboundRules: [egress], ...o,
});
const ctx: RenderContext = { tableName: "lbplane", isUp: () => true, markOf: () => 0x4c420001 };

describe("outbound rules in nftables", () => {
  it("each backend's block: a ct count budget in forward and SNAT to frontend:block in postrouting, per transport", () => {
    const text = renderTable([lb({})], ctx);
    const k = outboundKey("/lb/x", egress, "ip").slice(1);
    expect(text).toContain(
      `chain f${k}_0t {\n    ct count over 8 counter name "f${k}_0t_failed" drop\n    ct timeout set "t${k}_tcp_240"\n    ct status & confirmed == 0 counter name "f${k}_0t_ok"\n    accept\n  }`,
    );
    // The block's named counters (SnatConnectionCount, successful and failed) are declared with it.
    expect(text).toContain(`counter f${k}_0t_ok {}`);
    expect(text).toContain(`counter f${k}_0t_failed {}`);
    expect(text).toContain(`chain s${k}_1u {\n    meta l4proto udp snat ip to 203.0.113.1:1032-1039\n  }`);
    expect(text).toContain(`198.51.100.4 . tcp : goto f${k}_0t`);
    expect(text).toContain(`198.51.100.5 . udp : goto s${k}_1u`);
  });

  it("the idle timeout is a conntrack timeout policy set on new flows; enableTcpReset resets a TCP packet of an expired flow", async () => {
    const text = renderTable([lb({ outboundRules: [{ ...egress, idleTimeoutInMinutes: 30, enableTcpReset: true }] })], ctx);
    const k = outboundKey("/lb/x", { ...egress, idleTimeoutInMinutes: 30, enableTcpReset: true }, "ip").slice(1);
    expect(text).toContain(`ct timeout t${k}_tcp_1800 { protocol tcp; l3proto ip; policy = { established: 1800 }; }`);
    expect(text).toContain(`ct timeout t${k}_udp_1800 { protocol udp; l3proto ip; policy = { unreplied: 1800, replied: 1800 }; }`);
    expect(text).toContain(`chain f${k}_0t {\n    tcp flags & syn == 0 reject with tcp reset\n    ct count over 8 counter name "f${k}_0t_failed" drop\n    ct timeout set "t${k}_tcp_1800"\n`);
    expect(text).toContain(`chain f${k}_0u {\n    ct count over 8 counter name "f${k}_0u_failed" drop\n    ct timeout set "t${k}_udp_1800"\n`);
    // A new idle timeout replaces the policy in one diff: the rule naming it is rebuilt before the old one goes.
    const before = renderState([lb({})], ctx);
    const diff = renderDiff(before, renderState([lb({ outboundRules: [{ ...egress, idleTimeoutInMinutes: 10 }] })], ctx, false, before), "lbplane");
    const lines = diff.trim().split("\n");
    const kk = outboundKey("/lb/x", egress, "ip").slice(1);
    expect(lines.indexOf(`flush chain ip lbplane f${kk}_0t`)).toBeLessThan(lines.indexOf(`delete ct timeout ip lbplane t${kk}_tcp_240`));
    expect(lines.indexOf(`add ct timeout ip lbplane t${kk}_tcp_600 { protocol tcp; l3proto ip; policy = { established: 600 }; }`)).toBeLessThan(
      lines.indexOf(`add rule ip lbplane f${kk}_0t ct timeout set "t${kk}_tcp_600"`));
  });

  it("Standard SKU: backends and floating VIPs are on the drop list; Basic has none", () => {
    const floating = listener({ name: "fip", frontendIPAddress: "203.0.113.20", enableFloatingIP: true,
      backends: [{ address: "198.51.100.6", destinationIPAddress: "203.0.113.20", destinationPort: 80 }] });
    const text = renderTable([lb({ listeners: [listener({}), floating] })], ctx);
    const noOut = /map no_out \{\n\s+type ipv4_addr : verdict\n\s+elements = \{ (.*) \}/.exec(text)?.[1];
    expect(noOut).toBe("198.51.100.4 : drop, 198.51.100.5 : drop, 198.51.100.6 : drop, 203.0.113.20 : drop");
    expect(renderTable([lb({ sku: "Basic" })], ctx)).not.toMatch(/: drop/);
  });

  it("a backend given SNAT blocks by two load balancers on one agent is refused", () => {
    expect(() => renderState([lb({}), lb({ id: "/lb/y", name: "y" })], ctx)).toThrow(/198\.51\.100\.4 \. tcp a second SNAT block/);
  });

  it("an outbound change is an incremental diff of its own chains and dispatch elements", () => {
    const before = renderState([lb({})], ctx);
    const shrunk = { ...egress, blocks: [egress.blocks[0]] };
    const diff = renderDiff(before, renderState([lb({ outboundRules: [shrunk] })], ctx, false, before), "lbplane");
    expect(diff).toContain("delete element ip lbplane snat_src { 198.51.100.5 . udp }");
    expect(diff).toContain("delete element ip lbplane no_out { 198.51.100.5 }");
    expect(diff).not.toMatch(/198\.51\.100\.4|nat_port|table/);
  });

  it("the userspace driver refuses an outbound rule with a reason, but not a public rule's implicit default SNAT", () => {
    expect(checkUserspaceSupport(lb({}), () => undefined)).toMatch(/^outbound rule 'egress': .*--driver nftables/);
    expect(checkUserspaceSupport(lb({ outboundRules: [{ ...egress, kind: "LoadBalancingRule", name: "web" }] }), () => undefined)).toBeUndefined();
  });
});

describe("IPv6 in nftables", () => {
  const v6 = listener({ name: "web6", frontendIPAddress: "2001:db8:10::10", backends: [{ address: "2001:db8:20::4", destinationIPAddress: "2001:db8:20::4", destinationPort: 8080 }], backendPort: 8080 });

  it("an IPv6 listener lives in the ip6 table beside the IPv4 one on the same port", () => {
    const text = renderTable([lb({ listeners: [listener({}), v6], outboundRules: [] })], ctx);
    const ip6 = text.slice(text.indexOf("table ip6 lbplane {\n"));
    const k = listenerKey("/lb/x", "web6");
    expect(ip6).toContain(`dnat ip6 addr . port to jhash ip6 saddr . th sport . ip6 daddr . th dport . meta l4proto mod 8 seed 0x4c42 map @b_${k}`);
    expect(ip6).toContain("typeof numgen inc mod 1 : ip6 daddr . th dport\n    elements = { 0 : 2001:db8:20::4 . 8080");
    expect(ip6).toContain(`2001:db8:10::10 . tcp . 80 : goto c_${k}`);
    expect(ip6).toContain("type ipv6_addr . inet_proto . inet_service : verdict");
    expect(text.slice(0, text.indexOf("table ip6"))).toContain("203.0.113.10 . tcp . 80 : goto");
  });

  it("a rule mixing families is refused before nft sees it", () => {
    const mixed = listener({ backends: [{ address: "2001:db8:20::4", destinationIPAddress: "2001:db8:20::4", destinationPort: 80 }] });
    expect(loadBalancerProblem(lb({ listeners: [mixed] }))).toMatch(/not of the frontend 203\.0\.113\.10's IP family/);
    expect(loadBalancerProblem(lb({ listeners: [v6] }))).toBeUndefined();
  });
});

describe("no healthy backend", () => {
  it("a TCP listener resets new flows, a UDP one drops them", () => {
    const text = renderTable([lb({ listeners: [listener({}), listener({ name: "dns", protocol: "Udp", frontendPort: 53, backendPort: 53 })], outboundRules: [] })], { ...ctx, isUp: () => false });
    expect(text).toContain(`chain c_${listenerKey("/lb/x", "web")} {\n    meta l4proto tcp dnat ip addr . port to`);
    expect(text).toMatch(new RegExp(`chain c_${listenerKey("/lb/x", "web")} \\{\\n.*\\n    meta l4proto tcp reject with tcp reset\\n    drop\\n`));
    expect(text).toMatch(new RegExp(`chain c_${listenerKey("/lb/x", "dns")} \\{\\n.*\\n    drop\\n  \\}`));
  });
});

describe("UDP failover zones", () => {
  const dns = listener({ name: "dns", protocol: "Udp", frontendPort: 53, backendPort: 53, probe: "p",
    backends: ["198.51.100.4", "198.51.100.5"].map((a) => ({ address: a, destinationIPAddress: a, destinationPort: 53 })) });
  const k = listenerKey("/lb/x", "dns");

  it("a UDP listener's flows get a conntrack zone per slot (1 + the slot's backend) in the raw hook; TCP listeners none", () => {
    const text = renderTable([lb({ listeners: [dns, listener({})], outboundRules: [] })], ctx);
    expect(text).toContain(`chain z_${k} {\n    ct original zone set jhash ip saddr . th sport . ip daddr . th dport . meta l4proto mod 16 seed 0x4c42 map @y_${k}\n  }`);
    expect(text).toContain(`map y_${k} {\n    typeof numgen inc mod 1 : ct original zone\n    elements = { 0 : 1, 1 : 2, 2 : 1,`);
    expect(text).toContain(`203.0.113.10 . 53 : goto z_${k}`);
    expect(text).not.toContain(`z_${listenerKey("/lb/x", "web")}`);
  });

  it("a backend going Down changes the zone of its slots only, in the same update as the slot map", () => {
    const down = renderHealthUpdate([{ lb: lb({ listeners: [dns] }), listener: dns }], { ...ctx, isUp: (_lb, _l, b) => b.address !== "198.51.100.5" });
    expect(down).toContain(`flush map ip lbplane y_${k}\nadd element ip lbplane y_${k} { ${Array.from({ length: 16 }, (_, s) => `${s} : 1`).join(", ")} }`);
    expect(down).toContain(`flush map ip lbplane b_${k}`);
  });
});
