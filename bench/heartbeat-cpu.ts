// What one heartbeat costs lbplane, measured alone: N simulated agents (in a child process, each on
// its own keep-alive connection, as lbplane-agent beats) POST their heartbeats at the interval
// registration hands out, against lbplane and then, at the same rate from the same agents, against
// a bare fastify route with the same body and answer and no authentication, database or log. The
// CPU of this (the server) process over the window, divided by the beats answered, is the figure;
// the ratio to the bare route is what lbplane adds. Control loops are off so that no sweep or push
// is counted (`fleet` measures the whole idle plane); the log runs at the default level into a sink,
// so its cost is counted. The database's CPU is reported separately (its own processes).
//
//   npx tsx bench/heartbeat-cpu.ts [agents, default 1000] [seconds, default 10] [interval ms, default lbplane's]

import { fork } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import { Client } from "undici";
import { loadConfig } from "../src/config.js";
import { composeLbplane } from "../src/lbplane.js";
import { poolOf } from "../src/store/prisma.js";
import { TokenStore } from "../src/store/tokens.js";
import { benchDatabase } from "./database.js";

const JOIN = "bench-join-token-0123456789";
const AGENTS = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 10);
const INTERVAL = process.argv[4] ? Number(process.argv[4]) : undefined;

// ---- the agents' side (the child process) -------------------------------------------------------

interface Registered {
  agentId: string;
  credential: string;
  heartbeatIntervalMs: number;
}

type Command = { cmd: "register"; url: string; count: number } | { cmd: "beat"; url: string; seconds: number; intervalMs: number } | { cmd: "stop" };

async function register(url: string, count: number): Promise<Registered[]> {
  const agents: Registered[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
      const res = await fetch(`${url}/dataplane/v1/agents/register`, {
        method: "POST",
        headers: { authorization: `Bearer ${JOIN}`, "content-type": "application/json" },
        // Never pushed to (control loops are off); the discard port would refuse anyway.
        body: JSON.stringify({ name: `beat-${i + j}`, location: "westeurope", url: "http://127.0.0.1:9", capabilities: { driver: "userspace", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"] }, appliedGeneration: 0, protocolVersions: [2] }),
      });
      if (res.status !== 200) throw new Error(`register: ${res.status} ${await res.text()}`);
      return (await res.json()) as Registered;
    });
    agents.push(...(await Promise.all(batch)));
  }
  return agents;
}

/** Every agent beats every `intervalMs` (phases spread evenly) for `seconds`; answers counted by status. */
async function beat(agents: Registered[], url: string, seconds: number, intervalMs: number) {
  const clients = agents.map(() => new Client(url, { pipelining: 1 }));
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    agents.map(async (a, i) => {
      await new Promise((r) => setTimeout(r, (i * intervalMs) / agents.length));
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const res = await clients[i].request({
            method: "POST",
            path: `/dataplane/v1/agents/${a.agentId}/heartbeat`,
            headers: { authorization: `Bearer ${a.credential}`, "content-type": "application/json" },
            body: '{"appliedGeneration":0}',
          });
          await res.body.text();
          if (res.statusCode === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (performance.now() - t0))));
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  latencies.sort((x, y) => x - y);
  return { ok, failed, p50: latencies[Math.floor(latencies.length / 2)], p99: latencies[Math.floor(latencies.length * 0.99)] };
}

function runAgents(): void {
  let agents: Registered[] = [];
  process.on("message", async (m: Command) => {
    if (m.cmd === "register") {
      agents = await register(m.url, m.count);
      process.send!({ intervalMs: agents[0].heartbeatIntervalMs });
    } else if (m.cmd === "beat") {
      process.send!(await beat(agents, m.url, m.seconds, m.intervalMs));
    } else {
      process.exit(0);
    }
  });
  process.send!({ ready: true });
}

// ---- the server's side (this process) ----------------------------------------------------------

/** utime, stime and (with `reaped`) the time of ended children of process `pid`, in seconds. */
function cpuOfProcess(pid: number, reaped: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks / 100; // USER_HZ
}

/**
 * CPU seconds used so far by this bench's PostgreSQL: its postmaster (with the backends that ended,
 * whose time it inherits) and every live child. Other PostgreSQL servers on the machine are not counted.
 */
function databaseCpuSeconds(postmaster: number): number {
  let total = cpuOfProcess(postmaster, true);
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1] === String(postmaster)) total += cpuOfProcess(Number(pid), false);
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

