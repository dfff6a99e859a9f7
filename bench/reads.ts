// Reads at the speed of the framework: autocannon (20 connections) GETs a small load balancer
// (2 frontends, 2 rules, 1 pool of 2 addresses) from lbplane at its default log level, then a bare
// fastify route returning the same body, in the same process and run. The ratio of request rates
// is the figure (goal ≥ 0.3): HTTP, auth, routing, the database's word that the load balancer is
// unchanged (or its document), serialisation and the log line against HTTP and a memcpy. The same
// pair again after filling the location to 1,000 load balancers shows whether reads slow down as
// the location grows, and a third run GETs all of them in turn (the realistic mix: every answer
// must be read once, most are then current).
//
//   npx tsx bench/reads.ts [seconds per run, default 5] [extra load balancers, default 999]

import { Writable } from "node:stream";
// @ts-expect-error autocannon ships no types; the bench uses three fields of its result.
import autocannon from "autocannon";
import Fastify from "fastify";
import { loadConfig } from "../src/config.js";
import { composeLbplane } from "../src/lbplane.js";
import { TokenStore } from "../src/store/tokens.js";
import { benchDatabase } from "./database.js";

const TOKEN = "bench-admin-token-0123456789";
const SUB = "00000000-0000-0000-0000-0000000000b3";
const NET = "api-version=2026-01-01";
const SECONDS = Number(process.argv[2] ?? 5);
const EXTRA = Number(process.argv[3] ?? 999);

/** Requests per second; `paths` (optional) are requested in turn on every connection. */
async function rate(url: string, headers: Record<string, string> = {}, paths?: string[]): Promise<number> {
  const requests = paths?.map((path) => ({ method: "GET", path }));
  const result = await autocannon({ url, connections: 20, duration: SECONDS, headers, ...(requests ? { requests } : {}) });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function main() {
  const db0 = await benchDatabase();
  const config = loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-bench-unused" });
  const tokens = new TokenStore();
  tokens.add(TOKEN, { name: "bench" });
  // The default log level, written to a sink: the log line's cost is part of a read's cost.
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const lbplane = await composeLbplane({
    config, databaseUrl: db0.url, tokens, poolSize: 20, controlLoops: false, logger: { level: config.logLevel, stream: sink },
  });
  const url = await lbplane.app.listen({ host: "127.0.0.1", port: 0 });
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text;
  };
  const net = `/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Network`;
  await call("PUT", `/subscriptions/${SUB}/resourcegroups/bench?api-version=2025-04-01`, { location: "westeurope" });
  const putLoadBalancer = async (name: string, n: number) => {
    const lbId = `${net}/loadBalancers/${name}`;
    const vips = [`${name}-vip1`, `${name}-vip2`];
    for (const [i, vip] of vips.entries()) {
      await call("PUT", `${net}/publicIPAddresses/${vip}?${NET}`, {
        location: "westeurope", sku: { name: "Standard" },
        properties: { publicIPAllocationMethod: "Static", ipAddress: `65.${52 + Math.floor(n / 100)}.${n % 100}.${i + 1}` },
      });
    }
    const rule = (rname: string, fe: string, port: number) => ({
      name: rname,
      properties: {
        frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/${fe}` }, backendAddressPool: { id: `${lbId}/backendAddressPools/pool` },
        probe: { id: `${lbId}/probes/probe` }, protocol: "Tcp", frontendPort: port, backendPort: port,
      },
    });
    await call("PUT", `${lbId}?${NET}`, {
      location: "westeurope", sku: { name: "Standard" },
      properties: {
        frontendIPConfigurations: vips.map((vip, i) => ({ name: `fe${i + 1}`, properties: { publicIPAddress: { id: `${net}/publicIPAddresses/${vip}` } } })),
        backendAddressPools: [{ name: "pool", properties: { loadBalancerBackendAddresses: [4, 5].map((i) => ({ name: `vm${i}`, properties: { ipAddress: `10.${n >> 8}.${n & 255}.${i}` } })) } }],
        probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
        loadBalancingRules: [rule("web", "fe1", 80), rule("app", "fe2", 8080)],
      },
    });
    return `${url}${lbId}?${NET}`;
  };
  const target = await putLoadBalancer("lb", 0);
  const body = await call("GET", target.slice(url.length));

  const bare = Fastify({ logger: false });
  bare.get("/lb", async (_req, reply) => reply.type("application/json").send(body));
  const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });

  console.log(`lbplane reads bench: autocannon, 20 connections, ${SECONDS} s per run, body ${body.length} bytes, Node ${process.version}`);
  await rate(`${bareUrl}/lb`); // warm-up of both
  await rate(target, headers);
  /** The pair at the location's current size: bare route, then lbplane, back to back. */
  const pair = async (label: string) => {
    const bareRate = await rate(`${bareUrl}/lb`);
    const lbRate = await rate(target, headers);
    console.log(`  ${label}: bare fastify ${bareRate.toFixed(0)} req/s, lbplane ${lbRate.toFixed(0)} req/s   ratio ${(lbRate / bareRate).toFixed(2)} (goal ≥ 0.30)`);
    return lbRate / bareRate;
  };
  const small = await pair("1 load balancer in the location");

  const paths = [target.slice(url.length)];
  for (let n = 1; n <= EXTRA; n++) paths.push((await putLoadBalancer(`fill${n}`, n)).slice(url.length));
  const grown = await pair(`${EXTRA + 1} load balancers in the location`);
  console.log(`  ratio at ${EXTRA + 1} / ratio at 1: ${(grown / small).toFixed(2)} (goal: not lower)`);
  const mixed = await rate(url, headers, paths);
  console.log(`  lbplane GET of all ${paths.length} load balancers in turn ${mixed.toFixed(0)} req/s`);

  await bare.close();
  await lbplane.close();
  await db0.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
