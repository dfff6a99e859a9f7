// Location size: the cost of a one-load-balancer change as the location grows. With 1, 1,000 and
// 10,000 load balancers in the location and 100 agents (fake, real HTTP servers in their own
// process), a change of one small load balancer: converge p50/p99 (PUT sent → last agent ACKed) and
// bytes per push. Goal: p99 < 100 ms and bytes per push independent of the location's size. The
// same-run baseline is the 1-load-balancer location: the ratio column is size N vs size 1.
//
//   npx tsx bench/location-size.ts [sizes, default 1,1000,10000] [changes per size, default 50] [agents, default 100]
//
// The location is filled through the API (8 PUTs at a time) while the agents are connected, as a
// real location grows. Uses DATABASE_URL when set, else an embedded PostgreSQL. "PUT answered" is the
// write alone (lbplane's answer to the PUT); the rest of converge is the push to the 100 agents.
//
//   BENCH_TRACE=1    per size, the database statements of a change and the sequential scans they made
//   BENCH_HOLD_S=n   keep the filled location up n seconds after the run (to EXPLAIN at that size)

import { cpus } from "node:os";
import { epoch, explainLate, Fleet, internalLbBody, lbPath, ms, pct, startBenchPlane, type BenchPlane } from "./agent-bench-kit.js";
import { statementsDuring } from "./statement-trace.js";

const SIZES = (process.argv[2] ?? "1,1000,10000").split(",").map(Number);
const CHANGES = Number(process.argv[3] ?? 50);
const AGENTS = Number(process.argv[4] ?? 100);

async function measure(plane: BenchPlane) {
  const { url, call, generation } = plane;
  // The load balancer that changes (ports 1000–1999); the filler ones are "fill-<n>" on port 2000+n
  // (two internal load balancers may not deliver the same flow, so each has its own backend port).
  await call("PUT", lbPath("changing"), internalLbBody("changing", 0, 1000));
  const fleet = await Fleet.start();
  await fleet.grow(AGENTS, url);
  await fleet.reach(await generation());
  console.log(`lbplane location-size bench: ${AGENTS} agents, ${CHANGES} one-LB changes per size; Node ${process.version}, ${cpus().length} CPUs`);
  console.log("LBs in location | fill time | PUT answered p50 | converge p50 | converge p99 | bytes per push | p99 vs 1 LB | bytes vs 1 LB");
  let filled = 1;
  let port = 1001;
  // Unmeasured changes first (BENCH_WARMUP, default 10): the first size must not pay for the JIT and
  // fresh connections to 100 agents (without them its p99 was 183 ms against 98 ms at 1,000 load
  // balancers).
  for (let i = 0; i < Number(process.env.BENCH_WARMUP ?? 10); i++) {
    await call("PUT", lbPath("changing"), internalLbBody("changing", 0, port++));
    await fleet.reach(await generation());
  }
  let baseline: { p99: number; bytes: number } | undefined;
  for (const size of SIZES) {
    const t0 = performance.now();
    let next = filled;
    const worker = async () => {
      while (next < size) {
        const i = next++;
        await call("PUT", lbPath(`fill-${i}`), internalLbBody(`fill-${i}`, i, 2000 + i, 4));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    filled = Math.max(filled, size);
    const fillS = (performance.now() - t0) / 1000;
    await fleet.reach(await generation());

    const converge: number[] = [];
    const puts: number[] = [];
    const bytes: number[] = [];
    const changes = async () => {
      for (let i = 0; i < CHANGES; i++) {
        const start = epoch();
        await call("PUT", lbPath("changing"), internalLbBody("changing", 0, port++));
        puts.push(epoch() - start);
        const reached = await fleet.reach(await generation());
        converge.push(reached.last - start);
        bytes.push(reached.bytes / AGENTS);
      }
    };
    // BENCH_TRACE=1: the database statements of a change and the tables they scanned, per size.
    if (process.env.BENCH_TRACE) {
      const report = await statementsDuring(plane.lbplane.db, CHANGES, changes);
      console.error(`${size} load balancers, per change:\n  ${report.join("\n  ")}`);
    } else await changes();
    converge.sort((a, b) => a - b);
    puts.sort((a, b) => a - b);
    const p99 = pct(converge, 99);
    const perPush = bytes.reduce((a, b) => a + b, 0) / bytes.length;
    baseline ??= { p99, bytes: perPush };
    console.log(
      `${size} | ${fillS.toFixed(0)} s | ${ms(pct(puts, 50))} | ${ms(pct(converge, 50))} | ${ms(p99)} | ${Math.round(perPush)} | ${(p99 / baseline.p99).toFixed(2)}× | ${(perPush / baseline.bytes).toFixed(2)}×`,
    );
  }
  if (plane.retries() > 0) console.log(`(${plane.retries()} PUTs answered 503 and were retried: the host was overloaded)`);
  // BENCH_HOLD_S=n: keep the filled location, its lbplane and the agents up for n seconds after the
  // run, to look at the database (EXPLAIN ANALYZE) at that size without filling it again.
  const holdS = Number(process.env.BENCH_HOLD_S ?? 0);
  if (holdS > 0) {
    console.log(`holding for ${holdS} s; database ${plane.databaseUrl}`);
    await new Promise((r) => setTimeout(r, holdS * 1000));
  }
  fleet.stop();
  await plane.close();
}

async function main() {
  const plane = await startBenchPlane();
  // A late agent is explained from lbplane's rows before the run fails.
  await measure(plane).catch(async (err) => {
    await explainLate(plane, err);
    throw err;
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
