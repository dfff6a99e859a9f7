// Benchmark (root only): nftables driver vs userspace driver vs HAProxy, in the netns lab of
// test/helpers/netns.ts, same two Node HTTP backends (DIP:81 on vm1 and vm2), same run.
//   npx tsx bench/nftables-vs-userspace.ts [--seconds 5] [--connections 32] [--updates-only]
// Load comes from the client namespace: autocannon with keep-alive (few flows, many requests), and a
// closed loop of plain http.get with one new connection per request (every request is a new flow, the
// load balancer's hardest case; autocannon's "Connection: close" mode mis-measures latency here). Also measures rule update
// time for a load balancer with 1,500 rules: first apply (whole table), re-apply with one rule changed (a diff),
// one backend's probe down on a probe used by one listener, and on the probe all 1,500 listeners use. The userspace driver and HAProxy must run in the lb namespace,
// so this file re-runs itself there (`--userspace-child`) and talks JSON lines over stdin/stdout.

import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { CompiledListener, CompiledLoadBalancer } from "../src/domain/agent-protocol.js";
import { createNftablesDriver } from "../src/dataplane/nftables/driver.js";
import { ADDR, Lab } from "../test/helpers/netns.js";
import { numberArg, requireNetns } from "./netns-bench.js";

const VIP_NFT = ADDR.vip1; // nftables default rule (DNAT); floating rule uses vip2
const VIP_USER = "203.0.113.11"; // owned by the lb host: the userspace proxy listens on it
const VIP_HAPROXY = "203.0.113.12";
const RULES = 1500;

function listener(name: string, vip: string, port: number, floating = false): CompiledListener {
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: port,
    backendPort: floating ? port : 81, enableFloatingIP: floating, loadDistribution: "Default", idleTimeoutInMinutes: 4,
    enableTcpReset: false, probe: "p",
    backends: [ADDR.vm1, ADDR.vm2].map((d) => ({ address: d, destinationIPAddress: floating ? vip : d, destinationPort: floating ? port : 81 })),
  };
}
const lbOf = (name: string, listeners: CompiledListener[], version = "1"): CompiledLoadBalancer => ({
  id: `/bench/${name}`, name, version, type: "Public", listeners,
  probes: ["p", "q"].map((name) => ({ name, protocol: "Tcp" as const, port: 81, intervalInSeconds: 5, probeThreshold: 1,
    noHealthyBackendsBehavior: "AllProbedDown" as const, targets: [ADDR.vm1, ADDR.vm2] })),
});
/** 1,500 rules on probe "p", except the last one, which alone uses probe "q" (the single-listener probe case). */
const manyRules = (vip: string, version: string): CompiledLoadBalancer =>
  lbOf("many", Array.from({ length: RULES }, (_, i) => ({ ...listener(`r${i}`, vip, 10000 + i), probe: i === RULES - 1 ? "q" : "p" })), version);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- child mode: userspace driver inside the lb namespace --------------------------------------------
async function userspaceChild(): Promise<void> {
  // HOOK (userspace driver): imported lazily so the nftables/HAProxy figures still come out if it is absent.
  const { createUserspaceDriver } = await import("../src/dataplane/userspace/driver.js");
  const { silentLogger } = await import("../src/dataplane/log.js");
  const d = createUserspaceDriver({ log: silentLogger, maxConnections: 100_000 });
  for await (const line of createInterface({ input: process.stdin })) {
    const lb = JSON.parse(line) as CompiledLoadBalancer;
    const t0 = performance.now();
    try {
      await d.apply(lb);
      console.log(JSON.stringify({ ms: performance.now() - t0 }));
    } catch (e) {
      console.log(JSON.stringify({ error: (e as Error).message }));
    }
  }
  await d.close(Date.now());
}

interface Load { rps: number; p50: number; p99: number; errors: number }

