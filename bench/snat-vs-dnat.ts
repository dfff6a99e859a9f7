// Benchmark (root only): new-connection rate through the nftables driver's outbound SNAT vs its inbound
// DNAT, in the netns lab of test/helpers/netns.ts, same run, same hosts, one new TCP connection per request.
//   npx tsx bench/snat-vs-dnat.ts [--seconds 5] [--connections 32]
// - DNAT (baseline): client → VIP:80 → vm1:81 (a default load-balancing rule with one backend).
// - SNAT: vm1 → the host outside (client namespace) :8080, through an outbound rule (32,000-port block):
//   every connection takes a port of vm1's block, and the forward hook's ct count checks the budget.
// - routed: the same vm1 → outside path with no outbound rule and a Basic SKU (no NAT at all), so the
//   cost of SNAT itself shows apart from forwarding.

import type { CompiledLoadBalancer } from "../src/domain/agent-protocol.js";
import { createNftablesDriver } from "../src/dataplane/nftables/driver.js";
import { ADDR, Lab } from "../test/helpers/netns.js";
import { numberArg, requireNetns } from "./netns-bench.js";

const VIP = "203.0.113.3";
const OUT_IP = "203.0.113.9";
const OUTSIDE_PORT = 8080;

const lbOf = (o: Partial<CompiledLoadBalancer>): CompiledLoadBalancer => ({
  id: "/bench/snat", name: "snat", version: "1", type: "Public", sku: "Standard", probes: [],
  listeners: [{
    kind: "LoadBalancingRule", name: "web", frontendIPAddress: VIP, protocol: "Tcp", frontendPort: 80, backendPort: 81,
    enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: [{ address: ADDR.vm1, destinationIPAddress: ADDR.vm1, destinationPort: 81 }],
  }],
  outboundRules: [{
    kind: "OutboundRule", name: "egress", protocol: "Tcp", frontendIPAddresses: [OUT_IP], allocatedOutboundPorts: 32_000,
    idleTimeoutInMinutes: 4, enableTcpReset: false,
    blocks: [{ address: ADDR.vm1, frontendIPAddress: OUT_IP, portLow: 1024, portHigh: 33_023 }],
  }],
  ...o,
});

async function main(): Promise<void> {
  requireNetns();
  const seconds = numberArg("--seconds", 5);
  const conns = numberArg("--connections", 32);
  const lab = new Lab("d1b");
  try {
    await lab.create();
    await lab.backend(lab.ns.vm1, "vm1", [`${ADDR.vm1}:81`]);
    await lab.backend(lab.ns.client, "outside", [`${ADDR.client}:${OUTSIDE_PORT}`]);
    // Many short connections from one address: keep TIME_WAIT from stalling every target alike.
    for (const ns of [lab.ns.client, lab.ns.vm1]) await lab.exec(ns, "sysctl", ["-qw", "net.ipv4.ip_local_port_range=1024 65000"]);
    for (const ns of [lab.ns.client, lab.ns.vm1, lab.ns.lb]) await lab.exec(ns, "sysctl", ["-qw", "net.ipv4.tcp_max_tw_buckets=256"]);
    const drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_bench" });
    await drv.apply(lbOf({}));

    const dnat = await lab.load(VIP, 80, conns, seconds);
    const snat = await lab.load(ADDR.client, OUTSIDE_PORT, conns, seconds, lab.ns.vm1);
    const exhausted = (await drv.outboundStatus()).reduce((n, s) => n + s.exhaustedDrops, 0);
    await drv.apply(lbOf({ version: "2", sku: "Basic", outboundRules: [] }));
    const routed = await lab.load(ADDR.client, OUTSIDE_PORT, conns, seconds, lab.ns.vm1);
    await drv.close(0);

    const row = (n: string, l: { rps: number; p50: number; p99: number; errors: number }) =>
      `${n.padEnd(44)} ${l.rps.toFixed(0).padStart(7)} conn/s  p50 ${l.p50.toFixed(2).padStart(6)} ms  p99 ${l.p99.toFixed(2).padStart(6)} ms  errors ${l.errors}`;
    console.log(`\nNew TCP connections per second, ${seconds}s per run, ${conns} concurrent loops, one connection per request`);
    console.log(row("DNAT: client → VIP → vm1 (baseline)", dnat));
    console.log(row("SNAT: vm1 → outside via outbound rule", snat));
    console.log(row("routed: vm1 → outside, no NAT (Basic)", routed));
    console.log(`\nSNAT / DNAT new-connection rate: ${(snat.rps / dnat.rps).toFixed(2)}x; SNAT / routed: ${(snat.rps / routed.rps).toFixed(2)}x`);
    console.log(`flows refused for an exhausted block during the SNAT run: ${exhausted}`);
  } finally {
    await lab.destroy();
  }
}

await main();
