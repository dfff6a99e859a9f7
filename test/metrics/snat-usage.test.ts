// How SNAT figures are derived, without root: conntrack's lines become reply tuples (IPv6 as the model
// spells it, closing TCP flows left out), tuples become used ports per block (distinct ports, only the
// block's own backend and range), and a report's SNAT figures become Azure's metric samples with their
// ConnectionState.

import { describe, expect, it } from "vitest";
import { samplesOf } from "../../src/domain/metrics-protocol.js";
import type { SnatBlockSite } from "../../src/dataplane/nftables/render-outbound.js";
import { parseConntrack, usedPorts } from "../../src/dataplane/nftables/snat-usage.js";

const TABLE = [
  "ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=192.0.2.2 sport=40000 dport=80 src=192.0.2.2 dst=203.0.113.9 sport=80 dport=1024 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 119 SYN_SENT src=198.51.100.2 dst=192.0.2.7 sport=40001 dport=80 [UNREPLIED] src=192.0.2.7 dst=203.0.113.9 sport=80 dport=1024 mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 110 TIME_WAIT src=198.51.100.2 dst=192.0.2.2 sport=40002 dport=80 src=192.0.2.2 dst=203.0.113.9 sport=80 dport=1025 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 udp      17 29 src=198.51.100.2 dst=192.0.2.2 sport=5000 dport=53 src=192.0.2.2 dst=203.0.113.9 sport=53 dport=1026 mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.6 dst=192.0.2.2 sport=40000 dport=80 src=192.0.2.2 dst=203.0.113.9 sport=80 dport=1032 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.2 dst=203.0.113.1 sport=5555 dport=80 src=198.51.100.2 dst=192.0.2.2 sport=80 dport=5555 [ASSURED] mark=0 zone=0 use=2",
  "ipv6     10 tcp      6 431999 ESTABLISHED src=2001:0db8:0002:0000:0000:0000:0000:0002 dst=2001:0db8:0001:0000:0000:0000:0000:0002 sport=40000 dport=80 src=2001:0db8:0001:0000:0000:0000:0000:0002 dst=2001:0db8:0009:0000:0000:0000:0000:0009 sport=80 dport=2048 [ASSURED] mark=0 zone=0 use=2",
  "ipv4     2 icmp     1 29 src=198.51.100.2 dst=192.0.2.2 type=8 code=0 id=7 src=192.0.2.2 dst=198.51.100.2 type=0 code=0 id=7 mark=0 zone=0 use=2",
  "",
].join("\n");

const site = (o: Partial<SnatBlockSite>): SnatBlockSite => ({
  loadBalancerId: "lb", rule: "egress", family: "ip", protocol: "tcp", address: "198.51.100.2", frontendIPAddress: "203.0.113.9",
  portLow: 1024, portHigh: 1031, budgetChain: "f_x_0t", ...o,
});

describe("SNAT port usage from conntrack", () => {
  it("reads each flow's backend and SNAT port from its reply tuple; closing TCP flows and other protocols hold none", () => {
    const tuples = parseConntrack(TABLE);
    expect(tuples.filter((t) => t.source === "198.51.100.2" && t.frontend === "203.0.113.9")).toEqual([
      { family: "ip", protocol: "tcp", source: "198.51.100.2", frontend: "203.0.113.9", port: 1024 },
      { family: "ip", protocol: "tcp", source: "198.51.100.2", frontend: "203.0.113.9", port: 1024 },
      { family: "ip", protocol: "udp", source: "198.51.100.2", frontend: "203.0.113.9", port: 1026 },
    ]);
    // conntrack spells IPv6 in full; the model in RFC 5952's short form.
    expect(tuples.find((t) => t.family === "ip6")).toEqual({ family: "ip6", protocol: "tcp", source: "2001:db8:2::2", frontend: "2001:db8:9::9", port: 2048 });
  });

  it("counts distinct ports per block: two flows on one port (different destinations) hold one port", () => {
    const tuples = parseConntrack(TABLE);
    const sites = [
      site({}),
      site({ protocol: "udp", budgetChain: "f_x_0u" }),
      site({ address: "198.51.100.6", portLow: 1032, portHigh: 1039, budgetChain: "f_x_1t" }),
      site({ family: "ip6", address: "2001:db8:2::2", frontendIPAddress: "2001:db8:9::9", portLow: 2048, portHigh: 2055, budgetChain: "f_y_0t" }),
      // A block whose range the flows' ports are outside of (another rule's block for the same backend would be).
      site({ portLow: 1100, portHigh: 1107, rule: "other", budgetChain: "f_z_0t" }),
    ];
    expect(usedPorts(sites, tuples)).toEqual([1, 1, 1, 1, 0]);
  });
});

describe("SNAT figures as Azure Monitor samples", () => {
  it("connections carried and refused are SnatConnectionCount by ConnectionState; the ports are gauges", () => {
    const key = { loadBalancerId: "lb", rule: "egress", frontendIPAddress: "203.0.113.9", frontendPort: 0, protocol: "Tcp" as const, backendIPAddress: "198.51.100.2", backendPort: 0 };
    const samples = samplesOf({ series: [{ ...key, snatConnections: 5, failedSnatConnections: 2, allocatedSnatPorts: 8, usedSnatPorts: 0 }], availability: [] });
    expect(samples.map((s) => [s.metric, s.connectionState, s.value])).toEqual([
      ["SnatConnectionCount", "Successful", 5],
      ["SnatConnectionCount", "Failed", 2],
      ["AllocatedSnatPorts", "", 8],
      ["UsedSnatPorts", "", 0],
    ]);
  });
});
