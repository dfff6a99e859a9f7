// Convergence: time from a load balancer PUT to every agent acknowledging it, for 1, 10 and 100
// fake agents (real HTTP servers on loopback), p50/p99 over many changes, and bytes pushed per
// change. Ananta (SIGCOMM 2013) measured a median VIP configuration time of 75 ms, tail 200 s.
//
//   npx tsx bench/convergence.ts [changes per fleet size, default 200]   (BENCH_CONCURRENCY=n: pushes at once, default: the control loops' default)
//
// Convergence = from sending the PUT to the last agent receiving (and ACKing) that generation.
//
// Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary folder. The load balancer is
// internal (20 DIPs, one rule, one probe); each change moves its frontend port.

import { cpus } from "node:os";
import { epoch, Fleet, internalLbBody, lbPath, ms, pct, startBenchPlane } from "./agent-bench-kit.js";

const CHANGES = Number(process.argv[2] ?? 200);

async function main() {
  const plane = await startBenchPlane({}, process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined);
  const { config, url, call, generation } = plane;
  await call("PUT", lbPath("lb"), internalLbBody("lb", 0, 999));

  console.log(`lbplane convergence bench: ${CHANGES} changes per fleet size, liveness ${config.agentLivenessMs} ms, Node ${process.version}, ${cpus().length} CPUs`);
  console.log("agents | PUT p50 / p99 | converge p50 | converge p99 | max | first push after PUT p50 | last ACK after PUT p50 / p99 | bytes/change (all agents) | bytes/push | lbplane CPU/change (wall/change) | idle CPU/s");
  // The agents run in their own process: sharing lbplane's event loop would measure the fakes.
  const fleet = await Fleet.start();
  let port = 1000;
  for (const size of [1, 10, 100]) {
    await fleet.grow(size, url);
    await fleet.reach(await generation());
    // Background cost of the fleet (heartbeats, sweeps) with no change at all.
    const idle0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = process.cpuUsage(idle0);
    const idlePerSecond = (idle.user + idle.system) / 1000 / 2;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const converge: number[] = [];
    const puts: number[] = [];
    const firsts: number[] = [];
    const afterPut: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const t0 = epoch();
      await call("PUT", lbPath("lb"), internalLbBody("lb", 0, port++));
      const tPut = epoch();
      puts.push(tPut - t0);
      const r = await fleet.reach(await generation());
      converge.push(r.last - t0);
      firsts.push(r.first - tPut);
      afterPut.push(r.last - tPut);
      bytes.push(r.bytes);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuPerChange = (cpu.user + cpu.system) / 1000 / CHANGES;
    const wallPerChange = (performance.now() - wall0) / CHANGES;
    for (const list of [converge, puts, firsts, afterPut]) list.sort((a, b) => a - b);
    const perChange = bytes.reduce((a, b) => a + b, 0) / bytes.length;
    console.log(
      `${String(size).padStart(6)} | ${ms(pct(puts, 50))} / ${ms(pct(puts, 99))} | ${ms(pct(converge, 50))} | ${ms(pct(converge, 99))} | ${ms(converge[converge.length - 1])} | ${ms(pct(firsts, 50))} | ${ms(pct(afterPut, 50))} / ${ms(pct(afterPut, 99))} | ${Math.round(perChange)} | ${Math.round(perChange / size)} | ${ms(cpuPerChange)} (${ms(wallPerChange)}) | ${ms(idlePerSecond)}`,
    );
  }
  fleet.stop();
  await plane.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