async function autocannon(lab: Lab, url: string, seconds: number, conns: number): Promise<Load> {
  const args = ["node_modules/autocannon/autocannon.js", "-j", "-c", String(conns), "-d", String(seconds), url];
  const r = JSON.parse(await lab.exec(lab.ns.client, process.execPath, args)) as {
    requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number; timeouts: number;
  };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

function haproxyConfig(): string {
  return `global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend f
  bind ${VIP_HAPROXY}:80
  default_backend b
backend b
  balance roundrobin
  server vm1 ${ADDR.vm1}:81
  server vm2 ${ADDR.vm2}:81
`;
}

async function main(): Promise<void> {
  if (process.argv.includes("--userspace-child")) return userspaceChild();
  requireNetns();
  const seconds = numberArg("--seconds", 5);
  const conns = numberArg("--connections", 32);
  const lab = new Lab("lbb");
  const children: ChildProcess[] = [];
  try {
    await lab.create();
    for (const [ns, name, dip] of [[lab.ns.vm1, "vm1", ADDR.vm1], [lab.ns.vm2, "vm2", ADDR.vm2]] as const)
      await lab.backend(ns, name, [`${dip}:81`, `${ADDR.vip2}:80`]);
    await lab.exec(lab.ns.lb, "ip", ["-batch", "-"], `addr add ${VIP_USER}/32 dev lo\naddr add ${VIP_HAPROXY}/32 dev lo\n`);
    // One-flow-per-request runs open ~10^4 connections/s from one client address: without these, reused
    // client ports meet the servers' TIME_WAIT sockets and SYN retransmits (1 s) dominate every target alike.
    await lab.exec(lab.ns.client, "sysctl", ["-qw", "net.ipv4.ip_local_port_range=1024 65000"]);
    for (const ns of [lab.ns.vm1, lab.ns.vm2, lab.ns.lb]) await lab.exec(ns, "sysctl", ["-qw", "net.ipv4.tcp_max_tw_buckets=256"]);

    const drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "lbplane_bench" });
    await drv.apply(lbOf("web", [listener("dnat", VIP_NFT, 80), listener("floating", ADDR.vip2, 80, true)]));

    // Userspace driver in the lb namespace (hook: skipped with a note if src/dataplane/userspace is missing).
    let user: { apply: (lb: CompiledLoadBalancer) => Promise<{ ms?: number; error?: string }> } | undefined;
    try {
      await import("../src/dataplane/userspace/driver.js");
      const child = spawn("ip", ["netns", "exec", lab.ns.lb, process.execPath, "--import", "tsx", process.argv[1], "--userspace-child"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      children.push(child);
      const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      user = {
        apply: async (lb) => {
          child.stdin!.write(JSON.stringify(lb) + "\n");
          return JSON.parse((await replies.next()).value as string);
        },
      };
      const r = await user.apply(lbOf("web", [listener("web", VIP_USER, 80)]));
      if (r.error) throw new Error(r.error);
    } catch (e) {
      console.log(`userspace driver not benchmarked: ${(e as Error).message}`);
      user = undefined;
    }

    const cfg = join(tmpdir(), `lbplane-bench-haproxy-${process.pid}.cfg`);
    writeFileSync(cfg, haproxyConfig());
    const hap = spawn("ip", ["netns", "exec", lab.ns.lb, "haproxy", "-db", "-f", cfg], { stdio: ["ignore", "ignore", "inherit"] });
    children.push(hap);
    await new Promise((r) => setTimeout(r, 500));

    const targets: Array<[string, string]> = process.argv.includes("--updates-only") ? [] : [
      ["direct to vm1 only (no LB)", `http://${ADDR.vm1}:81/`],
      ["nftables default rule (DNAT)", `http://${VIP_NFT}/`],
      ["nftables floating IP", `http://${ADDR.vip2}/`],
      ...(user ? ([["userspace driver", `http://${VIP_USER}/`]] as Array<[string, string]>) : []),
      ["HAProxy 2.6 (mode tcp)", `http://${VIP_HAPROXY}/`],
    ];
    const results = new Map<string, { ka: Load; cl: Load }>();
    for (const [name, url] of targets) {
      const ka = await autocannon(lab, url, seconds, conns);
      const u = new URL(url);
      const cl = await lab.load(u.hostname, Number(u.port || 80), conns, seconds);
      results.set(name, { ka, cl });
    }
    const row = (n: string, l: Load): string =>
      `${n.padEnd(32)} ${l.rps.toFixed(0).padStart(8)} rps  p50 ${l.p50.toFixed(1).padStart(5)} ms  p99 ${l.p99.toFixed(1).padStart(5)} ms  errors ${l.errors}`;
    console.log(`\nThroughput, ${seconds}s per run, ${conns} connections, autocannon in the client namespace`);
    for (const mode of ["ka", "cl"] as const) {
      console.log(mode === "ka" ? "-- keep-alive (few flows, many requests)" : "-- one new connection per request (every request is a new flow)");
      for (const [n, r] of results) console.log(row(n, r[mode]));
    }
    const base = results.get("nftables default rule (DNAT)");
    if (base) console.log("\nRatios (nftables DNAT rps / other rps):");
    if (base)
      for (const [n, r] of results)
      console.log(`  vs ${n.padEnd(30)} keep-alive ${(base.ka.rps / r.ka.rps).toFixed(2)}x   new-flow ${(base.cl.rps / r.cl.rps).toFixed(2)}x`);

    // ---- rule update time: one load balancer with 1,500 rules --------------------------------------------
    const upd = createNftablesDriver({ netns: lab.ns.lb, tableName: "lbplane_bench" });
    await drv.close(0);
    let t = performance.now();
    await upd.apply(manyRules(VIP_NFT, "1"));
    const nftFirst = performance.now() - t;
    // Re-apply with one rule changed, 5 times (alternating versions); the median damps a noisy 2-CPU host.
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const v = manyRules(VIP_NFT, String(i + 2));
      const port = 82 + (i % 2);
      v.listeners[0] = { ...v.listeners[0], backendPort: port, backends: v.listeners[0].backends.map((b) => ({ ...b, destinationPort: port })) };
      t = performance.now();
      await upd.apply(v);
      times.push(performance.now() - t);
    }
    const nftUpdate = median(times);
    // Probe down then up again, 5 times each: on "q" (one listener's map) and on "p" (1,499 maps).
    const probe = async (name: string): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++)
        for (const up of [false, true]) {
          t = performance.now();
          upd.setHealth("/bench/many", name, ADDR.vm1, up);
          await upd.settled();
          if (!up) ms.push(performance.now() - t);
        }
      return median(ms);
    };
    const nftHealthOne = await probe("q");
    const nftHealthAll = await probe("p");
    console.log(`\nRule update, load balancer with ${RULES} rules:`);
    console.log(`  nftables  first apply ${nftFirst.toFixed(0)} ms, re-apply (1 rule changed, median of 5) ${nftUpdate.toFixed(0)} ms`);
    console.log(`            probe down, medians of 5: one listener's probe ${nftHealthOne.toFixed(0)} ms, probe of ${RULES - 1} listeners ${nftHealthAll.toFixed(0)} ms`);
    if (user) {
      const u1 = await user.apply(manyRules(VIP_USER, "1"));
      const u2 = await user.apply({ ...manyRules(VIP_USER, "2"), listeners: manyRules(VIP_USER, "2").listeners.map((l, i) => (i === 0 ? { ...l, idleTimeoutInMinutes: 5 } : l)) });
      if (u1.error || u2.error) console.log(`  userspace refused: ${u1.error ?? u2.error}`);
      else {
        console.log(`  userspace first apply ${u1.ms!.toFixed(0)} ms, re-apply (1 rule changed) ${u2.ms!.toFixed(0)} ms`);
        console.log(`  ratio userspace/nftables: first apply ${(u1.ms! / nftFirst).toFixed(2)}x, re-apply ${(u2.ms! / nftUpdate).toFixed(2)}x`);
      }
    }
    await upd.close(0);
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await lab.destroy();
  }
}

await main();
