// Fleet: 1,000 simulated agents (real HTTP servers in a separate process) on one lbplane. Measures
// (1) lbplane's idle CPU with the whole fleet heartbeating — goal < 25 % of one core — and the CPU
// per heartbeat against a same-run baseline: a bare fastify route answering the same POST at the
// same rate (what a heartbeat would cost if lbplane did nothing but answer it); (2) one change
// reaching all 1,000 agents, p50/p99 — goal p99 < 1 s.
//
//   npx tsx bench/fleet.ts [agents, default 1000] [changes, default 20] [idle seconds, default 10]
//
// Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary folder (its CPU is the
// database's, not lbplane's, and is not counted).

import Fastify from "fastify";
import { cpus } from "node:os";
import { epoch, explainLate, Fleet, internalLbBody, lbPath, ms, pct, startBenchPlane, type BenchPlane } from "./agent-bench-kit.js";

const AGENTS = Number(process.argv[2] ?? 1000);
const CHANGES = Number(process.argv[3] ?? 20);
const IDLE_S = Number(process.argv[4] ?? 10);

/** CPU of this process (ms) while `work` runs. */
async function cpuDuring(work: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  await work();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(plane: BenchPlane) {
  const { config, url, call, generation } = plane;
  await call("PUT", lbPath("lb"), internalLbBody("lb", 0, 1000));
  const fleet = await Fleet.start();
  const t0 = performance.now();
  await fleet.grow(AGENTS, url);
  await fleet.reach(await generation());
  const interval = Math.max(100, Math.floor(config.agentLivenessMs / 4));
  console.log(`lbplane fleet bench: ${AGENTS} agents registered in ${((performance.now() - t0) / 1000).toFixed(1)} s; liveness ${config.agentLivenessMs} ms, heartbeat every ${interval} ms; Node ${process.version}, ${cpus().length} CPUs`);
  await sleep(2_000); // registration's tail (health reports, first beats) settles

  // (1) idle: only heartbeats and the control loops' sweeps.
  const beats0 = await fleet.beats();
  const idleCpu = await cpuDuring(() => sleep(IDLE_S * 1000));
  const beats = (await fleet.beats()) - beats0;
  const perBeat = idleCpu / beats;
  const rate = beats / IDLE_S;

  // Baseline: a bare fastify route, same POST, same rate, same process.
  const bare = Fastify();
  bare.post("/dataplane/v1/agents/:agentId/heartbeat", async () => ({ desiredGeneration: 1 }));
  const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });
  let sent = 0;
  const blastCpu = await cpuDuring(async () => (sent = (await fleet.blast(bareUrl, rate, IDLE_S)).sent));
  await bare.close();
  // The fleet keeps heartbeating lbplane meanwhile: the bare route's share is what exceeds idle.
  const barePerBeat = Math.max(0.001, blastCpu - idleCpu) / sent;

  console.log("idle lbplane CPU (% of one core) | heartbeats/s | CPU per heartbeat | bare fastify CPU per POST (same rate) | ratio");
  console.log(
    `${((idleCpu / (IDLE_S * 1000)) * 100).toFixed(1)} % | ${rate.toFixed(0)} | ${perBeat.toFixed(3)} ms | ${barePerBeat.toFixed(3)} ms | ${(perBeat / barePerBeat).toFixed(2)}×`,
  );

  // (2) one change → all agents.
  const converge: number[] = [];
  const bytes: number[] = [];
  // lbplane's CPU over the changes, less the idle rate (heartbeats) over the same time: per push.
  const changesStart = performance.now();
  const changesCpu = await cpuDuring(async () => {
    for (let i = 0; i < CHANGES; i++) {
      const start = epoch();
      await call("PUT", lbPath("lb"), internalLbBody("lb", 0, 1001 + i));
      const reached = await fleet.reach(await generation());
      converge.push(reached.last - start);
      bytes.push(reached.bytes / AGENTS);
    }
  });
  const idleShare = (idleCpu / (IDLE_S * 1000)) * (performance.now() - changesStart);
  const perPush = Math.max(0, changesCpu - idleShare) / (CHANGES * AGENTS);
  converge.sort((a, b) => a - b);
  console.log("agents | converge p50 | converge p99 | max | bytes per push | lbplane CPU per push");
  console.log(`(each change, ms: ${converge.map((c) => Math.round(c)).join(" ")})`);
  console.log(`${AGENTS} | ${ms(pct(converge, 50))} | ${ms(pct(converge, 99))} | ${ms(converge[converge.length - 1])} | ${Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length)} | ${perPush.toFixed(3)} ms`);

  fleet.stop();
  await plane.close();
}

async function main() {
  // BENCH_PUSH_CONCURRENCY: pushes in flight at once (lbplane's default is 128).
  const concurrency = process.env.BENCH_PUSH_CONCURRENCY ? Number(process.env.BENCH_PUSH_CONCURRENCY) : undefined;
  const plane = await startBenchPlane({}, concurrency);
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
