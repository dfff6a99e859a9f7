// Benchmark (root only): what one read of conntrack's table costs the nftables driver — the read that
// gives UsedSnatPorts and current flows per (rule, backend) each report. The netns lab, a UDP rule to
// both VMs, and ~N UDP flows through it (each datagram from a new source port: one conntrack entry each,
// kept 30 s); the baseline, interleaved with it round by round (a drifting shared host hurts both alike),
// is the same read of a VM namespace's table, which holds no flows (the fixed cost of spawning
// `ip netns exec cat`):
//   npx tsx bench/conntrack-read.ts [--flows 1000] [--rounds 5]
// Prints medians: the whole read (spawn, text, parse, count per series), the in-process part alone
// (parse + count of the same text), the per-entry cost, and the ratio to the empty table's read.

import type { CompiledLoadBalancer } from "../src/domain/agent-protocol.js";
import { parseConntrackFlows, readConntrack } from "../src/dataplane/nftables/conntrack.js";
import { countCurrentFlows } from "../src/dataplane/nftables/current-flows.js";
import { createNftablesDriver } from "../src/dataplane/nftables/driver.js";
import { makeRunner } from "../src/dataplane/nftables/exec.js";
import { ADDR, Lab } from "../test/helpers/netns.js";
import { numberArg, requireNetns } from "./netns-bench.js";

const VIP = "203.0.113.3";
const LB: CompiledLoadBalancer = {
  id: "/bench/conntrack", name: "conntrack", version: "1", type: "Public", probes: [],
  listeners: [{
    kind: "LoadBalancingRule", name: "dns", frontendIPAddress: VIP, protocol: "Udp", frontendPort: 5353, backendPort: 81, enableFloatingIP: false,
    loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: [ADDR.vm1, ADDR.vm2].map((d) => ({ address: d, destinationIPAddress: d, destinationPort: 81 })),
  }],
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** Median time (ms) of `rounds` runs of each job, interleaved, plus each one's last result. */
async function timed<T>(rounds: number, jobs: Array<() => Promise<T> | T>): Promise<Array<{ ms: number; last: T }>> {
  const times: number[][] = jobs.map(() => []);
  const last: T[] = [];
  for (let i = 0; i < rounds; i++)
    for (const [j, job] of jobs.entries()) {
      const t0 = process.hrtime.bigint();
      last[j] = await job();
      times[j].push(ms(t0));
    }
  return jobs.map((_, j) => ({ ms: median(times[j]), last: last[j] }));
}

async function main(): Promise<void> {
  requireNetns();
  const flows = numberArg("--flows", 1000);
  const rounds = numberArg("--rounds", 5);
  const lab = new Lab("ct4b");
  try {
    await lab.create();
    for (const [ns, name, dip] of [[lab.ns.vm1, "vm1", ADDR.vm1], [lab.ns.vm2, "vm2", ADDR.vm2]] as const) await lab.backend(ns, name, [`${dip}:81`]);
    const drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "ct4_bench" });
    await drv.apply(LB);
    const run = makeRunner(lab.ns.lb);
    const whole = (ns: string) => async () => {
      const parsed = parseConntrackFlows(await readConntrack(makeRunner(ns)));
      return { entries: parsed.length, counts: countCurrentFlows([LB], parsed, new Map()) };
    };
    const replies = await lab.udp(VIP, 5353, flows);
    const carried = replies.filter((r) => !r.startsWith("ERR")).length;
    const [full, empty] = await timed(rounds, [whole(lab.ns.lb), whole(lab.ns.vm1)]);
    const text = await readConntrack(run);
    const [inProcess] = await timed(rounds, [() => countCurrentFlows([LB], parseConntrackFlows(text), new Map())]);
    await drv.close(0);

    const counted = [...full.last.counts.values()].reduce((n, c) => n + c, 0);
    console.log(`conntrack entries: ${full.last.entries} (${carried} UDP flows carried, ${counted} counted as current flows of the rule); ${text.length} bytes of text`);
    console.log(`one read, ${full.last.entries} entries: ${full.ms.toFixed(1)} ms (median of ${rounds}); of which parse + count in Node ${inProcess.ms.toFixed(2)} ms`);
    console.log(`baseline, the same read of a VM namespace's empty table (${empty.last.entries} entries): ${empty.ms.toFixed(1)} ms; ratio ${(full.ms / empty.ms).toFixed(2)}×`);
    console.log(`per entry: ${(((full.ms - empty.ms) * 1000) / Math.max(1, full.last.entries)).toFixed(2)} µs (read and parse), ${((inProcess.ms * 1000) / Math.max(1, full.last.entries)).toFixed(2)} µs (parse + count)`);
  } finally {
    await lab.destroy();
  }
}

await main();
