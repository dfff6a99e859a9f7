// Validate + compile + store a load balancer at Azure's Standard limits (600 frontends, 1,500 rules,
// pools totalling 5,000 addresses) and at 1/10 of that size, in the same run, and report the ratio:
// the work must grow linearly (≈10×), not quadratically (≈100×). Also the end-to-end HTTP PUT:
// create, an identical re-PUT, and a re-PUT that changes one rule (median of BENCH_REPEAT cycles after a warm-up one, default 3).
//   npx tsx bench/uniqueness-scale.ts
// Uses DATABASE_URL when set, else a throwaway embedded PostgreSQL.

import { request } from "undici";
import { loadConfig } from "../src/config.js";
import { applyDefaults } from "../src/domain/defaults.js";
import { compileLoadBalancer } from "../src/domain/compile.js";
import { deriveClaims } from "../src/domain/claims.js";
import { validateLoadBalancer } from "../src/domain/validate.js";
import type { LoadBalancerSpec } from "../src/domain/model.js";
import { composeLbplane } from "../src/lbplane.js";
import { TokenStore } from "../src/store/tokens.js";
import { benchDatabase } from "./database.js";

const SUB = "00000000-0000-0000-0000-00000000be00";
const TOKEN = "bench-token-0123456789abcdef";

/** An internal LB: `frontends` VIPs, `rules` rules spread over them, `pools` × `perPool` DIPs. */
function loadBalancer(name: string, frontends: number, rules: number, pools: number, perPool: number): LoadBalancerSpec {
  const id = `/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Network/loadBalancers/${name}`;
  const ip = (base: number, i: number) => `10.${base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  return {
    location: "benchland",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: Array.from({ length: frontends }, (_, i) => ({
        name: `fe${i}`,
        properties: { privateIPAddress: ip(100, i + 1), privateIPAllocationMethod: "Static" as const },
      })),
      backendAddressPools: Array.from({ length: pools }, (_, p) => ({
        name: `pool${p}`,
        properties: {
          loadBalancerBackendAddresses: Array.from({ length: perPool }, (_, a) => ({
            name: `vm${p}-${a}`,
            properties: { ipAddress: ip(0, p * perPool + a + 1) },
          })),
        },
      })),
      probes: [{ name: "probe", properties: { protocol: "Tcp" as const, port: 9000 } }],
      loadBalancingRules: Array.from({ length: rules }, (_, r) => ({
        name: `rule${r}`,
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe${r % frontends}` },
          backendAddressPool: { id: `${id}/backendAddressPools/pool${r % pools}` },
          probe: { id: `${id}/probes/probe` },
          protocol: "Tcp" as const,
          frontendPort: 1000 + Math.floor(r / frontends),
          backendPort: 2000 + r,
        },
      })),
    },
  };
}

/**
 * Wall time and heap growth. Synchronous work (the domain) cannot be sampled by the timer, so for it
 * the figure is the heap still held when it returns (a lower bound); async work is sampled every 5 ms.
 */
interface Measured {
  ms: number;
  peakMb: number;
}

const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

async function measure<T>(fn: () => Promise<T> | T): Promise<Measured & { value: T }> {
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return { ms, peakMb: (peak - base) / 2 ** 20, value };
}

async function main() {
  const database = await benchDatabase();
  const tokens = new TokenStore();
  tokens.add(TOKEN, { name: "bench" });
  const lbplane = await composeLbplane({ config: loadConfig(process.env), databaseUrl: database.url, tokens, logger: false, controlLoops: false });
  const { app } = lbplane;
  const base = await app.listen({ host: "127.0.0.1", port: 0 });
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  await request(`${base}/subscriptions/${SUB}/resourcegroups/bench?api-version=2025-04-01`, {
    method: "PUT", headers, body: JSON.stringify({ location: "benchland" }),
  }).then((r) => r.body.text());

  const sizes = [
    { label: "1/10 limits", frontends: 60, rules: 150, pools: 5, perPool: 100 },
    { label: "Standard limits", frontends: 600, rules: 1500, pools: 50, perPool: 100 },
  ];
  const results: Array<Record<string, number | string>> = [];
  for (const s of sizes) {
    const name = `lb${s.rules}`;
    const address = { subscriptionId: SUB, resourceGroup: "bench", name };
    const spec = loadBalancer(name, s.frontends, s.rules, s.pools, s.perPool);
    const ctx = { address, publicIps: new Map(), existingClaims: { frontend: [], destination: [] } };
    // Warm the JIT once, then measure the pure domain work.
    validateLoadBalancer(applyDefaults(spec, address), ctx);
    const domain = await measure(() => {
      const full = applyDefaults(spec, address);
      const issues = validateLoadBalancer(full, ctx);
      if (issues.length) throw new Error(`bench LB invalid: ${issues[0].message}`);
      const claims = deriveClaims(full, ctx);
      compileLoadBalancer(full, ctx);
      return claims.destination.reduce((n, g) => n + g.members.length, 0);
    });
    const body = JSON.stringify(spec);
    const url = `${base}/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Network/loadBalancers/${name}?api-version=2026-01-01`;
    const put = (payload: string) => measure(async () => {
      const res = await request(url, { method: "PUT", headers, body: payload });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`PUT ${res.statusCode}: ${text.slice(0, 300)}`);
      return res.statusCode;
    });
    // One rule moves to another backend port: the diff rewrites that rule's row and claims only.
    const changed = structuredClone(spec);
    changed.properties.loadBalancingRules![0].properties.backendPort = 1999;
    const changedBody = JSON.stringify(changed);
    // Each cycle: create, an identical re-PUT, a one-rule change, then delete (the next size reuses
    // these addresses, which the law would rightly refuse while this one holds them). The median of
    // the cycles is reported: single PUTs on a shared 2-core host are noisy.
    // A first, unmeasured cycle: the first PUT of a size pays for the JIT and cold caches (reported
    // apart as coldCreateMs).
    const runs: Array<{ create: Measured; update: Measured; changeOne: Measured }> = [];
    let cold = 0;
    for (let i = -1; i < REPEAT; i++) {
      const create = await put(body);
      const update = await put(body);
      const changeOne = await put(changedBody);
      if (i < 0) cold = create.ms;
      else runs.push({ create, update, changeOne });
      await request(url, { method: "DELETE", headers: { authorization: headers.authorization } }).then((r) => r.body.text());
    }
    const median = (k: "create" | "update" | "changeOne") => runs.map((r) => r[k].ms).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    results.push({
      size: s.label, frontends: s.frontends, rules: s.rules, addresses: s.pools * s.perPool,
      destinationClaims: domain.value, bodyKB: Math.round(body.length / 1024),
      domainMs: +domain.ms.toFixed(1), domainHeapMB: +domain.peakMb.toFixed(1),
      coldCreateMs: +cold.toFixed(0), createPutMs: +median("create").toFixed(0), updatePutMs: +median("update").toFixed(0), changeOneRulePutMs: +median("changeOne").toFixed(0),
      putPeakMB: +Math.max(...runs.map((r) => r.create.peakMb)).toFixed(1),
      // Process-wide high-water mark so far (monotonic: the larger size runs second).
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    });
  }
  console.table(results);
  const [small, big] = results;
  const ratio = (k: string) => ((big[k] as number) / (small[k] as number)).toFixed(1);
  console.log(`size ratio 10x: domain time ${ratio("domainMs")}x, create PUT ${ratio("createPutMs")}x, update PUT ${ratio("updatePutMs")}x, one-rule change ${ratio("changeOneRulePutMs")}x (linear ≈ 10x, quadratic ≈ 100x)`);
  await lbplane.close();
  await database.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
