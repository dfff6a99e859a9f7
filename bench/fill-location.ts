// Filling a location: does a PUT get slower as its location grows? 10,000 small load balancers are
// PUT one after another into one location through the API, with a few fake agents connected (real
// HTTP servers in their own process) so every write is pushed as in production. Prints PUT p50/p99
// for every thousand; the same-run baseline is the first thousand, and the goal is the last thousand's
// p50 within 1.5× of it. Anything a write does per load balancer *of the location* (compiling the
// whole location, reading every row, a missing index) shows up here as a rising line.
//
//   npx tsx bench/fill-location.ts [load balancers, default 10000] [agents, default 3] [window, default 1000]
//
// PUTs are sequential, so a latency is one request's, not a queue's. Uses DATABASE_URL when set,
// else an embedded PostgreSQL.

import { cpus, loadavg } from "node:os";
import { Fleet, internalLbBody, lbPath, ms, pct, startBenchPlane } from "./agent-bench-kit.js";

const TOTAL = Number(process.argv[2] ?? 10_000);
const AGENTS = Number(process.argv[3] ?? 3);
const WINDOW = Math.min(TOTAL, Number(process.argv[4] ?? 1_000));

interface WindowFigures {
  p50: number;
  p99: number;
  cpu: number;
}

/** PUTs fill-<from>..fill-<to-1>, one at a time; their latencies and lbplane's CPU per PUT. */
async function fillWindow(call: (m: string, p: string, b?: unknown) => Promise<unknown>, from: number, to: number): Promise<WindowFigures> {
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = from; i < to; i++) {
    const t0 = performance.now();
    // Each has its own backend port: two internal load balancers may not deliver the same flow.
    await call("PUT", lbPath(`fill-${i}`), internalLbBody(`fill-${i}`, i, 2000 + (i % 60_000), 4));
    latencies.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), cpu: (cpu.user + cpu.system) / 1000 / (to - from) };
}

async function main() {
  const plane = await startBenchPlane();
  const { url, call, generation } = plane;
  const fleet = AGENTS > 0 ? await Fleet.start() : undefined;
  await call("PUT", lbPath("fill-seed"), internalLbBody("fill-seed", TOTAL, 1000, 4));
  if (fleet) {
    await fleet.grow(AGENTS, url);
    await fleet.reach(await generation());
  }
  // Warm-up (JIT, prepared statements, pools) on a location of one: a cold first window would
  // flatter the ratio.
  for (let i = 0; i < 200; i++) await call("PUT", lbPath("fill-seed"), internalLbBody("fill-seed", TOTAL, 1001 + (i % 2), 4));
  console.log(`lbplane fill-location bench: ${TOTAL} load balancers PUT one by one, ${AGENTS} agents; Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`);
  console.log("LBs already in location | PUT p50 | PUT p99 | lbplane CPU/PUT (client included) | p50 vs first window");
  const windows: WindowFigures[] = [];
  for (let from = 0; from < TOTAL; from += WINDOW) {
    const w = await fillWindow(call, from, Math.min(TOTAL, from + WINDOW));
    windows.push(w);
    console.log(`${from} | ${ms(w.p50)} | ${ms(w.p99)} | ${ms(w.cpu)} | ${(w.p50 / windows[0].p50).toFixed(2)}×`);
  }
  if (fleet) await fleet.reach(await generation()); // every write was pushed, none lost on the way
  const first = windows[0];
  const last = windows[windows.length - 1];
  const ratio = last.p50 / first.p50;
  console.log(
    `first ${WINDOW}: p50 ${ms(first.p50)} p99 ${ms(first.p99)}; last ${WINDOW}: p50 ${ms(last.p50)} p99 ${ms(last.p99)}; ` +
      `p50 ratio ${ratio.toFixed(2)}× (goal ≤ 1.5×: ${ratio <= 1.5 ? "met" : "NOT met"}), p99 ratio ${(last.p99 / first.p99).toFixed(2)}×, ` +
      // CPU per PUT is the steadier figure on a shared machine: another process's burst delays a
      // request but does not add to its CPU.
      `CPU/PUT ratio ${(last.cpu / first.cpu).toFixed(2)}×; load average ${loadavg()[0].toFixed(1)}`,
  );
  fleet?.stop();
  await plane.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
