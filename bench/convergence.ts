// Convergence: time from a load balancer PUT to every agent acknowledging it, for 1, 10 and 100
// fake agents (real HTTP servers on loopback), p50/p99 over many changes, and bytes pushed per
// change. Ananta (SIGCOMM 2013) measured a median VIP configuration time of 75 ms, tail 200 s.
//
//   npx tsx bench/convergence.ts [changes per fleet size, default 200]   (BENCH_CONCURRENCY=n: pushes at once, default: the control loops' default)
//
// Convergence = from sending the PUT to the last agent receiving (and ACKing) that generation.
//
// Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary folder.

import { fork } from "node:child_process";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config.js";
import { composeLbplane } from "../src/lbplane.js";
import { TokenStore } from "../src/store/tokens.js";
import { benchDatabase } from "./database.js";

const TOKEN = "bench-admin-token-0123456789";
const JOIN = "bench-join-token-0123456789";
const SUB = "00000000-0000-0000-0000-0000000000b1";
const NET = "api-version=2026-01-01";
const CHANGES = Number(process.argv[2] ?? 200);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function main() {
  const db0 = await benchDatabase();
  const config = loadConfig({ LBPLANE_JOIN_TOKEN: JOIN, LBPLANE_DATA_DIR: "/tmp/lbplane-bench-unused" });
  const tokens = new TokenStore();
  tokens.add(TOKEN, { name: "bench" });
  // Warnings of the control loops (failed pushes) reach stderr; the figures go to stdout.
  const lbplane = await composeLbplane({
    config, databaseUrl: db0.url, tokens, poolSize: 20,
    logger: { level: "warn", stream: process.stderr },
    controlLoops: { concurrency: process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined },
  });
  const { app, db } = lbplane;
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  };
  const rg = `/subscriptions/${SUB}/resourceGroups/bench`;
  await call("PUT", `/subscriptions/${SUB}/resourcegroups/bench?api-version=2025-04-01`, { location: "westeurope" });
  await call("PUT", `${rg}/providers/Microsoft.Network/publicIPAddresses/vip?${NET}`, {
    location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress: "65.52.9.1" },
  });
  const lbId = `${rg}/providers/Microsoft.Network/loadBalancers/lb`;
  const lbBody = (port: number) => ({
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: [{ name: "fe", properties: { publicIPAddress: { id: `${rg}/providers/Microsoft.Network/publicIPAddresses/vip` } } }],
      backendAddressPools: [{ name: "pool", properties: { loadBalancerBackendAddresses: Array.from({ length: 20 }, (_, i) => ({ name: `vm${i}`, properties: { ipAddress: `10.0.0.${i + 4}` } })) } }],
      probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
      loadBalancingRules: [{
        name: "web",
        properties: {
          frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/fe` }, backendAddressPool: { id: `${lbId}/backendAddressPools/pool` },
          probe: { id: `${lbId}/probes/probe` }, protocol: "Tcp", frontendPort: port, backendPort: port,
        },
      }],
    },
  });
  const generation = async () => Number((await db.locationGeneration.findUnique({ where: { location: "westeurope" } }))?.generation ?? 0n);

  console.log(`lbplane convergence bench: ${CHANGES} changes per fleet size, liveness ${config.agentLivenessMs} ms, Node ${process.version}, ${cpus().length} CPUs`);
  console.log("agents | PUT p50 / p99 | converge p50 | converge p99 | max | first push after PUT p50 | last ACK after PUT p50 / p99 | bytes/change (all agents) | bytes/push | lbplane CPU/change (wall/change) | idle CPU/s");
  // The agents run in their own process: sharing lbplane's event loop would measure the fakes.
  const fleet = fork(join(dirname(fileURLToPath(import.meta.url)), "fake-fleet.ts"), [], { execArgv: ["--import", "tsx"] });
  const replies: Array<(m: any) => void> = [];
  fleet.on("message", (m) => replies.shift()?.(m));
  const ask = (m: unknown) => new Promise<any>((resolve) => (replies.push(resolve), m && fleet.send(m as object)));
  await ask(null); // ready
  const epoch = () => performance.timeOrigin + performance.now();
  let port = 1000;
  for (const size of [1, 10, 100]) {
    await ask({ cmd: "grow", size, url, join: JOIN });
    await ask({ cmd: "wait", generation: await generation() });
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
      await call("PUT", `${lbId}?${NET}`, lbBody(port++));
      const tPut = epoch();
      puts.push(tPut - t0);
      const r = await ask({ cmd: "wait", generation: await generation() });
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
  fleet.send({ cmd: "stop" });
  await lbplane.close();
  await db0.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