async function main() {
  const db0 = await benchDatabase();
  const config = loadConfig({ LBPLANE_JOIN_TOKEN: JOIN, LBPLANE_DATA_DIR: "/tmp/lbplane-bench-unused" });
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const lbplane = await composeLbplane({
    config, databaseUrl: db0.url, tokens: new TokenStore(), poolSize: 20, controlLoops: false, logger: { level: config.logLevel, stream: sink },
  });
  const url = await lbplane.app.listen({ host: "127.0.0.1", port: 0 });
  const { rows } = await poolOf(lbplane.db).query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const postmaster = Number(readFileSync(`/proc/${rows[0].pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
  const bare = Fastify({ logger: false });
  bare.post("/dataplane/v1/agents/:agentId/heartbeat", async () => ({ desiredGeneration: 0 }));
  const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });

  const child = fork(fileURLToPath(import.meta.url), ["--agents"], { execArgv: ["--import", "tsx"] });
  const replies: Array<(m: unknown) => void> = [];
  child.on("message", (m) => replies.shift()?.(m));
  child.on("exit", (code) => {
    if (replies.length > 0) throw new Error(`the agents' process ended (${code}) while the bench waited for it`);
  });
  const ask = <T>(m?: Command) =>
    new Promise<T>((resolve) => {
      replies.push(resolve as (m: unknown) => void);
      if (m) child.send(m);
    });
  await ask();
  const { intervalMs: handedOut } = await ask<{ intervalMs: number }>({ cmd: "register", url, count: AGENTS });
  const intervalMs = INTERVAL ?? handedOut;

  /** This process's CPU (ms) and the database's per answered beat, while the agents beat `target`. */
  const measure = async (target: string, seconds: number) => {
    const c0 = process.cpuUsage();
    const d0 = databaseCpuSeconds(postmaster);
    const r = await ask<Awaited<ReturnType<typeof beat>>>({ cmd: "beat", url: target, seconds, intervalMs });
    const c = process.cpuUsage(c0);
    const dbMs = (databaseCpuSeconds(postmaster) - d0) * 1000;
    return { ...r, perBeat: (c.user + c.system) / 1000 / r.ok, dbPerBeat: dbMs / r.ok, rate: (r.ok + r.failed) / seconds, core: (c.user + c.system) / 10_000 / seconds };
  };
  console.log(`lbplane heartbeat CPU bench: ${AGENTS} agents, one beat each every ${intervalMs} ms (liveness ${config.agentLivenessMs} ms), ${SECONDS} s windows; Node ${process.version}`);
  await measure(url, 2); // warm-up: JIT, prepared statements, connections
  await measure(bareUrl, 2);
  const lb = await measure(url, SECONDS);
  const base = await measure(bareUrl, SECONDS);
  const row = (name: string, m: typeof lb) =>
    `${name.padEnd(14)} | ${m.rate.toFixed(0).padStart(5)} | ${m.ok}/${m.failed} | ${m.perBeat.toFixed(3)} ms | ${m.core.toFixed(1)} % | ${m.p50.toFixed(1)} / ${m.p99.toFixed(1)} ms | ${m.dbPerBeat.toFixed(3)} ms`;
  console.log("server         | beats/s | ok/failed | CPU per beat | % of a core | latency p50 / p99 | database CPU per beat");
  console.log(row("lbplane", lb));
  console.log(row("bare fastify", base));
  console.log(`ratio ${(lb.perBeat / base.perBeat).toFixed(2)}× the bare route; goal ≤ 0.27 ms per beat — ${lb.perBeat <= 0.27 ? "met" : "not met"}`);
  if (lb.failed > 0) console.log(`  ${lb.failed} beats were not answered 200 — the figure is not a clean one`);

  child.send({ cmd: "stop" });
  await bare.close();
  await lbplane.close();
  await db0.stop();
}

if (process.argv.includes("--agents")) {
  runAgents();
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
