// PUT latency of an ordinary, small load balancer (2 frontends, 2 rules, 1 pool of 2 addresses):
// HTTP PUTs in a loop, each changing one rule's port, with p50/p99 latency and lbplane CPU per
// request; GETs of the same load balancer in the same run are the baseline (HTTP, auth, routing,
// one read, serialization). No agents: this measures the write path, not the push fan-out.
//
//   npx tsx bench/put-latency.ts [requests per kind, default 500]
//   BENCH_TRACE=1 ...   also counts database statements per request (pg queries, BEGIN/COMMIT included;
//                       pipelined ones share a round trip)
//
// CPU is the whole process's (the client's fetch included); compare PUT with GET rather than
// reading either as the server's alone. Uses DATABASE_URL when set, else an embedded PostgreSQL.

import { cpus } from "node:os";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { composeLbplane } from "../src/lbplane.js";
import { TokenStore } from "../src/store/tokens.js";
import { benchDatabase } from "./database.js";

const TOKEN = "bench-admin-token-0123456789";
const SUB = "00000000-0000-0000-0000-0000000000b2";
const NET = "api-version=2026-01-01";
const N = Number(process.argv[2] ?? 500);
const WARMUP = Math.min(100, N);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (n: number) => `${n.toFixed(2)} ms`;

// Statements, counted at the driver (every client's query(), which Prisma's adapter and lbplane use).
let statements = 0;
if (process.env.BENCH_TRACE) {
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
}

async function main() {
  const db0 = await benchDatabase();
  const config = loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-bench-unused" });
  const tokens = new TokenStore();
  tokens.add(TOKEN, { name: "bench" });
  // No control loops: this measures the write path, not the push fan-out.
  const lbplane = await composeLbplane({ config, databaseUrl: db0.url, tokens, logger: false, poolSize: 20, controlLoops: false });
  const { app } = lbplane;
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  };
  const rg = `/subscriptions/${SUB}/resourceGroups/bench`;
  const net = `${rg}/providers/Microsoft.Network`;
  await call("PUT", `/subscriptions/${SUB}/resourcegroups/bench?api-version=2025-04-01`, { location: "westeurope" });
  for (const [name, ip] of [["vip1", "65.52.9.1"], ["vip2", "65.52.9.2"]]) {
    await call("PUT", `${net}/publicIPAddresses/${name}?${NET}`, {
      location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress: ip },
    });
  }
  const lbId = `${net}/loadBalancers/lb`;
  const rule = (name: string, fe: string, port: number) => ({
    name,
    properties: {
      frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/${fe}` }, backendAddressPool: { id: `${lbId}/backendAddressPools/pool` },
      probe: { id: `${lbId}/probes/probe` }, protocol: "Tcp", frontendPort: port, backendPort: port,
    },
  });
  const lbBody = (port: number) => ({
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: ["vip1", "vip2"].map((vip, i) => ({ name: `fe${i + 1}`, properties: { publicIPAddress: { id: `${net}/publicIPAddresses/${vip}` } } })),
      backendAddressPools: [{ name: "pool", properties: { loadBalancerBackendAddresses: [4, 5].map((i) => ({ name: `vm${i}`, properties: { ipAddress: `10.0.0.${i}` } })) } }],
      probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
      loadBalancingRules: [rule("web", "fe1", 80), rule("app", "fe2", port)],
    },
  });

  let port = 1000;
  const kinds: Record<string, () => Promise<void>> = {
    PUT: () => call("PUT", `${lbId}?${NET}`, lbBody(port++)),
    GET: () => call("GET", `${lbId}?${NET}`),
  };
  await kinds.PUT();
  console.log(`lbplane PUT latency bench: ${N} requests per kind (after ${WARMUP} warm-up), Node ${process.version}, ${cpus().length} CPUs`);
  console.log("request | p50 | p99 | max | CPU/request" + (process.env.BENCH_TRACE ? " | statements/request" : ""));
  // Interleaved rounds, so a busy spell on the machine hits both kinds alike.
  const results: Record<string, { lat: number[]; cpu: number; trips: number }> = {};
  for (const kind of Object.keys(kinds)) {
    for (let i = 0; i < WARMUP; i++) await kinds[kind]();
    results[kind] = { lat: [], cpu: 0, trips: 0 };
  }
  const ROUND = 50;
  for (let done = 0; done < N; done += ROUND) {
    for (const kind of Object.keys(kinds)) {
      const r = results[kind];
      const n = Math.min(ROUND, N - done);
      const cpu0 = process.cpuUsage();
      const trips0 = statements;
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await kinds[kind]();
        r.lat.push(performance.now() - t0);
      }
      const cpu = process.cpuUsage(cpu0);
      r.cpu += (cpu.user + cpu.system) / 1000;
      r.trips += statements - trips0;
    }
  }
  for (const [kind, r] of Object.entries(results)) {
    r.lat.sort((a, b) => a - b);
    const trips = process.env.BENCH_TRACE ? ` | ${(r.trips / N).toFixed(1)}` : "";
    console.log(`${kind.padEnd(7)} | ${ms(pct(r.lat, 50))} | ${ms(pct(r.lat, 99))} | ${ms(r.lat[r.lat.length - 1])} | ${ms(r.cpu / N)}${trips}`);
  }
  await lbplane.close();
  await db0.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
