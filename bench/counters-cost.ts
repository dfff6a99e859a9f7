// Benchmark (root only): what traffic counters cost the nftables data path. The same netns lab and
// backends as the other data-plane benchmarks; the nftables driver with counters (countTraffic, the
// default) and without, runs interleaved A/B/A/B so a drifting shared host hurts both alike:
//   npx tsx bench/counters-cost.ts [--seconds 3] [--rounds 3] [--connections 32] [--ipv6]
// --ipv6: the same over IPv6 (the ip6 table's counting chain; the lab dual-stacked by test/dataplane/lab6.ts).
// Forwarding rate: keep-alive HTTP through a DNAT rule (per-packet cost: every packet walks the counting
// chain) and one new connection per request (adds the new-flow counter and conntrack setup). Also the
// cost on the control side: first apply and one-rule re-apply of a 1,500-rule load balancer (counters
// add a chain and six counter objects per listener). Prints medians and the off/on ratios; the target
// is a forwarding cost under 5 %.

import type { CompiledListener, CompiledLoadBalancer } from "../src/domain/agent-protocol.js";
import { createNftablesDriver, type NftablesDriver } from "../src/dataplane/nftables/driver.js";
import { ADDR, Lab } from "../test/helpers/netns.js";
import { ADDR6, addIPv6 } from "../test/dataplane/lab6.js";
import { numberArg, requireNetns } from "./netns-bench.js";

const IPV6 = process.argv.includes("--ipv6");
/** A DNAT frontend the client reaches through the lb namespace (IPv6: routed there by the client's default route). */
const VIP = IPV6 ? "2001:db8:f::9" : ADDR.vip1;
const DIPS = IPV6 ? [ADDR6.vm1, ADDR6.vm2] : [ADDR.vm1, ADDR.vm2];
const RULES = 1500;

function listener(name: string, port: number): CompiledListener {
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: VIP, protocol: "Tcp", frontendPort: port, backendPort: 81,
    enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false, probe: "p",
    backends: DIPS.map((d) => ({ address: d, destinationIPAddress: d, destinationPort: 81 })),
  };
}
const lbOf = (listeners: CompiledListener[], version = "1"): CompiledLoadBalancer => ({
  id: "/bench/counters", name: "counters", version, type: "Public", listeners,
  probes: [{ name: "p", protocol: "Tcp", port: 81, intervalInSeconds: 5, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown", targets: DIPS }],
});
const many = (version: string, port = 81): CompiledLoadBalancer => {
  const lb = lbOf(Array.from({ length: RULES }, (_, i) => listener(`r${i}`, 10000 + i)), version);
  lb.listeners[0] = { ...lb.listeners[0], backendPort: port, backends: lb.listeners[0].backends.map((b) => ({ ...b, destinationPort: port })) };
  return lb;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function keepAliveRps(lab: Lab, seconds: number, conns: number): Promise<number> {
  const args = ["node_modules/autocannon/autocannon.js", "-j", "-c", String(conns), "-d", String(seconds), `http://${IPV6 ? `[${VIP}]` : VIP}/`];
  const r = JSON.parse(await lab.exec(lab.ns.client, process.execPath, args)) as { requests: { average: number } };
  return r.requests.average;
}

async function warmUp(lab: Lab, seconds: number, conns: number): Promise<void> {
  const drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_bench", countTraffic: false });
  await drv.apply(lbOf([listener("web", 80)]));
  await keepAliveRps(lab, seconds, conns);
  await lab.load(VIP, 80, conns, seconds);
  await drv.close(0);
}

async function main(): Promise<void> {
  requireNetns();
  const seconds = numberArg("--seconds", 3);
  const rounds = numberArg("--rounds", 3);
  const conns = numberArg("--connections", 32);
  const lab = new Lab("d2b");
  try {
    await lab.create();
    if (IPV6) await addIPv6(lab);
    for (const [ns, name, dip] of [[lab.ns.vm1, "vm1", DIPS[0]], [lab.ns.vm2, "vm2", DIPS[1]]] as const) await lab.backend(ns, name, [`${dip}:81`]);
    await lab.exec(lab.ns.client, "sysctl", ["-qw", "net.ipv4.ip_local_port_range=1024 65000"]);
    for (const ns of [lab.ns.vm1, lab.ns.vm2, lab.ns.lb]) await lab.exec(ns, "sysctl", ["-qw", "net.ipv4.tcp_max_tw_buckets=256"]);

    const figures = { on: { ka: [] as number[], nf: [] as number[] }, off: { ka: [] as number[], nf: [] as number[] } };
    let counted = { packetsIn: 0, newFlows: 0 };
    // A warm-up run first (JIT, backends' sockets), then A/B, B/A, A/B… so neither mode always goes first.
    await warmUp(lab, seconds, conns);
    for (let round = 0; round < rounds; round++)
      for (const mode of round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        const drv: NftablesDriver = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_bench", countTraffic: mode === "on" });
        await drv.apply(lbOf([listener("web", 80)]));
        figures[mode].ka.push(await keepAliveRps(lab, seconds, conns));
        figures[mode].nf.push((await lab.load(VIP, 80, conns, seconds)).rps);
        if (mode === "on") {
          const r = await drv.trafficCounters!();
          counted = { packetsIn: r.reduce((n, x) => n + x.packetsIn, 0), newFlows: r.reduce((n, x) => n + x.newFlows, 0) };
        }
        await drv.close(0);
      }
    const row = (label: string, on: number[], off: number[]) => {
      const [a, b] = [median(on), median(off)];
      console.log(`${label.padEnd(40)} counters on ${a.toFixed(0).padStart(7)} rps   off ${b.toFixed(0).padStart(7)} rps   cost ${(100 * (1 - a / b)).toFixed(1).padStart(5)} %   (on/off ${(a / b).toFixed(3)})`);
      console.log(`${"".padEnd(40)} samples on [${on.map((x) => x.toFixed(0)).join(", ")}]  off [${off.map((x) => x.toFixed(0)).join(", ")}]`);
    };
    console.log(`\nForwarding rate through one ${IPV6 ? "IPv6" : "IPv4"} DNAT rule (2 backends), ${rounds} interleaved rounds × ${seconds}s, ${conns} connections, medians`);
    row("keep-alive HTTP (per-packet cost)", figures.on.ka, figures.off.ka);
    row("one new connection per request", figures.on.nf, figures.off.nf);
    console.log(`  last counted round: ${counted.packetsIn} packets client→backend, ${counted.newFlows} new flows (the counters work)`);

    // ---- control side: 1,500 rules ----------------------------------------------------------------------
    console.log(`\nRule updates, one load balancer with ${RULES} rules (median of 3 one-rule re-applies)`);
    for (const mode of ["on", "off"] as const) {
      const drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_bench", countTraffic: mode === "on" });
      let t = performance.now();
      await drv.apply(many("1"));
      const first = performance.now() - t;
      const updates: number[] = [];
      for (let i = 0; i < 3; i++) {
        t = performance.now();
        await drv.apply(many(String(i + 2), 82 + (i % 2)));
        updates.push(performance.now() - t);
      }
      const readMs = performance.now();
      const readings = mode === "on" ? await drv.trafficCounters!() : [];
      const read = performance.now() - readMs;
      console.log(
        `  counters ${mode.padEnd(3)}  first apply ${first.toFixed(0).padStart(5)} ms   one-rule change ${median(updates).toFixed(0).padStart(4)} ms` +
          (mode === "on" ? `   reading ${readings.length} series ${read.toFixed(0)} ms` : ""),
      );
      await drv.close(0);
    }
  } finally {
    await lab.destroy();
  }
}

await main();
