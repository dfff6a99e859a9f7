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
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { cpus } from "node:os";
import { epoch, explainLate, Fleet, internalLbBody, lbPath, ms, pct, postgresCpuMs, startBenchPlane, type BenchPlane } from "./agent-bench-kit.js";

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

/** The fake fleet's and PostgreSQL's CPU (ms) from now until `done()`. */
function othersDuring(fleet: Fleet, postgresCpu: () => number) {
  const fleet0 = fleet.cpuMs();
  const pg0 = postgresCpu();
  return { done: () => ({ fleet: fleet.cpuMs() - fleet0, pg: postgresCpu() - pg0 }) };
}

/**
 * With BENCH_CPU_PROF=<file>, a CPU profile of this process (lbplane) over the changes alone, for
 * Chrome DevTools or any .cpuprofile reader; `node --cpu-prof` would mix in registration and idle.
 */
async function profileIf(file: string | undefined): Promise<{ stop: () => Promise<void> }> {
  if (!file) return { stop: async () => {} };
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return {
    stop: async () => {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`CPU profile of the changes written to ${file}`);
    },
  };
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
  const postgresCpu = await postgresCpuMs(plane);
  const beats0 = await fleet.beats();
  const idleOthers = othersDuring(fleet, postgresCpu);
  const idleCpu = await cpuDuring(() => sleep(IDLE_S * 1000));
  const idleRest = idleOthers.done();
  const beats = (await fleet.beats()) - beats0;
  const perBeat = idleCpu / beats;
  const rate = beats / IDLE_S;

  // (2) one change → all agents. Three unmeasured changes first, as location-size does: the first
  // change after registration paid for the JIT of the delta path (it was every run's maximum).
  for (let i = 0; i < 3; i++) {
    await call("PUT", lbPath("lb"), internalLbBody("lb", 0, 1100 + i));
    await fleet.reach(await generation());
  }
  const converge: number[] = [];
  const bytes: number[] = [];
  // lbplane's CPU over the changes, less the idle rate (heartbeats) over the same time: per push.
  const changesStart = performance.now();
  const changesOthers = othersDuring(fleet, postgresCpu);
  const profile = await profileIf(process.env.BENCH_CPU_PROF);
  const changesCpu = await cpuDuring(async () => {
    for (let i = 0; i < CHANGES; i++) {
      const start = epoch();
      await call("PUT", lbPath("lb"), internalLbBody("lb", 0, 1001 + i));
      const reached = await fleet.reach(await generation());
      converge.push(reached.last - start);
      bytes.push(reached.bytes / AGENTS);
    }
  });
  const changesMs = performance.now() - changesStart;
  await profile.stop();
  const changesRest = changesOthers.done();
  const idleShare = (idleCpu / (IDLE_S * 1000)) * changesMs;
  const perPush = Math.max(0, changesCpu - idleShare) / (CHANGES * AGENTS);
  // Each process's CPU over the changes less its idle rate (heartbeats) over the same time.
  const perChange = (during: number, idle: number) => Math.max(0, during - (idle / (IDLE_S * 1000)) * changesMs) / CHANGES;
  converge.sort((a, b) => a - b);
  console.log("agents | converge p50 | converge p99 | max | bytes per push | lbplane CPU per push");
  console.log(`(each change, ms: ${converge.map((c) => Math.round(c)).join(" ")})`);
  console.log(`${AGENTS} | ${ms(pct(converge, 50))} | ${ms(pct(converge, 99))} | ${ms(converge[converge.length - 1])} | ${Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length)} | ${perPush.toFixed(3)} ms`);
  console.log(
    `CPU per change beyond the heartbeats' (2 cores: ${2 * Math.round(changesMs / CHANGES)} ms of CPU per change's wall time): lbplane ${Math.round(perChange(changesCpu, idleCpu))} ms, ` +
      `fake fleet ${Math.round(perChange(changesRest.fleet, idleRest.fleet))} ms, PostgreSQL ${Math.round(perChange(changesRest.pg, idleRest.pg))} ms`,
  );

  // Baseline: a bare fastify route, same POST, same rate, same process. Last: its load (twice the
  // fleet's POSTs for a while) made heartbeats late and agents stale, and the changes measured
  // right after it paid for that (3.7–8.5 s for the first three, against 1.1–1.4 s for the others).
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
