// Filling a location: does a PUT cost more as the location grows? PUTs N small load balancers (one
// rule, 4 DIPs each) into one location, one after another, with fake agents connected (real HTTP
// servers in their own process) so every write is compiled and pushed as in production; prints the
// PUT p50/p99 of the first and of the last thousand and their ratio. Goal: flat (≤ 1.5×). The
// same-run baseline is the first thousand.
//
//   npx tsx bench/fill-location.ts [load balancers, default 10000] [agents, default 10]
//
// Each load balancer has its own backend VMs, as services in a region do: Azure puts a VM's IP
// configuration in at most one internal and one public load balancer, so the claims a write checks
// are bounded by its own addresses, not by the location. Uses DATABASE_URL when set, else an
// embedded PostgreSQL.

import { cpus, loadavg } from "node:os";
import { Fleet, lbPath, ms, pct, RG, startBenchPlane } from "./agent-bench-kit.js";

const TOTAL = Number(process.argv[2] ?? 10_000);
const AGENTS = Number(process.argv[3] ?? 10);
const WINDOW = Math.min(1000, Math.floor(TOTAL / 2));

/** Load balancer `i`: frontend 10.100+.x.y, DIPs 172.16+.x.y of its own, one rule on port 80. */
function loadBalancer(i: number) {
  const id = `${RG}/providers/Microsoft.Network/loadBalancers/lb-${i}`;
  const ip = (base: number, n: number) => `${base + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  return {
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: [{ name: "fe", properties: { privateIPAddress: `10.${ip(100, i + 1)}`, privateIPAllocationMethod: "Static" } }],
      backendAddressPools: [{
        name: "pool",
        properties: { loadBalancerBackendAddresses: Array.from({ length: 4 }, (_, k) => ({ name: `vm${k}`, properties: { ipAddress: `172.${ip(16, i * 4 + k + 1)}` } })) },
      }],
      probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
      loadBalancingRules: [{
        name: "web",
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` }, backendAddressPool: { id: `${id}/backendAddressPools/pool` },
          probe: { id: `${id}/probes/probe` }, protocol: "Tcp", frontendPort: 80, backendPort: 8080,
        },
      }],
    },
  };
}

async function main() {
  const plane = await startBenchPlane();
  const fleet = await Fleet.start();
  await fleet.grow(AGENTS, plane.url);
  await fleet.reach(await plane.generation());
  console.log(`lbplane fill-location bench: ${TOTAL} load balancers into one location, ${AGENTS} agents; Node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}`);
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < TOTAL; i++) {
    const start = performance.now();
    await plane.call("PUT", lbPath(`lb-${i}`), loadBalancer(i));
    latencies.push(performance.now() - start);
    if ((i + 1) % 1000 === 0) console.error(`  ${i + 1} PUTs, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const fillS = (performance.now() - t0) / 1000;
  const reached = await fleet.reach(await plane.generation());
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const first = sorted(latencies.slice(0, WINDOW));
  const last = sorted(latencies.slice(-WINDOW));
  console.log(`filled in ${fillS.toFixed(0)} s (${(TOTAL / fillS).toFixed(0)} PUT/s); every agent at the last generation ${reached.generation}`);
  console.log(`window | PUT p50 | PUT p99`);
  console.log(`first ${WINDOW} | ${ms(pct(first, 50))} | ${ms(pct(first, 99))}`);
  console.log(`last ${WINDOW} | ${ms(pct(last, 50))} | ${ms(pct(last, 99))}`);
  const ratio = pct(last, 50) / pct(first, 50);
  console.log(`last/first p50 ${ratio.toFixed(2)}× (goal ≤ 1.5×: ${ratio <= 1.5 ? "met" : "not met"}); p99 ${(pct(last, 99) / pct(first, 99)).toFixed(2)}×; load ${loadavg()[0].toFixed(1)}`);
  fleet.stop();
  await plane.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
